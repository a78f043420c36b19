//! The fan-out scenario's client: plain non-blocking sockets on one `epoll`, the HTTP/1.1
//! request written by hand, the response parsed by hand (status line, headers, chunked
//! encoding), and every delivery stamped with the KERNEL's receive time.
//!
//! Why: the figure must be the server's, not the client's. The old client (hyper client
//! connections on one single-threaded Tokio `LocalSet`) stamped an event when its task got
//! round to it, so the last of 10,000 subscribers' latency was partly how long the client
//! took to read 9,999 sockets before it. Here each subscriber socket has `SO_TIMESTAMPNS`
//! on, and every `recvmsg` returns, in an `SCM_TIMESTAMPNS` control message, the time
//! (CLOCK_REALTIME) at which the kernel received the segment: on loopback, the moment the
//! server's write reached the receive path of the loopback device. A delivery's latency is
//! that time minus the event's publication stamp (`SystemTime::now()` in the server, the
//! same CLOCK_REALTIME), whenever the client gets round to reading it. TCP merges the
//! timestamps of segments it coalesces into the latest one, so a read that completes more
//! than one event stamps them all with the last segment's time; events are published far
//! enough apart that each read holds one (the run counts the reads that held more:
//! `coalesced`, expected 0 unless the server fell an event behind and wrote two events in
//! one segment, whose stamp is then right for both).
//!
//! Sockets are bound to source addresses 127.0.0.2, 127.0.0.3, ... (20,000 subscribers
//! each, `IP_BIND_ADDRESS_NO_PORT`) so that 100,000 connections to one server port do not
//! run out of the ephemeral port range (28,232 ports per source address here).
//!
//! The driver (`run`: connect, open every subscriber, publish, collect) does not know the
//! protocol: a connection's [`Wire`] writes its requests and turns the bytes of each read
//! into completed events. [`Http1`] here carries one subscriber per connection (the
//! request written by hand, the response head and chunked body parsed by hand);
//! `fanout_h2.rs` carries many, as HTTP/2 streams on one h2c connection.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use crate::shared::BoxError;
use crate::sockets::{os_err, start_connect, Epoll};

/// Subscribers per source address.
const PER_SOURCE: usize = 20_000;

/// What one fan-out measured.
#[derive(Debug, Default)]
pub struct FanoutRun {
    /// Kernel receive time minus publication stamp, per delivery (ms).
    pub kernel_ms: Vec<f64>,
    /// Time the client parsed the event minus publication stamp, per delivery (ms): what
    /// a user-space stamp would say (for comparison only).
    pub user_ms: Vec<f64>,
    /// Time to open every subscriber (to its response head).
    pub open: Duration,
    /// Client CPU time (user + system) from the publish request to the last delivery.
    pub client_cpu: Duration,
    /// Wall time of the same span.
    pub publish_wall: Duration,
    /// Reads that completed more than one event of the same subscriber (stamped with one
    /// time).
    pub coalesced: u64,
    /// Reads that completed events of more than one subscriber: expected on h2c (one
    /// connection carries many subscribers' streams, the server writes their frames
    /// together), impossible on HTTP/1.1.
    pub multi_stream_reads: u64,
}

/// Fan-out parameters.
pub struct Plan<'a> {
    pub addr: SocketAddr,
    pub subscribers: usize,
    pub events: u64,
    pub every: Duration,
    /// Connections being opened at a time.
    pub open_concurrency: usize,
    /// Called once every subscriber is open, before the publish request (memory figures).
    pub on_open: &'a mut dyn FnMut(),
}

/// What the subscriber connections speak.
pub trait Wire {
    /// Subscribers this connection carries.
    fn subscribers(&self) -> usize;
    /// Appends what to write once connected (the request, or requests) to `out`.
    fn hello(&mut self, to: SocketAddrV4, out: &mut Vec<u8>);
    /// Takes the bytes of one read: pushes `(subscriber, publication stamp)` of every
    /// event they complete (`subscriber` indexes this connection's subscribers) to `done`,
    /// appends anything to send back to `out`, and returns how many subscribers' response
    /// heads arrived.
    fn feed(
        &mut self,
        data: &[u8],
        done: &mut Vec<(usize, f64)>,
        out: &mut Vec<u8>,
    ) -> Result<usize, BoxError>;
}

/// Splits an event stream into events; shared by the wires.
#[derive(Default)]
pub struct Events {
    /// The current event's bytes so far (events are small).
    event: Vec<u8>,
    /// Whether the last byte seen was a LF (an event ends at an empty line).
    after_lf: bool,
}

