//! Parsing of the attribute's arguments:
//! `#[get("/path", sse, keep_alive = "15s", retry = "3s", first_event_window = "0s")]` and
//! `#[route(GET, "/path", ...)]`.
//!
//! Parsing never stops at the first bad option: every problem is recorded in
//! [`Errors`] and the rest is still read, so one typo yields one error.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Ident, Lit, LitStr, Token};

use crate::errors::Errors;

/// The HTTP methods `#[route(METHOD, ...)]` accepts, as `http::Method` constants.
pub(crate) const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT",
];

/// What the route answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A plain response (`Json<T>`, `String`, ...).
    Plain,
    /// `sse`: a `text/event-stream`.
    Sse,
    /// `ndjson`: an `application/x-ndjson` stream.
    Ndjson,
}

impl Kind {
    pub(crate) fn is_stream(self) -> bool {
        self != Kind::Plain
    }
}

/// `keep_alive = ...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeepAliveOpt {
    /// `keep_alive = off`.
    Off,
    /// `keep_alive = "15s"`, in milliseconds.
    Every(u64),
}

/// The parsed arguments.
pub(crate) struct Args {
    /// The `http::Method` constant, e.g. `GET`, spanned where the user wrote it (or at the
    /// macro for `#[get]`).
    pub method: Ident,
    pub path: LitStr,
    pub kind: Kind,
    pub keep_alive: Option<KeepAliveOpt>,
    pub retry_ms: Option<u64>,
    /// `first_event_window = "0s"` (sse and ndjson), in milliseconds.
    pub first_event_window_ms: Option<u64>,
}

const OPTIONS_HELP: &str = "expected `sse`, `ndjson`, `keep_alive = \"15s\"`, \
                            `keep_alive = off`, `retry = \"3s\"` or \
                            `first_event_window = \"0s\"`";
const KNOWN: &[&str] = &["sse", "ndjson", "keep_alive", "retry", "first_event_window"];

/// Parses the attribute's arguments. `method` is `Some("GET")` for `#[get]` and `None`
/// for `#[route]`, whose first argument is the method. Returns `None` when the arguments
/// are unreadable (the error is in `errors`).
pub(crate) fn parse(
    macro_name: &str,
    method: Option<&str>,
    attr: TokenStream,
    errors: &mut Errors,
) -> Option<Args> {
    let parser = |input: ParseStream<'_>| parse_args(macro_name, method, input, errors);
    match parser.parse2(attr) {
        Ok(args) => args,
        Err(err) => {
            errors.push(err);
            None
        }
    }
}

