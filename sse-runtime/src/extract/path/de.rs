//! A serde [`Deserializer`](serde::de::Deserializer) over the path parameters captured by the router.
//!
//! This is the engine behind the `Path<T>` extractor. The router hands over
//! the captured parameters as `(name, percent-decoded value)` pairs, in route
//! order, and [`from_params`] turns them into a user type:
//!
//! * a single primitive (`u8..u128`, `i8..i128`, `f32`, `f64`, `bool`, `char`,
//!   `String`), a unit enum (by variant name) or a newtype struct around one
//!   of those needs exactly one parameter;
//! * a tuple, tuple struct or sequence takes the parameters in route order
//!   (tuples and tuple structs must match the parameter count);
//! * a struct or map takes them by name; a missing struct field is reported
//!   as `missing`, extra parameters are ignored.
//!
//! Values are parsed with [`str::parse`] semantics. Every failure becomes a
//! [`PathError`] with a FastAPI/pydantic-style `kind` and message, naming the
//! parameter and the raw input where there is one. No input panics.

use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};

/// Why a set of path parameters could not be turned into the requested type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PathError {
    /// Name of the parameter that failed (None when the error is about the
    /// whole set, e.g. wrong count).
    pub(crate) param: Option<String>,
    /// The raw value that failed to parse, if any.
    pub(crate) input: Option<String>,
    /// Machine-readable kind in FastAPI/pydantic style: `"int_parsing"`,
    /// `"float_parsing"`, `"bool_parsing"`, `"char_parsing"`, `"missing"`,
    /// `"wrong_count"`, `"unsupported_type"` or `"value_error"` (custom serde
    /// errors, e.g. an unknown enum variant).
    pub(crate) kind: &'static str,
    /// Human sentence, e.g. "Input should be a valid integer, unable to parse
    /// string as an integer".
    pub(crate) message: String,
}

impl PathError {
    /// An error about one parameter's value.
    fn value(name: &str, input: &str, kind: &'static str, message: impl Into<String>) -> Self {
        PathError {
            param: Some(name.to_owned()),
            input: Some(input.to_owned()),
            kind,
            message: message.into(),
        }
    }

    /// The route captured a different number of parameters than the target
    /// type needs.
    fn wrong_count(expected: usize, got: usize) -> Self {
        let plural = if expected == 1 { "" } else { "s" };
        PathError {
            param: None,
            input: None,
            kind: "wrong_count",
            message: format!("expected {expected} path parameter{plural}, the route has {got}"),
        }
    }

    /// A parameter value was asked to become something a single string
    /// cannot represent (a struct, a sequence, a map, a non-unit variant...).
    fn unsupported(name: &str, input: &str, what: impl fmt::Display) -> Self {
        PathError::value(
            name,
            input,
            "unsupported_type",
            format!("Unsupported type: a path parameter cannot be deserialized into {what}"),
        )
    }

    /// Attaches the parameter name and raw input to an error that does not
    /// name a parameter yet (typically a custom error raised by a visitor,
    /// such as an unknown enum variant).
    fn at(mut self, name: &str, input: &str) -> Self {
        if self.param.is_none() {
            self.param = Some(name.to_owned());
            if self.input.is_none() {
                self.input = Some(input.to_owned());
            }
        }
        self
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.param {
            Some(param) => write!(f, "path parameter `{param}`: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for PathError {}

impl de::Error for PathError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        PathError {
            param: None,
            input: None,
            kind: "value_error",
            message: msg.to_string(),
        }
    }

    fn missing_field(field: &'static str) -> Self {
        PathError {
            param: Some(field.to_owned()),
            input: None,
            kind: "missing",
            message: format!("Field required: the route has no path parameter named `{field}`"),
        }
    }
}

/// Deserializes `T` from the router's captured `(name, decoded value)` pairs.
///
/// See the [module documentation](self) for how each shape of `T` maps onto
/// the parameters.
pub(crate) fn from_params<T: DeserializeOwned>(
    params: &[(String, String)],
) -> Result<T, PathError> {
    T::deserialize(PathDeserializer { params })
}

/// Deserializer for the whole set of parameters (the top level of `T`).
struct PathDeserializer<'de> {
    params: &'de [(String, String)],
}

impl<'de> PathDeserializer<'de> {
    /// The only parameter, for targets that consume exactly one.
    fn single(&self) -> Result<(&'de str, &'de str), PathError> {
        match self.params {
            [(name, value)] => Ok((name, value)),
            _ => Err(PathError::wrong_count(1, self.params.len())),
        }
    }

