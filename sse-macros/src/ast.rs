//! The parsed route: the function, its attribute's arguments, what its return type says
//! and how its body produces a stream. Parsing only: nothing here reports an error about
//! the route (that is `valid.rs`), except an item that is not a function at all.
//!
//! Everything here is syntactic. Types are checked by rustc in the generated code,
//! with spans pointing back at the user's tokens (see `expand.rs`).

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::visit::Visit;
use syn::{GenericArgument, ItemFn, PathArguments, ReturnType, Type, TypeParamBound};

use crate::attr::Args;
use crate::yield_scan::{self, Scan};

/// Where a route function's tokens came from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The attribute on a function in the source: rustc parsed the body first.
    Attribute,
    /// A function inside `routes! { ... }`: its body reached us as plain tokens.
    RoutesBlock,
}

/// The item type of a streaming route, read from `-> impl Stream<Item = T>`.
pub(crate) struct Item {
    /// `T` as written.
    pub ty: Type,
}

impl Item {
    /// `Some` when the items are `Result`s, by [`result_parts`]; then `?` ends the stream,
    /// `try_stream!` applies and the response helpers split `Ok` from `Err`.
    ///
    /// Except a qualified `<S as Trait>::Result<..>`: that is an associated type, which may
    /// be anything, and those helpers need a real `Result`, so it stays a plain item type.
    /// (The OpenAPI probes of a plain route's return type take it apart like any `Result`:
    /// a probe never fails to compile. Both are as they were before the two rules became
    /// [`result_parts`].)
    pub(crate) fn result(&self) -> Option<ResultParts<'_>> {
        result_parts(&self.ty).filter(|parts| !parts.qualified)
    }
}

/// A type written as a `Result`, taken apart.
#[derive(Clone, Copy)]
pub(crate) struct ResultParts<'a> {
    pub ok: &'a Type,
    /// `None` for `Result<T>`, an alias whose error type is fixed (`io::Result<T>`,
    /// `anyhow::Result<T>`).
    pub err: Option<&'a Type>,
    /// Written as a qualified path, `<S as Trait>::Result<..>`.
    pub qualified: bool,
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

/// The parsed route.
pub(crate) struct Route {
    pub func: ItemFn,
    /// `None` when the attribute's arguments are unreadable.
    pub args: Option<Args>,
    pub returns: Returns,
    /// The function body's own `yield`s and `?`s (a tail `stream!` is not included).
    pub scan: Scan,
    pub body: Body,
}

impl Route {
    /// Reads the function (its arguments were parsed by `attr.rs`).
    pub(crate) fn parse(func: ItemFn, args: Option<Args>) -> Route {
        let returns = returns(&func.sig.output);
        let scan = yield_scan::scan(&func.block);
        let body = match tail_stream(&func) {
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
        }
    }

    /// The tail `stream!` / `try_stream!` block, if the body ends in one.
    pub(crate) fn tail(&self) -> Option<&Tail> {
        match &self.body {
            Body::Tail(tail) => Some(tail),
            _ => None,
        }
    }

    /// True when `call`'s body must be a generator: a bare-`yield` body of something that
    /// is (or looks like) a streaming route.
    pub(crate) fn wraps_bare_body(&self) -> bool {
        let streaming = !matches!(self.returns, Returns::Other)
            || self.args.as_ref().is_some_and(|args| args.kind.is_stream());
        matches!(self.body, Body::Bare) && streaming
    }
}

/// The function the attribute is on. Anything else is an error on its first tokens (the
/// attribute cannot do anything with it).
pub(crate) fn function(item: TokenStream, macro_name: &str) -> syn::Result<ItemFn> {
    match syn::parse2::<syn::Item>(item)? {
        syn::Item::Fn(func) => Ok(func),
        other => Err(syn::Error::new_spanned(
            item_head(&other),
            format!(
                "`#[{macro_name}]` goes on a function, as in \
                 `#[{macro_name}(\"/path\")] async fn handler(...) -> ... {{ ... }}`"
            ),
        )),
    }
}

/// The first tokens of an item that is not a function, to point an error at.
fn item_head(item: &syn::Item) -> TokenStream {
    match item {
        syn::Item::Struct(s) => {
            let (vis, token, ident) = (&s.vis, &s.struct_token, &s.ident);
            quote!(#vis #token #ident)
        }
        syn::Item::Enum(e) => {
            let (vis, token, ident) = (&e.vis, &e.enum_token, &e.ident);
            quote!(#vis #token #ident)
        }
        syn::Item::Impl(i) => {
            let (token, ty) = (&i.impl_token, &i.self_ty);
            quote!(#token #ty)
        }
        syn::Item::Mod(m) => {
            let (vis, token, ident) = (&m.vis, &m.mod_token, &m.ident);
            quote!(#vis #token #ident)
        }
        syn::Item::Trait(t) => {
            let (vis, token, ident) = (&t.vis, &t.trait_token, &t.ident);
            quote!(#vis #token #ident)
        }
        syn::Item::Const(c) => {
            let (vis, token, ident) = (&c.vis, &c.const_token, &c.ident);
            quote!(#vis #token #ident)
        }
        syn::Item::Static(s) => {
            let (vis, token, ident) = (&s.vis, &s.static_token, &s.ident);
            quote!(#vis #token #ident)
        }
        other => other.to_token_stream(),
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

/// Is `ty` a `Result`? The one rule, for a stream's items and a plain route's return type
/// alike: a path whose last segment is named `Result`, with one or two type arguments
/// (`Result<T, E>`, `std::io::Result<T>`, `anyhow::Result<T>`). Types are recognised by
/// name, since a macro cannot resolve them: a type alias with another name is not a
/// `Result`, and a type of another kind named `Result` is taken for one.
pub(crate) fn result_parts(ty: &Type) -> Option<ResultParts<'_>> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(generics) = &last.arguments else {
        return None;
    };
    let mut types = generics.args.iter().filter_map(|arg| match arg {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    });
    let ok = types.next()?;
    let err = types.next();
    if types.next().is_some() {
        return None;
    }
    Some(ResultParts {
        ok,
        err,
        qualified: path.qself.is_some(),
    })
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
                item.result().map(|r| {
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
        // A qualified path names an associated type: not `Result` items.
        assert_eq!(
            item("-> impl Stream<Item = <S as T>::Result<A, B>>").1,
            None
        );
    }

    fn parts(text: &str) -> Option<(String, Option<String>, bool)> {
        let ty: Type = syn::parse_str(text).expect("parses");
        result_parts(&ty).map(|parts| {
            (
                parts.ok.to_token_stream().to_string(),
                parts.err.map(|e| e.to_token_stream().to_string()),
                parts.qualified,
            )
        })
    }

    #[test]
    fn the_result_rule() {
        let some = |ok: &str, err: Option<&str>, qualified| {
            Some((ok.to_owned(), err.map(str::to_owned), qualified))
        };
        assert_eq!(parts("Result<A, B>"), some("A", Some("B"), false));
        assert_eq!(
            parts("std::result::Result<A, B>"),
            some("A", Some("B"), false)
        );
        assert_eq!(parts("io::Result<A>"), some("A", None, false));
        assert_eq!(parts("Result<'a, A>"), some("A", None, false));
        assert_eq!(parts("<S as T>::Result<A, B>"), some("A", Some("B"), true));
        assert_eq!(parts("Result"), None);
        assert_eq!(parts("Result<A, B, C>"), None);
        assert_eq!(parts("Fallible<A, B>"), None);
        assert_eq!(parts("&Result<A, B>"), None);
    }
}
