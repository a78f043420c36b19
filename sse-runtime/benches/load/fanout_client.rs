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

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use crate::client::BoxError;

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
    /// Reads that completed more than one event (stamped with one time).
    pub coalesced: u64,
}

/// Fan-out parameters.
pub struct Plan<'a> {
    pub addr: SocketAddr,
    pub subscribers: usize,
    pub events: u64,
    pub every: Duration,
    pub open_concurrency: usize,
    /// Called once every subscriber is open, before the publish request (memory figures).
    pub on_open: &'a mut dyn FnMut(),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// `connect` in progress (waiting for writability).
    Connecting,
    /// Request written, reading the response head.
    Head,
    /// Reading the chunked body.
    Body,
    Closed,
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

struct Sub {
    fd: RawFd,
    phase: Phase,
    head: Vec<u8>,
    chunk: Chunk,
    /// The current event's bytes so far (events are small).
    event: Vec<u8>,
    /// Whether the last byte seen was a LF (an event ends at an empty line).
    after_lf: bool,
}

impl Sub {
    fn new(fd: RawFd) -> Self {
        Self {
            fd,
            phase: Phase::Connecting,
            head: Vec::new(),
            chunk: Chunk::Size {
                value: 0,
                digits: false,
                more: true,
            },
            event: Vec::new(),
            after_lf: false,
        }
    }
}

fn os_err(what: &str) -> BoxError {
    format!("{what}: {}", std::io::Error::last_os_error()).into()
}

fn setsockopt_int(fd: RawFd, level: i32, name: i32, value: i32) -> Result<(), BoxError> {
    // SAFETY: a plain setsockopt with a local int.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            std::ptr::from_ref(&value).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(os_err("setsockopt"));
    }
    Ok(())
}

fn sockaddr(addr: SocketAddrV4) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: addr.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*addr.ip()).to_be(),
        },
        sin_zero: [0; 8],
    }
}

/// A non-blocking socket with `SO_TIMESTAMPNS`, `TCP_NODELAY` and `SO_LINGER` 0 (closed
/// with a reset, no `TIME_WAIT`), bound to source `source`, connecting to `to`.
fn start_connect(source: Ipv4Addr, to: SocketAddrV4) -> Result<RawFd, BoxError> {
    // SAFETY: socket/bind/connect on a fresh fd with local sockaddrs; the fd is closed on
    // every error path.
    unsafe {
        let fd = libc::socket(
            libc::AF_INET,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        );
        if fd < 0 {
            return Err(os_err("socket"));
        }
        let set = || -> Result<(), BoxError> {
            setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1)?;
            setsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1)?;
            setsockopt_int(fd, libc::IPPROTO_IP, libc::IP_BIND_ADDRESS_NO_PORT, 1)?;
            let linger = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            if libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                std::ptr::from_ref(&linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            ) != 0
            {
                return Err(os_err("SO_LINGER"));
            }
            let local = sockaddr(SocketAddrV4::new(source, 0));
            let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            if libc::bind(fd, std::ptr::from_ref(&local).cast(), len) != 0 {
                return Err(os_err("bind"));
            }
            let remote = sockaddr(to);
            if libc::connect(fd, std::ptr::from_ref(&remote).cast(), len) != 0
                && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINPROGRESS)
            {
                return Err(os_err("connect"));
            }
            Ok(())
        };
        match set() {
            Ok(()) => Ok(fd),
            Err(err) => {
                libc::close(fd);
                Err(err)
            }
        }
    }
}

struct Epoll(RawFd);

impl Epoll {
    fn new() -> Result<Self, BoxError> {
        // SAFETY: creates a new epoll fd.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(os_err("epoll_create1"));
        }
        Ok(Self(fd))
    }

    fn ctl(&self, op: i32, fd: RawFd, events: u32, token: usize) -> Result<(), BoxError> {
        let mut event = libc::epoll_event {
            events,
            u64: token as u64,
        };
        // SAFETY: registers a valid fd with a local event struct.
        if unsafe { libc::epoll_ctl(self.0, op, fd, &mut event) } != 0 {
            return Err(os_err("epoll_ctl"));
        }
        Ok(())
    }

    fn wait(&self, events: &mut [libc::epoll_event], timeout_ms: i32) -> usize {
        // SAFETY: `events` is a valid writable buffer of its length.
        let n = unsafe {
            libc::epoll_wait(
                self.0,
                events.as_mut_ptr(),
                i32::try_from(events.len()).unwrap_or(i32::MAX),
                timeout_ms,
            )
        };
        usize::try_from(n).unwrap_or(0)
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: closes our own fd.
        unsafe {
            libc::close(self.0);
        }
    }
}

