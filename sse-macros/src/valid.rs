//! Every check of a parsed route that becomes a `syn::Error`. Checks never stop at the
//! first problem: each one is pushed to [`Errors`], so one expansion reports them all.
//!
//! The outcome decides what is emitted: a [`Valid`] route is expanded in full
//! (`expand.rs`); any other only keeps its names resolving (`recover.rs`).

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{FnArg, ItemFn, ReturnType};

use crate::ast::{contains_impl_trait, Item, Origin, Returns, Route, Tail};
use crate::attr::{Args, Kind};
use crate::errors::Errors;
use crate::yield_scan;

/// A route with nothing wrong with the function itself, and readable arguments: it is
/// expanded in full. (Errors that do not concern the function, such as a bad path or
/// option, may still have been reported beside it.)
pub(crate) struct Valid<'a> {
    pub route: &'a Route,
    pub args: &'a Args,
}

/// Errors that make the function unusable as a route at all (it is then re-emitted
/// unchanged): a `self` receiver, generics, `const`/`unsafe`/`extern`/variadic.
///
/// Only the first is reported: the function is not expanded, so any further one would
/// only be a second sentence about the same signature.
pub(crate) fn fatal_signature_error(func: &ItemFn, macro_name: &str) -> Option<syn::Error> {
    let sig = &func.sig;
    if let Some(FnArg::Receiver(receiver)) = sig.inputs.first() {
        return Some(syn::Error::new_spanned(
            receiver,
            format!(
                "`#[{macro_name}]` cannot be used on a method: a route is a free function \
                 whose arguments are extractors. Move it out of the `impl` block and take \
                 shared data as `State<T>`"
            ),
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Some(syn::Error::new_spanned(
            &sig.generics,
            "a route function cannot be generic: the router calls it with concrete \
             extractor types",
        ));
    }
    if let Some(token) = &sig.constness {
        return Some(syn::Error::new_spanned(
            token,
            "a route function cannot be `const`",
        ));
    }
    if let Some(token) = &sig.unsafety {
        return Some(syn::Error::new_spanned(
            token,
            "a route function cannot be `unsafe`",
        ));
    }
    if let Some(abi) = &sig.abi {
        return Some(syn::Error::new_spanned(
            abi,
            "a route function cannot have an `extern` ABI",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        return Some(syn::Error::new_spanned(
            variadic,
            "a route function cannot be variadic",
        ));
    }
    None
}

/// Checks the route; every problem goes to `errors`. `Some` when the route can be
/// expanded in full.
pub(crate) fn validate<'a>(
    route: &'a Route,
    macro_name: &str,
    origin: Origin,
    errors: &mut Errors,
) -> Option<Valid<'a>> {
    let valid = check_function(route, macro_name, errors);
    if let Some(args) = &route.args {
        check_path_arity(route, args, errors);
    }
    if origin == Origin::Attribute && !cfg!(sse_yield_parses) {
        // Reported, but the route is still expanded in full: only the toolchain is wrong.
        bare_yield_on_stable(route, macro_name, errors);
    }
    match (valid, &route.args) {
        (true, Some(args)) => Some(Valid { route, args }),
        _ => None,
    }
}

/// A `Path<(A, B, ..)>` argument takes one value per parameter of the route's pattern, in
/// order: a tuple of another arity can never extract, so it is an error on the tuple
/// (reported beside a full expansion: the types themselves are fine). Struct and
/// single-value paths are checked when the app is built, where serde's names are known.
fn check_path_arity(route: &Route, args: &Args, errors: &mut Errors) {
    let pattern = args.path.value();
    let Ok(params) = crate::pattern::params(&pattern) else {
        return; // reported by the path check
    };
    for arg in &route.func.sig.inputs {
        let FnArg::Typed(arg) = arg else { continue };
        let Some(tuple) = path_tuple(&arg.ty) else {
            continue;
        };
        let len = tuple.elems.len();
        if len != params.len() {
            let listed = if params.is_empty() {
                "no path parameters".to_owned()
            } else {
                let names: Vec<String> = params.iter().map(|p| format!("{{{p}}}")).collect();
                format!(
                    "{} path parameter{} ({})",
                    params.len(),
                    if params.len() == 1 { "" } else { "s" },
                    names.join(", ")
                )
            };
            errors.push(syn::Error::new_spanned(
                tuple,
                format!(
                    "this `Path` tuple takes {len} value{}, but \"{pattern}\" has {listed}: \
                     use one tuple element per parameter, in order",
                    if len == 1 { "" } else { "s" }
                ),
            ));
        }
    }
}

/// `(A, B, ..)` in an argument of type `Path<(A, B, ..)>` (any path ending in `Path`).
fn path_tuple(ty: &syn::Type) -> Option<&syn::TypeTuple> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != "Path" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(generics) = &last.arguments else {
        return None;
    };
    match generics.args.first()? {
        syn::GenericArgument::Type(syn::Type::Tuple(tuple)) if !tuple.elems.is_empty() => {
            Some(tuple)
        }
        _ => None,
    }
}

/// The checks of the function itself: its arguments, its `yield`s and `?`s, and its
/// return type against the route's kind. False when any failed, or when the arguments
/// were unreadable (their error is already reported).
fn check_function(route: &Route, macro_name: &str, errors: &mut Errors) -> bool {
    let func = &route.func;
    let scan = &route.scan;
    let tail = route.tail();
    let mut valid = true;
    let mut fail = |errors: &mut Errors, err: syn::Error| {
        valid = false;
        errors.push(err);
    };

    for arg in &func.sig.inputs {
        if let FnArg::Typed(arg) = arg {
            if contains_impl_trait(&arg.ty) {
                fail(
                    errors,
                    syn::Error::new_spanned(
                        &arg.ty,
                        "a route argument needs a concrete extractor type, such as \
                         `Path<u32>` or `Json<NewItem>`, not `impl Trait`",
                    ),
                );
            }
        }
    }

    for found in scan.nested() {
        fail(errors, yield_scan::nested_error(found));
    }
    if let Some(tail) = tail {
        for found in tail.scan.nested() {
            fail(errors, yield_scan::nested_error(found));
        }
        if let Some(span) = scan.first_generator_yield() {
            fail(
                errors,
                syn::Error::new(
                    span,
                    "`yield` outside the route's `stream!` block does not yield from it: move \
                     it into the block",
                ),
            );
        }
    }

    let kind = route.args.as_ref().map(|args| args.kind);
    let first_yield = scan.first_generator_yield();
    match kind {
        Some(Kind::Plain) => {
            let fix = format!(
                "add `sse` to the attribute, as in `#[{macro_name}(\"/path\", sse)]` (or \
                 `ndjson` for JSON Lines), and return `impl Stream<Item = T>`"
            );
            if let Some(tail) = tail {
                fail(
                    errors,
                    syn::Error::new_spanned(
                        &tail.mac.path,
                        format!("a `yield` generator needs a streaming route: {fix}"),
                    ),
                );
            } else if let Some(span) = first_yield {
                fail(
                    errors,
                    syn::Error::new(span, format!("`yield` needs a streaming route: {fix}")),
                );
            } else if !matches!(route.returns, Returns::Other) {
                fail(
                    errors,
                    syn::Error::new_spanned(
                        return_tokens(func),
                        format!(
                            "this route returns a stream, so it must be a streaming route: {fix}"
                        ),
                    ),
                );
            }
        }
        Some(Kind::Sse | Kind::Ndjson) => {
            let flag = if kind == Some(Kind::Sse) {
                "sse"
            } else {
                "ndjson"
            };
            match &route.returns {
                Returns::Stream(item) => match tail {
                    Some(tail) => {
                        if let Some(err) = tail_mode_error(tail, item) {
                            fail(errors, err);
                        }
                    }
                    None => {
                        if let (Some(at), None, Some(_)) =
                            (scan.first_try, item.result(), first_yield)
                        {
                            fail(errors, syn::Error::new(at, QUESTION_NEEDS_RESULT));
                        }
                    }
                },
                Returns::StreamUnnamed => fail(
                    errors,
                    syn::Error::new_spanned(
                        return_tokens(func),
                        format!(
                            "an `{flag}` route must name its item type: write \
                             `-> impl Stream<Item = T>` with a concrete `T` (a struct that \
                             derives `Serialize`, or `ServerSentEvent`), not `impl Trait`"
                        ),
                    ),
                ),
                Returns::Other => fail(
                    errors,
                    syn::Error::new_spanned(
                        return_tokens(func),
                        format!(
                            "an `{flag}` route returns a stream: write \
                             `-> impl Stream<Item = T>` (with `use sse_runtime::Stream;`), \
                             where `T` is the type each `yield` produces"
                        ),
                    ),
                ),
            }
        }
        None => valid = false,
    }
    valid
}

const QUESTION_NEEDS_RESULT: &str = "`?` in a streaming route needs `Result` items: declare \
     `-> impl Stream<Item = Result<T, HttpError>>` (spelled `Result<..>`: a type alias is not \
     recognised); an `Err` then ends the stream, as an HTTP error if nothing was sent yet";

/// The rules of a tail block: `try_stream!` and `?` need `Result` items.
fn tail_mode_error(tail: &Tail, item: &Item) -> Option<syn::Error> {
    if tail.is_try && item.result().is_none() {
        return Some(syn::Error::new_spanned(
            &tail.mac.path,
            "`try_stream!` yields `Result` items: declare \
             `-> impl Stream<Item = Result<T, HttpError>>` (spelled `Result<..>`: a type alias \
             is not recognised), or use `stream!`",
        ));
    }
    // In `stream!` as in `try_stream!`, `?` yields `Err(e.into())`: it needs `Result` items.
    match (tail.scan.first_try, item.result()) {
        (Some(at), None) => Some(syn::Error::new(at, QUESTION_NEEDS_RESULT)),
        _ => None,
    }
}

/// A bare `yield` under the attribute, on a toolchain whose parser rejects it: rustc's own
/// error ("yield syntax is experimental") names a nightly feature, which is not the fix.
/// This one says what is.
fn bare_yield_on_stable(route: &Route, macro_name: &str, errors: &mut Errors) {
    if !route.wraps_bare_body() {
        return;
    }
    let Some(span) = route.scan.first_generator_yield() else {
        return;
    };
    let name = &route.func.sig.ident;
    errors.push(syn::Error::new(
        span,
        format!(
            "a bare `yield` in `#[{macro_name}]` fn `{name}` needs `routes! {{ ... }}` on stable \
             Rust: rustc rejects `yield` in a function body before the attribute runs\n\
             help: wrap the function: `sse_runtime::routes! {{ #[{macro_name}(...)] async fn \
             {name}(...) -> impl Stream<Item = T> {{ ... yield item; ... }} }}`\n\
             help: or end its body in a generator block: `stream! {{ ... yield item; ... }}` \
             (`try_stream!` for `Result` items with `?`)"
        ),
    ));
}

/// Where to report a problem with the return type: the type, or the whole signature
/// when there is none.
fn return_tokens(func: &ItemFn) -> TokenStream {
    match &func.sig.output {
        ReturnType::Type(_, ty) => ty.to_token_stream(),
        ReturnType::Default => func.sig.to_token_stream(),
    }
}
