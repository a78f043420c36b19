//! [`IntoEvent`]: what a streaming route may yield as a Server-Sent Event, and how it is
//! encoded (straight into the response buffer).

use bytes::{Bytes, BytesMut};
use serde::Serialize;

use crate::event::encode;
use crate::event::server_sent::{EventError, ServerSentEvent};

/// Turns an item yielded by a streaming route into a Server-Sent Event.
///
/// Implemented for every `T: Serialize` (sent as one `data:` line of compact JSON,
/// serialized straight into the response buffer with no intermediate allocation), for
/// [`Event<T>`](crate::Event) (a `T` with SSE fields, or raw text; encoded the same way)
/// and for [`ServerSentEvent`] (data of any type, sent as built).
///
/// Streams of `Result<T, E>` are handled one level up, by
/// [`Sse::try_new`](crate::Sse::try_new) and by `#[get(..., sse)]` routes whose item type is
/// `Result`: `Ok(item)` is sent as usual, `Err(e)` ends the stream with one
/// `event: error` event (or an HTTP error status if nothing was sent yet).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent as a Server-Sent Event",
    label = "`{Self}` is neither `Serialize` nor an event",
    note = "derive `serde::Serialize` for `{Self}` (for an `Event<T>`: for its payload `T`), \
            or yield `sse_runtime::Event<T>` or `sse_runtime::ServerSentEvent`"
)]
pub trait IntoEvent {
    /// Converts the item into an event.
    fn into_event(self) -> Result<ServerSentEvent, EventError>;

    /// Appends the encoded event to `buf`; on error `buf` is left as it was.
    #[doc(hidden)]
    fn encode_into(self, buf: &mut BytesMut) -> Result<(), EventError>
    where
        Self: Sized,
    {
        encode::write_event(&self.into_event()?, buf)
    }

    /// Like [`encode_into`](Self::encode_into), or, when the encoded event already exists
    /// as shared bytes (a broadcast event, encoded once for all its subscribers), returns
    /// them and leaves `buf` alone: the stream sends them without copying.
    #[doc(hidden)]
    fn encode_shared(self, buf: &mut BytesMut) -> Result<Option<Bytes>, EventError>
    where
        Self: Sized,
    {
        self.encode_into(buf).map(|()| None)
    }
}

impl IntoEvent for ServerSentEvent {
    fn into_event(self) -> Result<ServerSentEvent, EventError> {
        self.validate()?;
        Ok(self)
    }

    fn encode_into(self, buf: &mut BytesMut) -> Result<(), EventError> {
        encode::write_event(&self, buf)
    }
}

impl<T: Serialize> IntoEvent for T {
    fn into_event(self) -> Result<ServerSentEvent, EventError> {
        let event = ServerSentEvent::new().data(&self);
        event.validate()?;
        Ok(event)
    }

    fn encode_into(self, buf: &mut BytesMut) -> Result<(), EventError> {
        encode::write_json_data(&self, buf)
    }
}
