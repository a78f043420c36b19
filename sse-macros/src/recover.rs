//! What is emitted beside the `compile_error!`s of a route that cannot be expanded in
//! full, so that one mistake does not cascade: the user's names keep resolving (and IDE
//! completion keeps working), and rustc adds no errors of its own to ours.
//!
//! - an item that is not a function, or a function with a fatal signature, is re-emitted
//!   unchanged ([`unchanged`]);
//! - any other invalid route ([`invalid_route`]) gets the unit struct, its `call` function
//!   with unusable `yield`s and `?`s neutralised, and an `IntoRoute` impl that is never
//!   run (the crate does not compile): no `Handler`, no documentation.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};

use crate::ast::{Body, Returns, Route};
use crate::errors::Errors;
use crate::expand::{self, Attrs};
use crate::yield_scan::{self, Mode};

/// The errors, then `item` as it was.
pub(crate) fn unchanged(errors: &Errors, item: &impl ToTokens) -> TokenStream {
    let errors = errors.to_compile_errors();
    quote!(#errors #item)
}

/// The unit struct, a neutralised `call` and an `IntoRoute` that is never run.
pub(crate) fn invalid_route(route: &Route, macro_name: &str) -> TokenStream {
    let name = &route.func.sig.ident;
    let attrs = Attrs::split(&route.func.attrs);
    let cfgs = &attrs.cfgs;

    let unit_struct = expand::unit_struct(route, &attrs, macro_name);
    let mut sig = expand::call_sig(route);
    fallback_return_type(route, &mut sig);
    let call_fn = expand::call_fn(
        route,
        &attrs,
        &sig,
        call_body(route),
        quote!(#[allow(dead_code, unreachable_code)]),
    );
    let message = format!("the route attribute on `{name}` reported a compile error");
    let into_route = quote! {
        #(#cfgs)*
        impl ::sse_runtime::IntoRoute for #name {
            fn into_route(self) -> ::sse_runtime::RouteDef {
                ::core::unreachable!(#message)
            }
        }
    };

    quote! {
        #unit_struct
        #call_fn
        #into_route
    }
}

/// `call`'s body with every reported problem neutralised: misplaced `?`s and `yield`s
/// become `{ let _ = e; ... }`, and a generator where no stream is returned is kept
/// well-typed.
fn call_body(route: &Route) -> TokenStream {
    match &route.body {
        Body::Tail(tail) if matches!(route.returns, Returns::Other) => {
            let (before, generator) = expand::tail_generator(route, tail, true);
            quote! {
                {
                    #(#before)*
                    let _ = #generator;
                    ::core::unreachable!()
                }
            }
        }
        // `yield` in a function that does not stream.
        Body::Bare if !route.wraps_bare_body() => {
            let mut block = (*route.func.block).clone();
            yield_scan::rewrite(&mut block, Mode::Strip);
            block.to_token_stream()
        }
        _ => expand::call_body(route, true),
    }
}

/// Beside a reported `try_stream!`-without-`Result`-items error, `call` declares
/// `Result<T, HttpError>` items, which is what the block produces: no second error.
fn fallback_return_type(route: &Route, sig: &mut syn::Signature) {
    let (Body::Tail(tail), Returns::Stream(item)) = (&route.body, &route.returns) else {
        return;
    };
    if !tail.is_try || item.result().is_some() {
        return;
    }
    struct WrapItem;
    impl syn::visit_mut::VisitMut for WrapItem {
        fn visit_assoc_type_mut(&mut self, assoc: &mut syn::AssocType) {
            if assoc.ident == "Item" {
                let ty = &assoc.ty;
                assoc.ty = syn::Type::Verbatim(
                    quote!(::core::result::Result<#ty, ::sse_runtime::HttpError>),
                );
            }
        }
    }
    syn::visit_mut::VisitMut::visit_return_type_mut(&mut WrapItem, &mut sig.output);
}
