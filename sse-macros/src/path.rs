//! Compile-time checks of a route path in the router's (matchit's) syntax: a leading
//! `/`, `{param}` and `{*rest}` parameters, `{{` / `}}` for literal braces.
//!
//! The router checks the same rules again when the app is built; checking here turns a
//! typo into a compile error on the string literal instead of a start-up failure.
//! Conflicts between routes can only be seen at start-up.

use syn::LitStr;

/// Checks `lit`; the error is spanned on the literal.
pub(crate) fn validate(lit: &LitStr) -> syn::Result<()> {
    check(&lit.value())
        .map(drop)
        .map_err(|message| syn::Error::new(lit.span(), message))
}

/// The rules, on the path's text; a valid path's parameter names, in order (`{name}`
/// and `{*name}` give `name`).
pub(crate) fn check(path: &str) -> Result<Vec<String>, String> {
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

    let bytes: Vec<char> = path.chars().collect();
    let mut names: Vec<String> = Vec::new();
    let mut params_in_segment = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            '/' => {
                params_in_segment = 0;
                i += 1;
            }
            '{' if bytes.get(i + 1) == Some(&'{') => i += 2,
            '}' if bytes.get(i + 1) == Some(&'}') => i += 2,
            '}' => {
                return Err(
                    "unmatched `}` in route path: write `}}` for a literal brace".to_owned(),
                )
            }
            '{' => {
                let start = i + 1;
                let mut end = start;
                while end < bytes.len() && bytes[end] != '}' {
                    if matches!(bytes[end], '{' | '/') {
                        return Err(unclosed(&bytes[i..end]));
                    }
                    end += 1;
                }
                if end == bytes.len() {
                    return Err(unclosed(&bytes[i..]));
                }
                let inner: String = bytes[start..end].iter().collect();
                let (catch_all, name) = match inner.strip_prefix('*') {
                    Some(name) => (true, name.to_owned()),
                    None => (false, inner.clone()),
                };
                if name.is_empty() {
                    return Err(format!(
                        "empty parameter `{{{inner}}}` in route path: name it, as in `{{{}id}}`",
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
                names.push(name.clone());
                if catch_all && end + 1 != bytes.len() {
                    return Err(format!(
                        "catch-all parameter `{{*{name}}}` must end the route path"
                    ));
                }
                i = end + 1;
            }
            _ => i += 1,
        }
    }
    Ok(names)
}

fn unclosed(text: &[char]) -> String {
    let text: String = text.iter().collect();
    format!(
        "unclosed `{{` in route path at `{text}`: close the parameter, as in `{{id}}`, or write \
         `{{{{` for a literal brace"
    )
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn valid_paths_give_their_parameters_in_order() {
        for (path, params) in [
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
            assert_eq!(
                check(path),
                Ok(params.iter().map(|p| p.to_string()).collect()),
                "{path}"
            );
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
            let err = check(path).expect_err(path);
            assert!(err.contains(needle), "{path}: {err}");
        }
    }
}
