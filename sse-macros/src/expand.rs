//! Code generation. For
//! `#[get("/p/{id}", sse)] pub async fn f(Path(id): Path<u32>) -> impl Stream<Item = T> { stream! { ... } }`
//! it emits (see `docs/expansion.md`):
//!
//! - `pub struct f;` — a unit struct with the function's name, docs and visibility, and
//!   `Clone`, `Copy`, `Debug`;
//! - `impl f { pub async fn call(...) -> impl Stream<Item = T> }` — the function as
//!   written, each `yield` of its generator checked against `T`;
//! - `impl IntoRoute for f` — the method, the path and the struct itself as handler;
//! - `impl Handler<Generated> for f` — extracts each argument with a helper whose
//!   turbofish is the argument's own type (so a non-extractor is reported on it),
//!   calls `f::call`, and wraps the stream in `Sse` / `JsonLines` through a helper whose
//!   turbofish is the declared item type (so a non-event is reported on it).
//!
//! When the attribute reported an error about the function itself, only the struct, the
//! `call` function (with unusable `yield`s and `?`s neutralised) and an `IntoRoute` impl
//! that is never run are emitted beside the `compile_error!`s: names keep resolving, so
//! one mistake does not cascade and IDE completion keeps working.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Attribute, FnArg, Ident, Item as SynItem, ItemFn, ReturnType, Type};

use crate::attr::{self, Args, KeepAliveOpt, Kind};
use crate::errors::Errors;
use crate::route::{self, Body, Returns, Route, Tail};
use crate::yield_scan::{self, Mode};

/// Where a route function's tokens came from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The attribute on a function in the source: rustc parsed the body first.
    Attribute,
    /// A function inside `routes! { ... }`: its body reached us as plain tokens.
    RoutesBlock,
}