impl Events {
    /// Feeds body bytes; pushes `(subscriber, publication stamp)` of every event completed.
    pub fn feed(&mut self, data: &[u8], subscriber: usize, done: &mut Vec<(usize, f64)>) {
        for &byte in data {
            if byte == b'\n' && self.after_lf {
                if let Some(stamp) = stamp_of(&self.event) {
                    done.push((subscriber, stamp));
                }
                self.event.clear();
                self.after_lf = false;
                continue;
            }
            self.after_lf = byte == b'\n';
            self.event.push(byte);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Reading the chunk-size line (hex digits, then anything up to LF): the size so
    /// far, whether a digit was seen, whether more digits may follow.
    Size {
        value: usize,
        digits: bool,
        more: bool,
    },
    /// Inside a chunk's data: bytes left.
    Data(usize),
    /// The CRLF after a chunk's data: bytes left.
    DataEnd(usize),
    /// The last chunk was read.
    End,
}

/// HTTP/1.1: one subscriber per connection, `GET /fanout` written by hand, the response
/// head and the chunked body parsed by hand.
pub struct Http1 {
    /// The response head so far; `None` once it was parsed.
    head: Option<Vec<u8>>,
    chunk: Chunk,
    events: Events,
}

impl Default for Http1 {
    fn default() -> Self {
        Self {
            head: Some(Vec::new()),
            chunk: Chunk::Size {
                value: 0,
                digits: false,
                more: true,
            },
            events: Events::default(),
        }
    }
}

impl Wire for Http1 {
    fn subscribers(&self) -> usize {
        1
    }

    fn hello(&mut self, to: SocketAddrV4, out: &mut Vec<u8>) {
        out.extend_from_slice(
            format!("GET /fanout HTTP/1.1\r\nHost: {to}\r\nAccept: text/event-stream\r\n\r\n")
                .as_bytes(),
        );
    }

    fn feed(
        &mut self,
        data: &[u8],
        done: &mut Vec<(usize, f64)>,
        _out: &mut Vec<u8>,
    ) -> Result<usize, BoxError> {
        let Some(head) = &mut self.head else {
            self.feed_body(data, done)?;
            return Ok(0);
        };
        head.extend_from_slice(data);
        match parse_head(head)? {
            Some(rest) => {
                self.head = None;
                self.feed_body(&rest, done)?;
                Ok(1)
            }
            None => Ok(0),
        }
    }
}

/// A subscriber connection.
struct Conn<W> {
    fd: RawFd,
    /// `connect` in progress (waiting for writability).
    connecting: bool,
    closed: bool,
    wire: W,
    /// Bytes still to write (the requests, replies).
    out: Vec<u8>,
    /// The epoll events it is registered for.
    registered: u32,
    /// Its subscribers whose response head arrived.
    opened: usize,
}

/// Closes every subscriber socket when the run ends, however it ends.
struct Conns<W>(Vec<Conn<W>>);

impl<W> Drop for Conns<W> {
    fn drop(&mut self) {
        for conn in &self.0 {
            if !conn.closed {
                // SAFETY: closes our own fd, once.
                unsafe {
                    libc::close(conn.fd);
                }
            }
        }
    }
}

/// CPU time (user + system) of the calling thread.
pub fn thread_cpu() -> Duration {
    // SAFETY: getrusage into a zeroed local struct.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_THREAD, &mut usage);
        let micros = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
        };
        micros(usage.ru_utime) + micros(usage.ru_stime)
    }
}

fn realtime_secs(ts: libc::timespec) -> f64 {
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Reads what is there on `sub` (until `EAGAIN`), with kernel receive timestamps.
struct Reader {
    buf: Vec<u8>,
    control: [u64; 16],
}

/// What one `recvmsg` returned.
enum Received {
    Data { len: usize, stamp: Option<f64> },
    WouldBlock,
    Eof,
}

impl Reader {
    fn recv(&mut self, fd: RawFd) -> Result<Received, BoxError> {
        let mut iov = libc::iovec {
            iov_base: self.buf.as_mut_ptr().cast(),
            iov_len: self.buf.len(),
        };
        // SAFETY: a zeroed msghdr is valid; it points at our iovec and control buffer,
        // both alive for the call; the control messages are walked with the CMSG macros
        // within `msg_controllen`.
        unsafe {
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = self.control.as_mut_ptr().cast();
            msg.msg_controllen = std::mem::size_of_val(&self.control);
            let n = libc::recvmsg(fd, &mut msg, 0);
            if n < 0 {
                let err = std::io::Error::last_os_error();
                return match err.raw_os_error() {
                    Some(libc::EAGAIN) => Ok(Received::WouldBlock),
                    Some(libc::EINTR) => Ok(Received::WouldBlock),
                    _ => Err(format!("recvmsg: {err}").into()),
                };
            }
            if n == 0 {
                return Ok(Received::Eof);
            }
            let mut stamp = None;
            let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
            while !cmsg.is_null() {
                if (*cmsg).cmsg_level == libc::SOL_SOCKET
                    && (*cmsg).cmsg_type == libc::SCM_TIMESTAMPNS
                {
                    let ts =
                        std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::timespec>());
                    stamp = Some(realtime_secs(ts));
                }
                cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
            }
            Ok(Received::Data {
                len: n as usize,
                stamp,
            })
        }
    }
}

