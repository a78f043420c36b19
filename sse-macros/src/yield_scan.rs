//! Finding and rewriting `yield` in a route's generator.
//!
//! The generator is either the block of a body's tail `stream! { ... }` /
//! `try_stream! { ... }` (the stable form: rustc's parser rejects a bare `yield` keyword
//! in a function before any attribute runs, but not inside a macro's tokens), or the
//! whole body when it contains bare `yield`s (accepted only by a nightly parser).
//!
//! A `yield` belongs to the route's stream only when it is in the generator itself
//! ("generator level"), exactly where `async_stream::stream!` turns it into a send:
//! not inside a closure, an `async` block or a nested item, which are separate
//! functions or futures. Inside macro invocations (other than nested `stream!` /
//! `try_stream!`), `yield` is found at the token level, as `async-stream` does.
//!
//! [`scan`] reports what a generator contains; [`rewrite`] then makes each
//! generator-level `yield e` typed — `yield { let __item: T = e; __item }` with `T`
//! spanned at the route's declared item type — so a wrong value is a type error on `e`
//! itself. Every `yield` that cannot work (nested ones, and all of them when the route
//! does not stream) is replaced by `{ let _ = e; }` once its error has been reported, so
//! rustc's own "yield syntax is experimental" never follows ours.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::parse::{Parse, ParseStream, Parser};
use syn::visit::{self, Visit};
use syn::visit_mut::{self, VisitMut};
use syn::{Block, Expr, ExprYield, Item, Macro, Stmt, Type};

/// Where a `yield` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The function body: a yield of the route's stream.
    Generator,
    /// Inside a closure.
    Closure,
    /// Inside an `async` block.
    AsyncBlock,
    /// Inside a nested `fn`.
    NestedFn,
    /// Inside another nested item (`impl`, `const`, `static`, ...).
    NestedItem,
}

/// One `yield` found.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Found {
    /// The `yield` keyword.
    pub span: Span,
    pub scope: Scope,
}

/// What a body contains.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Every `yield`, in source order.
    pub yields: Vec<Found>,
    /// The first `?` at generator level.
    pub first_try: Option<Span>,
}

impl Scan {
    /// The first generator-level `yield`.
    pub(crate) fn first_generator_yield(&self) -> Option<Span> {
        self.yields
            .iter()
            .find(|found| found.scope == Scope::Generator)
            .map(|found| found.span)
    }

    /// The `yield`s inside closures, async blocks and nested items.
    pub(crate) fn nested(&self) -> impl Iterator<Item = &Found> {
        self.yields
            .iter()
            .filter(|found| found.scope != Scope::Generator)
    }
}

/// Scans a function body.
pub(crate) fn scan(block: &Block) -> Scan {
    scan_stmts(&block.stmts)
}

/// Scans statements (a function body, or the inside of a `stream!` block).
pub(crate) fn scan_stmts(stmts: &[Stmt]) -> Scan {
    let mut scanner = Scanner {
        scope: Scope::Generator,
        scan: Scan::default(),
    };
    for stmt in stmts {
        scanner.visit_stmt(stmt);
    }
    scanner.scan
}

/// True for `stream! { .. }` and `try_stream! { .. }` (by the last path segment, as
/// `async-stream` itself recognises nested generators).
pub(crate) fn is_stream_macro(mac: &Macro) -> bool {
    mac.path
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "stream" || segment.ident == "try_stream")
}

/// The statements inside a `stream!` block, parsed as `async-stream` parses them
/// (`for await` included). `None` when they do not parse: `async-stream` reports that.
pub(crate) fn parse_stream_body(tokens: &TokenStream) -> Option<Vec<Stmt>> {
    Block::parse_within
        .parse2(replace_for_await(tokens.clone()))
        .ok()
}

