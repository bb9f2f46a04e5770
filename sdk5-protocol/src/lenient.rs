//! The leniency the official SDKs need: null, absent and empty are the same; integers may arrive
//! as whole floating-point numbers. Anything else of the wrong type is an error that names the
//! field (through `serde_path_to_error`).

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A value where null reads as the type's default (absent fields use `#[serde(default)]`).
pub(crate) fn or_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// An optional string where null and empty read as `None`.
pub(crate) fn non_empty<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.filter(|text| !text.is_empty()))
}

struct IntVisitor<T>(PhantomData<T>);

impl<T: TryFrom<i64> + Default> Visitor<'_> for IntVisitor<T> {
    type Value = T;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "an integer that fits {}",
            std::any::type_name::<T>()
        )
    }

    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_i64<E: de::Error>(self, value: i64) -> Result<T, E> {
        T::try_from(value).map_err(|_| E::invalid_value(de::Unexpected::Signed(value), &self))
    }
    fn visit_u64<E: de::Error>(self, value: u64) -> Result<T, E> {
        let signed = i64::try_from(value)
            .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(value), &self))?;
        self.visit_i64(signed)
    }
    fn visit_f64<E: de::Error>(self, value: f64) -> Result<T, E> {
        if value.fract() == 0.0 && value.abs() < 9.0e15 {
            self.visit_i64(value as i64)
        } else {
            Err(E::invalid_value(de::Unexpected::Float(value), &self))
        }
    }
}

/// An integer (null reads as 0; a whole float such as `7777.0` is accepted; a string is not).
pub(crate) fn int<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64> + Default,
{
    deserializer.deserialize_any(IntVisitor(PhantomData))
}

/// An optional integer where null reads as `None`.
pub(crate) fn opt_int<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64> + Default,
{
    struct Wrap<T>(T);
    impl<'de, T: TryFrom<i64> + Default> Deserialize<'de> for Wrap<T> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            int(deserializer).map(Wrap)
        }
    }
    Ok(Option::<Wrap<T>>::deserialize(deserializer)?.map(|Wrap(value)| value))
}

/// Game properties: the SDK 5 object form `{"key":"value"}` or the control plane's
/// `[{"Key":..,"Value":..}]` list; null is empty.
pub(crate) fn properties<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    struct PropertiesVisitor;

    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Pair {
        #[serde(default, deserialize_with = "or_default")]
        key: String,
        #[serde(default, deserialize_with = "or_default")]
        value: String,
    }

    impl<'de> Visitor<'de> for PropertiesVisitor {
        type Value = BTreeMap<String, String>;

        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            formatter.write_str("an object of string values or a list of Key/Value pairs")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((key, value)) = access.next_entry::<String, String>()? {
                out.insert(key, value);
            }
            Ok(out)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(pair) = access.next_element::<Pair>()? {
                out.insert(pair.key, pair.value);
            }
            Ok(out)
        }
    }

    deserializer.deserialize_any(PropertiesVisitor)
}