/// The publication stamp of an event (`"timestamp":<float>` in its data).
fn stamp_of(event: &[u8]) -> Option<f64> {
    let at = memchr::memmem::find(event, b"\"timestamp\":")?;
    let number = &event[at + 12..];
    let len = number
        .iter()
        .position(|b| !matches!(b, b'0'..=b'9' | b'.' | b'e' | b'E' | b'-' | b'+'))
        .unwrap_or(number.len());
    std::str::from_utf8(&number[..len]).ok()?.parse().ok()
}

impl Http1 {
    /// De-chunks `data` into the event splitter. Errors on malformed chunking.
    fn feed_body(&mut self, mut data: &[u8], done: &mut Vec<(usize, f64)>) -> Result<(), BoxError> {
        while !data.is_empty() {
            match self.chunk {
                Chunk::Size {
                    value,
                    digits,
                    more,
                } => {
                    let byte = data[0];
                    data = &data[1..];
                    let hex = (byte as char).to_digit(16);
                    self.chunk = match (byte, hex) {
                        (_, Some(digit)) if more => Chunk::Size {
                            value: value
                                .checked_mul(16)
                                .and_then(|v| v.checked_add(digit as usize))
                                .ok_or("chunk size overflows")?,
                            digits: true,
                            more: true,
                        },
                        (b'\n', _) if !digits => return Err("empty chunk size".into()),
                        (b'\n', _) if value == 0 => Chunk::End,
                        (b'\n', _) => Chunk::Data(value),
                        // CR or a chunk extension: skipped up to LF.
                        _ => Chunk::Size {
                            value,
                            digits,
                            more: false,
                        },
                    };
                }
                Chunk::Data(left) => {
                    let take = left.min(data.len());
                    self.events.feed(&data[..take], 0, done);
                    data = &data[take..];
                    self.chunk = if take == left {
                        Chunk::DataEnd(2)
                    } else {
                        Chunk::Data(left - take)
                    };
                }
                Chunk::DataEnd(left) => {
                    let take = left.min(data.len());
                    data = &data[take..];
                    self.chunk = if take == left {
                        Chunk::Size {
                            value: 0,
                            digits: false,
                            more: true,
                        }
                    } else {
                        Chunk::DataEnd(left - take)
                    };
                }
                Chunk::End => return Ok(()),
            }
        }
        Ok(())
    }
}

/// Parses the response head in `head`; `Ok(Some(rest))` once complete, with the body
/// bytes that followed it.
fn parse_head(head: &[u8]) -> Result<Option<Vec<u8>>, BoxError> {
    let Some(end) = memchr::memmem::find(head, b"\r\n\r\n") else {
        if head.len() > 16 * 1024 {
            return Err("response head over 16 KiB".into());
        }
        return Ok(None);
    };
    let rest = head[end + 4..].to_vec();
    let head = std::str::from_utf8(&head[..end]).map_err(|_| "response head not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or("");
    if !status.starts_with("HTTP/1.1 200") {
        return Err(format!("/fanout: {status:?}").into());
    }
    let mut chunked = false;
    let mut event_stream = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim().to_ascii_lowercase();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.contains("chunked");
        } else if name.eq_ignore_ascii_case("content-type") {
            event_stream = value.starts_with("text/event-stream");
        }
    }
    if !chunked || !event_stream {
        return Err(format!("/fanout: unexpected head {head:?}").into());
    }
    Ok(Some(rest))
}

