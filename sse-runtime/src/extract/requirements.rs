//! [`Requirements`]: what a route's extractors need from the app, checked when the app is
//! built, so that a misconfigured app fails at start-up instead of answering every
//! request with an error that blames the client.

use std::any::TypeId;
use std::fmt;

use serde::de::{self, DeserializeOwned, Visitor};

/// What the extractors of one route need from the app: the state types they read, and
/// the shape of their path parameters. [`App::build`](crate::App::build) (and so every
/// `serve*`) checks them against the registered state and the route's pattern, and fails
/// with every problem at once.
///
/// A custom extractor declares what it reads in
/// [`FromRequestParts::requirements`](super::FromRequestParts::requirements):
///
/// ```
/// use sse_runtime::extract::{AppState, FromRequestParts, Requirements};
/// use sse_runtime::http::request::Parts;
/// use sse_runtime::{App, HttpError};
///
/// #[derive(Clone)]
/// struct Sessions;
///
/// struct User(String);
///
/// impl FromRequestParts for User {
///     type Rejection = HttpError;
///
///     async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
///         state.get::<Sessions>().map(|_| User("ada".into())).ok_or_else(|| HttpError::unauthorized("who?"))
///     }
///
///     fn requirements(requirements: &mut Requirements) {
///         requirements.state::<Sessions>();
///     }
/// }
///
/// async fn me(User(name): User) -> String {
///     name
/// }
///
/// // Sessions was never registered: the app does not build.
/// let err = App::new().get("/me", me).build().unwrap_err();
/// assert!(err.to_string().contains("Sessions"), "{err}");
/// assert!(App::new().get("/me", me).state(Sessions).build().is_ok());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Requirements {
    pub(crate) states: Vec<(TypeId, &'static str)>,
    pub(crate) paths: Vec<(&'static str, PathShape)>,
}

impl Requirements {
    /// The route reads the state value of type `T` ([`App::state`](crate::App::state)).
    pub fn state<T: 'static>(&mut self) -> &mut Self {
        let id = TypeId::of::<T>();
        if !self.states.iter().any(|(known, _)| *known == id) {
            self.states.push((id, std::any::type_name::<T>()));
        }
        self
    }

    /// The route deserializes its path parameters into `T`, as
    /// [`Path<T>`](crate::Path) does.
    pub fn path<T: DeserializeOwned>(&mut self) -> &mut Self {
        self.paths
            .push((std::any::type_name::<T>(), PathShape::of::<T>()));
        self
    }

    /// Every problem of a route `route` (`"GET /p/{id}"`) whose pattern has the parameters
    /// `params`, given what `has_state` says is registered.
    pub(crate) fn problems(
        &self,
        route: &str,
        params: &[&str],
        has_state: impl Fn(TypeId) -> bool,
    ) -> Vec<String> {
        let mut problems = Vec::new();
        for (id, name) in &self.states {
            if !has_state(*id) {
                problems.push(format!(
                    "`{route}` reads `State<{name}>`, but no value of that type is registered \
                     (add `.state(value)` to the app)"
                ));
            }
        }
        for (name, shape) in &self.paths {
            if let Some(problem) = shape.mismatch(params) {
                problems.push(format!("`{route}` extracts `Path<{name}>`: {problem}"));
            }
        }
        problems
    }
}

/// The shape serde gives a path type: what [`Path<T>`](crate::Path) will ask the
/// parameters for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PathShape {
    /// A struct: its fields, by their serde names.
    Fields(&'static [&'static str]),
    /// A tuple of this many values, in pattern order.
    Tuple(usize),
    /// One value.
    One,
    /// A map, a sequence or anything else that takes what there is: nothing to check.
    Any,
}

impl PathShape {
    /// Probes `T`'s `Deserialize` impl: it asks for its shape first and is stopped there.
    pub(crate) fn of<T: DeserializeOwned>() -> Self {
        let mut shape = PathShape::Any;
        let _ = T::deserialize(Probe(&mut shape));
        shape
    }

