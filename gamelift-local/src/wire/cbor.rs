//! Smithy RPC v2 CBOR through `minicbor`.

use std::borrow::Cow;

use minicbor::data::{Tag, Type};
use minicbor::{Decoder, Encoder};

use super::{DecodeError, MAX_DEPTH, MAX_VALUES, Value, too_many_values};

/// Decodes a Smithy RPC v2 CBOR body: one map, definite or indefinite lengths, nothing after it.
/// An empty body counts as `{}`.
pub fn decode_cbor(body: &[u8]) -> Result<Value, DecodeError> {
    if body.is_empty() {
        return Ok(Value::map());
    }
    let mut decoder = Decoder::new(body);
    let mut budget = MAX_VALUES;
    let value = value(&mut decoder, 0, &mut budget)?;
    if decoder.position() != body.len() {
        return Err(DecodeError(format!(
            "the CBOR body has {} unexpected bytes after the top-level value",
            body.len() - decoder.position()
        )));
    }
    if !matches!(value, Value::Map(_)) {
        return Err(DecodeError(format!(
            "the request body must be a CBOR map, not {}",
            value.type_name()
        )));
    }
    Ok(value)
}

fn malformed(decoder: &Decoder<'_>, what: impl std::fmt::Display) -> DecodeError {
    DecodeError(format!(
        "malformed CBOR at byte {}: {what}",
        decoder.position()
    ))
}

/// A library error, worded for the caller.
fn library(decoder: &Decoder<'_>, error: &minicbor::decode::Error) -> DecodeError {
    if error.is_end_of_input() {
        malformed(decoder, "a value runs past the end of the body")
    } else {
        malformed(decoder, error)
    }
}

/// An error inside a (possibly chunked) string that starts at byte `start`.
fn chunk_error(start: usize, error: &minicbor::decode::Error) -> DecodeError {
    let what = if error.is_end_of_input() {
        "its length runs past the end of the body".to_string()
    } else if std::error::Error::source(error)
        .is_some_and(|source| source.is::<std::str::Utf8Error>())
    {
        "a text string that is not UTF-8".to_string()
    } else {
        error.to_string()
    };
    DecodeError(format!(
        "malformed CBOR in the string at byte {start}: {what}"
    ))
}

/// Whether the next byte is the break that ends an indefinite item; consumes it if so.
fn at_break(decoder: &mut Decoder<'_>) -> Result<bool, DecodeError> {
    match decoder.datatype() {
        Ok(Type::Break) => {
            decoder.set_position(decoder.position() + 1);
            Ok(true)
        }
        Ok(_) => Ok(false),
        Err(error) => Err(library(decoder, &error)),
    }
}

/// Refuses a definite length that could not fit in what is left of the body (each item takes at
/// least one byte), before anything is allocated for it.
fn check_length(decoder: &Decoder<'_>, length: u64, what: &str) -> Result<(), DecodeError> {
    let remaining = (decoder.input().len() - decoder.position()) as u64;
    if length > remaining {
        return Err(malformed(
            decoder,
            format!("{what} of {length} items is longer than the body"),
        ));
    }
    Ok(())
}