/// `GET path` on a blocking connection with `Connection: close`; checks for a 200.
fn get_once(addr: SocketAddr, path: &str) -> Result<(), BoxError> {
    let mut tcp = std::net::TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        tcp,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while memchr::memmem::find(&head, b"\r\n\r\n").is_none() {
        let n = tcp.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    if !head.starts_with(b"HTTP/1.1 200") {
        return Err(format!("{path}: {:?}", String::from_utf8_lossy(&head)).into());
    }
    Ok(())
}

/// The source address of connection `index` (`PER_SOURCE` per address, from 127.0.0.2).
fn source_of(index: usize) -> Ipv4Addr {
    let offset = u32::try_from(index / PER_SOURCE).unwrap_or(u32::MAX);
    Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 0, 0, 2)).saturating_add(offset))
}

impl<W: Wire> Conn<W> {
    /// Writes what it can of `out`; listens for writability while something is left.
    fn flush(&mut self, epoll: &Epoll, token: usize) -> Result<(), BoxError> {
        while !self.out.is_empty() {
            // SAFETY: writes from a live buffer of its length.
            let written = unsafe { libc::write(self.fd, self.out.as_ptr().cast(), self.out.len()) };
            match usize::try_from(written) {
                Ok(n) => {
                    self.out.drain(..n);
                }
                Err(_) => match std::io::Error::last_os_error().raw_os_error() {
                    Some(libc::EINTR) => {}
                    Some(libc::EAGAIN) => break,
                    _ => return Err(os_err("write")),
                },
            }
        }
        let want = if self.out.is_empty() {
            libc::EPOLLIN as u32
        } else {
            (libc::EPOLLIN | libc::EPOLLOUT) as u32
        };
        if want != self.registered {
            epoll.ctl(libc::EPOLL_CTL_MOD, self.fd, want, token)?;
            self.registered = want;
        }
        Ok(())
    }

    /// Handles one readiness event: finishes the connect (writing the wire's hello),
    /// writes what is pending, reads what is there (until `EAGAIN`) and stamps every
    /// event completed with the kernel receive time of the read that completed it.
    /// Returns how many of its subscribers' response heads arrived.
    fn on_ready(
        &mut self,
        io: &mut Io<'_>,
        token: usize,
        flags: u32,
        result: &mut FanoutRun,
    ) -> Result<usize, BoxError> {
        if self.closed {
            return Ok(0);
        }
        if self.connecting {
            if flags & (libc::EPOLLOUT | libc::EPOLLERR | libc::EPOLLHUP) as u32 == 0 {
                return Ok(0);
            }
            let mut err: i32 = 0;
            let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
            // SAFETY: getsockopt into a local int.
            unsafe {
                libc::getsockopt(
                    self.fd,
                    libc::SOL_SOCKET,
                    libc::SO_ERROR,
                    std::ptr::from_mut(&mut err).cast(),
                    &mut len,
                );
            }
            if err != 0 {
                return Err(format!("connect: {}", std::io::Error::from_raw_os_error(err)).into());
            }
            self.connecting = false;
            self.wire.hello(io.to, &mut self.out);
            return self.flush(io.epoll, token).map(|()| 0);
        }
        if !self.out.is_empty() {
            self.flush(io.epoll, token)?;
        }
        let mut opened = 0;
        loop {
            let (len, stamp) = match io.reader.recv(self.fd)? {
                Received::WouldBlock => break,
                Received::Eof => {
                    // SAFETY: closes our own fd, once.
                    unsafe {
                        libc::close(self.fd);
                    }
                    self.closed = true;
                    return Err("the server closed a subscriber's connection".into());
                }
                Received::Data { len, stamp } => (len, stamp),
            };
            let done = &mut *io.done;
            done.clear();
            opened += self.wire.feed(&io.reader.buf[..len], done, &mut self.out)?;
            if !self.out.is_empty() {
                self.flush(io.epoll, token)?;
            }
            if done.is_empty() {
                continue;
            }
            if done.len() > 1 {
                done.sort_by_key(|&(subscriber, _)| subscriber);
                if done.windows(2).any(|pair| pair[0].0 == pair[1].0) {
                    result.coalesced += 1;
                }
                if done[0].0 != done[done.len() - 1].0 {
                    result.multi_stream_reads += 1;
                }
            }
            let now = crate::shared::now();
            let Some(kernel) = stamp else {
                return Err("recvmsg returned no SCM_TIMESTAMPNS".into());
            };
            for &(_, published) in done.iter() {
                result.kernel_ms.push((kernel - published) * 1e3);
                result.user_ms.push((now - published) * 1e3);
            }
        }
        Ok(opened)
    }
}

/// What `Conn::on_ready` works with.
struct Io<'a> {
    epoll: &'a Epoll,
    reader: &'a mut Reader,
    to: SocketAddrV4,
    /// The events one read completed (reused).
    done: &'a mut Vec<(usize, f64)>,
}

