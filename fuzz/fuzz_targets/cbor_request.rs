//! The Smithy RPC v2 CBOR request decoder: any bytes either decode or give a typed error, and
//! whatever decodes encodes back to the same value.
#![no_main]

use gamelift_local::wire::{self, Value};
use libfuzzer_sys::fuzz_target;

/// Equality that counts NaN equal to itself, as a round trip keeps it.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) | (Value::Timestamp(x), Value::Timestamp(y)) => {
            x == y || (x.is_nan() && y.is_nan())
        }
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter().zip(y).all(|((ka, a), (kb, b))| ka == kb && same(a, b))
        }
        _ => a == b,
    }
}

fuzz_target!(|body: &[u8]| {
    if let Ok(value) = wire::decode_cbor(body) {
        let again = wire::decode_cbor(&wire::encode_cbor(&value))
            .expect("what the service encodes, it decodes");
        assert!(same(&value, &again), "{value:?} != {again:?}");
    }
});
