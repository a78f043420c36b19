//! One route, end to end: parse (`ast.rs`, `attr.rs`) → validate (`valid.rs`) → expand
//! (`expand.rs`), or recover (`recover.rs`) when the route cannot be expanded in full.
//! Used by the attributes (`lib.rs`) and by `routes! { ... }` (`routes.rs`).

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::{self, Origin, Route};
use crate::attr;
use crate::errors::Errors;
use crate::expand;
use crate::recover;
use crate::valid;

/// A route attribute on an item in the source: `#[get(...)]` is
/// `attribute("get", Some("GET"), ...)`, `#[route(...)]` is `attribute("route", None, ...)`.
pub(crate) fn attribute(
    macro_name: &str,
    method: Option<&str>,
    attr: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    expand(
        Origin::Attribute,
        macro_name,
        method,
        attr.into(),
        item.into(),
    )
    .into()
}

/// The whole attribute. Never panics; every problem becomes a `compile_error!` at its
/// span, next to code that keeps the user's names resolving.
pub(crate) fn expand(
    origin: Origin,
    macro_name: &str,
    method: Option<&str>,
    attr: TokenStream,
    item: TokenStream,
) -> TokenStream {
    let mut errors = Errors::default();
    let func = match ast::function(item.clone(), macro_name) {
        Ok(func) => func,
        Err(err) => {
            errors.push(err);
            return recover::unchanged(&errors, &item);
        }
    };
    let args = attr::parse(macro_name, method, attr, &mut errors);
    if let Some(err) = valid::fatal_signature_error(&func, macro_name) {
        errors.push(err);
        return recover::unchanged(&errors, &func);
    }
    let route = Route::parse(func, args);
    let output = match valid::validate(&route, macro_name, origin, &mut errors) {
        Some(valid) => expand::valid_route(valid, macro_name),
        None => recover::invalid_route(&route, macro_name),
    };
    let errors = errors.to_compile_errors();
    quote!(#errors #output)
}

#[cfg(test)]
mod tests {
    use super::{expand, Origin};
    use proc_macro2::TokenStream;

    fn run(macro_name: &str, method: Option<&str>, attr: &str, item: &str) -> String {
        let attr: TokenStream = attr.parse().expect("attribute tokenizes");
        let item: TokenStream = item.parse().expect("item tokenizes");
        expand(Origin::RoutesBlock, macro_name, method, attr, item).to_string()
    }

    fn get(attr: &str, item: &str) -> String {
        run("get", Some("GET"), attr, item)
    }

    // Bare `yield` bodies: stable rustc never lets them reach the macro, so they are
    // tested here, on tokens.

    #[test]
    fn bare_yield_body_becomes_a_typed_generator() {
        let out = get(
            r#""/t", sse"#,
            "async fn t() -> impl Stream<Item = Tick> { for n in 0..3 { yield Tick(n); } }",
        );
        assert!(out.contains("async_stream :: stream !"), "{out}");
        assert!(
            out.contains("yield { let __item : Tick = Tick (n) ; __item }"),
            "{out}"
        );
        assert!(out.contains("__private :: sse :: < Tick , _ >"), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    #[cfg(not(sse_yield_parses))]
    fn bare_yield_under_the_attribute_on_stable_says_how_to_fix_it() {
        let item = "async fn t() -> impl Stream<Item = u8> { yield 1; }";
        let attr: TokenStream = r#""/t", sse"#.parse().expect("attribute tokenizes");
        let out = expand(
            Origin::Attribute,
            "get",
            Some("GET"),
            attr,
            item.parse().expect("item tokenizes"),
        )
        .to_string();
        assert!(out.contains("needs `routes! { ... }` on stable"), "{out}");
        assert!(out.contains("stream! { ... yield item; ... }"), "{out}");
        // Inside `routes! { ... }` the same function is fine.
        assert!(!get(r#""/t", sse"#, item).contains("compile_error"));
    }

    #[test]
    fn bare_result_body_with_question_mark_is_a_try_stream() {
        let out = get(
            r#""/t", sse"#,
            "async fn t() -> impl Stream<Item = Result<Tick, HttpError>> { check()?; yield Tick(1); }",
        );
        assert!(out.contains("async_stream :: try_stream !"), "{out}");
        assert!(out.contains("let __item : Tick = Tick (1)"), "{out}");
        assert!(out.contains("sse_try :: < Tick , HttpError , _ >"), "{out}");
    }

    #[test]
    fn bare_result_body_without_question_mark_yields_whole_items() {
        let out = get(
            r#""/t", ndjson"#,
            "async fn t() -> impl Stream<Item = io::Result<Tick>> { yield Ok(Tick(1)); }",
        );
        assert!(out.contains("async_stream :: stream !"), "{out}");
        assert!(
            out.contains("let __item : io :: Result < Tick > = Ok (Tick (1))"),
            "{out}"
        );
        assert!(out.contains("json_lines_try :: < Tick , _ , _ >"), "{out}");
    }

    #[test]
    fn bare_yield_without_sse_is_reported_and_neutralised() {
        let out = get(r#""/t""#, "async fn t() -> Json<u32> { yield 1; Json(1) }");
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("add `sse`"), "{out}");
        assert!(out.contains("{ let _ = 1 ; }"), "{out}");
        assert!(!out.contains("yield 1"), "{out}");
    }

    #[test]
    fn tail_generator_keeps_its_path() {
        let out = get(
            r#""/t", sse"#,
            "async fn t() -> impl Stream<Item = u8> { let x = 1; my::stream! { yield x; } }",
        );
        assert!(out.contains("let x = 1 ; my :: stream ! {"), "{out}");
        assert!(out.contains("let __item : u8 = x"), "{out}");
    }

    #[test]
    fn options_reach_the_response() {
        let out = get(
            r#""/t", sse, keep_alive = off, retry = "1500ms""#,
            "fn t() -> impl Stream<Item = u8> { futures::stream::iter([1]) }",
        );
        assert!(
            out.contains(". keep_alive (:: sse_runtime :: __private :: keep_alive_off ())"),
            "{out}"
        );
        assert!(
            out.contains(". retry (:: sse_runtime :: __private :: millis (1500))"),
            "{out}"
        );
        // Not async: no `.await` on the call.
        assert!(out.contains("let __stream = t :: call () ;"), "{out}");
    }

    #[test]
    fn routes_document_themselves_through_probes() {
        let out = get(
            r#""/t/{id}", sse"#,
            "/// Ticks.\n///\n/// Forever.\nasync fn t(Path(id): Path<u32>, State(s): State<S>) \
             -> impl Stream<Item = Result<Tick, HttpError>> { stream! { yield Ok(Tick(id)); } }",
        );
        assert!(
            out.contains(":: sse_runtime :: __private :: openapi :: document"),
            "{out}"
        );
        assert!(
            out.contains(". operation_id (\"t\") . doc_comment (\" Ticks.\\n\\n Forever.\")"),
            "{out}"
        );
        let probes = [
            "Arg :: < Path < u32 > >",
            "Arg :: < State < S > >",
            "SseItem :: < Tick >",
            "Response :: < HttpError >",
        ];
        let mut at = 0;
        for probe in probes {
            let found = out[at..]
                .find(probe)
                .unwrap_or_else(|| panic!("{probe}: {out}"));
            at += found;
        }

        let plain = get(
            r#""/p""#,
            "async fn p() -> Result<Json<Item>, HttpError> { todo!() }",
        );
        assert!(plain.contains("Response :: < Json < Item > >"), "{plain}");
        assert!(plain.contains("Response :: < HttpError >"), "{plain}");
        assert!(!plain.contains("doc_comment"), "{plain}");
        let ndjson = get(
            r#""/n", ndjson"#,
            "fn n() -> impl Stream<Item = Line> { s() }",
        );
        assert!(ndjson.contains("JsonLine :: < Line >"), "{ndjson}");
        let opaque = get(r#""/o""#, "async fn o() -> impl IntoResponse { 1 }");
        assert!(!opaque.contains("Response ::"), "{opaque}");
    }

    #[test]
    fn invalid_routes_emit_no_documentation() {
        let out = get(r#""/t", sse"#, "async fn t() -> u8 { 1 }");
        assert!(out.contains("compile_error"), "{out}");
        assert!(!out.contains(":: openapi ::"), "{out}");
    }

    #[test]
    fn route_macro_takes_the_method_first() {
        let out = run("route", None, r#"OPTIONS, "/t""#, "fn t() {}");
        assert!(out.contains("Method :: OPTIONS"), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    /// Whatever it is given, the macro answers with tokens, never a panic.
    #[test]
    fn never_panics() {
        let attrs = [
            "",
            r#""/x""#,
            r#""/x", sse"#,
            r#""/x", ndjson, retry = "1s""#,
            r#""/x" sse"#,
            r#""x", sse, keep_alive = "0s", keep_alive = off"#,
            r#""/{", sse, = = ="#,
            "sse",
            r#"1, 2, 3"#,
            r#""/x", sse, keep_alive = [1, 2]"#,
            r#""/x", sse, retry(3)"#,
            r#""/x", sse, keep_alive = "99999999999999999999999h""#,
        ];
        let items = [
            "fn f() {}",
            "async fn f() -> impl Stream<Item = u8> { stream! { yield 1; } }",
            "async fn f() -> impl Stream<Item = u8> { stream! { let = ; } }",
            "async fn f() -> impl Stream<Item = u8> { stream! { |x| yield x; } }",
            "async fn f() -> impl Stream<Item = u8> { try_stream! { yield; } }",
            "async fn f() -> impl Stream { yield 1; }",
            "async fn f() -> impl Stream<Item = impl Serialize> { yield 1; }",
            "async fn f(x: impl Trait) -> u8 { 1 }",
            "fn f(&self) {}",
            "fn f<T>() {}",
            "unsafe extern \"C\" fn f() {}",
            "struct S;",
            "impl X { fn f() {} }",
            "fn f() { m!(yield) } ",
            "fn f() { m!(yield yield yield) }",
            "fn f() -> u8 { async { yield 1 }; fn g() { yield 2 } 1 }",
            "fn",
            "",
        ];
        for attr in attrs {
            for item in items {
                let Ok(item_tokens) = item.parse::<TokenStream>() else {
                    continue;
                };
                let Ok(attr_tokens) = attr.parse::<TokenStream>() else {
                    continue;
                };
                let out = expand(
                    Origin::Attribute,
                    "get",
                    Some("GET"),
                    attr_tokens,
                    item_tokens,
                );
                let _ = out.to_string();
            }
        }
    }
}