/// `for await x in s` → `#[await_] for x in s`, the spelling `async-stream` itself turns
/// `for await` into before parsing (syn cannot parse `for await`) and expands later.
fn replace_for_await(tokens: TokenStream) -> TokenStream {
    let mut out = Vec::new();
    let mut iter = tokens.into_iter().peekable();
    while let Some(tt) = iter.next() {
        match tt {
            TokenTree::Ident(ident) => {
                if ident == "for" {
                    if let Some(TokenTree::Ident(next)) = iter.peek() {
                        if next == "await" {
                            let attr = syn::Ident::new("await_", next.span());
                            out.extend(quote!(#[#attr]));
                            iter.next();
                        }
                    }
                }
                out.push(TokenTree::Ident(ident));
            }
            TokenTree::Group(group) => {
                let mut new = Group::new(group.delimiter(), replace_for_await(group.stream()));
                new.set_span(group.span());
                out.push(TokenTree::Group(new));
            }
            other => out.push(other),
        }
    }
    out.into_iter().collect()
}

/// The error for a `yield` that is not at generator level.
pub(crate) fn nested_error(found: &Found) -> syn::Error {
    let message = match found.scope {
        Scope::Generator => "`yield` here is part of the route's stream",
        Scope::Closure => {
            "`yield` inside a closure does not yield from the route's stream: a closure is a \
             separate function. Yield from the route's body instead, e.g. write \
             `for x in items { yield x; }` rather than `items.for_each(|x| yield x)`"
        }
        Scope::AsyncBlock => {
            "`yield` inside an `async` block does not yield from the route's stream: the block \
             is a separate future. Yield from the route's body, where `.await` works directly"
        }
        Scope::NestedFn => {
            "`yield` inside a nested `fn` does not yield from the route's stream: return the \
             value from the function and `yield` it in the route's body"
        }
        Scope::NestedItem => {
            "`yield` inside a nested item does not yield from the route's stream: `yield` only \
             in the route's body"
        }
    };
    syn::Error::new(found.span, message)
}

/// What generator-level `yield`s become.
pub(crate) enum Mode<'a> {
    /// `yield { let __item: T = e; __item }`: the route streams `T`.
    Typed(&'a Type),
    /// Left as written: the route streams an item type that cannot be named
    /// (its error is already reported).
    Untyped,
    /// `{ let _ = e; }`: the route cannot stream (its error is already reported).
    Strip,
}

/// Rewrites the body's `yield`s (see the module docs). Nested ones are always stripped.
pub(crate) fn rewrite(block: &mut Block, mode: Mode<'_>) {
    rewrite_stmts(&mut block.stmts, mode, false);
}

/// [`rewrite`] for statements. With `strip_try`, each generator-level `e?` also becomes
/// `{ let _ = e; unreachable!() }`: used only in the code emitted beside a reported
/// error, so that a misplaced `?` does not add rustc's errors to ours.
pub(crate) fn rewrite_stmts(stmts: &mut [Stmt], mode: Mode<'_>, strip_try: bool) {
    let mut rewriter = Rewriter {
        scope: Scope::Generator,
        mode,
        strip_try,
    };
    for stmt in stmts {
        rewriter.visit_stmt_mut(stmt);
    }
}

/// `{ let __item: T = value; __item }`: a value checked against the item type `T`. The
/// type keeps the user's span (rustc's "expected due to this"), the value its own (the
/// error's primary span).
pub(crate) fn typed_value(ty: &Type, value: TokenStream) -> Expr {
    let item = syn::Ident::new("__item", Span::mixed_site());
    // Verbatim: printed as is, never re-parsed (so never a parse panic).
    Expr::Verbatim(quote! {
        { let #item: #ty = #value; #item }
    })
}

fn nested_scope(item: &Item) -> Scope {
    match item {
        Item::Fn(_) => Scope::NestedFn,
        _ => Scope::NestedItem,
    }
}

/// A parsed `yield ...` followed by the rest of a macro's tokens.
struct Partial(ExprYield, TokenStream);

impl Parse for Partial {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        Ok(Partial(input.parse()?, input.parse()?))
    }
}

/// A visitor that knows whether it is at generator level (see the module docs).
trait Scoped {
    fn scope(&mut self) -> &mut Scope;

    /// Runs `f` inside a closure, an `async` block or a nested item.
    fn nested(&mut self, scope: Scope, f: impl FnOnce(&mut Self)) {
        let outer = std::mem::replace(self.scope(), scope);
        f(self);
        *self.scope() = outer;
    }
}

/// The walk of a macro's tokens, for scanning and rewriting alike: each `yield ...` is
/// parsed and handed to `on_yield`, whose tokens replace it; a nested `stream!` /
/// `try_stream!` invocation is kept as it is (its `yield`s are its own); groups are walked
/// into. A `yield` that does not parse ends the walk of its group, whose remaining tokens
/// are kept as written: async-stream reports the syntax error.
fn walk_tokens(
    tokens: TokenStream,
    on_yield: &mut dyn FnMut(ExprYield) -> TokenStream,
) -> TokenStream {
    let mut out = TokenStream::new();
    let mut iter = tokens.into_iter().peekable();
    while let Some(tt) = iter.next() {
        match tt {
            TokenTree::Ident(ident) if ident == "yield" => {
                let rest: TokenStream = std::iter::once(TokenTree::Ident(ident))
                    .chain(iter.by_ref())
                    .collect();
                match syn::parse2::<Partial>(rest.clone()) {
                    Ok(Partial(expr, rest)) => {
                        out.extend(on_yield(expr));
                        iter = rest.into_iter().peekable();
                    }
                    Err(_) => {
                        out.extend(rest);
                        return out;
                    }
                }
            }
            TokenTree::Ident(ident) if ident == "stream" || ident == "try_stream" => {
                out.extend([TokenTree::Ident(ident)]);
                if matches!(iter.peek(), Some(TokenTree::Punct(p)) if p.as_char() == '!') {
                    out.extend(iter.next());
                    if matches!(iter.peek(), Some(TokenTree::Group(_))) {
                        out.extend(iter.next());
                    }
                }
            }
            TokenTree::Group(group) => {
                let mut new = Group::new(group.delimiter(), walk_tokens(group.stream(), on_yield));
                new.set_span(group.span());
                out.extend([TokenTree::Group(new)]);
            }
            other => out.extend([other]),
        }
    }
    out
}

struct Scanner {
    scope: Scope,
    scan: Scan,
}

impl Scoped for Scanner {
    fn scope(&mut self) -> &mut Scope {
        &mut self.scope
    }
}

impl<'ast> Visit<'ast> for Scanner {
    fn visit_expr_yield(&mut self, node: &'ast ExprYield) {
        self.scan.yields.push(Found {
            span: node.yield_token.span,
            scope: self.scope,
        });
        visit::visit_expr_yield(self, node);
    }

    fn visit_expr_try(&mut self, node: &'ast syn::ExprTry) {
        if self.scope == Scope::Generator && self.scan.first_try.is_none() {
            self.scan.first_try = Some(node.question_token.span);
        }
        visit::visit_expr_try(self, node);
    }

    fn visit_expr_closure(&mut self, node: &'ast syn::ExprClosure) {
        self.nested(Scope::Closure, |this| visit::visit_expr_closure(this, node));
    }

    fn visit_expr_async(&mut self, node: &'ast syn::ExprAsync) {
        self.nested(Scope::AsyncBlock, |this| {
            visit::visit_expr_async(this, node)
        });
    }

    fn visit_item(&mut self, node: &'ast Item) {
        match node {
            Item::Macro(item) => self.visit_macro(&item.mac),
            other => self.nested(nested_scope(other), |this| visit::visit_item(this, other)),
        }
    }

    fn visit_macro(&mut self, node: &'ast Macro) {
        if !is_stream_macro(node) {
            walk_tokens(node.tokens.clone(), &mut |expr| {
                self.visit_expr_yield(&expr);
                TokenStream::new()
            });
        }
    }
}

struct Rewriter<'a> {
    scope: Scope,
    mode: Mode<'a>,
    strip_try: bool,
}

impl Scoped for Rewriter<'_> {
    fn scope(&mut self) -> &mut Scope {
        &mut self.scope
    }
}

