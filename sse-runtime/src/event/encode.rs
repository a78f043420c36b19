//! The `text/event-stream` encoder (WHATWG HTML, "Server-sent events", event stream
//! format), byte-compatible with FastAPI's.
//!
//! Rules:
//! - fields in the order comment, event, data, id, retry; every line ends with LF and
//!   every event with a blank line;
//! - `data` and comments are split on CRLF, LF and lone CR (never on U+2028 or other
//!   characters), one `data:` / `:` line per piece, so `"Hello\n"` becomes `data: Hello`
//!   then `data: ` and the client reassembles the exact text;
//! - `event` and `id` must be single lines (and `id` free of NUL): an event that breaks
//!   this is refused, and nothing of it is written;
//! - output is UTF-8 with no BOM.
//!
//! Encoding appends to a caller-owned [`BytesMut`] that the response body reuses, so a
//! small JSON item costs no allocation beyond the buffer's occasional growth.

use bytes::{BufMut, BytesMut};
use serde::Serialize;

use crate::event::json;
use crate::event::server_sent::{EventError, ServerSentEvent};

/// The keep-alive comment FastAPI sends: `: ping` and a blank line.
pub const KEEP_ALIVE_COMMENT: &[u8] = b": ping\n\n";

/// Appends `event` to `buf`. On error `buf` is unchanged.
///
/// ```
/// use bytes::BytesMut;
/// use sse_runtime::{encode, ServerSentEvent};
///
/// let mut buf = BytesMut::new();
/// encode::write_event(&ServerSentEvent::new().raw_data("Hello\n"), &mut buf).unwrap();
/// assert_eq!(&buf[..], b"data: Hello\ndata: \n\n");
/// ```
pub fn write_event(event: &ServerSentEvent, buf: &mut BytesMut) -> Result<(), EventError> {
    event.validate()?;
    // The builder refuses bad `event`/`id` values; check again so that no value can be
    // smuggled past it (e.g. through `Clone` of an older, different build).
    if let Some(name) = &event.event {
        if name.contains(['\r', '\n']) {
            return Err(EventError::LineBreak { field: "event" });
        }
    }
    if let Some(id) = &event.id {
        if id.contains(['\r', '\n']) {
            return Err(EventError::LineBreak { field: "id" });
        }
        if id.contains('\0') {
            return Err(EventError::NulInId);
        }
    }
    let start = buf.len();
    if let Some(comment) = &event.comment {
        write_lines(buf, b":", comment.as_bytes());
    }
    if let Some(name) = &event.event {
        write_field(buf, b"event", name.as_bytes());
    }
    if let Some(data) = &event.data {
        write_lines(buf, b"data:", data.as_bytes());
    }
    if let Some(id) = &event.id {
        write_field(buf, b"id", id.as_bytes());
    }
    if let Some(retry) = event.retry {
        buf.put_slice(b"retry: ");
        let mut digits = itoa_buf(retry);
        buf.put_slice(digits.as_bytes_mut());
        buf.put_u8(b'\n');
    }
    // An event with no field at all writes nothing (see `write_fields`).
    if buf.len() > start {
        buf.put_u8(b'\n');
    }
    Ok(())
}

/// Appends one event whose only field is `data`, the compact JSON of `value`, written
/// straight into `buf`. On error `buf` is unchanged.
///
/// ```
/// use bytes::BytesMut;
/// use sse_runtime::encode;
///
/// let mut buf = BytesMut::new();
/// encode::write_json_data(&"hello", &mut buf).unwrap();
/// assert_eq!(&buf[..], b"data: \"hello\"\n\n");
/// ```
pub fn write_json_data<T: Serialize + ?Sized>(
    value: &T,
    buf: &mut BytesMut,
) -> Result<(), EventError> {
    write_json_field(value, buf)?;
    buf.put_u8(b'\n');
    Ok(())
}

/// The fields of an event other than `data`, for [`write_fields`].
pub(crate) struct Fields<'a> {
    pub(crate) comment: Option<&'a str>,
    pub(crate) event: Option<&'a str>,
    pub(crate) id: Option<&'a str>,
    pub(crate) retry: Option<u64>,
}

