//! The fan-out client's HTTP/2 wire (`--scenarios fanout-h2`): subscribers are streams of
//! h2c connections (HTTP/2 over cleartext, prior knowledge), `H2_STREAMS_PER_CONNECTION`
//! per connection, as a browser multiplexes every `EventSource` of a page on one h2
//! connection. Why: one socket per subscriber cannot reach 100,000 here (the open-files
//! limit, see `main.rs`); 100,000 streams need 1,000 sockets.
//!
//! Everything else is `fanout_client.rs`'s: plain non-blocking sockets on one `epoll`,
//! `SO_TIMESTAMPNS`, each event stamped with the kernel receive time of the read that
//! completed it. What this wire adds, written and parsed by hand:
//!
//! - once connected: the client preface; a SETTINGS frame (`ENABLE_PUSH` 0,
//!   `INITIAL_WINDOW_SIZE` 2^31−1, so that no stream's window ever stops the server); a
//!   WINDOW_UPDATE of the connection to the same 2^31−1; then a HEADERS frame per stream
//!   (ids 1, 3, 5, ...; END_HEADERS | END_STREAM) whose HPACK block is literal fields
//!   without indexing, new names, no Huffman: `:method GET`, `:scheme http`,
//!   `:path /fanout`, `:authority`, `accept: text/event-stream`;
//! - frames (9-byte header): the server's SETTINGS are acknowledged (and checked to allow
//!   the connection's streams), PINGs answered; a stream's first HEADERS is its response
//!   head (counted open; it must begin with `:status 200`, which hyper's HPACK encoder
//!   writes as the static-table index 8, byte 0x88; the rest of the block is not
//!   decoded); DATA payloads go through the same event splitter as the HTTP/1.1 body;
//!   the windows are topped up once half of them was used (never, in practice: a run
//!   moves a few hundred KiB); RST_STREAM, GOAWAY, PUSH_PROMISE and the end of a stream
//!   are errors.
//!
//! One read may complete events of several streams of the connection: the server writes
//! the frames of many streams together. They are all stamped with that read's kernel
//! time — the time of the latest segment the read took — so an event never gets a stamp
//! earlier than its arrival, at worst a later one (by as long as the client left it in
//! the receive queue). Such reads are counted (`multi_stream_reads`) but are expected;
//! `coalesced` counts only reads that completed more than one event of the same stream.

use std::net::SocketAddrV4;

use crate::fanout_client::{Events, Wire};
use crate::shared::BoxError;

/// The HTTP/2 client connection preface.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The largest flow-control window (2^31 − 1).
const MAX_WINDOW: u32 = (1 << 31) - 1;

/// HTTP/2's initial windows, before SETTINGS or WINDOW_UPDATE.
const DEFAULT_WINDOW: u32 = 65_535;

// Frame types (RFC 9113, section 6).
const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const PUSH_PROMISE: u8 = 0x5;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const WINDOW_UPDATE: u8 = 0x8;

// Flags.
const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;

// Settings.
const SETTINGS_ENABLE_PUSH: u16 = 0x2;
const SETTINGS_MAX_CONCURRENT_STREAMS: u16 = 0x3;
const SETTINGS_INITIAL_WINDOW_SIZE: u16 = 0x4;

/// One h2c connection carrying `streams` subscribers of `GET /fanout`.
pub struct H2 {
    streams: usize,
    /// Bytes of an incomplete frame.
    pending: Vec<u8>,
    /// Per stream: whether its response head arrived.
    heads: Vec<bool>,
    /// Per stream: its event splitter.
    events: Vec<Events>,
    /// Per stream: DATA bytes received since its window was last topped up.
    stream_used: Vec<u32>,
    /// The same for the connection.
    connection_used: u32,
}

impl H2 {
    pub fn new(streams: usize) -> Self {
        Self {
            streams,
            pending: Vec::new(),
            heads: vec![false; streams],
            events: (0..streams).map(|_| Events::default()).collect(),
            stream_used: vec![0; streams],
            connection_used: 0,
        }
    }

    /// The index of stream `id` (1, 3, 5, ... → 0, 1, 2, ...).
    fn index(&self, id: u32, kind: &str) -> Result<usize, BoxError> {
        let index = (id as usize).wrapping_sub(1) / 2;
        if id % 2 == 1 && index < self.streams {
            Ok(index)
        } else {
            Err(format!("h2: {kind} frame on stream {id}, which the client did not open").into())
        }
    }

