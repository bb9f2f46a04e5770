//! The `SearchGameSessions` filter and sort grammars: any text parses or gives a typed error, and
//! what parses prints as text that parses to the same expression.
#![no_main]

use gamelift_local::search;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(filter) = search::parse_filter(text) {
        let printed = filter.to_string();
        let again = search::parse_filter(&printed).expect("a printed filter parses");
        assert_eq!(filter, again, "{printed}");
    }
    if let Ok(sort) = search::parse_sort(text) {
        let printed = sort.to_string();
        assert_eq!(search::parse_sort(&printed).expect("a printed sort parses"), sort);
    }
});