fn parse_args(
    macro_name: &str,
    method: Option<&str>,
    input: ParseStream<'_>,
    errors: &mut Errors,
) -> syn::Result<Option<Args>> {
    let example = match method {
        Some(_) => format!("#[{macro_name}(\"/items/{{id}}\")]"),
        None => "#[route(GET, \"/items/{id}\")]".to_owned(),
    };
    let method = match method {
        Some(name) => Ident::new(name, Span::call_site()),
        None => {
            if input.is_empty() {
                return Err(input.error(format!(
                    "expected an HTTP method and a path, as in `{example}`"
                )));
            }
            let method = parse_method(input)?;
            if input.is_empty() {
                return Err(input.error(format!("expected the route's path, as in `{example}`")));
            }
            input.parse::<Token![,]>()?;
            method
        }
    };
    if input.is_empty() {
        return Err(input.error(format!(
            "expected the route's path as a string literal, as in `{example}`"
        )));
    }
    let path: LitStr = match input.parse() {
        Ok(path) => path,
        Err(err) => {
            return Err(syn::Error::new(
                err.span(),
                format!("expected the route's path as a string literal, as in `{example}`"),
            ))
        }
    };
    if let Err(err) = crate::path::validate(&path) {
        errors.push(err);
    }

    let mut kind: Option<(Kind, Ident)> = None;
    let mut keep_alive: Option<(KeepAliveOpt, Ident)> = None;
    let mut retry_ms: Option<(u64, Ident)> = None;
    let mut window_ms: Option<(u64, Ident)> = None;

    while !input.is_empty() {
        input.parse::<Token![,]>()?;
        if input.is_empty() {
            break;
        }
        let name = match input.call(Ident::parse_any) {
            Ok(name) => name,
            Err(err) => return Err(syn::Error::new(err.span(), OPTIONS_HELP)),
        };
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Some(parse_value(input)?)
        } else if input.peek(syn::token::Paren) {
            let group: proc_macro2::Group = input.parse()?;
            Some(Value::Other(group.span()))
        } else {
            None
        };
        let key = name.to_string();
        match key.as_str() {
            "sse" | "ndjson" => {
                let this = if key == "sse" {
                    Kind::Sse
                } else {
                    Kind::Ndjson
                };
                if let Some(value) = &value {
                    errors.push(syn::Error::new(
                        value.span(),
                        format!("`{key}` is a flag and takes no value: write `{key}`"),
                    ));
                }
                match &kind {
                    Some((prev, _)) if *prev == this => errors.push(syn::Error::new(
                        name.span(),
                        format!("`{key}` is given twice"),
                    )),
                    Some((_, prev)) => errors.push(syn::Error::new(
                        name.span(),
                        format!(
                            "a route streams either Server-Sent Events (`sse`) or JSON Lines \
                             (`ndjson`), not both: remove `{key}` or `{prev}`"
                        ),
                    )),
                    None => kind = Some((this, name.clone())),
                }
            }
            "keep_alive" => {
                if keep_alive.is_some() {
                    errors.push(syn::Error::new(name.span(), "`keep_alive` is given twice"));
                    continue;
                }
                match parse_keep_alive(&name, value) {
                    Ok(opt) => keep_alive = Some((opt, name)),
                    Err(err) => errors.push(err),
                }
            }
            "retry" | "first_event_window" => {
                let (slot, example) = if key == "retry" {
                    (&mut retry_ms, "3s")
                } else {
                    (&mut window_ms, "0s")
                };
                if slot.is_some() {
                    errors.push(syn::Error::new(
                        name.span(),
                        format!("`{key}` is given twice"),
                    ));
                    continue;
                }
                match value {
                    Some(Value::Lit(Lit::Str(text))) => match parse_duration(&text.value()) {
                        Some(ms) => *slot = Some((ms, name)),
                        None => errors.push(duration_error(&text)),
                    },
                    Some(other) => errors.push(syn::Error::new(
                        other.span(),
                        format!("`{key}` takes a duration string, as in `{key} = \"{example}\"`"),
                    )),
                    None => errors.push(syn::Error::new(
                        name.span(),
                        format!("`{key}` needs a value, as in `{key} = \"{example}\"`"),
                    )),
                }
            }
            _ => {
                let mut message = format!("unknown option `{key}`: {OPTIONS_HELP}");
                if let Some(close) = closest(&key) {
                    message =
                        format!("unknown option `{key}` (did you mean `{close}`?): {OPTIONS_HELP}");
                }
                errors.push(syn::Error::new(name.span(), message));
            }
        }
    }

    let kind_value = kind.as_ref().map_or(Kind::Plain, |(kind, _)| *kind);
    for (option, name) in [
        ("keep_alive", keep_alive.as_ref().map(|(_, n)| n)),
        ("retry", retry_ms.as_ref().map(|(_, n)| n)),
    ] {
        let Some(name) = name else { continue };
        match kind_value {
            Kind::Sse => {}
            Kind::Ndjson => errors.push(syn::Error::new(
                name.span(),
                format!(
                    "`{option}` applies to Server-Sent Events only: a JSON Lines (`ndjson`) \
                     stream has no comments or reconnection field"
                ),
            )),
            Kind::Plain => errors.push(syn::Error::new(
                name.span(),
                format!(
                    "`{option}` applies to event streams: add `sse`, as in \
                     `#[{macro_name}(\"/path\", sse, {option} = ...)]`"
                ),
            )),
        }
    }

    if let (Some((_, name)), Kind::Plain) = (&window_ms, kind_value) {
        errors.push(syn::Error::new(
            name.span(),
            format!(
                "`first_event_window` applies to streams: add `sse` or `ndjson`, as in \
                 `#[{macro_name}(\"/path\", sse, first_event_window = \"0s\")]`"
            ),
        ));
    }

    // Settings of another kind of route were reported above and are not applied.
    let sse = kind_value == Kind::Sse;
    let streams = kind_value.is_stream();
    Ok(Some(Args {
        method,
        path,
        kind: kind_value,
        keep_alive: keep_alive.filter(|_| sse).map(|(opt, _)| opt),
        retry_ms: retry_ms.filter(|_| sse).map(|(ms, _)| ms),
        first_event_window_ms: window_ms.filter(|_| streams).map(|(ms, _)| ms),
    }))
}

