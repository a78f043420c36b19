//! Error plumbing every layer shares: the boxed error type and the text of a panic.
//! A leaf: it uses no other module of the crate.

/// A boxed error, as carried by [`Body`](crate::Body).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The message of a caught panic, for logs.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    if let Some(text) = panic.downcast_ref::<&'static str>() {
        text
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text
    } else {
        "<non-string panic payload>"
    }
}
