//! [`LastEventId`]: the `Last-Event-ID` header of a reconnecting `EventSource`.

use std::str::FromStr;

use http::request::Parts;

use super::rejection::{Rejection, UNPROCESSABLE};
use super::FromRequestParts;
use crate::state::AppState;

/// The `Last-Event-ID` request header a reconnecting `EventSource` sends: `None` on a
/// first connection, `Some(id)` after a reconnect. `T` is the id's type (any `FromStr`,
/// default `String`); an id that does not parse as `T` is answered with 422 and
/// `loc: ["header", "last-event-id"]`.
///
/// ```
/// use sse_runtime::LastEventId;
///
/// let resume_from = |last: LastEventId<u64>| last.0.map_or(0, |id| id + 1);
/// assert_eq!(resume_from(LastEventId(Some(4))), 5);
/// assert_eq!(resume_from(LastEventId(None)), 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LastEventId<T = String>(pub Option<T>);

impl<T> LastEventId<T> {
    /// The id, if the client sent one.
    pub fn into_inner(self) -> Option<T> {
        self.0
    }

    /// True when the client sent an id.
    pub fn is_some(&self) -> bool {
        self.0.is_some()
    }
}

impl<T> std::ops::Deref for LastEventId<T> {
    type Target = Option<T>;

    fn deref(&self) -> &Option<T> {
        &self.0
    }
}

/// The `Last-Event-ID` header name.
pub const LAST_EVENT_ID: &str = "last-event-id";

impl<T> FromRequestParts for LastEventId<T>
where
    T: FromStr + Send,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Rejection> {
        let Some(value) = parts.headers.get(LAST_EVENT_ID) else {
            return Ok(LastEventId(None));
        };
        let reject = |input: Option<String>| {
            Rejection::new(
                UNPROCESSABLE,
                "header_parsing",
                &["header", LAST_EVENT_ID],
                format!("Last-Event-ID should be a valid {}", short_type_name::<T>()),
            )
            .with_input(input)
        };
        let text = value
            .to_str()
            .map_err(|_| reject(Some(String::from_utf8_lossy(value.as_bytes()).into_owned())))?;
        text.trim()
            .parse::<T>()
            .map(|id| LastEventId(Some(id)))
            .map_err(|_| reject(Some(text.to_owned())))
    }
}

fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}
