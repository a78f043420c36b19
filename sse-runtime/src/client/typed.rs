//! Typed views of an [`EventSource`]: the data as JSON of a type ([`JsonEvents`]) or as
//! the crate's [`Event<T>`](crate::Event) ([`TypedEvents`]).

use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::Stream;
use serde::de::DeserializeOwned;

use super::error::ClientError;
use super::source::EventSource;
use crate::parse::ParsedEvent;

/// Decodes one event's data, naming the event on failure.
fn decode<T: DeserializeOwned>(event: &ParsedEvent) -> Result<T, ClientError> {
    serde_json::from_str(&event.data).map_err(|source| ClientError::Decode {
        event: event.event.clone(),
        id: event.id.clone(),
        last_event_id: event.last_event_id.clone(),
        source,
    })
}

/// The data of each event as JSON of type `T` (see [`EventSource::json`]).
pub struct JsonEvents<T> {
    source: EventSource,
    _type: PhantomData<fn() -> T>,
}

impl<T> JsonEvents<T> {
    pub(super) fn new(source: EventSource) -> Self {
        Self {
            source,
            _type: PhantomData,
        }
    }

    /// The event source (its last event id, reconnection time, counters).
    pub fn source(&self) -> &EventSource {
        &self.source
    }

    /// The event source back, untyped.
    pub fn into_source(self) -> EventSource {
        self.source
    }
}

impl<T> std::fmt::Debug for JsonEvents<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonEvents")
            .field("type", &std::any::type_name::<T>())
            .field("source", &self.source)
            .finish()
    }
}

impl<T: DeserializeOwned> Stream for JsonEvents<T> {
    type Item = Result<T, ClientError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        Poll::Ready(match ready!(Pin::new(&mut this.source).poll_next(cx)) {
            Some(Ok(event)) => Some(decode(&event)),
            Some(Err(err)) => Some(Err(err)),
            None => None,
        })
    }
}

/// Each event as an [`Event<T>`](crate::Event) (see [`EventSource::typed`]).
pub struct TypedEvents<T> {
    source: EventSource,
    _type: PhantomData<fn() -> T>,
}

impl<T> TypedEvents<T> {
    pub(super) fn new(source: EventSource) -> Self {
        Self {
            source,
            _type: PhantomData,
        }
    }

    /// The event source (its last event id, reconnection time, counters).
    pub fn source(&self) -> &EventSource {
        &self.source
    }

    /// The event source back, untyped.
    pub fn into_source(self) -> EventSource {
        self.source
    }
}

impl<T> std::fmt::Debug for TypedEvents<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedEvents")
            .field("type", &std::any::type_name::<T>())
            .field("source", &self.source)
            .finish()
    }
}

impl<T: DeserializeOwned> Stream for TypedEvents<T> {
    type Item = Result<crate::Event<T>, ClientError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        Poll::Ready(match ready!(Pin::new(&mut this.source).poll_next(cx)) {
            Some(Ok(event)) => Some(decode(&event).map(|payload| {
                let mut typed = crate::Event::new(payload);
                if event.event != "message" {
                    typed = typed.event(event.event);
                }
                if let Some(id) = event.id {
                    typed = typed.id(id);
                }
                if let Some(millis) = event.retry {
                    typed = typed.retry(std::time::Duration::from_millis(millis));
                }
                typed
            })),
            Some(Err(err)) => Some(Err(err)),
            None => None,
        })
    }
}
