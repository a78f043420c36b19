//! [`Limits`]: what one client may cost the server, with safe defaults.

use std::time::Duration;

/// Connection-level limits and timeouts, set with [`App::limits`](crate::App::limits).
///
/// The defaults protect a server holding many long-lived streams:
///
/// | limit | default | when exceeded |
/// |---|---|---|
/// | `max_connections` | 25,000 | new connections get `503` and are closed |
/// | `header_read_timeout` | 10 s | a client that sends its request head too slowly (slowloris) is disconnected; so is an HTTP/1.1 keep-alive connection that sends no next request |
/// | `idle_timeout` | 60 s | an HTTP/2 connection without an open request is closed (`GOAWAY`) |
/// | `max_header_bytes` | 64 KiB | `431 Request Header Fields Too Large` (HTTP/1.1), stream reset (HTTP/2) |
/// | `max_headers` | 100 | `431` |
/// | `h2_max_concurrent_streams` | 256 | the client is told to wait (HTTP/2 flow control) |
/// | `send_timeout` | 30 s | a client that stops reading (full socket buffer) is disconnected and its stream's cleanup runs |
/// | `tcp_keepalive` | 60 s | a peer that vanished without closing (no FIN) is detected by the kernel's keepalive probes |
///
/// The request body limit is [`App::body_limit`](crate::App::body_limit).
///
/// Set with builder methods; read with `get_*` (the builder took the plain names, as with
/// `std::process::Command`):
///
/// ```
/// use std::time::Duration;
/// use sse_runtime::{App, Limits};
///
/// let limits = Limits::default()
///     .max_connections(1_000)
///     .send_timeout(Some(Duration::from_secs(5)));
/// assert_eq!(limits.get_max_connections(), 1_000);
/// let app = App::new().limits(limits);
/// # let _ = app;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    pub(crate) max_connections: usize,
    pub(crate) header_read_timeout: Duration,
    pub(crate) max_header_bytes: usize,
    pub(crate) max_headers: usize,
    pub(crate) idle_timeout: Duration,
    pub(crate) h2_max_concurrent_streams: u32,
    pub(crate) send_timeout: Option<Duration>,
    pub(crate) tcp_keepalive: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 25_000,
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 64 * 1024,
            max_headers: 100,
            idle_timeout: Duration::from_secs(60),
            h2_max_concurrent_streams: 256,
            send_timeout: Some(Duration::from_secs(30)),
            tcp_keepalive: Some(Duration::from_secs(60)),
        }
    }
}

/// One builder method and one `get_*` getter per limit.
macro_rules! limits {
    ($($(#[$doc:meta])* $name:ident, $get:ident: $ty:ty;)*) => {
        impl Limits {
            $(
                $(#[$doc])*
                #[must_use]
                pub fn $name(mut self, value: $ty) -> Self {
                    self.$name = value;
                    self
                }

                #[doc = concat!("The `", stringify!($name), "` limit (see [`Limits::", stringify!($name), "`]).")]
                pub fn $get(&self) -> $ty {
                    self.$name
                }
            )*
        }
    };
}

limits! {
    /// Most connections open at once.
    max_connections, get_max_connections: usize;
    /// Longest time to receive a request's head.
    header_read_timeout, get_header_read_timeout: Duration;
    /// Largest request head in bytes (at least 8 KiB).
    max_header_bytes, get_max_header_bytes: usize;
    /// Most header fields in a request.
    max_headers, get_max_headers: usize;
    /// Longest time an HTTP/2 connection may stay without an open request before it is
    /// closed gracefully (an event stream counts as open until it ends).
    idle_timeout, get_idle_timeout: Duration;
    /// Most concurrent streams on one HTTP/2 connection.
    h2_max_concurrent_streams, get_h2_max_concurrent_streams: u32;
    /// Longest time a write to the client may stay blocked; `None` waits forever.
    send_timeout, get_send_timeout: Option<Duration>;
    /// Idle time before the kernel probes a silent peer; `None` turns TCP keepalive off.
    tcp_keepalive, get_tcp_keepalive: Option<Duration>;
}
