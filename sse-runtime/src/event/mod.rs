//! Events and their wire format: [`ServerSentEvent`](server_sent::ServerSentEvent), the
//! typed [`Event<T>`](typed::Event), [`IntoEvent`](into_event::IntoEvent) (what a stream
//! may yield), the text/event-stream [`encode`]r and [`parse`]r.

pub mod encode;
pub mod into_event;
pub mod parse;
pub mod server_sent;
pub mod typed;
