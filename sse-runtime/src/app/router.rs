//! The router: `matchit` patterns (`{param}`, `{*rest}`) per HTTP method.

use std::sync::Arc;

use http::Method;

use crate::app::build_error::BuildError;
use crate::app::handler::Endpoint;
use crate::app::pattern;
use crate::extract::PathParams;

/// Routes by path, then by method.
#[derive(Default)]
pub(crate) struct Router {
    paths: matchit::Router<usize>,
    routes: Vec<PathRoutes>,
}

struct PathRoutes {
    /// Shared with every stream of the route, as its metrics' `route` label.
    pattern: Arc<str>,
    methods: Vec<(Method, Endpoint)>,
}

/// The result of a lookup.
pub(crate) enum Match<'a> {
    /// A route: its endpoint, the decoded path parameters, and the route's path pattern.
    Found(&'a Endpoint, PathParams, &'a Arc<str>),
    /// The path exists with other methods; the value is the `Allow` header.
    MethodNotAllowed(String),
    /// No route has this path.
    NotFound,
    /// A path parameter is not valid percent-encoded UTF-8.
    BadPath(String),
}

impl Router {
    /// Adds a route; conflicts and invalid patterns are errors, never panics.
    pub(crate) fn insert(
        &mut self,
        method: Method,
        pattern: &str,
        endpoint: Endpoint,
    ) -> Result<(), BuildError> {
        if let Err(message) = pattern::parse(pattern) {
            return Err(BuildError::new(format!(
                "invalid route `{method} {pattern}`: {message}"
            )));
        }
        if let Some(index) = self.routes.iter().position(|r| &*r.pattern == pattern) {
            let routes = &mut self.routes[index];
            if routes.methods.iter().any(|(m, _)| *m == method) {
                return Err(BuildError::new(format!(
                    "route `{method} {pattern}` is registered twice"
                )));
            }
            routes.methods.push((method, endpoint));
            return Ok(());
        }
        let index = self.routes.len();
        self.paths
            .insert(pattern, index)
            .map_err(|err| BuildError::new(format!("invalid route `{method} {pattern}`: {err}")))?;
        self.routes.push(PathRoutes {
            pattern: Arc::from(pattern),
            methods: vec![(method, endpoint)],
        });
        Ok(())
    }

    /// Finds the endpoint for `method` and `path`. `HEAD` falls back to `GET`.
    pub(crate) fn find(&self, method: &Method, path: &str) -> Match<'_> {
        let Ok(matched) = self.paths.at(path) else {
            return Match::NotFound;
        };
        let routes = &self.routes[*matched.value];
        let endpoint = routes
            .methods
            .iter()
            .find(|(m, _)| m == method)
            .or_else(|| {
                (method == Method::HEAD)
                    .then(|| routes.methods.iter().find(|(m, _)| m == Method::GET))
                    .flatten()
            });
        let Some((_, endpoint)) = endpoint else {
            return Match::MethodNotAllowed(allow_header(&routes.methods));
        };
        let mut params = Vec::with_capacity(matched.params.len());
        for (name, raw) in matched.params.iter() {
            match percent_encoding::percent_decode_str(raw).decode_utf8() {
                Ok(value) => params.push((name.to_owned(), value.into_owned())),
                Err(_) => {
                    return Match::BadPath(format!(
                        "path parameter `{name}` is not valid UTF-8 once percent-decoded"
                    ))
                }
            }
        }
        Match::Found(endpoint, PathParams(params), &routes.pattern)
    }

    /// Every `(method, pattern)`, in registration order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Method, &str)> {
        self.routes
            .iter()
            .flat_map(|r| r.methods.iter().map(|(m, _)| (m, &*r.pattern)))
    }
}

fn allow_header(methods: &[(Method, Endpoint)]) -> String {
    let mut names: Vec<&str> = methods.iter().map(|(m, _)| m.as_str()).collect();
    if names.contains(&"GET") && !names.contains(&"HEAD") {
        names.push("HEAD");
    }
    names.sort_unstable();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint() -> Endpoint {
        Endpoint::new(|| async { "ok" })
    }

    #[test]
    fn conflicts_and_bad_patterns_are_errors() {
        let mut router = Router::default();
        router.insert(Method::GET, "/a/{id}", endpoint()).unwrap();
        assert!(router.insert(Method::GET, "/a/{id}", endpoint()).is_err());
        assert!(router
            .insert(Method::GET, "/a/{other}", endpoint())
            .is_err());
        assert!(router
            .insert(Method::GET, "/b/{unclosed", endpoint())
            .is_err());
        assert!(router.insert(Method::GET, "no-slash", endpoint()).is_err());
        router.insert(Method::POST, "/a/{id}", endpoint()).unwrap();
    }

    #[test]
    fn method_not_allowed_lists_methods() {
        let mut router = Router::default();
        router.insert(Method::POST, "/x", endpoint()).unwrap();
        router.insert(Method::GET, "/x", endpoint()).unwrap();
        match router.find(&Method::DELETE, "/x") {
            Match::MethodNotAllowed(allow) => assert_eq!(allow, "GET, HEAD, POST"),
            _ => panic!("expected 405"),
        }
        assert!(matches!(router.find(&Method::HEAD, "/x"), Match::Found(..)));
        assert!(matches!(router.find(&Method::GET, "/y"), Match::NotFound));
    }

    #[test]
    fn params_are_percent_decoded() {
        let mut router = Router::default();
        router
            .insert(Method::GET, "/s/{name}/{*rest}", endpoint())
            .unwrap();
        match router.find(&Method::GET, "/s/a%20b/c/d") {
            Match::Found(_, params, pattern) => {
                assert_eq!(&**pattern, "/s/{name}/{*rest}");
                let got: Vec<_> = params.iter().collect();
                assert_eq!(got, [("name", "a b"), ("rest", "c/d")]);
            }
            _ => panic!("expected a match"),
        }
        assert!(matches!(
            router.find(&Method::GET, "/s/%FF/x"),
            Match::BadPath(_)
        ));
    }
}