/// Closes every subscriber socket when the run ends, however it ends.
struct Subs(Vec<Sub>);

impl Drop for Subs {
    fn drop(&mut self) {
        for sub in &self.0 {
            if sub.phase != Phase::Closed {
                // SAFETY: closes our own fd, once.
                unsafe {
                    libc::close(sub.fd);
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

/// Feeds body bytes (after de-chunking) into the event splitter; returns the publication
/// stamps of the events completed.
fn feed_events(sub: &mut Sub, data: &[u8], done: &mut Vec<f64>) {
    for &byte in data {
        if byte == b'\n' && sub.after_lf {
            if let Some(stamp) = stamp_of(&sub.event) {
                done.push(stamp);
            }
            sub.event.clear();
            sub.after_lf = false;
            continue;
        }
        sub.after_lf = byte == b'\n';
        sub.event.push(byte);
    }
}

/// De-chunks `data` into the event splitter. Errors on malformed chunking.
fn feed_body(sub: &mut Sub, mut data: &[u8], done: &mut Vec<f64>) -> Result<(), BoxError> {
    while !data.is_empty() {
        match sub.chunk {
            Chunk::Size {
                value,
                digits,
                more,
            } => {
                let byte = data[0];
                data = &data[1..];
                let hex = (byte as char).to_digit(16);
                sub.chunk = match (byte, hex) {
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
                feed_events(sub, &data[..take], done);
                data = &data[take..];
                sub.chunk = if take == left {
                    Chunk::DataEnd(2)
                } else {
                    Chunk::Data(left - take)
                };
            }
            Chunk::DataEnd(left) => {
                let take = left.min(data.len());
                data = &data[take..];
                sub.chunk = if take == left {
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

/// Parses the response head in `sub.head`; `Ok(Some(rest))` once complete, with the
/// body bytes that followed it.
fn parse_head(sub: &mut Sub) -> Result<Option<Vec<u8>>, BoxError> {
    let Some(end) = memchr::memmem::find(&sub.head, b"\r\n\r\n") else {
        if sub.head.len() > 16 * 1024 {
            return Err("response head over 16 KiB".into());
        }
        return Ok(None);
    };
    let head = std::str::from_utf8(&sub.head[..end]).map_err(|_| "response head not UTF-8")?;
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
    let rest = sub.head[end + 4..].to_vec();
    sub.head = Vec::new();
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

/// Opens `plan.subscribers` subscribers of `GET /fanout`, then has the server publish
/// `plan.events` events `plan.every` apart, and collects every delivery's latency.
pub fn run(plan: Plan<'_>) -> Result<FanoutRun, BoxError> {
    let SocketAddr::V4(to) = plan.addr else {
        return Err("the fan-out client speaks IPv4 only".into());
    };
    let n = plan.subscribers;
    let request =
        format!("GET /fanout HTTP/1.1\r\nHost: {to}\r\nAccept: text/event-stream\r\n\r\n");
    let epoll = Epoll::new()?;
    let mut subs = Subs(Vec::with_capacity(n));
    let mut reader = Reader {
        buf: vec![0; 64 * 1024],
        control: [0; 16],
    };
    let mut ready = vec![libc::epoll_event { events: 0, u64: 0 }; 4096];
    let mut result = FanoutRun {
        kernel_ms: Vec::with_capacity(n * plan.events as usize),
        user_ms: Vec::with_capacity(n * plan.events as usize),
        ..FanoutRun::default()
    };
    let mut done = Vec::new();
    let mut opened = 0usize;
    let mut in_flight = 0usize;
    let started = Instant::now();
    let open_deadline = started + Duration::from_secs(60 + n as u64 / 1_000);

    // Handles one readiness event; returns whether the subscriber finished opening.
    let mut on_ready = |subs: &mut Vec<Sub>,
                        token: usize,
                        flags: u32,
                        result: &mut FanoutRun,
                        done: &mut Vec<f64>|
     -> Result<bool, BoxError> {
        let sub = &mut subs[token];
        match sub.phase {
            Phase::Closed => Ok(false),
            Phase::Connecting => {
                if flags & (libc::EPOLLOUT | libc::EPOLLERR | libc::EPOLLHUP) as u32 == 0 {
                    return Ok(false);
                }
                let mut err: i32 = 0;
                let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
                // SAFETY: getsockopt into a local int.
                unsafe {
                    libc::getsockopt(
                        sub.fd,
                        libc::SOL_SOCKET,
                        libc::SO_ERROR,
                        std::ptr::from_mut(&mut err).cast(),
                        &mut len,
                    );
                }
                if err != 0 {
                    return Err(
                        format!("connect: {}", std::io::Error::from_raw_os_error(err)).into(),
                    );
                }
                // SAFETY: writes our request from a live buffer.
                let written =
                    unsafe { libc::write(sub.fd, request.as_ptr().cast(), request.len()) };
                if usize::try_from(written).ok() != Some(request.len()) {
                    return Err(os_err("write request"));
                }
                sub.phase = Phase::Head;
                epoll.ctl(libc::EPOLL_CTL_MOD, sub.fd, libc::EPOLLIN as u32, token)?;
                Ok(false)
            }
            Phase::Head | Phase::Body => {
                let mut became_open = false;
                loop {
                    let (len, stamp) = match reader.recv(sub.fd)? {
                        Received::WouldBlock => break,
                        Received::Eof => {
                            // SAFETY: closes our own fd, once.
                            unsafe {
                                libc::close(sub.fd);
                            }
                            sub.phase = Phase::Closed;
                            return Err("the server closed a subscriber's connection".into());
                        }
                        Received::Data { len, stamp } => (len, stamp),
                    };
                    let data = &reader.buf[..len];
                    let body = if sub.phase == Phase::Head {
                        sub.head.extend_from_slice(data);
                        match parse_head(sub)? {
                            Some(rest) => {
                                sub.phase = Phase::Body;
                                became_open = true;
                                rest
                            }
                            None => continue,
                        }
                    } else {
                        data.to_vec()
                    };
                    done.clear();
                    feed_body(sub, &body, done)?;
                    if done.is_empty() {
                        continue;
                    }
                    if done.len() > 1 {
                        result.coalesced += 1;
                    }
                    let now = crate::servers::now();
                    let Some(kernel) = stamp else {
                        return Err("recvmsg returned no SCM_TIMESTAMPNS".into());
                    };
                    for &published in done.iter() {
                        result.kernel_ms.push((kernel - published) * 1e3);
                        result.user_ms.push((now - published) * 1e3);
                    }
                }
                Ok(became_open)
            }
        }
    };

    // Open every subscriber, `open_concurrency` at a time.
    let mut next = 0usize;
    while opened < n {
        while next < n && in_flight < plan.open_concurrency {
            let source =
                Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 0, 0, 2)) + (next / PER_SOURCE) as u32);
            let fd = start_connect(source, to)?;
            subs.0.push(Sub::new(fd));
            epoll.ctl(
                libc::EPOLL_CTL_ADD,
                fd,
                (libc::EPOLLOUT | libc::EPOLLIN) as u32,
                next,
            )?;
            next += 1;
            in_flight += 1;
        }
        if Instant::now() > open_deadline {
            return Err(format!("only {opened} of {n} subscribers opened in time").into());
        }
        let count = epoll.wait(&mut ready, 100);
        for event in &ready[..count] {
            let token = event.u64 as usize;
            let flags = event.events;
            if on_ready(&mut subs.0, token, flags, &mut result, &mut done)? {
                opened += 1;
                in_flight -= 1;
            }
        }
    }
    result.open = started.elapsed();
    // Settle, as before: 500 ms with every subscriber open.
    let settle = Instant::now() + Duration::from_millis(500);
    while Instant::now() < settle {
        let count = epoll.wait(&mut ready, 50);
        for event in &ready[..count] {
            on_ready(
                &mut subs.0,
                event.u64 as usize,
                event.events,
                &mut result,
                &mut done,
            )?;
        }
    }
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
    while result.kernel_ms.len() < expected && Instant::now() < deadline {
        let count = epoll.wait(&mut ready, 50);
        for event in &ready[..count] {
            on_ready(
                &mut subs.0,
                event.u64 as usize,
                event.events,
                &mut result,
                &mut done,
            )?;
        }
    }
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
