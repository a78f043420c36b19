//! A `text/event-stream` parser that follows the WHATWG HTML spec's parsing algorithm
//! ("Server-sent events", §9.2.6 interpreting an event stream).
//!
//! The one parser of the crate: the [test client](crate::testing) and the
//! [client](crate::client) (feature `client`) read streams with it, and the round-trip tests
//! check the encoder against it. It works on arbitrary byte chunks (a line, a CRLF or a UTF-8 sequence may be
//! split across chunks) and yields two views:
//! - [`Frame`]: every blank-line-terminated block, comments included, exactly as sent;
//! - [`ParsedEvent`]: what an `EventSource` dispatches (comment-only and data-less blocks are
//!   not dispatched, `Last-Event-ID` carries over from earlier blocks).
//!
//! ```
//! use sse_runtime::parse::EventParser;
//!
//! let mut parser = EventParser::new();
//! parser.feed(b": ping\n\nevent: greet\ndata: hello\ndata: world\nid: 7\n\n");
//! let events: Vec<_> = std::iter::from_fn(|| parser.next_event()).collect();
//! assert_eq!(events.len(), 1);
//! assert_eq!(events[0].event, "greet");
//! assert_eq!(events[0].data, "hello\nworld");
//! assert_eq!(events[0].last_event_id, "7");
//! ```

use std::collections::VecDeque;

/// One block of fields, as sent: everything between two blank lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frame {
    /// Comment lines (without the leading `:` and one optional space), in order.
    pub comments: Vec<String>,
    /// The last `event:` value, if any.
    pub event: Option<String>,
    /// The `data:` lines joined with LF, if there was at least one.
    pub data: Option<String>,
    /// The last valid `id:` value (one without NUL), if any.
    pub id: Option<String>,
    /// The last valid `retry:` value (ASCII digits only), if any.
    pub retry: Option<u64>,
}

impl Frame {
    /// True when the block carried only comments (e.g. a keep-alive ping).
    pub fn is_comment_only(&self) -> bool {
        !self.comments.is_empty()
            && self.event.is_none()
            && self.data.is_none()
            && self.id.is_none()
            && self.retry.is_none()
    }
}

/// A dispatched event, as a browser's `EventSource` hands it to listeners.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedEvent {
    /// The event type: the `event:` field, or `"message"`.
    pub event: String,
    /// The data, lines joined with LF, without the final LF.
    pub data: String,
    /// The stream's last event id at dispatch time (carried over from earlier events).
    pub last_event_id: String,
    /// The `id:` field of this very event, if it had one.
    pub id: Option<String>,
    /// The `retry:` field of this very event, if it had one.
    pub retry: Option<u64>,
}

impl ParsedEvent {
    /// Deserializes the data as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.data)
    }
}

/// Incremental event-stream parser.
#[derive(Debug, Default)]
pub struct EventParser {
    line: Vec<u8>,
    /// The previous chunk ended with CR: a leading LF in the next chunk belongs to it.
    after_cr: bool,
    /// Bytes of a possible leading BOM have been examined.
    started: bool,
    current: Frame,
    /// Whether the current block had any line at all.
    current_nonempty: bool,
    frames: VecDeque<Frame>,
    last_event_id: String,
    reconnection_time: Option<u64>,
    max_line: Option<usize>,
}