fn parse_method(input: ParseStream<'_>) -> syn::Result<Ident> {
    let help = || format!("expected an HTTP method: one of {}", METHODS.join(", "));
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        let upper = lit.value().to_ascii_uppercase();
        return if METHODS.contains(&upper.as_str()) {
            Ok(Ident::new(&upper, lit.span()))
        } else {
            Err(syn::Error::new(lit.span(), help()))
        };
    }
    let ident = match input.call(Ident::parse_any) {
        Ok(ident) => ident,
        Err(err) => return Err(syn::Error::new(err.span(), help())),
    };
    let upper = ident.to_string().to_ascii_uppercase();
    if METHODS.contains(&upper.as_str()) {
        Ok(Ident::new(&upper, ident.span()))
    } else {
        Err(syn::Error::new(ident.span(), help()))
    }
}

/// An option's value.
enum Value {
    Lit(Lit),
    Ident(Ident),
    /// Anything else (kept only for its span).
    Other(Span),
}

impl Value {
    fn span(&self) -> Span {
        match self {
            Value::Lit(lit) => lit.span(),
            Value::Ident(ident) => ident.span(),
            Value::Other(span) => *span,
        }
    }
}

fn parse_value(input: ParseStream<'_>) -> syn::Result<Value> {
    if input.peek(Lit) {
        return Ok(Value::Lit(input.parse()?));
    }
    if input.peek(Ident::peek_any) {
        return Ok(Value::Ident(input.call(Ident::parse_any)?));
    }
    let expr: syn::Expr = input.parse()?;
    Ok(Value::Other(expr.span()))
}

fn parse_keep_alive(name: &Ident, value: Option<Value>) -> syn::Result<KeepAliveOpt> {
    const HELP: &str = "`keep_alive` takes a duration or `off`, as in `keep_alive = \"15s\"` \
                        or `keep_alive = off`";
    match value {
        None => Err(syn::Error::new(name.span(), HELP)),
        Some(Value::Ident(ident)) if ident == "off" => Ok(KeepAliveOpt::Off),
        Some(Value::Lit(Lit::Bool(b))) if !b.value => Ok(KeepAliveOpt::Off),
        Some(Value::Lit(Lit::Str(text))) => {
            let value = text.value();
            if value.trim() == "off" {
                return Ok(KeepAliveOpt::Off);
            }
            match parse_duration(&value) {
                Some(0) => Err(syn::Error::new(
                    text.span(),
                    "a keep-alive interval must be longer than zero: write `keep_alive = off` \
                     to send no keep-alive comments",
                )),
                Some(ms) => Ok(KeepAliveOpt::Every(ms)),
                None => Err(duration_error(&text)),
            }
        }
        Some(other) => Err(syn::Error::new(other.span(), HELP)),
    }
}

fn duration_error(text: &LitStr) -> syn::Error {
    syn::Error::new(
        text.span(),
        format!(
            "invalid duration `{}`: write a whole number and a unit, as in \"500ms\", \"15s\" \
             or \"2m\"",
            text.value()
        ),
    )
}

/// `"500ms"`, `"15s"`, `"2m"` (also `"1h"`) → milliseconds. Whole numbers only.
pub(crate) fn parse_duration(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    number.checked_mul(factor)
}