/// Opens `plan.subscribers` subscribers of `GET /fanout` on connections made by `wire`
/// (called with the number of subscribers the connection is to carry, at most
/// `per_connection`), then has the server publish `plan.events` events `plan.every`
/// apart, and collects every delivery's latency.
pub fn run<W: Wire>(
    plan: Plan<'_>,
    per_connection: usize,
    wire: impl Fn(usize) -> W,
) -> Result<FanoutRun, BoxError> {
    let SocketAddr::V4(to) = plan.addr else {
        return Err("the fan-out client speaks IPv4 only".into());
    };
    let n = plan.subscribers;
    let per_connection = per_connection.max(1);
    let connections = n.div_ceil(per_connection);
    let epoll = Epoll::new()?;
    let mut conns = Conns(Vec::with_capacity(connections));
    let mut reader = Reader {
        buf: vec![0; 64 * 1024],
        control: [0; 16],
    };
    let mut done = Vec::new();
    let mut io = Io {
        epoll: &epoll,
        reader: &mut reader,
        to,
        done: &mut done,
    };
    let mut ready = vec![libc::epoll_event { events: 0, u64: 0 }; 4096];
    let mut result = FanoutRun {
        kernel_ms: Vec::with_capacity(n * plan.events as usize),
        user_ms: Vec::with_capacity(n * plan.events as usize),
        ..FanoutRun::default()
    };
    let mut opened = 0usize;
    let mut in_flight = 0usize;
    let started = Instant::now();
    let open_deadline = started + Duration::from_secs(60 + n as u64 / 1_000);

    // Open every subscriber, `open_concurrency` connections at a time.
    while opened < n {
        while conns.0.len() < connections && in_flight < plan.open_concurrency.max(1) {
            let index = conns.0.len();
            let fd = start_connect(source_of(index), to)?;
            let subscribers = per_connection.min(n - index * per_connection);
            let registered = (libc::EPOLLOUT | libc::EPOLLIN) as u32;
            conns.0.push(Conn {
                fd,
                connecting: true,
                closed: false,
                wire: wire(subscribers),
                out: Vec::new(),
                registered,
                opened: 0,
            });
            epoll.ctl(libc::EPOLL_CTL_ADD, fd, registered, index)?;
            in_flight += 1;
        }
        if Instant::now() > open_deadline {
            return Err(format!("only {opened} of {n} subscribers opened in time").into());
        }
        let count = epoll.wait(&mut ready, 100);
        for event in &ready[..count] {
            let token = event.u64 as usize;
            let conn = &mut conns.0[token];
            let heads = conn.on_ready(&mut io, token, event.events, &mut result)?;
            if heads > 0 {
                conn.opened += heads;
                opened += heads;
                if conn.opened >= conn.wire.subscribers() {
                    in_flight -= 1;
                }
            }
        }
    }
    result.open = started.elapsed();
    // Settle, as before: 500 ms with every subscriber open.
    let mut pump =
        |until: &dyn Fn(&FanoutRun) -> bool, result: &mut FanoutRun| -> Result<(), BoxError> {
            while !until(result) {
                let count = epoll.wait(&mut ready, 50);
                for event in &ready[..count] {
                    let token = event.u64 as usize;
                    conns.0[token].on_ready(&mut io, token, event.events, result)?;
                }
            }
            Ok(())
        };
    let settle = Instant::now() + Duration::from_millis(500);
    pump(&|_| Instant::now() >= settle, &mut result)?;
    (plan.on_open)();

    let cpu_before = thread_cpu();
    let publish_start = Instant::now();
    get_once(
        plan.addr,
        &format!(
            "/publish?n={}&every_ms={}",
            plan.events,
            plan.every.as_millis()
        ),
    )?;
    let expected = n * plan.events as usize;
    let span = plan.every * u32::try_from(plan.events).unwrap_or(u32::MAX);
    let deadline = publish_start + span + Duration::from_secs(15 + n as u64 / 5_000);
    pump(
        &|result| result.kernel_ms.len() >= expected || Instant::now() >= deadline,
        &mut result,
    )?;
    result.client_cpu = thread_cpu().saturating_sub(cpu_before);
    result.publish_wall = publish_start.elapsed();
    if result.kernel_ms.len() < expected {
        return Err(format!(
            "{} of {expected} deliveries missing",
            expected - result.kernel_ms.len()
        )
        .into());
    }
    Ok(result)
}
