//! Reading and checking the annotated function: `parse` → `validate` → (`expand`).
//!
//! Everything here is syntactic. Types are checked by rustc in the generated code,
//! with spans pointing back at the user's tokens (see `expand.rs`).

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::visit::Visit;
use syn::{FnArg, GenericArgument, ItemFn, PathArguments, ReturnType, Type, TypeParamBound};

use crate::attr::{Args, Kind};
use crate::errors::Errors;
use crate::yield_scan::{self, Scan};

/// The item type of a streaming route, read from `-> impl Stream<Item = T>`.
#[derive(Clone)]
pub(crate) struct Item {
    /// `T` as written.
    pub ty: Type,
    /// `Some` when `T` is written `Result<Ok, Err>` (or `Result<Ok>`, an alias such as
    /// `io::Result`), recognised by the last path segment's name.
    pub result: Option<ResultItem>,
}

/// The parts of a `Result` item type.
#[derive(Clone)]
pub(crate) struct ResultItem {
    pub ok: Type,
    pub err: Option<Type>,
}

/// What the function's return type says.
pub(crate) enum Returns {
    /// `impl ...Stream<Item = T>` with a nameable `T`.
    Stream(Box<Item>),
    /// `impl ...Stream` without a usable `Item` (missing, or `impl Trait` itself).
    StreamUnnamed,
    /// Anything else (or nothing).
    Other,
}

/// How the body produces its stream.
pub(crate) enum Body {
    /// No generator: the body returns its value (a stream value, or a plain result).
    Value,
    /// Bare `yield`s in the function body, which the attribute wraps into a generator.
    /// Only a toolchain whose parser accepts `yield` (nightly with the feature) gets
    /// here without its own error: stable rustc rejects `yield` before any macro runs.
    Bare,
    /// The body ends in `stream! { ... }` or `try_stream! { ... }` (the stable form):
    /// the attribute checks and types that generator's `yield`s.
    Tail(Tail),
}

/// The `stream!` / `try_stream!` block that ends a body.
pub(crate) struct Tail {
    /// The invocation as written (its path is kept).
    pub mac: syn::Macro,
    /// Written `try_stream!`.
    pub is_try: bool,
    /// Its statements, parsed.
    pub stmts: Vec<syn::Stmt>,
    pub scan: Scan,
}

/// The analysed route.
pub(crate) struct Route {
    pub func: ItemFn,
    /// `None` when the attribute's arguments are unreadable.
    pub args: Option<Args>,
    pub returns: Returns,
    /// The function body's own `yield`s and `?`s (a tail `stream!` is not included).
    pub scan: Scan,
    pub body: Body,
    /// True when the function itself is fine; false when an error was reported about it
    /// (the expansion then only keeps names resolving).
    pub valid: bool,
}

impl Route {
    /// True when `call`'s body must be a generator: a bare-`yield` body of something that
    /// is (or looks like) a streaming route.
    pub(crate) fn wraps_bare_body(&self) -> bool {
        let streaming = !matches!(self.returns, Returns::Other)
            || self.args.as_ref().is_some_and(|args| args.kind.is_stream());
        matches!(self.body, Body::Bare) && streaming
    }
}

/// The tail `stream!` / `try_stream!` block of a body, if it has one that parses.
fn tail_stream(func: &ItemFn) -> Option<Tail> {
    let mac = match func.block.stmts.last()? {
        syn::Stmt::Macro(stmt) if stmt.semi_token.is_none() => &stmt.mac,
        syn::Stmt::Expr(syn::Expr::Macro(expr), None) => &expr.mac,
        _ => return None,
    };
    if !yield_scan::is_stream_macro(mac) {
        return None;
    }
    let stmts = yield_scan::parse_stream_body(&mac.tokens)?;
    let is_try = mac
        .path
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "try_stream");
    Some(Tail {
        mac: mac.clone(),
        is_try,
        scan: yield_scan::scan_stmts(&stmts),
        stmts,
    })
}

/// Errors that make the function unusable as a route at all (it is then re-emitted
/// unchanged): a `self` receiver, generics, `const`/`unsafe`/`extern`/variadic.
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