fn value(
    decoder: &mut Decoder<'_>,
    depth: usize,
    budget: &mut usize,
) -> Result<Value, DecodeError> {
    *budget = budget.checked_sub(1).ok_or_else(too_many_values)?;
    if depth > MAX_DEPTH {
        return Err(malformed(
            decoder,
            format!("nesting deeper than {MAX_DEPTH} levels"),
        ));
    }
    let kind = decoder.datatype().map_err(|e| library(decoder, &e))?;
    match kind {
        Type::String | Type::StringIndef => {
            let start = decoder.position();
            let mut text = String::new();
            for chunk in decoder.str_iter().map_err(|e| chunk_error(start, &e))? {
                text.push_str(chunk.map_err(|e| chunk_error(start, &e))?);
            }
            Ok(Value::Str(text))
        }
        Type::Bytes | Type::BytesIndef => {
            // Blobs do not occur in GameLift inputs; keep them as lossy text.
            let start = decoder.position();
            let mut bytes = Vec::new();
            for chunk in decoder.bytes_iter().map_err(|e| chunk_error(start, &e))? {
                bytes.extend_from_slice(chunk.map_err(|e| chunk_error(start, &e))?);
            }
            Ok(Value::Str(String::from_utf8_lossy(&bytes).into_owned()))
        }
        Type::Array | Type::ArrayIndef => {
            let length = decoder.array().map_err(|e| library(decoder, &e))?;
            let mut items = Vec::new();
            match length {
                Some(length) => {
                    check_length(decoder, length, "an array")?;
                    for _ in 0..length {
                        items.push(value(decoder, depth + 1, budget)?);
                    }
                }
                None => {
                    while !at_break(decoder)? {
                        items.push(value(decoder, depth + 1, budget)?);
                    }
                }
            }
            Ok(Value::List(items))
        }
        Type::Map | Type::MapIndef => {
            let length = decoder.map().map_err(|e| library(decoder, &e))?;
            let mut members = Vec::new();
            let mut names = super::MemberNames::default();
            let mut member = |decoder: &mut Decoder<'_>| -> Result<(), DecodeError> {
                let key = match value(decoder, depth + 1, budget)? {
                    Value::Str(key) => key,
                    other => {
                        return Err(malformed(
                            decoder,
                            format!("a map key must be a text string, not {}", other.type_name()),
                        ));
                    }
                };
                names.check(&members, &key)?;
                let item = value(decoder, depth + 1, budget)?;
                members.push((Cow::Owned(key), item));
                Ok(())
            };
            match length {
                Some(length) => {
                    check_length(decoder, length, "a map")?;
                    for _ in 0..length {
                        member(decoder)?;
                    }
                }
                None => {
                    while !at_break(decoder)? {
                        member(decoder)?;
                    }
                }
            }
            Ok(Value::Map(members))
        }
        Type::Tag => {
            let tag = decoder.tag().map_err(|e| library(decoder, &e))?;
            let inner = value(decoder, depth + 1, budget)?;
            Ok(match (tag == Tag::new(1), inner) {
                (true, Value::Int(seconds)) => Value::Timestamp(seconds as f64),
                (true, Value::Float(seconds)) => Value::Timestamp(seconds),
                (_, inner) => inner,
            })
        }
        Type::Break => Err(malformed(decoder, "an unexpected break")),
        Type::Simple => Err(malformed(decoder, "an unsupported simple value")),
        Type::Unknown(byte) => Err(malformed(
            decoder,
            format!("reserved initial byte {byte:#04x}"),
        )),
        scalar => self::scalar(decoder, scalar).map_err(|e| library(decoder, &e)),
    }
}

/// Reads a value of a type that holds no other values.
fn scalar(decoder: &mut Decoder<'_>, kind: Type) -> Result<Value, minicbor::decode::Error> {
    Ok(match kind {
        Type::Bool => Value::Bool(decoder.bool()?),
        Type::Null => {
            decoder.null()?;
            Value::Null
        }
        Type::Undefined => {
            decoder.undefined()?;
            Value::Null
        }
        Type::F16 | Type::F32 => Value::Float(f64::from(decoder.f32()?)),
        Type::F64 => Value::Float(decoder.f64()?),
        _ => {
            let int = decoder.int()?;
            Value::Int(
                i64::try_from(int)
                    .map_err(|_| minicbor::decode::Error::message("integer out of range"))?,
            )
        }
    })
}

/// Encodes a value as CBOR with definite lengths; timestamps as tag 1.
pub fn encode_cbor(value: &Value) -> Vec<u8> {
    let mut encoder = Encoder::new(Vec::with_capacity(256));
    write(&mut encoder, value);
    encoder.into_writer()
}

fn write(encoder: &mut Encoder<Vec<u8>>, value: &Value) {
    // Writing into a Vec cannot fail: the error type is `Infallible`.
    let _ = match value {
        Value::Null => encoder.null(),
        Value::Bool(b) => encoder.bool(*b),
        Value::Int(i) => encoder.i64(*i),
        Value::Float(f) => encoder.f64(*f),
        Value::Timestamp(seconds) => {
            let _ = encoder.tag(Tag::new(1));
            if seconds.fract() == 0.0 && seconds.abs() < 9.0e15 {
                encoder.i64(*seconds as i64)
            } else {
                encoder.f64(*seconds)
            }
        }
        Value::Str(s) => encoder.str(s),
        Value::List(items) => {
            let _ = encoder.array(items.len() as u64);
            for item in items {
                write(encoder, item);
            }
            Ok(&mut *encoder)
        }
        Value::Map(members) => {
            let _ = encoder.map(members.len() as u64);
            for (key, item) in members {
                let _ = encoder.str(key);
                write(encoder, item);
            }
            Ok(&mut *encoder)
        }
    };
}