    fn mismatch(&self, params: &[&str]) -> Option<String> {
        let listed = || {
            if params.is_empty() {
                "the route has no path parameters".to_owned()
            } else {
                let names: Vec<String> = params.iter().map(|p| format!("{{{p}}}")).collect();
                format!("the route has {}", names.join(", "))
            }
        };
        match self {
            PathShape::Fields(fields) => {
                let unknown: Vec<&str> = fields
                    .iter()
                    .copied()
                    .filter(|field| !params.contains(field))
                    .collect();
                (!unknown.is_empty()).then(|| {
                    let names: Vec<String> = unknown.iter().map(|f| format!("`{f}`")).collect();
                    format!(
                        "field{} {} match{} no path parameter ({})",
                        if unknown.len() == 1 { "" } else { "s" },
                        names.join(", "),
                        if unknown.len() == 1 { "es" } else { "" },
                        listed()
                    )
                })
            }
            PathShape::Tuple(len) => {
                (*len != params.len()).then(|| format!("a tuple of {len} values, but {}", listed()))
            }
            PathShape::One => (params.len() != 1).then(|| format!("one value, but {}", listed())),
            PathShape::Any => None,
        }
    }
}

/// Stops a probe once the shape is known.
#[derive(Debug)]
struct Probed;

impl fmt::Display for Probed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("shape probed")
    }
}

impl std::error::Error for Probed {}

impl de::Error for Probed {
    fn custom<M: fmt::Display>(_: M) -> Self {
        Probed
    }
}

/// A deserializer that records the first shape asked of it and deserializes nothing.
struct Probe<'a>(&'a mut PathShape);

impl Probe<'_> {
    fn found<V>(self, shape: PathShape) -> Result<V, Probed> {
        *self.0 = shape;
        Err(Probed)
    }
}

macro_rules! one_value {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Probed> {
                self.found(PathShape::One)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for Probe<'_> {
    type Error = Probed;

    one_value! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char deserialize_str
        deserialize_string deserialize_bytes deserialize_byte_buf deserialize_identifier
    }

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Probed> {
        self.found(PathShape::Any)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Probed> {
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Probed> {
        self.found(PathShape::Any)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: V,
    ) -> Result<V::Value, Probed> {
        self.found(PathShape::Any)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Probed> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Probed> {
        self.found(PathShape::Any)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, _: V) -> Result<V::Value, Probed> {
        self.found(PathShape::Tuple(len))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        len: usize,
        _: V,
    ) -> Result<V::Value, Probed> {
        self.found(PathShape::Tuple(len))
    }

    fn deserialize_map<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Probed> {
        self.found(PathShape::Any)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Probed> {
        self.found(PathShape::Fields(fields))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Probed> {
        self.found(PathShape::One)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Probed> {
        self.found(PathShape::Any)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde::Deserialize;

    use super::PathShape;

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Metric {
        #[serde(rename = "metric")]
        name: String,
        window: Option<u32>,
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Id(u64);

    #[test]
    fn shapes_as_serde_sees_them() {
        assert_eq!(
            PathShape::of::<Metric>(),
            PathShape::Fields(&["metric", "window"])
        );
        assert_eq!(PathShape::of::<(String, u32)>(), PathShape::Tuple(2));
        assert_eq!(PathShape::of::<u32>(), PathShape::One);
        assert_eq!(PathShape::of::<String>(), PathShape::One);
        assert_eq!(PathShape::of::<Id>(), PathShape::One);
        assert_eq!(PathShape::of::<Option<u32>>(), PathShape::One);
        assert_eq!(PathShape::of::<Vec<String>>(), PathShape::Any);
        assert_eq!(PathShape::of::<HashMap<String, String>>(), PathShape::Any);
    }

    #[test]
    fn mismatches_say_what_the_route_has() {
        let fields = PathShape::Fields(&["metrc", "window"]);
        assert_eq!(
            fields.mismatch(&["metric", "window"]).as_deref(),
            Some("field `metrc` matches no path parameter (the route has {metric}, {window})")
        );
        assert_eq!(fields.mismatch(&["metrc", "window", "extra"]), None);
        assert_eq!(
            PathShape::Tuple(2).mismatch(&["a"]).as_deref(),
            Some("a tuple of 2 values, but the route has {a}")
        );
        assert_eq!(
            PathShape::One.mismatch(&[]).as_deref(),
            Some("one value, but the route has no path parameters")
        );
        assert_eq!(PathShape::Any.mismatch(&["a", "b"]), None);
    }
}
