//! [`Resume`]: where a new subscription starts, usually from the `Last-Event-ID` header.

use super::id::EventId;
use crate::extract::LastEventId;

/// The longest client-sent id echoed back in a reset event.
const MAX_ECHOED_ID: usize = 128;

/// Where a new subscription starts.
///
/// Made from the `Last-Event-ID` header ([`LastEventId`], `Option<String>`): no id means
/// [`live`](Self::live), an id means [`after`](Self::after) it.
///
/// ```
/// use sse_runtime::broadcast::Resume;
/// use sse_runtime::LastEventId;
///
/// assert_eq!(Resume::from(LastEventId(None)), Resume::live());
/// assert_eq!(Resume::from(LastEventId(Some("7-0".to_owned()))), Resume::after("7-0"));
/// // A chat room: a first-time client sees the recent history, a returning one resumes.
/// assert_eq!(Resume::from(LastEventId(None)).or_oldest(), Resume::oldest());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resume(pub(super) ResumeKind);

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum ResumeKind {
    Live,
    Oldest,
    After(String),
    /// Internal: everything since the topic's first event, with a reset unless the buffer
    /// still holds all of it (an overflowing subscriber that had not got anything yet).
    Beginning,
}

impl Resume {
    /// Only events published from now on.
    pub fn live() -> Self {
        Self(ResumeKind::Live)
    }

    /// Every buffered event, then live ones.
    pub fn oldest() -> Self {
        Self(ResumeKind::Oldest)
    }

    /// The buffered events after `last_event_id`, then live ones; a reset first if that id
    /// is not in the buffer.
    pub fn after(last_event_id: impl Into<String>) -> Self {
        Self(ResumeKind::After(last_event_id.into()))
    }

    /// [`oldest`](Self::oldest) instead of [`live`](Self::live): a client without a
    /// `Last-Event-ID` gets the buffered history.
    pub fn or_oldest(self) -> Self {
        match self.0 {
            ResumeKind::Live => Self::oldest(),
            other => Self(other),
        }
    }

    /// The id to resume after, if any.
    pub fn last_event_id(&self) -> Option<&str> {
        match &self.0 {
            ResumeKind::After(id) => Some(id),
            _ => None,
        }
    }
}

impl From<LastEventId<String>> for Resume {
    fn from(last: LastEventId<String>) -> Self {
        last.0.into()
    }
}

impl From<&LastEventId<String>> for Resume {
    fn from(last: &LastEventId<String>) -> Self {
        last.0.as_deref().into()
    }
}

impl From<Option<String>> for Resume {
    fn from(last: Option<String>) -> Self {
        last.map_or_else(Self::live, Self::after)
    }
}

impl From<Option<&str>> for Resume {
    fn from(last: Option<&str>) -> Self {
        last.map_or_else(Self::live, Self::after)
    }
}

impl From<EventId> for Resume {
    fn from(id: EventId) -> Self {
        Self::after(id.to_string())
    }
}

/// A client-sent id, cut to a sane length for echoing it back.
pub(super) fn echo_id(raw: &str) -> String {
    match raw.char_indices().nth(MAX_ECHOED_ID) {
        Some((cut, _)) => raw[..cut].to_owned(),
        None => raw.to_owned(),
    }
}