/// Analyses the function; every problem goes to `errors`.
pub(crate) fn analyze(
    func: ItemFn,
    args: Option<Args>,
    macro_name: &str,
    errors: &mut Errors,
) -> Route {
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

    let returns = returns(&func.sig.output);
    let scan = yield_scan::scan(&func.block);
    let tail = tail_stream(&func);
    for found in scan.nested() {
        fail(errors, yield_scan::nested_error(found));
    }
    if let Some(tail) = &tail {
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

    let kind = args.as_ref().map(|args| args.kind);
    let first_yield = scan.first_generator_yield();
    match kind {
        Some(Kind::Plain) => {
            let fix = format!(
                "add `sse` to the attribute, as in `#[{macro_name}(\"/path\", sse)]` (or \
                 `ndjson` for JSON Lines), and return `impl Stream<Item = T>`"
            );
            if let Some(tail) = &tail {
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
            } else if !matches!(returns, Returns::Other) {
                fail(
                    errors,
                    syn::Error::new_spanned(
                        return_tokens(&func),
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
            match &returns {
                Returns::Stream(item) => match &tail {
                    Some(tail) => {
                        if let Some(err) = tail_mode_error(tail, item) {
                            fail(errors, err);
                        }
                    }
                    None => {
                        if let (Some(at), None, Some(_)) =
                            (scan.first_try, &item.result, first_yield)
                        {
                            fail(errors, syn::Error::new(at, QUESTION_NEEDS_RESULT));
                        }
                    }
                },
                Returns::StreamUnnamed => fail(
                    errors,
                    syn::Error::new_spanned(
                        return_tokens(&func),
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
                        return_tokens(&func),
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

    let body = match tail {
        Some(tail) => Body::Tail(tail),
        None if !scan.yields.is_empty() => Body::Bare,
        None => Body::Value,
    };
    Route {
        func,
        args,
        returns,
        scan,
        body,
        valid,
    }
}

const QUESTION_NEEDS_RESULT: &str = "`?` in a streaming route needs `Result` items: declare \
     `-> impl Stream<Item = Result<T, HttpError>>` (spelled `Result<..>`: a type alias is not \
     recognised); an `Err` then ends the stream, as an HTTP error if nothing was sent yet";

/// The rules of a tail block: `try_stream!` and `?` need `Result` items.
fn tail_mode_error(tail: &Tail, item: &Item) -> Option<syn::Error> {
    if tail.is_try && item.result.is_none() {
        return Some(syn::Error::new_spanned(
            &tail.mac.path,
            "`try_stream!` yields `Result` items: declare \
             `-> impl Stream<Item = Result<T, HttpError>>` (spelled `Result<..>`: a type alias \
             is not recognised), or use `stream!`",
        ));
    }
    // In `stream!` as in `try_stream!`, `?` yields `Err(e.into())`: it needs `Result` items.
    match (tail.scan.first_try, &item.result) {
        (Some(at), None) => Some(syn::Error::new(at, QUESTION_NEEDS_RESULT)),
        _ => None,
    }
}

/// Where to report a problem with the return type: the type, or the whole signature
/// when there is none.
fn return_tokens(func: &ItemFn) -> TokenStream {
    match &func.sig.output {
        ReturnType::Type(_, ty) => ty.to_token_stream(),
        ReturnType::Default => func.sig.to_token_stream(),
    }
}

/// Reads the return type.
pub(crate) fn returns(output: &ReturnType) -> Returns {
    let ReturnType::Type(_, ty) = output else {
        return Returns::Other;
    };
    let mut ty = &**ty;
    while let Type::Paren(inner) = ty {
        ty = &inner.elem;
    }
    let Type::ImplTrait(imp) = ty else {
        return Returns::Other;
    };
    let mut found_stream = false;
    for bound in &imp.bounds {
        let TypeParamBound::Trait(bound) = bound else {
            continue;
        };
        let Some(last) = bound.path.segments.last() else {
            continue;
        };
        if last.ident != "Stream" {
            continue;
        }
        found_stream = true;
        let PathArguments::AngleBracketed(generics) = &last.arguments else {
            continue;
        };
        for arg in &generics.args {
            if let GenericArgument::AssocType(assoc) = arg {
                if assoc.ident == "Item" && assoc.generics.is_none() {
                    if contains_impl_trait(&assoc.ty) {
                        return Returns::StreamUnnamed;
                    }
                    return Returns::Stream(Box::new(Item {
                        result: result_parts(&assoc.ty),
                        ty: assoc.ty.clone(),
                    }));
                }
            }
        }
    }
    if found_stream {
        Returns::StreamUnnamed
    } else {
        Returns::Other
    }
}

/// `Result<T, E>` / `Result<T>` by the last path segment's name.
fn result_parts(ty: &Type) -> Option<ResultItem> {
    let Type::Path(path) = ty else { return None };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(generics) = &last.arguments else {
        return None;
    };
    let mut types = generics.args.iter().filter_map(|arg| match arg {
        GenericArgument::Type(ty) => Some(ty.clone()),
        _ => None,
    });
    let ok = types.next()?;
    let err = types.next();
    if types.next().is_some() {
        return None;
    }
    Some(ResultItem { ok, err })
}

/// True if `ty` mentions `impl Trait` anywhere.
pub(crate) fn contains_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut finder = Finder(false);
    finder.visit_type(ty);
    finder.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ret(text: &str) -> Returns {
        let sig: syn::Signature = syn::parse_str(&format!("fn f() {text}")).expect("parses");
        returns(&sig.output)
    }

    fn item(text: &str) -> (String, Option<(String, Option<String>)>) {
        match ret(text) {
            Returns::Stream(item) => (
                item.ty.to_token_stream().to_string(),
                item.result.map(|r| {
                    (
                        r.ok.to_token_stream().to_string(),
                        r.err.map(|e| e.to_token_stream().to_string()),
                    )
                }),
            ),
            _ => panic!("not a named stream: {text}"),
        }
    }

    #[test]
    fn stream_return_types() {
        assert_eq!(item("-> impl Stream<Item = Tick>").0, "Tick");
        assert_eq!(
            item("-> impl Stream<Item = Tick> + Send + 'static").0,
            "Tick"
        );
        assert_eq!(
            item("-> (impl futures::Stream<Item = Vec<u8>>)").0,
            "Vec < u8 >"
        );
        assert_eq!(
            item("-> impl Stream<Item = Result<Tick, HttpError>>").1,
            Some(("Tick".into(), Some("HttpError".into())))
        );
        assert_eq!(
            item("-> impl Stream<Item = std::io::Result<Tick>>").1,
            Some(("Tick".into(), None))
        );
        assert!(matches!(ret("-> impl Stream"), Returns::StreamUnnamed));
        assert!(matches!(
            ret("-> impl Stream<Item = impl Serialize>"),
            Returns::StreamUnnamed
        ));
        assert!(matches!(ret("-> Json<T>"), Returns::Other));
        assert!(matches!(ret(""), Returns::Other));
        assert!(matches!(ret("-> impl Iterator<Item = u8>"), Returns::Other));
    }
}
