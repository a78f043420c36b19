//! Code generation for a validated route. For
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
//! An invalid route gets less (`recover.rs`), built from the same unit struct and `call`.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Attribute, FnArg, Ident, ReturnType, Signature, Type};

use crate::ast::{self, Body, ResultParts, Returns, Route, Tail};
use crate::attr::{Args, KeepAliveOpt, Kind};
use crate::valid::Valid;
use crate::yield_scan::{self, Mode};

/// The full expansion of a valid route: unit struct, `call`, `IntoRoute`, `Handler`.
pub(crate) fn valid_route(valid: Valid<'_>, macro_name: &str) -> TokenStream {
    let Valid { route, args } = valid;
    let name = &route.func.sig.ident;
    let attrs = Attrs::split(&route.func.attrs);
    let cfgs = &attrs.cfgs;

    let unit_struct = unit_struct(route, &attrs, macro_name);
    let call_fn = call_fn(
        route,
        &attrs,
        &call_sig(route),
        call_body(route, false),
        TokenStream::new(),
    );
    let method = &args.method;
    let path = &args.path;
    let doc_fn = openapi_doc(route, args, &attrs.docs);
    let into_route = quote! {
        #(#cfgs)*
        impl ::sse_runtime::IntoRoute for #name {
            fn into_route(self) -> ::sse_runtime::RouteDef {
                ::sse_runtime::__private::openapi::document(
                    ::sse_runtime::RouteDef::new(::sse_runtime::__private::Method::#method, #path, self),
                    #doc_fn,
                )
            }
        }
    };
    let handler = handler_impl(route, args, cfgs);

    quote! {
        #unit_struct
        #call_fn
        #into_route
        #handler
    }
}

/// The function's attributes: docs go on the struct, `cfg`s on every generated item,
/// everything else on `call`.
pub(crate) struct Attrs<'a> {
    pub docs: Vec<&'a Attribute>,
    pub cfgs: Vec<&'a Attribute>,
    pub others: Vec<&'a Attribute>,
}

impl Attrs<'_> {
    pub(crate) fn split(attrs: &[Attribute]) -> Attrs<'_> {
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
}