/// An event's `data`, for [`write_fields`].
pub(crate) enum Data<'a, T: ?Sized> {
    /// No `data` field.
    None,
    /// Text, sent as is (split on line breaks).
    Text(&'a str),
    /// A value, sent as compact JSON serialized straight into the buffer.
    Json(&'a T),
}

/// Appends one event: `fields` around `data` (JSON written straight into `buf`), in the
/// order comment, event, data, id, retry. On error `buf` is unchanged.
pub(crate) fn write_fields<T: Serialize + ?Sized>(
    fields: &Fields<'_>,
    data: Data<'_, T>,
    buf: &mut BytesMut,
) -> Result<(), EventError> {
    if let Some(name) = fields.event {
        if name.contains(['\r', '\n']) {
            return Err(EventError::LineBreak { field: "event" });
        }
    }
    if let Some(id) = fields.id {
        if id.contains(['\r', '\n']) {
            return Err(EventError::LineBreak { field: "id" });
        }
        if id.contains('\0') {
            return Err(EventError::NulInId);
        }
    }
    let start = buf.len();
    if let Some(comment) = fields.comment {
        write_lines(buf, b":", comment.as_bytes());
    }
    if let Some(name) = fields.event {
        write_field(buf, b"event", name.as_bytes());
    }
    match data {
        Data::None => {}
        Data::Text(text) => write_lines(buf, b"data:", text.as_bytes()),
        Data::Json(value) => {
            if let Err(err) = write_json_field(value, buf) {
                buf.truncate(start);
                return Err(err);
            }
        }
    }
    if let Some(id) = fields.id {
        write_field(buf, b"id", id.as_bytes());
    }
    if let Some(retry) = fields.retry {
        buf.put_slice(b"retry: ");
        let mut digits = itoa_buf(retry);
        buf.put_slice(digits.as_bytes_mut());
        buf.put_u8(b'\n');
    }
    // An event with no field at all writes nothing: a lone blank line dispatches nothing
    // on the client, and an item that writes nothing is the stream protocol's ready step.
    if buf.len() > start {
        buf.put_u8(b'\n');
    }
    Ok(())
}

/// Appends the `data:` line(s) of `value`'s compact JSON, serialized straight into `buf`.
/// On error `buf` is unchanged.
fn write_json_field<T: Serialize + ?Sized>(
    value: &T,
    buf: &mut BytesMut,
) -> Result<(), EventError> {
    let start = buf.len();
    buf.put_slice(b"data: ");
    let json_start = buf.len();
    // The fast path writes what events are made of; what it leaves (a `RawValue`, a
    // failing `Serialize`, ...) serde_json writes below, output and errors its own.
    if json::write(value, buf).is_ok() {
        buf.put_u8(b'\n');
        return Ok(());
    }
    buf.truncate(json_start);
    let mut raw_line_break = false;
    let mut serializer = serde_json::Serializer::with_formatter(
        BufWriter(buf),
        DataFormatter {
            raw_line_break: &mut raw_line_break,
        },
    );
    if let Err(err) = value.serialize(&mut serializer) {
        buf.truncate(start);
        return Err(EventError::Json(err.to_string()));
    }
    // Compact JSON only holds a raw line break when a `RawValue` (or a number written
    // as text) carries one; split it like any other data so the event stays well-formed.
    if raw_line_break {
        let json = buf.split_off(json_start);
        buf.truncate(start);
        write_lines(buf, b"data:", &json);
    } else {
        buf.put_u8(b'\n');
    }
    Ok(())
}

/// `io::Write` straight into the buffer: every write is one `extend_from_slice`, with none
/// of the generic adapter's partial-write bookkeeping.
struct BufWriter<'a>(&'a mut BytesMut);

impl std::io::Write for BufWriter<'_> {
    #[inline]
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    #[inline]
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        // Most of serde_json's writes are one byte (`{`, `"`, `:`, `,`, `}`): a store, not
        // a call to `memcpy`.
        if let [byte] = bytes {
            self.0.put_u8(*byte);
        } else {
            self.0.extend_from_slice(bytes);
        }
        Ok(())
    }

    #[inline]
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// serde_json's compact format, noting whether text it writes unescaped (a `RawValue`'s
/// fragment, a number's digits) holds a line break: the only way compact JSON can hold
/// one, so the common case needs no scan of the output.
struct DataFormatter<'a> {
    raw_line_break: &'a mut bool,
}

impl DataFormatter<'_> {
    fn check(&mut self, text: &str) {
        if memchr::memchr2(b'\r', b'\n', text.as_bytes()).is_some() {
            *self.raw_line_break = true;
        }
    }
}