impl Rewriter<'_> {
    /// Types `node` in place, or returns what replaces it.
    fn replace_yield(&self, node: &mut ExprYield) -> Option<Expr> {
        if self.scope == Scope::Generator && matches!(self.mode, Mode::Untyped) {
            return None;
        }
        let span = node.yield_token.span;
        let value = match node.expr.take() {
            Some(expr) => expr.into_token_stream(),
            None => quote_spanned!(span=> ()),
        };
        match (&self.mode, self.scope) {
            (Mode::Typed(ty), Scope::Generator) => {
                node.expr = Some(Box::new(typed_value(ty, value)));
                None
            }
            _ => Some(Expr::Verbatim(quote_spanned! {span=>
                { let _ = #value; }
            })),
        }
    }
}

impl VisitMut for Rewriter<'_> {
    fn visit_expr_mut(&mut self, node: &mut Expr) {
        match node {
            Expr::Yield(inner) => {
                visit_mut::visit_expr_yield_mut(self, inner);
                if let Some(stripped) = self.replace_yield(inner) {
                    *node = stripped;
                }
            }
            Expr::Try(inner) if self.strip_try && self.scope == Scope::Generator => {
                visit_mut::visit_expr_try_mut(self, inner);
                let value = &inner.expr;
                *node = Expr::Verbatim(quote_spanned! {inner.question_token.span=>
                    { let _ = #value; ::core::unreachable!() }
                });
            }
            Expr::Closure(inner) => {
                self.nested(Scope::Closure, |this| {
                    visit_mut::visit_expr_closure_mut(this, inner)
                });
            }
            Expr::Async(inner) => {
                self.nested(Scope::AsyncBlock, |this| {
                    visit_mut::visit_expr_async_mut(this, inner)
                });
            }
            _ => visit_mut::visit_expr_mut(self, node),
        }
    }

    fn visit_item_mut(&mut self, node: &mut Item) {
        match node {
            Item::Macro(item) => self.visit_macro_mut(&mut item.mac),
            other => {
                let scope = nested_scope(other);
                self.nested(scope, |this| visit_mut::visit_item_mut(this, other));
            }
        }
    }

    fn visit_macro_mut(&mut self, node: &mut Macro) {
        if !is_stream_macro(node) {
            let tokens = std::mem::take(&mut node.tokens);
            node.tokens = walk_tokens(tokens, &mut |expr| {
                let mut expr = Expr::Yield(expr);
                self.visit_expr_mut(&mut expr);
                expr.into_token_stream()
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(block: &Block) -> String {
        block.to_token_stream().to_string()
    }

    fn block(code: &str) -> Block {
        syn::parse_str(code).expect("test body parses")
    }

    fn scopes(code: &str) -> Vec<Scope> {
        scan(&block(code)).yields.iter().map(|f| f.scope).collect()
    }

    #[test]
    fn finds_generator_and_nested_yields() {
        assert_eq!(scopes("{ yield 1; }"), [Scope::Generator]);
        assert_eq!(
            scopes("{ loop { if x { yield a; } else { yield b } } }"),
            [Scope::Generator, Scope::Generator]
        );
        assert_eq!(scopes("{ let f = || { yield 1; }; }"), [Scope::Closure]);
        assert_eq!(
            scopes("{ let f = async move { yield 1; }; }"),
            [Scope::AsyncBlock]
        );
        assert_eq!(scopes("{ fn g() { yield 1; } }"), [Scope::NestedFn]);
        assert_eq!(
            scopes("{ impl X { fn g() { yield 1; } } }"),
            [Scope::NestedItem]
        );
        assert_eq!(
            scopes("{ let f = async { || yield 1 }; }"),
            [Scope::Closure]
        );
        assert!(scopes("{ let s = 1; }").is_empty());
    }

    #[test]
    fn macros_are_scanned_at_token_level() {
        assert_eq!(
            scopes("{ select! { x = rx => yield x, } }"),
            [Scope::Generator]
        );
        assert_eq!(scopes("{ let v = vec![yield 1]; }"), [Scope::Generator]);
        // A nested generator's yields are its own.
        assert!(scopes("{ let s = stream! { yield 1; }; }").is_empty());
        assert!(scopes("{ let s = async_stream::try_stream! { yield 1; }; }").is_empty());
        assert!(scopes("{ m! { stream! { yield 1; } } }").is_empty());
    }

    #[test]
    fn question_marks_at_generator_level_only() {
        assert!(scan(&block("{ let x = f()?; }")).first_try.is_some());
        assert!(scan(&block("{ yield f()?; }")).first_try.is_some());
        assert!(scan(&block("{ m!(yield f()?); }")).first_try.is_some());
        assert!(scan(&block("{ let c = || f()?; }")).first_try.is_none());
        assert!(scan(&block("{ let c = async { f()? }; }"))
            .first_try
            .is_none());
        assert!(scan(&block("{ fn g() -> R { f()? } }")).first_try.is_none());
    }

    #[test]
    fn typed_rewrite() {
        let ty: Type = syn::parse_str("Tick").expect("type parses");
        let mut body = block("{ yield Tick(1); m!(yield Tick(2)); let c = || yield 3; }");
        rewrite(&mut body, Mode::Typed(&ty));
        let text = render(&body);
        assert!(
            text.contains("yield { let __item : Tick = Tick (1) ; __item }"),
            "{text}"
        );
        assert!(
            text.contains("m ! (yield { let __item : Tick = Tick (2) ; __item })"),
            "{text}"
        );
        assert!(text.contains("| | { let _ = 3 ; }"), "{text}");
        assert!(!text.contains("yield 3"), "{text}");
    }

    #[test]
    fn stream_bodies_parse_like_async_stream() {
        let tokens: TokenStream = "for await x in s { yield x; } let y = 1;"
            .parse()
            .expect("tokens");
        let stmts = parse_stream_body(&tokens).expect("parses");
        assert_eq!(stmts.len(), 2);
        let text = quote!(#(#stmts)*).to_string();
        assert!(text.starts_with("# [await_] for x in s"), "{text}");
        assert_eq!(scan_stmts(&stmts).yields.len(), 1);
        let bad: TokenStream = "let = ;".parse().expect("tokens");
        assert!(parse_stream_body(&bad).is_none());
    }

    #[test]
    fn strip_rewrite() {
        let mut body = block("{ yield 1; yield; stream! { yield 2; } }");
        rewrite(&mut body, Mode::Strip);
        let text = render(&body);
        assert!(text.contains("{ let _ = 1 ; }"), "{text}");
        assert!(text.contains("{ let _ = () ; }"), "{text}");
        assert!(text.contains("stream ! { yield 2 ; }"), "{text}");
    }
}
