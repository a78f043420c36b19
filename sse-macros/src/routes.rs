//! `routes! { ... }`: route functions written with bare `yield` on stable Rust.
//!
//! Stable rustc rejects the `yield` keyword while it parses a function, before any
//! attribute macro sees it. The tokens of a function-like macro are not parsed by rustc,
//! so this macro parses the items itself (syn accepts `yield`), hands every function that
//! carries a route attribute to the same expansion as the attribute, and passes every
//! other item through unchanged.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Item, ItemFn, Meta, Token};

use crate::ast::Origin;
use crate::errors::Errors;
use crate::route;
use crate::yield_scan;

/// The route attributes, with the method each one fixes (`route` takes it as an argument).
const ROUTE_ATTRIBUTES: [(&str, Option<&str>); 6] = [
    ("get", Some("GET")),
    ("post", Some("POST")),
    ("put", Some("PUT")),
    ("patch", Some("PATCH")),
    ("delete", Some("DELETE")),
    ("route", None),
];

/// The macro's input: any number of items.
struct Items(Vec<Item>);

impl Parse for Items {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut items = Vec::new();
        while !input.is_empty() {
            items.push(input.parse()?);
        }
        Ok(Items(items))
    }
}

/// Expands `routes! { items... }`. Never panics.
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let items = match syn::parse2::<Items>(input.clone()) {
        Ok(Items(items)) => items,
        Err(err) => return parse_error(err, input),
    };
    let mut output = TokenStream::new();
    for item in items {
        match item {
            Item::Fn(func) => output.extend(expand_fn(func)),
            other => other.to_tokens(&mut output),
        }
    }
    output
}

/// A function with a route attribute becomes a route; any other function stays as it is,
/// unless it uses `yield` (only a route can).
fn expand_fn(mut func: ItemFn) -> TokenStream {
    let mut errors = Errors::default();
    let mut route: Option<(usize, &'static str, Option<&'static str>)> = None;
    for (index, attr) in func.attrs.iter().enumerate() {
        let Some((name, method)) = route_attribute(attr) else {
            continue;
        };
        if route.is_some() {
            errors.push(syn::Error::new_spanned(
                attr,
                "a function can be one route only: remove this second route attribute, \
                 or write a second function for the other route",
            ));
        } else {
            route = Some((index, name, method));
        }
    }

    let Some((index, name, method)) = route else {
        // A helper function: bare `yield` here would only get rustc's "yield syntax is
        // experimental"; say what it is for instead.
        let scan = yield_scan::scan(&func.block);
        if let Some(found) = scan.yields.first() {
            errors.push(syn::Error::new(
                found.span,
                format!(
                    "`yield` outside a route: inside `routes! {{ ... }}`, only a function \
                     with a route attribute and `-> impl Stream<Item = T>`, such as \
                     `#[get(\"/path\", sse)] async fn {}(...)`, is a generator",
                    func.sig.ident
                ),
            ));
            let mut block = (*func.block).clone();
            yield_scan::rewrite(&mut block, yield_scan::Mode::Strip);
            func.block = Box::new(block);
        }
        let errors = errors.to_compile_errors();
        return quote!(#errors #func);
    };

    let attr = func.attrs.remove(index);
    // Any further route attribute was reported above; rustc must not try to run it.
    func.attrs.retain(|attr| route_attribute(attr).is_none());
    let args = match attr.meta {
        Meta::List(list) => list.tokens,
        // `#[get]` without arguments: the expansion reports the missing path.
        Meta::Path(_) => TokenStream::new(),
        Meta::NameValue(value) => {
            errors.push(syn::Error::new(
                value.eq_token.span(),
                format!("write the route as `#[{name}(\"/path\", ...)]`"),
            ));
            TokenStream::new()
        }
    };
    // The attribute's own errors are reported at their spans by the expansion.
    let errors = errors.to_compile_errors();
    let route = route::expand(
        Origin::RoutesBlock,
        name,
        method,
        args,
        func.into_token_stream(),
    );
    quote!(#errors #route)
}

/// `Some((name, method))` when `attr` is one of the route attributes, by its last path
/// segment (`#[get(..)]` or `#[sse_runtime::get(..)]`).
fn route_attribute(attr: &Attribute) -> Option<(&'static str, Option<&'static str>)> {
    let segment = attr.path().segments.last()?;
    ROUTE_ATTRIBUTES
        .iter()
        .find(|(name, _)| segment.ident == name)
        .copied()
}

/// Input that is not a list of items. A Rocket user may write `routes![a, b]` to collect
/// handlers: say how routes are registered here.
fn parse_error(err: syn::Error, input: TokenStream) -> TokenStream {
    let as_list = syn::parse::Parser::parse2(
        Punctuated::<syn::Path, Token![,]>::parse_terminated,
        input.clone(),
    );
    if let Ok(list) = as_list {
        if !list.is_empty() {
            let names: Vec<String> = list
                .iter()
                .map(|path| path.to_token_stream().to_string().replace(' ', ""))
                .collect();
            let chain: String = names.iter().map(|name| format!(".route({name})")).collect();
            let message = format!(
                "`routes!` wraps route functions so they can use bare `yield` \
                 (`routes! {{ #[get(\"/path\", sse)] async fn f() -> impl Stream<Item = T> \
                 {{ yield ...; }} }}`); it does not collect routes: register them with \
                 `App::new(){chain}`"
            );
            return syn::Error::new_spanned(input, message).to_compile_error();
        }
    }
    err.to_compile_error()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(src: &str) -> String {
        let tokens: TokenStream = src.parse().expect("test input tokenizes");
        expand(tokens).to_string()
    }

    #[test]
    fn a_bare_yield_route_becomes_a_generator() {
        let out = expand_str(
            r#"
            struct Tick(u32);
            #[get("/ticks", sse)]
            async fn ticks() -> impl Stream<Item = Tick> { for n in 0..3 { yield Tick(n); } }
            "#,
        );
        assert!(out.contains("struct Tick"), "{out}");
        assert!(
            out.contains("pub struct ticks") || out.contains("struct ticks"),
            "{out}"
        );
        assert!(out.contains("async_stream :: stream !"), "{out}");
        assert!(
            out.contains("yield { let __item : Tick = Tick (n) ; __item }"),
            "{out}"
        );
        assert!(!out.contains("# [get"), "{out}");
    }

    #[test]
    fn path_qualified_attributes_and_helpers() {
        let out = expand_str(
            r#"
            fn helper() -> u32 { 1 }
            #[sse_runtime::post("/p")]
            async fn p() -> String { String::new() }
            "#,
        );
        assert!(out.contains("fn helper () -> u32 { 1 }"), "{out}");
        assert!(out.contains("\"POST\"") || out.contains("POST"), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn two_route_attributes_are_an_error() {
        let out = expand_str(
            r#"#[get("/a", sse)] #[post("/b", sse)]
            async fn f() -> impl Stream<Item = u8> { yield 1; }"#,
        );
        assert!(out.contains("a function can be one route only"), "{out}");
    }

    #[test]
    fn yield_in_a_helper_is_explained_and_stripped() {
        let out = expand_str("fn helper() { yield 1; }");
        assert!(out.contains("`yield` outside a route"), "{out}");
        assert!(!out.contains("yield 1"), "{out}");
    }

    #[test]
    fn rocket_style_lists_are_explained() {
        let out = expand_str("index, stocks");
        assert!(
            out.contains("App::new().route(index).route(stocks)"),
            "{out}"
        );
    }

    #[test]
    fn other_parse_errors_pass_through() {
        let out = expand_str("struct ;");
        assert!(out.contains("compile_error"), "{out}");
    }
}
