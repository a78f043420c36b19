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
/// ```
/// use std::time::Duration;
/// use sse_runtime::{App, Limits};
///
/// let app = App::new().limits(Limits {
///     max_connections: 1_000,
///     send_timeout: Some(Duration::from_secs(5)),
///     ..Limits::default()
/// });
/// # let _ = app;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most connections open at once.
    pub max_connections: usize,
    /// Longest time to receive a request's head.
    pub header_read_timeout: Duration,
    /// Largest request head in bytes (at least 8 KiB).
    pub max_header_bytes: usize,
    /// Most header fields in a request.
    pub max_headers: usize,
    /// Longest time an HTTP/2 connection may stay without an open request before it is
    /// closed gracefully (an event stream counts as open until it ends).
    pub idle_timeout: Duration,
    /// Most concurrent streams on one HTTP/2 connection.
    pub h2_max_concurrent_streams: u32,
    /// Longest time a write to the client may stay blocked; `None` waits forever.
    pub send_timeout: Option<Duration>,
    /// Idle time before the kernel probes a silent peer; `None` turns TCP keepalive off.
    pub tcp_keepalive: Option<Duration>,
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
