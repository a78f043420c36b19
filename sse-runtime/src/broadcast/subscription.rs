//! [`Subscription`]: one subscriber's stream of a topic, and the engine behind it
//! (replay, then live events without duplicates; gaps become resets; overflow ends the
//! stream or resumes it from the buffer).

use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::backend::{Begin, Restart, Start};
use super::config::Overflow;
use super::message::{Feed, Message, Published, Reset};
use super::resume::{Resume, ResumeKind};
use crate::observability::SubscriberStats;
use crate::response::sse::Sse;
use crate::response::{IntoResponse, Response};

/// Why a [`Subscription`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndReason {
    /// It fell further behind than its queue and the policy is [`Overflow::Disconnect`].
    Overflow,
    /// The hub was dropped.
    Closed,
}

const RUNNING: u8 = 0;
const OVERFLOW: u8 = 1;
const CLOSED: u8 = 2;

/// The events of a topic for one subscriber: a `Stream` of [`Message`]s
/// (`Send + 'static`), made by [`Broadcast::subscribe`](super::Broadcast::subscribe).
///
/// Return it from a route as it is: it is a response (`impl IntoResponse`), and an
/// `impl Stream<Item = Message<T>>` for a `#[get(.., sse)]` route; each message becomes
/// one SSE event with its id. To transform the messages, loop over it in a generator
/// ([`Message::into_event_with`] keeps the id). However it is returned — as it is, mapped,
/// or looped over in a generator — the response headers go out as soon as it is live
/// (its replay sent, waiting for new messages) rather than waiting for a first message
/// (see [`App::first_event_window`](crate::App::first_event_window)): a client whose
/// `EventSource` is `open` misses nothing published after that. It ends
/// when it overflows under [`Overflow::Disconnect`] or when the hub is dropped
/// ([`end_reason`](Self::end_reason) says which). Dropping it unsubscribes.
#[must_use = "a subscription delivers nothing unless it is polled"]
pub struct Subscription<T> {
    topic: Arc<str>,
    status: Arc<AtomicU8>,
    inner: Pin<Box<dyn Stream<Item = Message<T>> + Send>>,
}

impl<T: Send + Sync + 'static> Subscription<T> {
    pub(super) fn new(
        topic: &str,
        hub: Box<dyn Restart<T>>,
        begin: Begin<T>,
        overflow: Overflow,
        label: Arc<str>,
    ) -> Self {
        let topic: Arc<str> = Arc::from(topic);
        let status = Arc::new(AtomicU8::new(RUNNING));
        let inner = Box::pin(drive(
            hub,
            Arc::clone(&topic),
            begin,
            overflow,
            Arc::clone(&status),
            SubscriberStats::open(label),
        ));
        Self {
            topic,
            status,
            inner,
        }
    }
}

impl<T> Subscription<T> {
    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Why the stream ended; `None` while it runs.
    pub fn end_reason(&self) -> Option<EndReason> {
        match self.status.load(Ordering::Acquire) {
            OVERFLOW => Some(EndReason::Overflow),
            CLOSED => Some(EndReason::Closed),
            _ => None,
        }
    }
}

/// A subscription is a streaming response as it is: return it from a route.
impl<T: Send + Sync + 'static> IntoResponse for Subscription<T> {
    fn into_response(self) -> Response {
        Sse::new(self).into_response()
    }
}

impl<T> Stream for Subscription<T> {
    type Item = Message<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message<T>>> {
        self.get_mut().inner.as_mut().poll_next(cx)
    }
}

impl<T> fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("topic", &self.topic)
            .field("end_reason", &self.end_reason())
            .finish_non_exhaustive()
    }
}

/// The subscription's engine: replay, then live events without duplicates; gaps become
/// resets; overflow ends the stream or resumes it from the buffer.
fn drive<T: Send + Sync + 'static>(
    hub: Box<dyn Restart<T>>,
    topic: Arc<str>,
    first: Begin<T>,
    overflow: Overflow,
    status: Arc<AtomicU8>,
    stats: SubscriberStats,
) -> impl Stream<Item = Message<T>> + Send {
    async_stream::stream! {
        // Counted as a subscriber until the stream ends or is dropped.
        let stats = stats;
        let mut begin = first;
        let mut after_overflow = false;
        let mut opened = false;
        loop {
            let start = match begin {
                Begin::Ready(start) => start,
                Begin::Pending(start) => match start.await {
                    Some(start) => start,
                    None => {
                        status.store(CLOSED, Ordering::Release);
                        return;
                    }
                },
            };
            let Start { mut live, replay, reset, position, epoch } = start;
            let mut last = position;
            if let Some(reset) = reset {
                yield Message::Reset(reset);
            }
            stats.replayed(replay.len(), after_overflow);
            for entry in replay {
                last = Some(entry.id);
                yield Message::Event(Published(entry));
            }
            if !opened {
                // The ready step, once: the response's headers need not wait any longer.
                opened = true;
                yield Message::Open;
            }
            let resume = loop {
                match live.recv().await {
                    Ok(Feed::Event(entry)) => {
                        if last.is_some_and(|last| entry.id <= last) {
                            continue;
                        }
                        last = Some(entry.id);
                        yield Message::Event(Published(entry));
                    }
                    Ok(Feed::Gap(gap)) => {
                        if gap > epoch {
                            yield Message::Reset(Reset::new(last.map(|id| id.to_string())));
                            last = None;
                        }
                    }
                    Err(RecvError::Lagged(dropped)) => match overflow {
                        Overflow::Disconnect => {
                            stats.lagged(dropped);
                            tracing::debug!(topic = %topic, "subscriber overflowed its queue: ending its stream");
                            status.store(OVERFLOW, Ordering::Release);
                            return;
                        }
                        Overflow::Resume => {
                            stats.lagged(dropped);
                            after_overflow = true;
                            tracing::debug!(topic = %topic, "subscriber overflowed its queue: resuming from the buffer");
                            break last.map_or(Resume(ResumeKind::Beginning), Resume::from);
                        }
                    },
                    Err(RecvError::Closed) => {
                        status.store(CLOSED, Ordering::Release);
                        return;
                    }
                }
            };
            drop(live);
            begin = match hub.restart(&topic, resume) {
                Some(begin) => begin,
                None => {
                    status.store(CLOSED, Ordering::Release);
                    return;
                }
            };
        }
    }
}
