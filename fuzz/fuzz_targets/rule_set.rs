//! FlexMatch rule set bodies: read (and refused with a message), or read and run against a
//! fixed pool of players; neither step may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    if body.len() > 65_535 {
        return;
    }
    if let Err(message) = gamelift_local::exercise_rule_set(body) {
        assert!(!message.is_empty());
    }
});