    /// Handles one whole frame; returns whether it was a stream's response head.
    fn frame(
        &mut self,
        kind: u8,
        flags: u8,
        id: u32,
        payload: &[u8],
        done: &mut Vec<(usize, f64)>,
        out: &mut Vec<u8>,
    ) -> Result<bool, BoxError> {
        match kind {
            DATA => {
                let index = self.index(id, "DATA")?;
                let data = unpad(flags, payload)?;
                self.events[index].feed(data, index, done);
                if flags & END_STREAM != 0 {
                    return Err(format!("h2: the server ended stream {id}").into());
                }
                // Tops up the windows once half was used (flow control counts the padding).
                let used = u32::try_from(payload.len()).unwrap_or(u32::MAX);
                self.connection_used = self.connection_used.saturating_add(used);
                if self.connection_used >= MAX_WINDOW / 2 {
                    window_update(out, 0, self.connection_used);
                    self.connection_used = 0;
                }
                let stream_used = &mut self.stream_used[index];
                *stream_used = stream_used.saturating_add(used);
                if *stream_used >= MAX_WINDOW / 2 {
                    window_update(out, id, *stream_used);
                    *stream_used = 0;
                }
                Ok(false)
            }
            HEADERS => {
                let index = self.index(id, "HEADERS")?;
                if flags & END_STREAM != 0 {
                    return Err(format!("h2: the server ended stream {id} (HEADERS)").into());
                }
                if self.heads[index] {
                    // Not a response head: nothing the fan-out sends.
                    return Ok(false);
                }
                let mut block = unpad(flags, payload)?;
                if flags & PRIORITY != 0 {
                    block = block
                        .get(5..)
                        .ok_or("h2: HEADERS too short for its priority")?;
                }
                check_status(block).map_err(|err| format!("h2: stream {id}: {err}"))?;
                self.heads[index] = true;
                Ok(true)
            }
            RST_STREAM => {
                let code = payload.get(..4).map_or(0, be32);
                Err(format!("h2: the server reset stream {id} ({})", error_name(code)).into())
            }
            SETTINGS if flags & ACK == 0 => {
                for setting in payload.chunks_exact(6) {
                    let name = u16::from_be_bytes([setting[0], setting[1]]);
                    let value = be32(&setting[2..]);
                    if name == SETTINGS_MAX_CONCURRENT_STREAMS && (value as usize) < self.streams {
                        return Err(format!(
                            "h2: the server allows {value} concurrent streams per connection, \
                             fewer than the {} this run opens",
                            self.streams
                        )
                        .into());
                    }
                }
                frame_header(out, 0, SETTINGS, ACK, 0);
                Ok(false)
            }
            PING if flags & ACK == 0 => {
                frame_header(out, payload.len(), PING, ACK, 0);
                out.extend_from_slice(payload);
                Ok(false)
            }
            GOAWAY => {
                let last = payload.get(..4).map_or(0, |b| be32(b) & MAX_WINDOW);
                let code = payload.get(4..8).map_or(0, be32);
                let debug = payload.get(8..).unwrap_or_default();
                Err(format!(
                    "h2: the server sent GOAWAY ({}, last stream {last}{}{})",
                    error_name(code),
                    if debug.is_empty() { "" } else { ": " },
                    String::from_utf8_lossy(debug)
                )
                .into())
            }
            PUSH_PROMISE => Err("h2: PUSH_PROMISE although the client disabled push".into()),
            // SETTINGS and PING acknowledgements, WINDOW_UPDATE (the client sends nothing
            // after its requests), PRIORITY, CONTINUATION of a head (only the first
            // fragment is looked at), unknown types.
            _ => Ok(false),
        }
    }
}

impl Wire for H2 {
    fn subscribers(&self) -> usize {
        self.streams
    }

    fn hello(&mut self, to: SocketAddrV4, out: &mut Vec<u8>) {
        out.extend_from_slice(PREFACE);
        frame_header(out, 12, SETTINGS, 0, 0);
        for (name, value) in [
            (SETTINGS_ENABLE_PUSH, 0),
            (SETTINGS_INITIAL_WINDOW_SIZE, MAX_WINDOW),
        ] {
            out.extend_from_slice(&name.to_be_bytes());
            out.extend_from_slice(&value.to_be_bytes());
        }
        window_update(out, 0, MAX_WINDOW - DEFAULT_WINDOW);
        let authority = to.to_string();
        let mut block = Vec::new();
        for (name, value) in [
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/fanout"),
            (":authority", authority.as_str()),
            ("accept", "text/event-stream"),
        ] {
            literal(&mut block, name, value);
        }
        for index in 0..self.streams {
            let id = u32::try_from(2 * index + 1).unwrap_or(u32::MAX);
            frame_header(out, block.len(), HEADERS, END_HEADERS | END_STREAM, id);
            out.extend_from_slice(&block);
        }
    }

