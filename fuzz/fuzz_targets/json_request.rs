//! The awsJson1.1 request decoder: any bytes either decode or give a typed error, and whatever
//! decodes encodes to JSON that decodes again.
#![no_main]

use gamelift_local::wire;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Ok(value) = wire::decode_json(body) {
        let encoded = wire::encode_json(&value);
        wire::decode_json(&encoded).expect("what the service encodes, it decodes");
    }
});