    /// Checks that the route has exactly `len` parameters.
    fn expect_len(&self, len: usize) -> Result<(), PathError> {
        if self.params.len() == len {
            Ok(())
        } else {
            Err(PathError::wrong_count(len, self.params.len()))
        }
    }

    /// Visits the parameters as a sequence of values, in route order.
    fn visit_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        visitor.visit_seq(ParamSeq {
            iter: self.params.iter(),
        })
    }

    /// Visits the parameters as a name → value map.
    fn visit_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        visitor.visit_map(ParamMap {
            iter: self.params.iter(),
            value: None,
        })
    }
}

/// Forwards a top-level request to the single parameter's value.
macro_rules! forward_single {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
            let (name, value) = self.single()?;
            ValueDeserializer::new(name, value)
                .$method(visitor)
                .map_err(|e| e.at(name, value))
        }
    )*};
}

impl<'de> de::Deserializer<'de> for PathDeserializer<'de> {
    type Error = PathError;

    /// Self-describing targets (e.g. `serde_json::Value`) see a map of
    /// parameter names to string values.
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        self.visit_map(visitor)
    }

    forward_single! {
        deserialize_bool
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64
        deserialize_char deserialize_str deserialize_string
        deserialize_bytes deserialize_byte_buf deserialize_identifier
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        if self.params.is_empty() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, PathError> {
        visitor.visit_unit()
    }

    /// The wrapper is transparent: a newtype around a primitive needs one
    /// parameter, a newtype around a struct takes them by name, and so on.
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, PathError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        self.visit_seq(visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, PathError> {
        self.expect_len(len)?;
        self.visit_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, PathError> {
        self.expect_len(len)?;
        self.visit_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        self.visit_map(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PathError> {
        self.visit_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PathError> {
        let (param, value) = self.single()?;
        ValueDeserializer::new(param, value)
            .deserialize_enum(name, variants, visitor)
            .map_err(|e| e.at(param, value))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        visitor.visit_unit()
    }
}

/// [`de::SeqAccess`] over the parameters' values, in route order.
struct ParamSeq<'de> {
    iter: std::slice::Iter<'de, (String, String)>,
}

impl<'de> de::SeqAccess<'de> for ParamSeq<'de> {
    type Error = PathError;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, PathError> {
        match self.iter.next() {
            Some((name, value)) => {
                let de = ValueDeserializer {
                    name,
                    value,
                    pair: true,
                };
                seed.deserialize(de)
                    .map(Some)
                    .map_err(|e| e.at(name, value))
            }
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// [`de::MapAccess`] over the parameters, keyed by name.
struct ParamMap<'de> {
    iter: std::slice::Iter<'de, (String, String)>,
    /// The pair whose key was just produced and whose value is due next.
    value: Option<&'de (String, String)>,
}

impl<'de> de::MapAccess<'de> for ParamMap<'de> {
    type Error = PathError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, PathError> {
        match self.iter.next() {
            Some(pair) => {
                self.value = Some(pair);
                let name = pair.0.as_str();
                // Keys go through the value deserializer too, so that e.g.
                // `HashMap<u32, _>` reports a proper parse error.
                seed.deserialize(ValueDeserializer::new(name, name))
                    .map(Some)
                    .map_err(|e| e.at(name, name))
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, PathError> {
        match self.value.take() {
            Some((name, value)) => seed
                .deserialize(ValueDeserializer::new(name, value))
                .map_err(|e| e.at(name, value)),
            None => Err(de::Error::custom(
                "path parameter value requested before its name",
            )),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// Deserializer for one parameter's value.
struct ValueDeserializer<'de> {
    /// Parameter name, for error reports.
    name: &'de str,
    /// Percent-decoded value.
    value: &'de str,
    /// Set for elements of a top-level sequence: a 2-tuple then yields
    /// `(name, value)`, so `Vec<(String, String)>` lists every parameter.
    pair: bool,
}

/// Parses the value as an integer type with [`str::parse`].
macro_rules! parse_int {
    ($($method:ident $visit:ident $ty:ty;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
            match self.value.parse::<$ty>() {
                Ok(n) => visitor.$visit(n),
                Err(e) => Err(self.int_error(e.kind(), stringify!($ty))),
            }
        }
    )*};
}

/// Parses the value as a float type with [`str::parse`].
macro_rules! parse_float {
    ($($method:ident $visit:ident $ty:ty;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
            match self.value.parse::<$ty>() {
                Ok(n) => visitor.$visit(n),
                Err(_) => Err(self.error(
                    "float_parsing",
                    "Input should be a valid number, unable to parse string as a number",
                )),
            }
        }
    )*};
}

impl<'de> ValueDeserializer<'de> {
    /// A value deserializer that does not treat 2-tuples specially.
    fn new(name: &'de str, value: &'de str) -> Self {
        ValueDeserializer {
            name,
            value,
            pair: false,
        }
    }

    /// An error about this value.
    fn error(&self, kind: &'static str, message: impl Into<String>) -> PathError {
        PathError::value(self.name, self.value, kind, message)
    }

    /// This value cannot be deserialized into `what`.
    fn unsupported(&self, what: impl fmt::Display) -> PathError {
        PathError::unsupported(self.name, self.value, what)
    }

    /// Error for a failed integer parse, telling "out of range" apart from
    /// "not a number".
    fn int_error(&self, kind: &std::num::IntErrorKind, ty: &str) -> PathError {
        use std::num::IntErrorKind;
        let overflow = matches!(kind, IntErrorKind::PosOverflow | IntErrorKind::NegOverflow);
        // A well-formed negative integer rejected by an unsigned type.
        let negative = self.value.strip_prefix('-').is_some_and(|digits| {
            !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit())
                && digits.bytes().any(|b| b != b'0')
        });
        if overflow || negative {
            self.error(
                "int_parsing",
                format!("Input should be a valid integer, number out of range for {ty}"),
            )
        } else {
            self.error(
                "int_parsing",
                "Input should be a valid integer, unable to parse string as an integer",
            )
        }
    }
}

impl<'de> de::Deserializer<'de> for ValueDeserializer<'de> {
    type Error = PathError;

    /// Self-describing targets see the value as a string.
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        visitor.visit_borrowed_str(self.value)
    }

    parse_int! {
        deserialize_i8 visit_i8 i8;
        deserialize_i16 visit_i16 i16;
        deserialize_i32 visit_i32 i32;
        deserialize_i64 visit_i64 i64;
        deserialize_i128 visit_i128 i128;
        deserialize_u8 visit_u8 u8;
        deserialize_u16 visit_u16 u16;
        deserialize_u32 visit_u32 u32;
        deserialize_u64 visit_u64 u64;
        deserialize_u128 visit_u128 u128;
    }

    parse_float! {
        deserialize_f32 visit_f32 f32;
        deserialize_f64 visit_f64 f64;
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        match self.value {
            "true" | "1" => visitor.visit_bool(true),
            "false" | "0" => visitor.visit_bool(false),
            _ => Err(self.error("bool_parsing", "Input should be a valid boolean")),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        let mut chars = self.value.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => visitor.visit_char(c),
            _ => Err(self.error("char_parsing", "Input should be a single character")),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        visitor.visit_borrowed_str(self.value)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        visitor.visit_borrowed_str(self.value)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        visitor.visit_borrowed_str(self.value)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        visitor.visit_borrowed_bytes(self.value.as_bytes())
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        visitor.visit_borrowed_bytes(self.value.as_bytes())
    }

    /// A captured parameter is always present.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, PathError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, PathError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, PathError> {
        Err(self.unsupported("a sequence"))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, PathError> {
        if self.pair && len == 2 {
            let pair = [
                ValueDeserializer::new(self.name, self.name),
                ValueDeserializer::new(self.name, self.value),
            ];
            visitor.visit_seq(de::value::SeqDeserializer::new(pair.into_iter()))
        } else {
            Err(self.unsupported("a tuple"))
        }
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _len: usize,
        _visitor: V,
    ) -> Result<V::Value, PathError> {
        Err(self.unsupported(format_args!("the tuple struct `{name}`")))
    }

    fn deserialize_map<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, PathError> {
        Err(self.unsupported("a map"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, PathError> {
        Err(self.unsupported(format_args!("the struct `{name}`")))
    }

    /// Unit variants are selected by name; other variants are unsupported.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PathError> {
        visitor.visit_enum(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PathError> {
        visitor.visit_unit()
    }
}

impl<'de> IntoDeserializer<'de, PathError> for ValueDeserializer<'de> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> de::EnumAccess<'de> for ValueDeserializer<'de> {
    type Error = PathError;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), PathError> {
        let variant = seed.deserialize(ValueDeserializer::new(self.name, self.value))?;
        Ok((variant, self))
    }
}

impl<'de> de::VariantAccess<'de> for ValueDeserializer<'de> {
    type Error = PathError;

    fn unit_variant(self) -> Result<(), PathError> {
        Ok(())
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(
        self,
        _seed: S,
    ) -> Result<S::Value, PathError> {
        Err(self.unsupported("a newtype enum variant"))
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        _visitor: V,
    ) -> Result<V::Value, PathError> {
        Err(self.unsupported("a tuple enum variant"))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, PathError> {
        Err(self.unsupported("a struct enum variant"))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use serde::Deserialize;

    use super::*;

    /// Builds an owned parameter list from string pairs.
    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    /// Deserializes `T` from string pairs.
    fn de<T: DeserializeOwned>(pairs: &[(&str, &str)]) -> Result<T, PathError> {
        from_params(&params(pairs))
    }

    /// Asserts an error's param, kind and input.
    fn assert_err(err: &PathError, param: Option<&str>, kind: &str, input: Option<&str>) {
        assert_eq!(err.param.as_deref(), param, "param of {err:?}");
        assert_eq!(err.kind, kind, "kind of {err:?}");
        assert_eq!(err.input.as_deref(), input, "input of {err:?}");
    }

    const INT_MSG: &str = "Input should be a valid integer, unable to parse string as an integer";
    const FLOAT_MSG: &str = "Input should be a valid number, unable to parse string as a number";

    #[derive(Debug, Deserialize, PartialEq)]
    struct UserPost {
        #[serde(rename = "user")]
        user_id: u32,
        post: String,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Color {
        Red,
        Green,
        #[serde(rename = "dark-blue")]
        DarkBlue,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Id(u64);

    #[derive(Debug, Deserialize, PartialEq)]
    struct Pair(String, i32);

    #[test]
    fn single_u32() {
        assert_eq!(de::<u32>(&[("id", "42")]), Ok(42));
    }

    #[test]
    fn single_string_keeps_decoded_value() {
        assert_eq!(de::<String>(&[("name", "a b/é")]), Ok("a b/é".to_owned()));
    }

    #[test]
    fn all_primitives() {
        assert_eq!(de::<i8>(&[("p", "-8")]), Ok(-8));
        assert_eq!(de::<i16>(&[("p", "+16")]), Ok(16));
        assert_eq!(de::<i64>(&[("p", "-64")]), Ok(-64));
        assert_eq!(
            de::<i128>(&[("p", "-170141183460469231731687303715884105728")]),
            Ok(i128::MIN)
        );
        assert_eq!(
            de::<u128>(&[("p", "340282366920938463463374607431768211455")]),
            Ok(u128::MAX)
        );
        assert_eq!(de::<u8>(&[("p", "255")]), Ok(255));
        assert_eq!(de::<f32>(&[("p", "1.5")]), Ok(1.5));
        assert_eq!(de::<f64>(&[("p", "-2e3")]), Ok(-2000.0));
        assert_eq!(de::<bool>(&[("p", "true")]), Ok(true));
        assert_eq!(de::<bool>(&[("p", "false")]), Ok(false));
        assert_eq!(de::<bool>(&[("p", "1")]), Ok(true));
        assert_eq!(de::<bool>(&[("p", "0")]), Ok(false));
    }

    #[test]
    fn newtype_struct_needs_one_param() {
        assert_eq!(de::<Id>(&[("id", "7")]), Ok(Id(7)));
        let err = de::<Id>(&[("a", "1"), ("b", "2")]).unwrap_err();
        assert_err(&err, None, "wrong_count", None);
    }

    #[test]
    fn single_wrong_count() {
        let err = de::<u32>(&[]).unwrap_err();
        assert_err(&err, None, "wrong_count", None);
        assert_eq!(err.message, "expected 1 path parameter, the route has 0");

        let err = de::<String>(&[("a", "1"), ("b", "2")]).unwrap_err();
        assert_err(&err, None, "wrong_count", None);
        assert_eq!(err.message, "expected 1 path parameter, the route has 2");
    }

    #[test]
    fn tuple_in_order() {
        let got = de::<(String, u32)>(&[("user", "ann"), ("post", "3")]);
        assert_eq!(got, Ok(("ann".to_owned(), 3)));
    }

    #[test]
    fn tuple_struct_in_order() {
        let got = de::<Pair>(&[("a", "x"), ("b", "-1")]);
        assert_eq!(got, Ok(Pair("x".to_owned(), -1)));
    }

    #[test]
    fn tuple_wrong_count() {
        let err = de::<(String, u32)>(&[("user", "ann")]).unwrap_err();
        assert_err(&err, None, "wrong_count", None);
        assert_eq!(err.message, "expected 2 path parameters, the route has 1");

        let err = de::<(u8, u8)>(&[("a", "1"), ("b", "2"), ("c", "3")]).unwrap_err();
        assert_eq!(err.message, "expected 2 path parameters, the route has 3");

        let err = de::<Pair>(&[("a", "x")]).unwrap_err();
        assert_err(&err, None, "wrong_count", None);
    }

    #[test]
    fn tuple_parse_error_names_param() {
        let err = de::<(String, u32)>(&[("user", "ann"), ("post", "x3")]).unwrap_err();
        assert_err(&err, Some("post"), "int_parsing", Some("x3"));
        assert_eq!(err.message, INT_MSG);
    }

    #[test]
    fn seq_takes_any_count() {
        assert_eq!(de::<Vec<u8>>(&[]), Ok(vec![]));
        assert_eq!(de::<Vec<u8>>(&[("a", "1"), ("b", "2")]), Ok(vec![1, 2]));
        let err = de::<Vec<u8>>(&[("a", "1"), ("b", "300")]).unwrap_err();
        assert_err(&err, Some("b"), "int_parsing", Some("300"));
    }

    #[test]
    fn seq_of_pairs_lists_names_and_values() {
        let got = de::<Vec<(String, String)>>(&[("a", "1"), ("b", "2")]);
        let want = vec![
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "2".to_owned()),
        ];
        assert_eq!(got, Ok(want));
    }

    #[test]
    fn struct_by_name_with_rename_and_any_order() {
        let got = de::<UserPost>(&[("post", "hello"), ("user", "9")]);
        let want = UserPost {
            user_id: 9,
            post: "hello".to_owned(),
        };
        assert_eq!(got, Ok(want));
    }

    #[test]
    fn struct_ignores_extra_params() {
        let got = de::<UserPost>(&[("org", "x"), ("user", "1"), ("post", "p"), ("extra", "[]")]);
        assert!(got.is_ok(), "{got:?}");
    }

    #[test]
    fn struct_missing_field() {
        let err = de::<UserPost>(&[("post", "hello")]).unwrap_err();
        assert_err(&err, Some("user"), "missing", None);
        assert!(err.message.contains("user"), "{}", err.message);
    }

    #[test]
    fn struct_optional_field_may_be_missing() {
        #[derive(Debug, Deserialize, PartialEq)]
        struct Opt {
            id: u32,
            tab: Option<String>,
        }
        assert_eq!(de::<Opt>(&[("id", "1")]), Ok(Opt { id: 1, tab: None }));
        assert_eq!(
            de::<Opt>(&[("id", "1"), ("tab", "x")]),
            Ok(Opt {
                id: 1,
                tab: Some("x".to_owned())
            })
        );
    }

    #[test]
    fn struct_parse_error_names_param() {
        let err = de::<UserPost>(&[("user", "abc"), ("post", "p")]).unwrap_err();
        assert_err(&err, Some("user"), "int_parsing", Some("abc"));
        assert_eq!(err.message, INT_MSG);
        assert_eq!(err.to_string(), format!("path parameter `user`: {INT_MSG}"));
    }

    #[test]
    fn hashmap_of_strings() {
        let got = de::<HashMap<String, String>>(&[("a", "1"), ("b", "x")]).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got["a"], "1");
        assert_eq!(got["b"], "x");
    }

    #[test]
    fn hashmap_of_numbers() {
        let got = de::<HashMap<String, u32>>(&[("a", "1"), ("b", "2")]).unwrap();
        assert_eq!(
            got,
            HashMap::from([("a".to_owned(), 1), ("b".to_owned(), 2)])
        );

        let err = de::<HashMap<String, u32>>(&[("a", "1"), ("b", "two")]).unwrap_err();
        assert_err(&err, Some("b"), "int_parsing", Some("two"));
    }

    #[test]
    fn map_with_numeric_keys_reports_key() {
        let got = de::<BTreeMap<u8, String>>(&[("1", "x")]);
        assert_eq!(got, Ok(BTreeMap::from([(1, "x".to_owned())])));
        let err = de::<BTreeMap<u8, String>>(&[("k", "x")]).unwrap_err();
        assert_err(&err, Some("k"), "int_parsing", Some("k"));
    }

    #[test]
    fn int_parse_failures() {
        for input in ["", "abc", "1.5", " 1", "1 ", "0x10", "-", "+"] {
            let err = de::<i32>(&[("n", input)]).unwrap_err();
            assert_err(&err, Some("n"), "int_parsing", Some(input));
            assert_eq!(err.message, INT_MSG, "input {input:?}");
        }
    }

    #[test]
    fn int_out_of_range() {
        let cases: &[(&str, Result<(), PathError>)] = &[
            ("256", de::<u8>(&[("n", "256")]).map(drop)),
            ("-1", de::<u8>(&[("n", "-1")]).map(drop)),
            ("-129", de::<i8>(&[("n", "-129")]).map(drop)),
            (
                "99999999999999999999",
                de::<u64>(&[("n", "99999999999999999999")]).map(drop),
            ),
            (
                "-340282366920938463463374607431768211456",
                de::<u128>(&[("n", "-340282366920938463463374607431768211456")]).map(drop),
            ),
        ];
        for (input, got) in cases {
            let err = got.clone().unwrap_err();
            assert_err(&err, Some("n"), "int_parsing", Some(input));
            assert!(
                err.message.contains("out of range"),
                "{input}: {}",
                err.message
            );
            assert!(err.message.starts_with("Input should be a valid integer"));
        }
        // `-0` is not an out-of-range number for an unsigned type, just unparsable.
        let err = de::<u8>(&[("n", "-0")]).unwrap_err();
        assert_eq!(err.message, INT_MSG);
    }

    #[test]
    fn float_parse_failures() {
        for input in ["", "one", "1,5", "1.5.2"] {
            let err = de::<f64>(&[("x", input)]).unwrap_err();
            assert_err(&err, Some("x"), "float_parsing", Some(input));
            assert_eq!(err.message, FLOAT_MSG);
        }
        let err = de::<f32>(&[("x", "nope")]).unwrap_err();
        assert_err(&err, Some("x"), "float_parsing", Some("nope"));
    }

    #[test]
    fn bool_parse_failures() {
        for input in ["", "yes", "TRUE", "True", "2", "on"] {
            let err = de::<bool>(&[("flag", input)]).unwrap_err();
            assert_err(&err, Some("flag"), "bool_parsing", Some(input));
            assert_eq!(err.message, "Input should be a valid boolean");
        }
    }

    #[test]
    fn char_values() {
        assert_eq!(de::<char>(&[("c", "x")]), Ok('x'));
        assert_eq!(de::<char>(&[("c", "é")]), Ok('é'));
        for input in ["", "ab", "é!"] {
            let err = de::<char>(&[("c", input)]).unwrap_err();
            assert_err(&err, Some("c"), "char_parsing", Some(input));
            assert_eq!(err.message, "Input should be a single character");
        }
    }

    #[test]
    fn enum_by_variant_name() {
        assert_eq!(de::<Color>(&[("color", "red")]), Ok(Color::Red));
        assert_eq!(de::<Color>(&[("color", "green")]), Ok(Color::Green));
        assert_eq!(de::<Color>(&[("color", "dark-blue")]), Ok(Color::DarkBlue));

        #[derive(Debug, Deserialize)]
        struct WithEnum {
            #[allow(dead_code)]
            color: Color,
        }
        assert!(de::<WithEnum>(&[("color", "green")]).is_ok());
    }

    #[test]
    fn enum_unknown_variant() {
        let err = de::<Color>(&[("color", "Red")]).unwrap_err();
        assert_err(&err, Some("color"), "value_error", Some("Red"));
        assert!(err.message.contains("unknown variant"), "{}", err.message);

        let err = de::<(u8, Color)>(&[("n", "1"), ("color", "pink")]).unwrap_err();
        assert_err(&err, Some("color"), "value_error", Some("pink"));

        let err = de::<Color>(&[("a", "red"), ("b", "red")]).unwrap_err();
        assert_err(&err, None, "wrong_count", None);
    }

    #[test]
    fn non_unit_variants_are_unsupported() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        enum Shape {
            Dot(u32),
            Line(u32, u32),
            Box { w: u32 },
        }
        for variant in ["Dot", "Line", "Box"] {
            let err = de::<Shape>(&[("shape", variant)]).unwrap_err();
            assert_err(&err, Some("shape"), "unsupported_type", Some(variant));
        }
    }

    #[test]
    fn nested_values_are_unsupported() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Inner {
            a: u32,
        }
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Outer {
            inner: Inner,
            list: Vec<u32>,
        }
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct WithList {
            list: Vec<u32>,
        }
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct WithMap {
            map: HashMap<String, String>,
        }
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct WithTuple {
            t: (u8, u8),
            ts: Pair,
        }

        let err = de::<Outer>(&[("inner", "1"), ("list", "1")]).unwrap_err();
        assert_err(&err, Some("inner"), "unsupported_type", Some("1"));
        let err = de::<WithList>(&[("list", "1,2")]).unwrap_err();
        assert_err(&err, Some("list"), "unsupported_type", Some("1,2"));
        let err = de::<WithMap>(&[("map", "x")]).unwrap_err();
        assert_err(&err, Some("map"), "unsupported_type", Some("x"));
        let err = de::<WithTuple>(&[("t", "1"), ("ts", "2")]).unwrap_err();
        assert_err(&err, Some("t"), "unsupported_type", Some("1"));
        let err = de::<Vec<Vec<u8>>>(&[("a", "1")]).unwrap_err();
        assert_err(&err, Some("a"), "unsupported_type", Some("1"));
        let err = de::<(Inner,)>(&[("a", "1")]).unwrap_err();
        assert_err(&err, Some("a"), "unsupported_type", Some("1"));
    }

    #[test]
    fn json_value_sees_strings() {
        let got = de::<serde_json::Value>(&[("id", "42"), ("name", "x")]).unwrap();
        assert_eq!(got, serde_json::json!({ "id": "42", "name": "x" }));

        #[derive(Debug, Deserialize)]
        struct Dynamic {
            id: serde_json::Value,
        }
        let got = de::<Dynamic>(&[("id", "42")]).unwrap();
        assert_eq!(got.id, serde_json::Value::String("42".to_owned()));

        let got = de::<(serde_json::Value,)>(&[("id", "true")]).unwrap();
        assert_eq!(got.0, serde_json::Value::String("true".to_owned()));
    }

    #[test]
    fn newtype_around_struct_is_transparent() {
        #[derive(Debug, Deserialize, PartialEq)]
        struct Wrapped(UserPost);
        let got = de::<Wrapped>(&[("user", "1"), ("post", "p")]);
        assert_eq!(
            got,
            Ok(Wrapped(UserPost {
                user_id: 1,
                post: "p".to_owned()
            }))
        );
    }

    #[test]
    fn custom_deserialize_error_is_value_error() {
        #[derive(Debug)]
        struct Even(u32);
        impl<'de> Deserialize<'de> for Even {
            fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let n = u32::deserialize(d)?;
                if n % 2 == 0 {
                    Ok(Even(n))
                } else {
                    Err(de::Error::custom("must be even"))
                }
            }
        }
        #[derive(Debug, Deserialize)]
        struct Page {
            #[allow(dead_code)]
            page: Even,
        }
        assert_eq!(de::<Even>(&[("n", "4")]).map(|e| e.0), Ok(4));
        let err = de::<Page>(&[("page", "3")]).unwrap_err();
        assert_err(&err, Some("page"), "value_error", Some("3"));
        assert_eq!(err.message, "must be even");
    }

    #[test]
    fn unit_and_ignored() {
        assert_eq!(de::<()>(&[]), Ok(()));
        assert_eq!(de::<()>(&[("a", "b")]), Ok(()));
        assert!(de::<de::IgnoredAny>(&[("a", "b")]).is_ok());
    }

    #[test]
    fn top_level_option() {
        assert_eq!(de::<Option<u32>>(&[]), Ok(None));
        assert_eq!(de::<Option<u32>>(&[("id", "5")]), Ok(Some(5)));
    }

    #[test]
    fn arbitrary_inputs_never_panic() {
        let inputs = [
            "",
            "0",
            "-",
            "+",
            "1e400",
            "-1e400",
            "NaN",
            "inf",
            "\u{0}",
            "é",
            "🦀🦀",
            "[]",
            "{}",
            "a=b&c",
            "%zz",
            "18446744073709551616",
            "-9223372036854775809",
        ];
        for input in inputs {
            let one = [("p", input)];
            let _ = de::<u8>(&one);
            let _ = de::<i128>(&one);
            let _ = de::<u128>(&one);
            let _ = de::<f32>(&one);
            let _ = de::<f64>(&one);
            let _ = de::<bool>(&one);
            let _ = de::<char>(&one);
            let _ = de::<String>(&one);
            let _ = de::<Color>(&one);
            let _ = de::<(u8, u8)>(&one);
            let _ = de::<Vec<String>>(&one);
            let _ = de::<HashMap<String, i64>>(&one);
            let _ = de::<UserPost>(&one);
            let _ = de::<serde_json::Value>(&one);
            let _ = de::<Vec<Vec<String>>>(&one);
            let _ = de::<Vec<(u8, u8)>>(&one);
            let _ = de::<Vec<(u8, u8, u8)>>(&one);
        }
    }
}