    fn feed(
        &mut self,
        data: &[u8],
        done: &mut Vec<(usize, f64)>,
        out: &mut Vec<u8>,
    ) -> Result<usize, BoxError> {
        // Parses from `data` itself unless an incomplete frame is waiting.
        let mut joined = std::mem::take(&mut self.pending);
        let bytes = if joined.is_empty() {
            data
        } else {
            joined.extend_from_slice(data);
            &joined[..]
        };
        let mut at = 0;
        let mut heads = 0;
        while let Some(header) = bytes.get(at..at + 9) {
            let len =
                usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
            let Some(payload) = bytes.get(at + 9..at + 9 + len) else {
                break;
            };
            let id = be32(&header[5..9]) & MAX_WINDOW;
            if self.frame(header[3], header[4], id, payload, done, out)? {
                heads += 1;
            }
            at += 9 + len;
        }
        let rest = &bytes[at..];
        if rest.len() > 1 << 20 {
            return Err("h2: a frame over 1 MiB".into());
        }
        let mut pending = Vec::with_capacity(rest.len());
        pending.extend_from_slice(rest);
        self.pending = pending;
        Ok(heads)
    }
}

fn be32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

fn frame_header(out: &mut Vec<u8>, len: usize, kind: u8, flags: u8, id: u32) {
    let len = u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes();
    out.extend_from_slice(&len[1..]);
    out.extend_from_slice(&[kind, flags]);
    out.extend_from_slice(&id.to_be_bytes());
}

fn window_update(out: &mut Vec<u8>, id: u32, increment: u32) {
    frame_header(out, 4, WINDOW_UPDATE, 0, id);
    out.extend_from_slice(&increment.to_be_bytes());
}

/// An HPACK literal header field without indexing, new name, no Huffman coding
/// (RFC 7541, 6.2.2); names and values here are shorter than 127 bytes.
fn literal(block: &mut Vec<u8>, name: &str, value: &str) {
    block.push(0x00);
    for text in [name, value] {
        block.push(u8::try_from(text.len()).unwrap_or(0x7f).min(0x7e));
        block.extend_from_slice(text.as_bytes());
    }
}

/// The payload of a DATA or HEADERS frame without its padding.
fn unpad(flags: u8, payload: &[u8]) -> Result<&[u8], BoxError> {
    if flags & PADDED == 0 {
        return Ok(payload);
    }
    let (&pad, rest) = payload
        .split_first()
        .ok_or("h2: padded frame without its pad length")?;
    rest.len()
        .checked_sub(usize::from(pad))
        .map(|len| &rest[..len])
        .ok_or_else(|| "h2: padding longer than the frame".into())
}

/// Checks that a response head's HPACK block begins with `:status 200`, after any
/// dynamic table size updates.
fn check_status(mut block: &[u8]) -> Result<(), String> {
    // A dynamic table size update: 001xxxxx, continued while its prefix is all ones.
    while let Some((&first, rest)) = block.split_first().filter(|(b, _)| *b & 0xe0 == 0x20) {
        block = rest;
        if first & 0x1f == 0x1f {
            let continued = block.iter().take_while(|b| *b & 0x80 != 0).count();
            block = block.get(continued + 1..).unwrap_or_default();
        }
    }
    // The static table's `:status` entries (RFC 7541, appendix A), indexed: 0x80 | index.
    let status = match block.first() {
        Some(0x88) => return Ok(()),
        Some(0x89) => "204",
        Some(0x8a) => "206",
        Some(0x8b) => "304",
        Some(0x8c) => "400",
        Some(0x8d) => "404",
        Some(0x8e) => "500",
        Some(byte) => {
            return Err(format!(
                "the response head begins with HPACK byte {byte:#04x}, not :status 200"
            ))
        }
        None => return Err("an empty response head".to_owned()),
    };
    Err(format!("/fanout: status {status}"))
}

/// An HTTP/2 error code's name (RFC 9113, section 7).
fn error_name(code: u32) -> String {
    let name = match code {
        0x0 => "NO_ERROR",
        0x1 => "PROTOCOL_ERROR",
        0x2 => "INTERNAL_ERROR",
        0x3 => "FLOW_CONTROL_ERROR",
        0x4 => "SETTINGS_TIMEOUT",
        0x5 => "STREAM_CLOSED",
        0x6 => "FRAME_SIZE_ERROR",
        0x7 => "REFUSED_STREAM",
        0x8 => "CANCEL",
        0x9 => "COMPRESSION_ERROR",
        0xa => "CONNECT_ERROR",
        0xb => "ENHANCE_YOUR_CALM",
        0xc => "INADEQUATE_SECURITY",
        0xd => "HTTP_1_1_REQUIRED",
        _ => return format!("error code {code:#x}"),
    };
    name.to_owned()
}