/// `pub struct f;` with the function's docs and a summary paragraph, and its `Clone`,
/// `Copy` and `Debug` impls.
pub(crate) fn unit_struct(route: &Route, attrs: &Attrs<'_>, macro_name: &str) -> TokenStream {
    let func = &route.func;
    let name = &func.sig.ident;
    let vis = &func.vis;
    let docs = &attrs.docs;
    let cfgs = &attrs.cfgs;

    let summary = summary_doc(route, macro_name);
    let separator = (!docs.is_empty()).then(|| quote!(#[doc = ""]));
    let debug_name = syn::ext::IdentExt::unraw(name).to_string();
    // `Clone`, `Copy` and `Debug` written out rather than derived: the same few lines
    // under every rustc, which keeps expansion snapshots stable.
    quote! {
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
    }
}

/// The closure given to `::sse_runtime::__private::openapi::document`: the operation id, the doc
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
            let __doc = (&&&::sse_runtime::__private::openapi::#kind::<#ty>::NEW).describe(__doc);
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
            let result = item.result();
            let ty = result.map_or(&item.ty, |result| result.ok);
            let kind = if args.kind == Kind::Ndjson {
                "JsonLine"
            } else {
                "SseItem"
            };
            probes.push(probe(kind, ty));
            // An `Err` before the first item is an HTTP error response (`HttpError`: its
            // status and `{"detail": ...}`).
            if let Some(err) = result.and_then(|result| result.err) {
                probes.push(probe("Response", err));
            }
        }
        (_, Kind::Plain) => match &func.sig.output {
            ReturnType::Type(_, ty) if !ast::contains_impl_trait(ty) => {
                // `Result<T, E>` is probed part by part, so a `T` without a schema does
                // not make `E`'s responses disappear. `Result<T>` (`io::Result<T>`) does
                // not name its `E`, so it is probed whole. A qualified
                // `<S as Trait>::Result<T, E>` is taken apart too (see `ast::Item::result`).
                match ast::result_parts(ty) {
                    Some(ResultParts {
                        ok, err: Some(err), ..
                    }) => {
                        probes.push(probe("Response", ok));
                        probes.push(probe("Response", err));
                    }
                    _ => probes.push(probe("Response", ty)),
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
            use ::sse_runtime::__private::openapi::{Described as _, Lenient as _, Undescribed as _};
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

/// `impl f { fn call(...) }`: the user's function under the name `call`, with `sig` and
/// `body` ([`call_sig`] and [`call_body`], or their neutralised forms beside errors) and
/// `lints` (`#[allow]`s, beside errors).
pub(crate) fn call_fn(
    route: &Route,
    attrs: &Attrs<'_>,
    sig: &Signature,
    body: TokenStream,
    lints: TokenStream,
) -> TokenStream {
    let func = &route.func;
    let name = &func.sig.ident;
    let cfgs = &attrs.cfgs;
    let others = &attrs.others;
    let vis = &func.vis;

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

    quote! {
        #(#cfgs)*
        impl #name {
            #[doc = #doc]
            #(#others)*
            #lints
            #vis #sig #body
        }
    }
}

/// The function's signature, renamed `call`.
pub(crate) fn call_sig(route: &Route) -> Signature {
    let mut sig = route.func.sig.clone();
    sig.ident = Ident::new("call", route.func.sig.ident.span());
    sig
}

/// `call`'s body: the function's block, its generator's `yield`s typed. With `strip_try`
/// (only beside a reported error), each generator-level `e?` is neutralised too (see
/// `yield_scan::rewrite_stmts`).
pub(crate) fn call_body(route: &Route, strip_try: bool) -> TokenStream {
    match &route.body {
        Body::Tail(tail) => {
            let (before, generator) = tail_generator(route, tail, strip_try);
            quote! {
                {
                    #(#before)*
                    #generator
                }
            }
        }
        Body::Bare => generator_body(route, strip_try),
        Body::Value => route.func.block.to_token_stream(),
    }
}

/// The item type each `yield` must produce, and whether the body is a `try_stream!`.
fn yield_type(route: &Route) -> (Option<&Type>, bool) {
    match &route.returns {
        Returns::Stream(item) => match item.result() {
            Some(result) if route.scan.first_try.is_some() => (Some(result.ok), true),
            _ => (Some(&item.ty), false),
        },
        _ => (None, false),
    }
}

/// The statements before a tail `stream! { ... }` / `try_stream! { ... }` block, and the
/// block with its `yield`s typed (the invocation's path is kept as written).
pub(crate) fn tail_generator(
    route: &Route,
    tail: &Tail,
    strip_try: bool,
) -> (Vec<syn::Stmt>, TokenStream) {
    let ty = match &route.returns {
        Returns::Stream(item) if tail.is_try => item.result().map(|result| result.ok),
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
        strip_try,
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
    (before, generator)
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
fn generator_body(route: &Route, strip_try: bool) -> TokenStream {
    let (ty, is_try) = yield_type(route);
    let mut block = (*route.func.block).clone();
    yield_scan::rewrite_stmts(
        &mut block.stmts,
        match ty {
            Some(ty) => Mode::Typed(ty),
            None => Mode::Untyped,
        },
        strip_try,
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

    // What each argument needs from the app, checked by `App::build`. A probe that never
    // fails to compile: an argument that is not an extractor requires nothing here, and
    // its error comes from `call` alone.
    let requirements = local("__requirements");
    let requires = types.iter().map(
        |ty| quote!((&&&::sse_runtime::__private::Require::<#ty>::NEW).require(#requirements);),
    );

    let (req, state) = (local("__req"), local("__state"));
    quote! {
        #(#cfgs)*
        impl ::sse_runtime::Handler<::sse_runtime::__private::Generated> for #name {
            fn call(&self, #req: ::sse_runtime::Request, #state: ::sse_runtime::__private::AppState) -> ::sse_runtime::__private::BoxFuture {
                ::sse_runtime::__private::handle(async move {
                    #(#stmts)*
                    #response
                })
            }

            fn requirements(&self, #requirements: &mut ::sse_runtime::extract::Requirements) {
                #[allow(unused_imports)]
                use ::sse_runtime::__private::{RequireNothing as _, RequireParts as _, RequireRequest as _};
                #(#requires)*
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
            ReturnType::Type(_, ty) if !ast::contains_impl_trait(ty) => {
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
    let helper = match (item.result(), args.kind) {
        (None, Kind::Ndjson) => {
            quote_spanned!(ty.span()=> ::sse_runtime::__private::json_lines::<#ty, _>)
        }
        (None, _) => quote_spanned!(ty.span()=> ::sse_runtime::__private::sse::<#ty, _>),
        (Some(result), kind) => {
            let ok = result.ok;
            let err = match result.err {
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
    if let Some(ms) = args.first_event_window_ms {
        let ms = Literal::u64_unsuffixed(ms);
        settings.extend(quote!(.first_event_window(::sse_runtime::__private::millis(#ms))));
    }
    quote! {
        let __stream = #output;
        ::core::result::Result::Ok(::sse_runtime::IntoResponse::into_response(#helper(__stream)#settings))
    }
}
