//! [`KeepAlive`]: the comment an idle event stream sends, so that clients and proxies
//! see it is still alive.

use std::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::event::encode;

/// Keep-alive comments for an idle stream.
///
/// The default is FastAPI's: the comment `: ping` after 15 seconds without any event, the
/// timer restarting after every event. Some clients (e.g. OpenAI-style SDKs) choke on
/// anything but data: [`KeepAlive::disabled`] turns it off.
///
/// ```
/// use std::time::Duration;
/// use sse_runtime::KeepAlive;
///
/// let every_5s = KeepAlive::new().interval(Duration::from_secs(5)).text("keep-alive");
/// assert_eq!(every_5s.get_interval(), Some(Duration::from_secs(5)));
/// assert_eq!(KeepAlive::disabled().get_interval(), None);
/// ```
#[must_use = "a KeepAlive does nothing until it is given to an app or a response"]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeepAlive {
    interval: Option<Duration>,
    comment: Bytes,
}

impl KeepAlive {
    /// `: ping` every 15 seconds of silence.
    pub fn new() -> Self {
        Self {
            interval: Some(Duration::from_secs(15)),
            comment: Bytes::from_static(encode::KEEP_ALIVE_COMMENT),
        }
    }

    /// No keep-alive comments at all.
    pub fn disabled() -> Self {
        Self {
            interval: None,
            ..Self::new()
        }
    }

    /// Sends the comment after `interval` without any event.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = Some(interval.max(Duration::from_millis(1)));
        self
    }

    /// The comment text (default `ping`); line breaks split it over several comment lines.
    pub fn text(mut self, text: &str) -> Self {
        let mut buf = BytesMut::new();
        encode::write_comment(text, &mut buf);
        self.comment = buf.freeze();
        self
    }

    /// The interval, or `None` when disabled.
    pub fn get_interval(&self) -> Option<Duration> {
        self.interval
    }

    /// The encoded comment, written as is whenever the stream has been idle for the
    /// interval.
    pub(crate) fn frame(&self) -> &Bytes {
        &self.comment
    }
}

impl Default for KeepAlive {
    fn default() -> Self {
        Self::new()
    }
}