impl serde_json::ser::Formatter for DataFormatter<'_> {
    fn write_raw_fragment<W>(&mut self, writer: &mut W, fragment: &str) -> std::io::Result<()>
    where
        W: ?Sized + std::io::Write,
    {
        self.check(fragment);
        writer.write_all(fragment.as_bytes())
    }

    fn write_number_str<W>(&mut self, writer: &mut W, value: &str) -> std::io::Result<()>
    where
        W: ?Sized + std::io::Write,
    {
        self.check(value);
        writer.write_all(value.as_bytes())
    }
}

/// Appends a comment-only event (`: text` lines and a blank line).
pub fn write_comment(text: &str, buf: &mut BytesMut) {
    write_lines(buf, b":", text.as_bytes());
    buf.put_u8(b'\n');
}

/// Appends a `retry:`-only event.
pub fn write_retry(millis: u64, buf: &mut BytesMut) {
    // An event with only `retry` cannot fail validation.
    let _ = write_event(&ServerSentEvent::new().retry_millis(millis), buf);
}

/// The wire format of the event, or `<invalid event: ...>` when it cannot be sent.
impl std::fmt::Display for ServerSentEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut buf = BytesMut::new();
        match write_event(self, &mut buf) {
            Ok(()) => f.write_str(&String::from_utf8_lossy(&buf)),
            Err(err) => write!(f, "<invalid event: {err}>"),
        }
    }
}

fn write_field(buf: &mut BytesMut, name: &[u8], value: &[u8]) {
    buf.reserve(name.len() + value.len() + 3);
    buf.put_slice(name);
    buf.put_slice(b": ");
    buf.put_slice(value);
    buf.put_u8(b'\n');
}