/// The whole attribute: parse, validate, expand. Never panics; every problem becomes a
/// `compile_error!` at its span, next to code that keeps the user's names resolving.
pub(crate) fn expand(
    origin: Origin,
    macro_name: &str,
    method: Option<&str>,
    attr: TokenStream,
    item: TokenStream,
) -> TokenStream {
    let mut errors = Errors::default();
    let func: ItemFn = match syn::parse2::<SynItem>(item.clone()) {
        Ok(SynItem::Fn(func)) => func,
        Ok(other) => {
            errors.push(syn::Error::new_spanned(
                item_head(&other),
                format!(
                    "`#[{macro_name}]` goes on a function, as in \
                     `#[{macro_name}(\"/path\")] async fn handler(...) -> ... {{ ... }}`"
                ),
            ));
            let errors = errors.to_compile_errors();
            return quote!(#errors #item);
        }
        Err(err) => {
            errors.push(err);
            let errors = errors.to_compile_errors();
            return quote!(#errors #item);
        }
    };
    let args = attr::parse(macro_name, method, attr, &mut errors);
    if let Some(err) = route::fatal_signature_error(&func, macro_name) {
        errors.push(err);
        let errors = errors.to_compile_errors();
        return quote!(#errors #func);
    }
    let route = route::analyze(func, args, macro_name, &mut errors);
    if origin == Origin::Attribute && !cfg!(sse_yield_parses) {
        bare_yield_on_stable(&route, macro_name, &mut errors);
    }
    let output = generate(&route, macro_name);
    let errors = errors.to_compile_errors();
    quote!(#errors #output)
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

/// The first tokens of an item that is not a function, to point an error at.
fn item_head(item: &SynItem) -> TokenStream {
    match item {
        SynItem::Struct(s) => {
            let (vis, token, ident) = (&s.vis, &s.struct_token, &s.ident);
            quote!(#vis #token #ident)
        }
        SynItem::Enum(e) => {
            let (vis, token, ident) = (&e.vis, &e.enum_token, &e.ident);
            quote!(#vis #token #ident)
        }
        SynItem::Impl(i) => {
            let (token, ty) = (&i.impl_token, &i.self_ty);
            quote!(#token #ty)
        }
        SynItem::Mod(m) => {
            let (vis, token, ident) = (&m.vis, &m.mod_token, &m.ident);
            quote!(#vis #token #ident)
        }
        SynItem::Trait(t) => {
            let (vis, token, ident) = (&t.vis, &t.trait_token, &t.ident);
            quote!(#vis #token #ident)
        }
        SynItem::Const(c) => {
            let (vis, token, ident) = (&c.vis, &c.const_token, &c.ident);
            quote!(#vis #token #ident)
        }
        SynItem::Static(s) => {
            let (vis, token, ident) = (&s.vis, &s.static_token, &s.ident);
            quote!(#vis #token #ident)
        }
        other => other.to_token_stream(),
    }
}

/// The function's attributes: docs go on the struct, `cfg`s on every generated item,
/// everything else on `call`.
struct Attrs<'a> {
    docs: Vec<&'a Attribute>,
    cfgs: Vec<&'a Attribute>,
    others: Vec<&'a Attribute>,
}

fn split_attrs(attrs: &[Attribute]) -> Attrs<'_> {
    let mut out = Attrs {
        docs: Vec::new(),
        cfgs: Vec::new(),
        others: Vec::new(),
    };
    for attr in attrs {
        let path = attr.path();
        if path.is_ident("doc") {
            out.docs.push(attr);
        } else if path.is_ident("cfg") || path.is_ident("cfg_attr") {
            out.cfgs.push(attr);
        } else {
            out.others.push(attr);
        }
    }
    out
}

fn generate(route: &Route, macro_name: &str) -> TokenStream {
    let func = &route.func;
    let name = &func.sig.ident;
    let vis = &func.vis;
    let attrs = split_attrs(&func.attrs);
    let docs = &attrs.docs;
    let cfgs = &attrs.cfgs;
    let full = route.valid && route.args.is_some();

    let summary = summary_doc(route, macro_name);
    let separator = (!docs.is_empty()).then(|| quote!(#[doc = ""]));
    let debug_name = syn::ext::IdentExt::unraw(name).to_string();
    // `Clone`, `Copy` and `Debug` written out rather than derived: the same few lines
    // under every rustc, which keeps expansion snapshots stable.
    let struct_def = quote! {
        #(#docs)*
        #separator
        #[doc = #summary]
        #(#cfgs)*
        #[allow(non_camel_case_types)]
        #vis struct #name;

        #(#cfgs)*
        impl ::core::clone::Clone for #name {
            fn clone(&self) -> Self {
                *self
            }
        }

        #(#cfgs)*
        impl ::core::marker::Copy for #name {}

        #(#cfgs)*
        impl ::core::fmt::Debug for #name {
            fn fmt(&self, __formatter: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                __formatter.write_str(#debug_name)
            }
        }
    };

    let call_fn = call_fn(route, &attrs, full);
    let into_route = match (&route.args, full) {
        (Some(args), true) => {
            let method = &args.method;
            let path = &args.path;
            let doc_fn = openapi_doc(route, args, &attrs.docs);
            quote! {
                #(#cfgs)*
                impl ::sse_runtime::IntoRoute for #name {
                    fn into_route(self) -> ::sse_runtime::RouteDef {
                        ::sse_runtime::__openapi::document(
                            ::sse_runtime::RouteDef::new(::sse_runtime::__private::Method::#method, #path, self),
                            #doc_fn,
                        )
                    }
                }
            }
        }
        _ => {
            let message = format!("the route attribute on `{name}` reported a compile error");
            quote! {
                #(#cfgs)*
                impl ::sse_runtime::IntoRoute for #name {
                    fn into_route(self) -> ::sse_runtime::RouteDef {
                        ::core::unreachable!(#message)
                    }
                }
            }
        }
    };
    let handler = match (&route.args, full) {
        (Some(args), true) => handler_impl(route, args, cfgs),
        _ => TokenStream::new(),
    };

    quote! {
        #struct_def
        #call_fn
        #into_route
        #handler
    }
}

/// The closure given to `::sse_runtime::__openapi::document`: the operation id, the doc
/// comment, then one probe per argument type and one for the item (stream) or return
/// (plain) type. A probe documents its type fully when the type can describe itself and
/// leniently otherwise, never failing to compile (see `sse-runtime`'s
/// `openapi/macro_support.rs`).
fn openapi_doc(route: &Route, args: &Args, docs: &[&Attribute]) -> TokenStream {
    let func = &route.func;
    let operation_id = syn::ext::IdentExt::unraw(&func.sig.ident).to_string();
    let doc_comment = doc_text(docs).map(|text| quote!(.doc_comment(#text)));
    let probe = |kind: &str, ty: &Type| {
        let kind = Ident::new(kind, proc_macro2::Span::call_site());
        quote! {
            let __doc = (&&&::sse_runtime::__openapi::#kind::<#ty>::NEW).describe(__doc);
        }
    };
    let mut probes: Vec<TokenStream> = func
        .sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(arg) => Some(probe("Arg", &arg.ty)),
            FnArg::Receiver(_) => None,
        })
        .collect();
    match (&route.returns, args.kind) {
        (Returns::Stream(item), Kind::Sse | Kind::Ndjson) => {
            let ty = item.result.as_ref().map_or(&item.ty, |result| &result.ok);
            let kind = if args.kind == Kind::Ndjson {
                "JsonLine"
            } else {
                "SseItem"
            };
            probes.push(probe(kind, ty));
            // An `Err` before the first item is an HTTP error response (`HttpError`: its
            // status and `{"detail": ...}`).
            if let Some(err) = item.result.as_ref().and_then(|result| result.err.as_ref()) {
                probes.push(probe("Response", err));
            }
        }
        (_, Kind::Plain) => match &func.sig.output {
            ReturnType::Type(_, ty) if !route::contains_impl_trait(ty) => {
                // `Result<T, E>` is probed part by part, so a `T` without a schema does
                // not make `E`'s responses disappear.
                match result_parts(ty) {
                    Some((ok, err)) => {
                        probes.push(probe("Response", ok));
                        probes.push(probe("Response", err));
                    }
                    None => probes.push(probe("Response", ty)),
                }
            }
            ReturnType::Type(..) => {}
            ReturnType::Default => probes.push(probe("Response", &syn::parse_quote!(()))),
        },
        _ => {}
    }
    quote! {
        |__doc| {
            // Which probe traits are used depends on the types (and on the feature).
            #[allow(unused_imports)]
            use ::sse_runtime::__openapi::{Described as _, Lenient as _, Undescribed as _};
            let __doc = __doc.operation_id(#operation_id)#doc_comment;
            #(#probes)*
            __doc
        }
    }
}

/// The text of the doc comment (`#[doc = "..."]` string literals), lines joined with `\n`.
fn doc_text(docs: &[&Attribute]) -> Option<String> {
    let lines: Vec<String> = docs
        .iter()
        .filter_map(|attr| match &attr.meta {
            syn::Meta::NameValue(syn::MetaNameValue {
                value:
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(text),
                        ..
                    }),
                ..
            }) => Some(text.value()),
            _ => None,
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// `Result<T, E>` written with both parameters: `(T, E)`.
fn result_parts(ty: &Type) -> Option<(&Type, &Type)> {
    let Type::Path(path) = ty else { return None };
    let segment = path.path.segments.last()?;
    if segment.ident != "Result" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(generics) = &segment.arguments else {
        return None;
    };
    let mut types = generics.args.iter().filter_map(|arg| match arg {
        syn::GenericArgument::Type(ty) => Some(ty),
        _ => None,
    });
    match (types.next(), types.next(), types.next()) {
        (Some(ok), Some(err), None) => Some((ok, err)),
        _ => None,
    }
}

/// The doc paragraph appended to the struct: what the route is and how to use it.
fn summary_doc(route: &Route, macro_name: &str) -> String {
    let name = &route.func.sig.ident;
    let Some(args) = &route.args else {
        return format!(" Generated by `#[{macro_name}]`.");
    };
    let what = match args.kind {
        Kind::Plain => "",
        Kind::Sse => " (Server-Sent Events)",
        Kind::Ndjson => " (JSON Lines)",
    };
    format!(
        " Route `{} {}`{what}, generated by `#[{macro_name}]`: register it with \
         `App::new().route({name})`; `{name}::call(...)` runs the function directly.",
        args.method,
        args.path.value(),
    )
}

/// `impl f { fn call(...) }`: the user's function under the name `call`.
fn call_fn(route: &Route, attrs: &Attrs<'_>, full: bool) -> TokenStream {
    let func = &route.func;
    let name = &func.sig.ident;
    let cfgs = &attrs.cfgs;
    let others = &attrs.others;
    let vis = &func.vis;
    let mut sig = func.sig.clone();
    sig.ident = Ident::new("call", name.span());
    if !full {
        fallback_return_type(route, &mut sig);
    }

    let streaming = route
        .args
        .as_ref()
        .is_some_and(|args| args.kind.is_stream());
    let doc = if streaming {
        format!(
            " Runs `{name}` directly, without HTTP: pass the extractor values and get the \
             stream it yields (`impl Stream`), before any encoding. Useful in unit tests; \
             to serve it, register `{name}` with `App::route`."
        )
    } else {
        format!(
            " Runs `{name}` directly, without HTTP: pass the extractor values and get its \
             result as written, before it becomes a response. Useful in unit tests; to \
             serve it, register `{name}` with `App::route`."
        )
    };

    let body = match &route.body {
        Body::Tail(tail) => tail_body(route, tail, full),
        Body::Bare if route.wraps_bare_body() => generator_body(route, full),
        _ if route.scan.yields.is_empty() => func.block.to_token_stream(),
        _ => {
            let mut block = (*func.block).clone();
            yield_scan::rewrite(&mut block, Mode::Strip);
            block.to_token_stream()
        }
    };
    let allow = if full {
        TokenStream::new()
    } else {
        quote!(#[allow(dead_code, unreachable_code)])
    };

    quote! {
        #(#cfgs)*
        impl #name {
            #[doc = #doc]
            #(#others)*
            #allow
            #vis #sig #body
        }
    }
}

/// The item type each `yield` must produce, and whether the body is a `try_stream!`.
fn yield_type(route: &Route) -> (Option<&Type>, bool) {
    match &route.returns {
        Returns::Stream(item) => match &item.result {
            Some(result) if route.scan.first_try.is_some() => (Some(&result.ok), true),
            _ => (Some(&item.ty), false),
        },
        _ => (None, false),
    }
}

/// Beside a reported `try_stream!`-without-`Result`-items error, `call` declares
/// `Result<T, HttpError>` items, which is what the block produces: no second error.
fn fallback_return_type(route: &Route, sig: &mut syn::Signature) {
    let (Body::Tail(tail), Returns::Stream(item)) = (&route.body, &route.returns) else {
        return;
    };
    if !tail.is_try || item.result.is_some() {
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

/// The body with its tail `stream! { ... }` / `try_stream! { ... }` block's `yield`s
/// typed (the invocation's path is kept as written).
fn tail_body(route: &Route, tail: &Tail, full: bool) -> TokenStream {
    let ty = match &route.returns {
        Returns::Stream(item) if tail.is_try => item.result.as_ref().map(|result| &result.ok),
        Returns::Stream(item) => Some(&item.ty),
        _ => None,
    };
    let mut stmts = tail.stmts.clone();
    yield_scan::rewrite_stmts(
        &mut stmts,
        match ty {
            Some(ty) => Mode::Typed(ty),
            None => Mode::Untyped,
        },
        !full,
    );
    let placeholder = placeholder_yield(tail.scan.first_generator_yield(), ty);
    // Any `yield` before the block is an error already reported.
    let mut before: Vec<syn::Stmt> = route.func.block.stmts.clone();
    before.pop();
    yield_scan::rewrite_stmts(&mut before, Mode::Strip, false);
    let path = &tail.mac.path;
    let bang = &tail.mac.bang_token;
    let generator = quote! {
        #path #bang {
            #placeholder
            #(#stmts)*
        }
    };
    if matches!(route.returns, Returns::Other) {
        // A generator where no stream is returned (reported): keep the body well-typed.
        return quote! {
            {
                #(#before)*
                let _ = #generator;
                ::core::unreachable!()
            }
        };
    }
    quote! {
        {
            #(#before)*
            #generator
        }
    }
}

/// `if false { yield <T>; }` — only when a generator's every `yield` was unusable (and
/// reported): keeps its item type inferable so no second error follows.
fn placeholder_yield(first_yield: Option<proc_macro2::Span>, ty: Option<&Type>) -> TokenStream {
    match (first_yield, ty) {
        (None, Some(ty)) => {
            let value = yield_scan::typed_value(ty, quote!(::core::unreachable!()));
            quote!(if false { yield #value; })
        }
        _ => TokenStream::new(),
    }
}

/// `{ ::sse_runtime::__private::async_stream::stream! { ...typed yields... } }`.
fn generator_body(route: &Route, full: bool) -> TokenStream {
    let (ty, is_try) = yield_type(route);
    let mut block = (*route.func.block).clone();
    yield_scan::rewrite_stmts(
        &mut block.stmts,
        match ty {
            Some(ty) => Mode::Typed(ty),
            None => Mode::Untyped,
        },
        !full,
    );
    let placeholder = placeholder_yield(route.scan.first_generator_yield(), ty);
    let mac = if is_try {
        quote!(try_stream)
    } else {
        quote!(stream)
    };
    let stmts = &block.stmts;
    quote! {
        {
            ::sse_runtime::__private::async_stream::#mac! {
                #placeholder
                #(#stmts)*
            }
        }
    }
}

/// `impl Handler<Generated> for f`: extraction, the call, the response.
fn handler_impl(route: &Route, args: &Args, cfgs: &[&Attribute]) -> TokenStream {
    let func = &route.func;
    let name = &func.sig.ident;
    let types: Vec<&Type> = func
        .sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(arg) => Some(&*arg.ty),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let values: Vec<Ident> = (0..types.len())
        .map(|i| format_ident!("__arg{i}"))
        .collect();

    let mut stmts = Vec::new();
    if types.len() > 1 {
        stmts.push(quote!(let (mut __parts, __body) = __req.into_parts();));
    }
    for (i, (ty, value)) in types.iter().zip(&values).enumerate() {
        // The helper's path carries the argument type's span, so an unsatisfied bound
        // is reported on the user's argument.
        let (parts, state, req) = (local("__parts"), local("__state"), local("__req"));
        if i + 1 < types.len() {
            let helper = quote_spanned!(ty.span()=> ::sse_runtime::__private::from_parts::<#ty>);
            stmts.push(quote!(let #value = #helper(&mut #parts, &#state).await?;));
        } else {
            if types.len() > 1 {
                stmts
                    .push(quote!(let __req = ::sse_runtime::Request::from_parts(__parts, __body);));
            }
            let helper =
                quote_spanned!(ty.span()=> ::sse_runtime::__private::from_request::<#ty, _>);
            stmts.push(quote!(let #value = #helper(#req, &#state).await?;));
        }
    }
    let await_ = func.sig.asyncness.map(|_| quote!(.await));
    let output = quote!(#name::call(#(#values),*)#await_);
    let response = response(route, args, output);

    let (req, state) = (local("__req"), local("__state"));
    quote! {
        #(#cfgs)*
        impl ::sse_runtime::Handler<::sse_runtime::__private::Generated> for #name {
            fn call(&self, #req: ::sse_runtime::Request, #state: ::sse_runtime::AppState) -> ::sse_runtime::BoxFuture {
                ::sse_runtime::__private::handle(async move {
                    #(#stmts)*
                    #response
                })
            }
        }
    }
}

/// A local of the generated handler. Every generated local starts with `__`: a route's
/// unit struct (`stream`, `state`, ...) is in scope, and a binding cannot shadow it.
fn local(name: &str) -> Ident {
    Ident::new(name, proc_macro2::Span::call_site())
}

/// The statements that turn `f::call(...)`'s value into `Ok(response)`.
fn response(route: &Route, args: &Args, output: TokenStream) -> TokenStream {
    let Returns::Stream(item) = &route.returns else {
        // A plain route. `respond::<R>` checks `R: IntoResponse` on the return type
        // (an `impl Trait` return is already checked by rustc on the signature).
        let respond = match &route.func.sig.output {
            ReturnType::Type(_, ty) if !route::contains_impl_trait(ty) => {
                quote_spanned!(ty.span()=> ::sse_runtime::__private::respond::<#ty>)
            }
            _ => quote!(::sse_runtime::__private::respond),
        };
        return quote! {
            let __result = #output;
            ::core::result::Result::Ok(#respond(__result))
        };
    };
    // The declared item type in the helper's turbofish: `T: IntoEvent` (or
    // `T: Serialize`) is checked, and reported, on the return type.
    let ty = &item.ty;
    let helper = match (&item.result, args.kind) {
        (None, Kind::Ndjson) => {
            quote_spanned!(ty.span()=> ::sse_runtime::__private::json_lines::<#ty, _>)
        }
        (None, _) => quote_spanned!(ty.span()=> ::sse_runtime::__private::sse::<#ty, _>),
        (Some(result), kind) => {
            let ok = &result.ok;
            let err = match &result.err {
                Some(err) => err.to_token_stream(),
                None => quote!(_),
            };
            let name = if kind == Kind::Ndjson {
                quote!(json_lines_try)
            } else {
                quote!(sse_try)
            };
            quote_spanned!(ty.span()=> ::sse_runtime::__private::#name::<#ok, #err, _>)
        }
    };
    let mut settings = TokenStream::new();
    match args.keep_alive {
        Some(KeepAliveOpt::Off) => {
            settings.extend(quote!(.keep_alive(::sse_runtime::__private::keep_alive_off())));
        }
        Some(KeepAliveOpt::Every(ms)) => {
            let ms = Literal::u64_unsuffixed(ms);
            settings.extend(quote!(.keep_alive(::sse_runtime::__private::keep_alive_every(#ms))));
        }
        None => {}
    }
    if let Some(ms) = args.retry_ms {
        let ms = Literal::u64_unsuffixed(ms);
        settings.extend(quote!(.retry(::sse_runtime::__private::millis(#ms))));
    }
    quote! {
        let __stream = #output;
        ::core::result::Result::Ok(::sse_runtime::IntoResponse::into_response(#helper(__stream)#settings))
    }
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
            out.contains(":: sse_runtime :: __openapi :: document"),
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
        assert!(!out.contains("__openapi"), "{out}");
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