/// The known option closest to a misspelt one, if it is close enough.
fn closest(key: &str) -> Option<&'static str> {
    let normalized = key.replace('-', "_").to_ascii_lowercase();
    KNOWN
        .iter()
        .map(|known| (edit_distance(&normalized, known), *known))
        .filter(|(distance, known)| *distance <= known.len() / 3 + 1)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, known)| known)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Some(500));
        assert_eq!(parse_duration("15s"), Some(15_000));
        assert_eq!(parse_duration(" 2m "), Some(120_000));
        assert_eq!(parse_duration("1h"), Some(3_600_000));
        assert_eq!(parse_duration("0s"), Some(0));
        assert_eq!(parse_duration("15"), None);
        assert_eq!(parse_duration("1.5s"), None);
        assert_eq!(parse_duration("s"), None);
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(parse_duration("99999999999999999999h"), None);
        assert_eq!(parse_duration("18446744073709551615h"), None);
    }

    #[test]
    fn suggestions() {
        assert_eq!(closest("keepalive"), Some("keep_alive"));
        assert_eq!(closest("keep-alive"), Some("keep_alive"));
        assert_eq!(closest("sees"), Some("sse"));
        assert_eq!(closest("ndjsn"), Some("ndjson"));
        assert_eq!(closest("retyr"), Some("retry"));
        assert_eq!(closest("banana"), None);
    }

    fn parse_str(method: Option<&str>, attr: &str) -> (Option<Args>, Errors) {
        let mut errors = Errors::default();
        let tokens: TokenStream = attr.parse().expect("test input tokenizes");
        let args = parse("get", method, tokens, &mut errors);
        (args, errors)
    }

    #[test]
    fn options() {
        let (args, errors) = parse_str(
            Some("GET"),
            r#""/a/{id}", sse, keep_alive = "5s", retry = "3s""#,
        );
        assert!(errors.is_empty());
        let args = args.expect("parsed");
        assert_eq!(args.kind, Kind::Sse);
        assert_eq!(args.keep_alive, Some(KeepAliveOpt::Every(5_000)));
        assert_eq!(args.retry_ms, Some(3_000));
        assert_eq!(args.path.value(), "/a/{id}");

        let (args, errors) = parse_str(Some("GET"), r#""/a", sse, keep_alive = off,"#);
        assert!(errors.is_empty());
        assert_eq!(args.expect("parsed").keep_alive, Some(KeepAliveOpt::Off));

        let (args, errors) = parse_str(Some("GET"), r#""/a", ndjson, first_event_window = "0s""#);
        assert!(errors.is_empty());
        assert_eq!(args.expect("parsed").first_event_window_ms, Some(0));

        let (args, errors) = parse_str(None, r#"post, "/a", ndjson"#);
        assert!(errors.is_empty());
        let args = args.expect("parsed");
        assert_eq!(args.method, "POST");
        assert_eq!(args.kind, Kind::Ndjson);
    }

    #[test]
    fn bad_options_are_all_reported() {
        let (args, errors) = parse_str(
            Some("GET"),
            r#""/a", sse, ndjson, keepalive = "5s", retry = 3, sse = true"#,
        );
        assert!(args.is_some());
        let messages = errors.messages();
        assert_eq!(messages.len(), 5, "{messages:?}");
        assert!(messages[0].contains("not both"));
        assert!(messages[1].contains("did you mean `keep_alive`"));
        assert!(messages[2].contains("duration string"));
        assert!(messages[3].contains("is a flag"));
        assert!(messages[4].contains("given twice"));

        let (_, errors) = parse_str(Some("GET"), r#""/a", keep_alive = "5s""#);
        assert!(errors.messages()[0].contains("add `sse`"));
        let (_, errors) = parse_str(Some("GET"), r#""/a", ndjson, retry = "1s""#);
        assert!(errors.messages()[0].contains("Server-Sent Events only"));
        let (_, errors) = parse_str(Some("GET"), r#""/a", sse, keep_alive = "0s""#);
        assert!(errors.messages()[0].contains("longer than zero"));
        let (_, errors) = parse_str(Some("GET"), r#""/a", first_event_window = "0s""#);
        assert!(errors.messages()[0].contains("add `sse` or `ndjson`"));
        let (_, errors) = parse_str(Some("GET"), r#""/a", sse, first_event_window = 0"#);
        assert!(errors.messages()[0].contains("duration string"));
    }

    #[test]
    fn unreadable_arguments() {
        for attr in ["", "/a", "\"/a\" sse", "\"/a\", 5"] {
            let (args, errors) = parse_str(Some("GET"), attr);
            assert!(args.is_none(), "{attr}");
            assert_eq!(errors.messages().len(), 1, "{attr}");
        }
        let (args, errors) = parse_str(None, r#"FETCH, "/a""#);
        assert!(args.is_none());
        assert!(errors.messages()[0].contains("HTTP method"));
    }
}
