//! The route-pattern grammar, written once: a leading `/`, `{param}` and `{*rest}`
//! parameters (matchit's syntax), `{{` / `}}` for literal braces.
//!
//! Three places read it: the route attributes (a typo is a compile error on the path
//! literal), the router (the same check when the app is built, and the parameter names
//! that `Path` extractors are checked against) and the OpenAPI document (its path
//! templates). This file is part of both crates: `sse-macros/src/pattern.rs` is a
//! symbolic link to it (cargo packages a link's target), so it uses nothing but `std`,
//! and each crate uses only part of it.
#![allow(dead_code)]

/// One piece of a route pattern, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    /// Literal text (no braces).
    Text(&'a str),
    /// A literal brace, written doubled (`{{` or `}}`) in the pattern.
    Brace(char),
    /// `{name}`, or `{*name}` (`catch_all`), which ends the pattern.
    Param { name: &'a str, catch_all: bool },
}

/// Parses `path`; the error says what is wrong and how to write it.
pub(crate) fn parse(path: &str) -> Result<Vec<Piece<'_>>, String> {
    if path.is_empty() {
        return Err("a route path must not be empty: write \"/\" for the root".to_owned());
    }
    if !path.starts_with('/') {
        return Err(format!(
            "a route path must start with `/`: write \"/{path}\""
        ));
    }
    if let Some(c) = path.chars().find(|c| matches!(c, '?' | '#')) {
        return Err(format!(
            "a route path matches the URL's path only and cannot contain `{c}`: \
             read query parameters with `Query<T>`"
        ));
    }
    if let Some(c) = path.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "a route path cannot contain whitespace or control characters (found {c:?}); \
             percent-encode it"
        ));
    }

    let mut pieces = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    let mut params_in_segment = 0;
    let mut rest = path;
    while !rest.is_empty() {
        let Some(at) = rest.find(['{', '}', '/']) else {
            pieces.push(Piece::Text(rest));
            break;
        };
        if at > 0 {
            pieces.push(Piece::Text(&rest[..at]));
        }
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix('/') {
            params_in_segment = 0;
            pieces.push(Piece::Text("/"));
            rest = after;
        } else if let Some(after) = tail.strip_prefix("{{") {
            pieces.push(Piece::Brace('{'));
            rest = after;
        } else if let Some(after) = tail.strip_prefix("}}") {
            pieces.push(Piece::Brace('}'));
            rest = after;
        } else if tail.starts_with('}') {
            return Err("unmatched `}` in route path: write `}}` for a literal brace".to_owned());
        } else {
            let inner = &tail[1..];
            let Some(close) = inner.find(['}', '{', '/']) else {
                return Err(unclosed(tail));
            };
            if !inner[close..].starts_with('}') {
                return Err(unclosed(&tail[..=close]));
            }
            let raw = &inner[..close];
            let (catch_all, name) = match raw.strip_prefix('*') {
                Some(name) => (true, name),
                None => (false, raw),
            };
            if name.is_empty() {
                return Err(format!(
                    "empty parameter `{{{raw}}}` in route path: name it, as in `{{{}id}}`",
                    if catch_all { "*" } else { "" }
                ));
            }
            if name.contains('*') {
                return Err(format!(
                    "invalid parameter name `{name}`: `*` may only start a catch-all \
                     parameter, as in `{{*rest}}`"
                ));
            }
            params_in_segment += 1;
            if params_in_segment > 1 {
                return Err(format!(
                    "only one parameter is allowed per path segment (`{{{name}}}` follows \
                     another one): separate them with `/`"
                ));
            }
            if names.contains(&name) {
                return Err(format!(
                    "parameter `{name}` appears twice in the route path"
                ));
            }
            names.push(name);
            rest = &inner[close + 1..];
            if catch_all && !rest.is_empty() {
                return Err(format!(
                    "catch-all parameter `{{*{name}}}` must end the route path"
                ));
            }
            pieces.push(Piece::Param { name, catch_all });
        }
    }
    Ok(pieces)
}

/// The parameter names of a valid `path`, in order (`{name}` and `{*name}` give `name`).
pub(crate) fn params(path: &str) -> Result<Vec<&str>, String> {
    Ok(parse(path)?
        .into_iter()
        .filter_map(|piece| match piece {
            Piece::Param { name, .. } => Some(name),
            _ => None,
        })
        .collect())
}

/// The OpenAPI path template of a valid `path` (`{*rest}` becomes `{rest}`, `{{` a
/// literal `{`), and its parameter names.
pub(crate) fn template(path: &str) -> Result<(String, Vec<String>), String> {
    let mut out = String::with_capacity(path.len());
    let mut names = Vec::new();
    for piece in parse(path)? {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Brace(brace) => out.push(brace),
            Piece::Param { name, .. } => {
                out.push('{');
                out.push_str(name);
                out.push('}');
                names.push(name.to_owned());
            }
        }
    }
    Ok((out, names))
}

fn unclosed(text: &str) -> String {
    format!(
        "unclosed `{{` in route path at `{text}`: close the parameter, as in `{{id}}`, or write \
         `{{{{` for a literal brace"
    )
}

#[cfg(test)]
mod tests {
    use super::{params, template};

    #[test]
    fn valid_paths_give_their_parameters_in_order() {
        for (path, expected) in [
            ("/", &[][..]),
            ("/health", &[]),
            ("/items/{id}", &["id"]),
            ("/stocks/{symbol}/stream", &["symbol"]),
            ("/files/{*rest}", &["rest"]),
            ("/{a}/{b}/{c}", &["a", "b", "c"]),
            ("/img{id}.png", &["id"]),
            ("/{{literal}}", &[]),
            ("/a/{id}/b/{{x}}", &["id"]),
            ("/users/{user-id}", &["user-id"]),
        ] {
            assert_eq!(params(path), Ok(expected.to_vec()), "{path}");
        }
    }

    #[test]
    fn invalid_paths() {
        for (path, needle) in [
            ("", "must not be empty"),
            ("items", "must start with `/`"),
            ("/items?x=1", "cannot contain `?`"),
            ("/a b", "whitespace"),
            ("/items/{id", "unclosed `{`"),
            ("/items/{id/x}", "unclosed `{`"),
            ("/items/{a{b}}", "unclosed `{`"),
            ("/items/id}", "unmatched `}`"),
            ("/items/{}", "empty parameter"),
            ("/items/{*}", "empty parameter"),
            ("/items/{a*b}", "may only start a catch-all"),
            ("/items/{a}-{b}", "one parameter"),
            ("/items/{id}/{id}", "appears twice"),
            ("/files/{*rest}/more", "must end"),
        ] {
            let err = params(path).expect_err(path);
            assert!(err.contains(needle), "{path}: {err}");
        }
    }

    #[test]
    fn templates_name_parameters_in_order() {
        assert_eq!(
            template("/files/{dir}/{*rest}"),
            Ok((
                "/files/{dir}/{rest}".to_owned(),
                vec!["dir".to_owned(), "rest".to_owned()]
            ))
        );
        assert_eq!(template("/a/{{x}}").map(|t| t.0), Ok("/a/{x}".to_owned()));
        assert_eq!(template("/").map(|t| t.1), Ok(Vec::new()));
    }
}