impl EventParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// A parser that refuses lines longer than `max` bytes (they are cut), bounding memory
    /// on hostile input.
    pub fn with_max_line(max: usize) -> Self {
        Self {
            max_line: Some(max),
            ..Self::default()
        }
    }

    /// Feeds the next chunk of the body.
    pub fn feed(&mut self, mut chunk: &[u8]) {
        if !self.started {
            // Strip one UTF-8 BOM at the very start of the stream, even when split.
            let seen = self.line.len();
            let need = 3 - seen;
            let take = need.min(chunk.len());
            self.line.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            if !b"\xEF\xBB\xBF".starts_with(&self.line) {
                self.started = true;
                let pending = std::mem::take(&mut self.line);
                self.feed(&pending);
            } else if self.line.len() == 3 {
                self.started = true;
                self.line.clear();
            } else {
                return;
            }
        }
        while !chunk.is_empty() {
            if self.after_cr {
                self.after_cr = false;
                if chunk[0] == b'\n' {
                    chunk = &chunk[1..];
                    continue;
                }
            }
            match memchr::memchr2(b'\r', b'\n', chunk) {
                None => {
                    self.push_partial(chunk);
                    return;
                }
                Some(at) => {
                    self.push_partial(&chunk[..at]);
                    let line = std::mem::take(&mut self.line);
                    self.process_line(&line);
                    self.line = line;
                    self.line.clear();
                    if chunk[at] == b'\r' {
                        if chunk.get(at + 1) == Some(&b'\n') {
                            chunk = &chunk[at + 2..];
                        } else {
                            if at + 1 == chunk.len() {
                                self.after_cr = true;
                            }
                            chunk = &chunk[at + 1..];
                        }
                    } else {
                        chunk = &chunk[at + 1..];
                    }
                }
            }
        }
    }

    /// The next complete block, comments included.
    pub fn next_frame(&mut self) -> Option<Frame> {
        self.frames.pop_front()
    }

    /// The next event an `EventSource` would dispatch, skipping comment-only and
    /// data-less blocks (whose `id` still updates the last event id).
    pub fn next_event(&mut self) -> Option<ParsedEvent> {
        while let Some(frame) = self.frames.pop_front() {
            if let Some(event) = self.dispatch(frame) {
                return Some(event);
            }
        }
        None
    }

    /// The last event id seen so far (what a reconnecting client sends as `Last-Event-ID`).
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// Bytes held for the block being parsed: its partial line and its fields so far. A
    /// reader that bounds the size of an event checks it after each
    /// [`feed`](Self::feed) (with [`with_max_line`](Self::with_max_line) one byte above the
    /// bound, an over-long line shows here as well).
    pub fn pending_len(&self) -> usize {
        let block = &self.current;
        self.line.len()
            + block.comments.iter().map(String::len).sum::<usize>()
            + block.event.as_ref().map_or(0, String::len)
            + block.data.as_ref().map_or(0, String::len)
            + block.id.as_ref().map_or(0, String::len)
    }

    /// Starts over on a new connection to the same stream, as an `EventSource` does when it
    /// reconnects: the partial line and block of the previous connection are dropped (an
    /// unterminated event is never dispatched) and a leading BOM is stripped again; the last
    /// event id and the reconnection time are kept.
    pub fn reconnected(&mut self) {
        self.line.clear();
        self.after_cr = false;
        self.started = false;
        self.current = Frame::default();
        self.current_nonempty = false;
        self.frames.clear();
    }

    /// The reconnection time set by the last valid `retry:` field, in milliseconds.
    pub fn reconnection_time(&self) -> Option<u64> {
        self.reconnection_time
    }

    /// Applies the spec's dispatch step to a frame taken with [`next_frame`](Self::next_frame).
    pub fn dispatch(&mut self, frame: Frame) -> Option<ParsedEvent> {
        if let Some(id) = &frame.id {
            self.last_event_id.clone_from(id);
        }
        if let Some(retry) = frame.retry {
            self.reconnection_time = Some(retry);
        }
        let data = frame.data?;
        Some(ParsedEvent {
            // An empty `event:` value means `message` too (spec: "if the event type buffer
            // has a value other than the empty string").
            event: frame
                .event
                .filter(|event| !event.is_empty())
                .unwrap_or_else(|| "message".to_owned()),
            data,
            last_event_id: self.last_event_id.clone(),
            id: frame.id,
            retry: frame.retry,
        })
    }

    fn push_partial(&mut self, bytes: &[u8]) {
        match self.max_line {
            Some(max) if self.line.len() + bytes.len() > max => {
                let room = max.saturating_sub(self.line.len());
                self.line.extend_from_slice(&bytes[..room.min(bytes.len())]);
            }
            _ => self.line.extend_from_slice(bytes),
        }
    }

    fn process_line(&mut self, line: &[u8]) {
        if line.is_empty() {
            if self.current_nonempty {
                self.frames.push_back(std::mem::take(&mut self.current));
                self.current_nonempty = false;
            }
            return;
        }
        self.current_nonempty = true;
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.find(':') {
            Some(0) => {
                let text = &line[1..];
                let text = text.strip_prefix(' ').unwrap_or(text);
                self.current.comments.push(text.to_owned());
                return;
            }
            Some(at) => {
                let value = &line[at + 1..];
                (&line[..at], value.strip_prefix(' ').unwrap_or(value))
            }
            None => (&line[..], ""),
        };
        match field {
            "event" => self.current.event = Some(value.to_owned()),
            "data" => match &mut self.current.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.current.data = Some(value.to_owned()),
            },
            "id" if !value.contains('\0') => self.current.id = Some(value.to_owned()),
            // Digits only; an out-of-range value is ignored, as a non-number would be.
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                if let Ok(ms) = value.parse() {
                    self.current.retry = Some(ms);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(input: &[u8]) -> Vec<ParsedEvent> {
        let mut p = EventParser::new();
        p.feed(input);
        std::iter::from_fn(|| p.next_event()).collect()
    }

    #[test]
    fn all_line_endings() {
        let ev = events(b"data: a\r\ndata: b\rdata: c\n\r\n");
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].data, "a\nb\nc");
    }

    #[test]
    fn split_anywhere_gives_the_same_result() {
        let input: &[u8] =
            b"\xEF\xBB\xBFevent: x\r\ndata: \xE7\xB3\xBB\r\n: c\r\rid: 1\n\ndata:z\r\n\r\n";
        let whole = events(input);
        assert_eq!(whole.len(), 2);
        for cut in 0..input.len() {
            let mut p = EventParser::new();
            p.feed(&input[..cut]);
            p.feed(&input[cut..]);
            let got: Vec<_> = std::iter::from_fn(|| p.next_event()).collect();
            assert_eq!(got, whole, "cut at {cut}");
        }
        // Byte by byte.
        let mut p = EventParser::new();
        for b in input {
            p.feed(std::slice::from_ref(b));
        }
        let got: Vec<_> = std::iter::from_fn(|| p.next_event()).collect();
        assert_eq!(got, whole);
    }

    #[test]
    fn bom_is_stripped_once() {
        let ev = events(b"\xEF\xBB\xBFdata: x\n\n");
        assert_eq!(ev[0].data, "x");
        // A second BOM is part of the field name, so the line is ignored.
        let ev = events(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\ndata: y\n\n");
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].data, "y");
    }

    #[test]
    fn field_without_colon_and_without_space() {
        let ev = events(b"data\ndata:x\ndata:  y\n\n");
        assert_eq!(ev[0].data, "\nx\n y");
    }

    #[test]
    fn id_with_nul_is_ignored_and_ids_carry_over() {
        let ev = events(b"id: 1\ndata: a\n\nid: 2\0\ndata: b\n\ndata: c\n\n");
        let ids: Vec<_> = ev.iter().map(|e| e.last_event_id.as_str()).collect();
        assert_eq!(ids, ["1", "1", "1"]);
    }

    #[test]
    fn retry_needs_digits_only() {
        let mut p = EventParser::new();
        p.feed(b"retry: 12a\n\nretry: 3000\n\nretry: -1\n\n");
        while p.next_event().is_some() {}
        assert_eq!(p.reconnection_time(), Some(3000));
    }

    #[test]
    fn unterminated_event_is_not_dispatched() {
        assert!(events(b"data: a\n").is_empty());
    }

    #[test]
    fn comment_frames_are_visible_as_frames_only() {
        let mut p = EventParser::new();
        p.feed(b": ping\n\n");
        let frame = p.next_frame().unwrap();
        assert!(frame.is_comment_only());
        assert_eq!(frame.comments, ["ping"]);
        assert!(events(b": ping\n\n").is_empty());
    }

    #[test]
    fn bounded_line_length() {
        let mut p = EventParser::with_max_line(8);
        p.feed(&[b'a'; 1000]);
        p.feed(b"\n\n");
        assert!(p.next_event().is_none());
        assert!(p.line.capacity() < 1000);
    }

    #[test]
    fn empty_event_type_is_message() {
        let ev = events(b"event:\ndata: a\n\nevent: \ndata: b\n\n");
        let types: Vec<_> = ev.iter().map(|e| e.event.as_str()).collect();
        assert_eq!(types, ["message", "message"]);
    }

    #[test]
    fn reconnected_keeps_the_id_and_drops_the_partial_block() {
        let mut p = EventParser::with_max_line(64);
        p.feed(b"retry: 5\nid: 3\ndata: a\n\ndata: cut");
        assert_eq!(p.next_event().map(|e| e.data), Some("a".to_owned()));
        assert_eq!(p.pending_len(), "data: cut".len());
        p.reconnected();
        assert_eq!(p.pending_len(), 0);
        p.feed(b"\xEF\xBB\xBFdata: b\n\n");
        let event = p.next_event().unwrap();
        assert_eq!(
            (event.data.as_str(), event.last_event_id.as_str()),
            ("b", "3")
        );
        assert_eq!(p.reconnection_time(), Some(5));
    }
}
