//! Events and their wire format: [`ServerSentEvent`](server_sent::ServerSentEvent), the
//! typed [`Event<T>`](typed::Event), [`IntoEvent`](into_event::IntoEvent) (what a stream
//! may yield), the text/event-stream [`encode`]r and [`parse`]r.

pub mod encode;
pub(crate) mod into_event;
pub(crate) mod json;
pub mod parse;
pub(crate) mod server_sent;
pub(crate) mod typed;