/// Writes `prefix` + " " + line + LF for every line of `text`, splitting on CRLF, LF and
/// lone CR. The empty text is one empty line; a trailing break gives a trailing empty line.
fn write_lines(buf: &mut BytesMut, prefix: &[u8], mut text: &[u8]) {
    buf.reserve(text.len() + prefix.len() + 3);
    loop {
        buf.put_slice(prefix);
        buf.put_u8(b' ');
        match memchr::memchr2(b'\r', b'\n', text) {
            None => {
                buf.put_slice(text);
                buf.put_u8(b'\n');
                return;
            }
            Some(at) => {
                buf.put_slice(&text[..at]);
                buf.put_u8(b'\n');
                let skip = if text[at] == b'\r' && text.get(at + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                text = &text[at + skip..];
            }
        }
    }
}

/// Decimal digits of `n` without allocating.
fn itoa_buf(mut n: u64) -> Digits {
    let mut digits = Digits {
        bytes: [0; 20],
        start: 20,
    };
    loop {
        digits.start -= 1;
        digits.bytes[digits.start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return digits;
        }
    }
}

struct Digits {
    bytes: [u8; 20],
    start: usize,
}

impl Digits {
    fn as_bytes_mut(&mut self) -> &[u8] {
        &self.bytes[self.start..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::into_event::IntoEvent;

    fn enc(event: ServerSentEvent) -> String {
        let mut buf = BytesMut::new();
        write_event(&event, &mut buf).expect("valid event");
        String::from_utf8(buf.to_vec()).expect("utf-8")
    }

    #[test]
    fn json_string_item_is_quoted() {
        let mut buf = BytesMut::new();
        write_json_data("hello", &mut buf).unwrap();
        assert_eq!(&buf[..], b"data: \"hello\"\n\n");
    }

    #[test]
    fn json_object_is_compact() {
        let mut buf = BytesMut::new();
        write_json_data(&serde_json::json!({"a": 1, "b": [true, null]}), &mut buf).unwrap();
        assert_eq!(&buf[..], b"data: {\"a\":1,\"b\":[true,null]}\n\n");
    }

    #[test]
    fn field_order_is_comment_event_data_id_retry() {
        let event = ServerSentEvent::new()
            .retry(std::time::Duration::from_millis(5))
            .id("7")
            .raw_data("d")
            .event("e")
            .comment("c");
        assert_eq!(enc(event), ": c\nevent: e\ndata: d\nid: 7\nretry: 5\n\n");
    }

    #[test]
    fn empty_text_is_an_empty_data_line() {
        assert_eq!(enc(ServerSentEvent::new().raw_data("")), "data: \n\n");
    }

    #[test]
    fn trailing_line_break_is_kept() {
        assert_eq!(
            enc(ServerSentEvent::new().raw_data("Hello\n")),
            "data: Hello\ndata: \n\n"
        );
    }

    #[test]
    fn crlf_lf_and_lone_cr_all_split() {
        assert_eq!(
            enc(ServerSentEvent::new().raw_data("a\r\nb\nc\rd")),
            "data: a\ndata: b\ndata: c\ndata: d\n\n"
        );
        assert_eq!(
            enc(ServerSentEvent::new().raw_data("\r\r\n\n")),
            "data: \ndata: \ndata: \ndata: \n\n"
        );
    }

    #[test]
    fn unicode_separators_do_not_split() {
        assert_eq!(
            enc(ServerSentEvent::new().raw_data("a\u{2028}b\u{0b}c\u{85}d")),
            "data: a\u{2028}b\u{0b}c\u{85}d\n\n"
        );
    }

    #[test]
    fn multi_line_comment_splits() {
        assert_eq!(enc(ServerSentEvent::new().comment("x\ny")), ": x\n: y\n\n");
        let mut buf = BytesMut::new();
        write_comment("ping", &mut buf);
        assert_eq!(&buf[..], KEEP_ALIVE_COMMENT);
    }

    #[test]
    fn an_event_with_no_field_writes_nothing() {
        assert_eq!(enc(ServerSentEvent::new()), "");
        let mut buf = BytesMut::new();
        crate::Event::<u8>::empty().encode_into(&mut buf).unwrap();
        assert!(buf.is_empty());
    }

    #[test]
    fn retry_is_decimal_milliseconds() {
        assert_eq!(
            enc(ServerSentEvent::new().retry(std::time::Duration::from_millis(0))),
            "retry: 0\n\n"
        );
        assert_eq!(
            enc(ServerSentEvent::new().retry(std::time::Duration::from_millis(u64::MAX))),
            "retry: 18446744073709551615\n\n"
        );
        assert_eq!(
            enc(ServerSentEvent::new().retry(std::time::Duration::from_secs(3))),
            "retry: 3000\n\n"
        );
    }

    #[test]
    fn injection_through_id_or_event_is_refused_and_writes_nothing() {
        for event in [
            ServerSentEvent::new().raw_data("x").id("1\ndata: evil"),
            ServerSentEvent::new().raw_data("x").id("1\r"),
            ServerSentEvent::new().raw_data("x").id("a\0b"),
            ServerSentEvent::new().raw_data("x").event("a\nb"),
            ServerSentEvent::new().raw_data("x").event("a\rb"),
        ] {
            let mut buf = BytesMut::from(&b"keep"[..]);
            assert!(write_event(&event, &mut buf).is_err(), "{event:?}");
            assert_eq!(&buf[..], b"keep");
        }
    }

    #[test]
    fn data_and_raw_data_are_exclusive() {
        let event = ServerSentEvent::new().data(1).raw_data("x");
        assert_eq!(event.validate(), Err(EventError::DataAndRawData));
        let event = ServerSentEvent::new().raw_data("x").data(1);
        assert_eq!(event.validate(), Err(EventError::DataAndRawData));
    }

    #[test]
    fn serialization_failure_is_an_error_and_writes_nothing() {
        struct Fails;
        impl Serialize for Fails {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("nope"))
            }
        }
        let mut buf = BytesMut::from(&b"keep"[..]);
        assert!(matches!(
            write_json_data(&Fails, &mut buf),
            Err(EventError::Json(_))
        ));
        assert_eq!(&buf[..], b"keep");
        assert!(matches!(
            ServerSentEvent::new().data(Fails).validate(),
            Err(EventError::Json(_))
        ));
    }

    #[test]
    fn raw_json_value_with_line_breaks_stays_well_formed() {
        let raw = serde_json::value::RawValue::from_string("{\n\"a\": 1\n}".to_owned()).unwrap();
        let mut buf = BytesMut::new();
        write_json_data(&raw, &mut buf).unwrap();
        assert_eq!(&buf[..], b"data: {\ndata: \"a\": 1\ndata: }\n\n");
    }

    #[test]
    fn cjk_and_emoji_pass_through() {
        assert_eq!(
            enc(ServerSentEvent::new().data(serde_json::json!({"content": "系统更新 🎉"}))),
            "data: {\"content\":\"系统更新 🎉\"}\n\n"
        );
    }
}
