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
/// | `max_header_bytes` | 64 KiB | `431 Request Header Fields Too Large` (HTTP/1.1); HTTP/2: advertised as `SETTINGS_MAX_HEADER_LIST_SIZE`, a header block over it is refused (stream reset or `431`), and a block that keeps going (a `CONTINUATION` flood) is cut with `GOAWAY` after a few frames |
/// | `max_headers` | 100 | `431` |
/// | `h2_max_concurrent_streams` | 256 | a stream beyond it is refused (`RST_STREAM` `REFUSED_STREAM`); well-behaved clients wait for a slot |
/// | `h2_max_pending_accept_reset_streams` | 20 | a client that resets streams faster than the server accepts them (rapid reset, CVE-2023-44487) gets `GOAWAY` `ENHANCE_YOUR_CALM` and is closed |
/// | `h2_max_local_error_reset_streams` | 1,024 | a client that makes the server reset that many of its streams for protocol errors ("MadeYouReset", CVE-2025-8671), or refuse them beyond `h2_max_concurrent_streams`, gets `GOAWAY` `ENHANCE_YOUR_CALM` and is closed |
/// | `h2_max_send_buf_size` | 64 KiB | a stream's response body is not polled while that much of it waits to be sent (flow control or a slow socket) |
/// | `h2_keep_alive_interval` | off | when set: the server PINGs every HTTP/2 connection at this interval and closes it when no answer comes within `h2_keep_alive_timeout` (20 s) |
/// | `send_timeout` | 30 s | a client that stops reading (full socket buffer, or an HTTP/2 flow-control window kept closed) is disconnected and its streams' cleanup runs |
/// | `min_send_rate` | 1 KiB/s | a client whose socket takes less than that while the server's writes are blocked (it reads a byte now and then) is disconnected once its writes have been blocked for `send_timeout` in all |
/// | `tcp_keepalive` | 60 s | a peer that vanished without closing (no FIN) is detected by the kernel's keepalive probes |
/// | `max_body_bytes` | 2 MiB | an extractor that reads the request body (`Json`, `Form`, `Bytes`, `String`) answers `413` with a JSON body |
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
#[must_use = "Limits do nothing until they are given to App::limits"]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    pub(crate) max_connections: usize,
    pub(crate) header_read_timeout: Duration,
    pub(crate) max_header_bytes: usize,
    pub(crate) max_headers: usize,
    pub(crate) idle_timeout: Duration,
    pub(crate) h2_max_concurrent_streams: u32,
    pub(crate) h2_max_pending_accept_reset_streams: usize,
    pub(crate) h2_max_local_error_reset_streams: usize,
    pub(crate) h2_max_send_buf_size: usize,
    pub(crate) h2_keep_alive_interval: Option<Duration>,
    pub(crate) h2_keep_alive_timeout: Duration,
    pub(crate) send_timeout: Option<Duration>,
    pub(crate) min_send_rate: Option<u64>,
    pub(crate) tcp_keepalive: Option<Duration>,
    pub(crate) max_body_bytes: usize,
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
            h2_max_pending_accept_reset_streams: 20,
            h2_max_local_error_reset_streams: 1024,
            h2_max_send_buf_size: 64 * 1024,
            h2_keep_alive_interval: None,
            h2_keep_alive_timeout: Duration::from_secs(20),
            send_timeout: Some(Duration::from_secs(30)),
            min_send_rate: Some(1024),
            tcp_keepalive: Some(Duration::from_secs(60)),
            max_body_bytes: crate::state::DEFAULT_BODY_LIMIT,
        }
    }
}

