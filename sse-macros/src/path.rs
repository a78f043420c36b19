//! Compile-time checks of a route path, in the grammar the router reads
//! ([`crate::pattern`], the one file both crates share).
//!
//! The router checks the same rules again when the app is built; checking here turns a
//! typo into a compile error on the string literal instead of a start-up failure.
//! Conflicts between routes can only be seen at start-up.

use syn::LitStr;

/// Checks `lit`; the error is spanned on the literal.
pub(crate) fn validate(lit: &LitStr) -> syn::Result<()> {
    crate::pattern::params(&lit.value())
        .map(drop)
        .map_err(|message| syn::Error::new(lit.span(), message))
}