/// One builder method and one `get_*` getter per limit.
macro_rules! limits {
    ($($(#[$doc:meta])* $name:ident, $get:ident: $ty:ty;)*) => {
        impl Limits {
            $(
                $(#[$doc])*
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
    /// Largest request body an extractor reads, in bytes; a larger one gets `413`.
    max_body_bytes, get_max_body_bytes: usize;
    /// Most connections open at once.
    max_connections, get_max_connections: usize;
    /// Longest time to receive a request's head.
    header_read_timeout, get_header_read_timeout: Duration;
    /// Largest request head in bytes (at least 8 KiB).
    ///
    /// HTTP/1.1: a larger head gets `431`. HTTP/2: advertised to the client as
    /// `SETTINGS_MAX_HEADER_LIST_SIZE`; a larger header block is refused, and the number of
    /// `CONTINUATION` frames one header block may take is bounded from it (h2 allows
    /// `max(5, 1.25 × this / 16 KiB)`), so a `HEADERS` frame followed by endless
    /// `CONTINUATION` frames (the 2024 "CONTINUATION flood") gets `GOAWAY` after a handful
    /// of frames instead of growing a buffer.
    max_header_bytes, get_max_header_bytes: usize;
    /// Most header fields in a request.
    max_headers, get_max_headers: usize;
    /// Longest time an HTTP/2 connection may stay without an open request before it is
    /// closed gracefully (an event stream counts as open until it ends).
    idle_timeout, get_idle_timeout: Duration;
    /// Most concurrent streams on one HTTP/2 connection (`SETTINGS_MAX_CONCURRENT_STREAMS`).
    ///
    /// A client that opens more is refused the extra streams (`RST_STREAM`
    /// `REFUSED_STREAM`); browsers wait for a slot instead. 256 is above any browser's
    /// page (Chromium opens at most 100 streams per connection by default) and bounds what
    /// one connection may hold: 256 open event streams and their state, each response
    /// body capped by `h2_max_send_buf_size`.
    h2_max_concurrent_streams, get_h2_max_concurrent_streams: u32;
    /// Most HTTP/2 streams a client may open and reset before the server has accepted them
    /// (h2's guard against the "rapid reset" attack, CVE-2023-44487); beyond it the
    /// connection gets `GOAWAY` `ENHANCE_YOUR_CALM` and is closed.
    ///
    /// 20 is h2's own default: a browser cancelling a page's requests resets a few streams
    /// at a time, an attacker thousands a second.
    h2_max_pending_accept_reset_streams, get_h2_max_pending_accept_reset_streams: usize;
    /// Most HTTP/2 streams the server may reset because the client broke the protocol on
    /// them (for example a malformed header block), before the connection gets `GOAWAY`
    /// `ENHANCE_YOUR_CALM` and is closed (RUSTSEC-2024-0003). This is the answer to
    /// "MadeYouReset" (CVE-2025-8671), where the client has the server reset streams (a
    /// `WINDOW_UPDATE` overflowing a stream's window, a `connection` header, DATA beyond
    /// `content-length`) instead of resetting them itself, which rapid reset's guard
    /// (`h2_max_pending_accept_reset_streams`) does not see. h2 counts every such reset
    /// for the connection's whole life, and the streams it refuses beyond
    /// `h2_max_concurrent_streams` too. It does not count the reset that follows the `431`
    /// it sends for a header list over `max_header_bytes` while the request body is
    /// open: such a request never reaches the application and costs the server less than
    /// an ordinary request (measured in `docs/reliability.md`).
    ///
    /// 1,024 is hyper's default: a correct client never triggers a reset of this kind, nor
    /// opens more streams than the server advertises.
    h2_max_local_error_reset_streams, get_h2_max_local_error_reset_streams: usize;
    /// Most bytes of one HTTP/2 response body buffered for sending (h2's
    /// `max_send_buffer_size`); while that much waits (the client's flow-control window is
    /// closed, or its socket is slow), the body, and so the handler's stream, is not polled.
    ///
    /// hyper's default is about 400 KiB per stream, 100 MiB for a connection with 256
    /// streams; event streams send small events, and 64 KiB holds many of them. A stalled
    /// stream then costs at most this plus one event here, on top of the kernel's socket
    /// buffer (see `send_timeout`). Values above `u32::MAX` count as `u32::MAX`.
    h2_max_send_buf_size, get_h2_max_send_buf_size: usize;
    /// How often the server PINGs an HTTP/2 connection to check the client is still there;
    /// `None` (the default) sends no such PINGs.
    ///
    /// With an interval, a connection whose client does not answer a PING within
    /// `h2_keep_alive_timeout` is closed (its streams' cleanup runs): that finds a client
    /// whose process hangs while its kernel keeps the TCP connection open. Off by default
    /// because event streams already send keep-alive comments (a vanished peer is then
    /// dropped by `TCP_USER_TIMEOUT` = `send_timeout`) and `tcp_keepalive` probes idle
    /// sockets; each PING costs a round trip per connection per interval.
    h2_keep_alive_interval, get_h2_keep_alive_interval: Option<Duration>;
    /// How long the server waits for the answer to its keep-alive PING before it closes
    /// the connection (only with `h2_keep_alive_interval`).
    h2_keep_alive_timeout, get_h2_keep_alive_timeout: Duration;
    /// Longest time a write to the client may stay blocked; `None` waits forever.
    ///
    /// Also the longest time an HTTP/2 response body may wait for send capacity (the
    /// client keeps its flow-control window closed): then the connection is closed, as
    /// when its socket stays full. A client that reads a little now and then lets some
    /// writes through, each of which restarts this timeout: `min_send_rate` cuts those.
    send_timeout, get_send_timeout: Option<Duration>;
    /// Fewest bytes a second a client must take while the server's writes to it are
    /// blocked; `None` turns the rule off (then only `send_timeout` applies).
    ///
    /// Only time during which a write waits (the client's receive window and the kernel's
    /// socket buffer are full) counts: once that time adds up to `send_timeout`, the
    /// connection must have taken at least this rate times that time, else it is closed
    /// and its streams end as `send_timeout` (their cleanup runs); if it did, a new window
    /// begins. This cuts a client that reads a byte now and then, each letting one write
    /// through (which restarts `send_timeout`), and so holds its stream and buffers
    /// forever. A client with nothing to receive (an idle stream), or whose writes go
    /// through at once (a mobile client reading at 10 KB/s a stream that produces less),
    /// is never measured; the default of 1 KiB/s is far below any real network. Ignored
    /// when `send_timeout` is `None`.
    min_send_rate, get_min_send_rate: Option<u64>;
    /// Idle time before the kernel probes a silent peer; `None` turns TCP keepalive off.
    tcp_keepalive, get_tcp_keepalive: Option<Duration>;
}
