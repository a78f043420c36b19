//! Compact JSON for `data:` fields, written straight into the stream's buffer: the same
//! bytes as `serde_json::to_writer`, for what events are made of (structs, maps with text
//! keys, sequences, strings, numbers, booleans, options, enums), faster.
//!
//! serde_json escapes strings one byte at a time through a table; here a string is
//! scanned eight bytes at a time for the bytes JSON escapes (`"`, `\` and control
//! characters) and copied in runs. Floats use the same shortest-representation formatter
//! serde_json uses (`zmij`), integers `itoa`.
//!
//! Anything outside that set — a `RawValue`, a map key that is not text or an integer,
//! byte strings, 128-bit integers, a `Serialize` impl that fails — ends the fast path with
//! [`Unsupported`]; the caller then truncates what was written and serializes the value
//! with serde_json, so the output and its errors are serde_json's, always.

use bytes::{BufMut, BytesMut};
use serde::ser::{self, Serialize};

/// The fast path cannot write this value; serde_json must.
#[derive(Debug)]
pub(crate) struct Unsupported;

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not written by the fast JSON path")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Unsupported
    }
}

type Result<T = ()> = std::result::Result<T, Unsupported>;

/// Appends `value` as compact JSON, or returns [`Unsupported`] (with a partial write in
/// `buf` that the caller truncates).
pub(crate) fn write<T: Serialize + ?Sized>(value: &T, buf: &mut BytesMut) -> Result {
    value.serialize(&mut Writer { buf })
}

/// The name serde_json gives the struct a `RawValue` serializes as.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// The integer methods of a serializer: each writes its value through `self.int`.
macro_rules! integers {
    ($($method:ident: $ty:ty,)*) => {
        $(
            fn $method(self, v: $ty) -> Result {
                self.int(v)
            }
        )*
    };
}

struct Writer<'a> {
    buf: &'a mut BytesMut,
}

const LOW_BITS: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// True if one of the eight bytes of `word` is below 0x20, `"` or `\`.
#[inline]
fn needs_escape(word: u64) -> bool {
    // A byte below 0x20: subtracting 0x20 borrows into its high bit (for bytes < 0x80).
    let control = word.wrapping_sub(LOW_BITS * 0x20) & !word;
    let quote = word ^ (LOW_BITS * u64::from(b'"'));
    let backslash = word ^ (LOW_BITS * u64::from(b'\\'));
    let zero_byte = |x: u64| x.wrapping_sub(LOW_BITS) & !x;
    (control | zero_byte(quote) | zero_byte(backslash)) & HIGH_BITS != 0
}

/// The bytes JSON escapes: `"`, `\` and the control characters.
static ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = true;
        byte += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// True if no byte of `bytes` is escaped: eight at a time, then the rest one by one.
#[inline]
fn is_clean(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(word);
        if needs_escape(u64::from_le_bytes(eight)) {
            return false;
        }
    }
    !words
        .remainder()
        .iter()
        .any(|&byte| ESCAPED[usize::from(byte)])
}

/// Appends `text` as a JSON string, quotes included.
#[inline]
fn write_str(buf: &mut BytesMut, text: &str) {
    let bytes = text.as_bytes();
    buf.reserve(bytes.len() + 2);
    buf.put_u8(b'"');
    if is_clean(bytes) {
        buf.extend_from_slice(bytes);
    } else {
        write_escaped(buf, bytes);
    }
    buf.put_u8(b'"');
}

/// The contents of a string that has something to escape: as serde_json escapes it, the
/// short forms where JSON has one, else `\u00XX`.
#[cold]
fn write_escaped(buf: &mut BytesMut, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut run = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        if !ESCAPED[usize::from(byte)] {
            continue;
        }
        buf.extend_from_slice(&bytes[run..i]);
        let short = match byte {
            b'"' => b'"',
            b'\\' => b'\\',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0x08 => b'b',
            0x0c => b'f',
            _ => 0,
        };
        if short == 0 {
            buf.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ]);
        } else {
            buf.extend_from_slice(&[b'\\', short]);
        }
        run = i + 1;
    }
    buf.extend_from_slice(&bytes[run..]);
}

fn write_int(buf: &mut BytesMut, value: impl itoa::Integer) {
    buf.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// What separates the elements of a sequence or the entries of a map.
struct Compound<'w, 'a> {
    writer: &'w mut Writer<'a>,
    first: bool,
}

impl Compound<'_, '_> {
    fn comma(&mut self) {
        if !std::mem::take(&mut self.first) {
            self.writer.buf.put_u8(b',');
        }
    }
}

impl Writer<'_> {
    fn int(&mut self, value: impl itoa::Integer) -> Result {
        write_int(self.buf, value);
        Ok(())
    }
}

impl<'w, 'a> ser::Serializer for &'w mut Writer<'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Compound<'w, 'a>;
    type SerializeTuple = Compound<'w, 'a>;
    type SerializeTupleStruct = Compound<'w, 'a>;
    type SerializeTupleVariant = Compound<'w, 'a>;
    type SerializeMap = Compound<'w, 'a>;
    type SerializeStruct = Compound<'w, 'a>;
    type SerializeStructVariant = Compound<'w, 'a>;

    fn serialize_bool(self, v: bool) -> Result {
        self.buf
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }

    integers! {
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64,
    }

    fn serialize_f32(self, v: f32) -> Result {
        if v.is_finite() {
            self.buf
                .extend_from_slice(zmij::Buffer::new().format_finite(v).as_bytes());
        } else {
            self.buf.extend_from_slice(b"null");
        }
        Ok(())
    }

    fn serialize_f64(self, v: f64) -> Result {
        if v.is_finite() {
            self.buf
                .extend_from_slice(zmij::Buffer::new().format_finite(v).as_bytes());
        } else {
            self.buf.extend_from_slice(b"null");
        }
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result {
        write_str(self.buf, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }

    fn serialize_str(self, v: &str) -> Result {
        write_str(self.buf, v);
        Ok(())
    }

    fn serialize_bytes(self, _: &[u8]) -> Result {
        Err(Unsupported)
    }

    fn serialize_none(self) -> Result {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result {
        self.buf.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result {
        self.serialize_unit()
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result {
        write_str(self.buf, variant);
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result {
        self.buf.put_u8(b'{');
        write_str(self.buf, variant);
        self.buf.put_u8(b':');
        value.serialize(&mut *self)?;
        self.buf.put_u8(b'}');
        Ok(())
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'w, 'a>> {
        self.buf.put_u8(b'[');
        Ok(Compound {
            writer: self,
            first: true,
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'w, 'a>> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Compound<'w, 'a>> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'w, 'a>> {
        self.buf.put_u8(b'{');
        write_str(self.buf, variant);
        self.buf.put_u8(b':');
        self.serialize_seq(Some(len))
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'w, 'a>> {
        self.buf.put_u8(b'{');
        Ok(Compound {
            writer: self,
            first: true,
        })
    }

    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Compound<'w, 'a>> {
        if name == RAW_VALUE_TOKEN {
            return Err(Unsupported);
        }
        self.serialize_map(Some(len))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'w, 'a>> {
        self.buf.put_u8(b'{');
        write_str(self.buf, variant);
        self.buf.put_u8(b':');
        self.serialize_map(Some(len))
    }

    fn serialize_i128(self, _: i128) -> Result {
        Err(Unsupported)
    }

    fn serialize_u128(self, _: u128) -> Result {
        Err(Unsupported)
    }
}

impl ser::SerializeSeq for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.comma();
        value.serialize(&mut *self.writer)
    }

    fn end(self) -> Result {
        self.writer.buf.put_u8(b']');
        Ok(())
    }
}

impl ser::SerializeTuple for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result {
        self.writer.buf.extend_from_slice(b"]}");
        Ok(())
    }
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        self.comma();
        key.serialize(MapKey {
            buf: &mut *self.writer.buf,
        })?;
        self.writer.buf.put_u8(b':');
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        value.serialize(&mut *self.writer)
    }

    fn end(self) -> Result {
        self.writer.buf.put_u8(b'}');
        Ok(())
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        self.comma();
        write_str(self.writer.buf, key);
        self.writer.buf.put_u8(b':');
        value.serialize(&mut *self.writer)
    }

    fn end(self) -> Result {
        ser::SerializeMap::end(self)
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        ser::SerializeStruct::serialize_field(self, key, value)
    }

    fn end(self) -> Result {
        self.writer.buf.extend_from_slice(b"}}");
        Ok(())
    }
}

/// A map key: text as it is, integers quoted (as serde_json); anything else is left to
/// serde_json (which quotes booleans and floats, or refuses the key).
struct MapKey<'a> {
    buf: &'a mut BytesMut,
}

impl MapKey<'_> {
    fn int(self, value: impl itoa::Integer) -> Result {
        self.buf.put_u8(b'"');
        write_int(self.buf, value);
        self.buf.put_u8(b'"');
        Ok(())
    }
}

impl ser::Serializer for MapKey<'_> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = ser::Impossible<(), Unsupported>;
    type SerializeTuple = ser::Impossible<(), Unsupported>;
    type SerializeTupleStruct = ser::Impossible<(), Unsupported>;
    type SerializeTupleVariant = ser::Impossible<(), Unsupported>;
    type SerializeMap = ser::Impossible<(), Unsupported>;
    type SerializeStruct = ser::Impossible<(), Unsupported>;
    type SerializeStructVariant = ser::Impossible<(), Unsupported>;

    fn serialize_str(self, v: &str) -> Result {
        write_str(self.buf, v);
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result {
        write_str(self.buf, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result {
        write_str(self.buf, variant);
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result {
        value.serialize(self)
    }

    integers! {
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64,
    }

    fn serialize_bool(self, _: bool) -> Result {
        Err(Unsupported)
    }

    fn serialize_f32(self, _: f32) -> Result {
        Err(Unsupported)
    }

    fn serialize_f64(self, _: f64) -> Result {
        Err(Unsupported)
    }

    fn serialize_bytes(self, _: &[u8]) -> Result {
        Err(Unsupported)
    }

    fn serialize_none(self) -> Result {
        Err(Unsupported)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result {
        Err(Unsupported)
    }

    fn serialize_unit(self) -> Result {
        Err(Unsupported)
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result {
        Err(Unsupported)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result {
        Err(Unsupported)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(Unsupported)
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple> {
        Err(Unsupported)
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        Err(Unsupported)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(Unsupported)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap> {
        Err(Unsupported)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct> {
        Err(Unsupported)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(Unsupported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// What the fast path writes, or `None` when it leaves the value to serde_json.
    fn fast<T: Serialize + ?Sized>(value: &T) -> Option<String> {
        let mut buf = BytesMut::new();
        write(value, &mut buf).ok()?;
        Some(String::from_utf8(buf.to_vec()).expect("UTF-8"))
    }

    fn same<T: Serialize + ?Sized>(value: &T) {
        let expected = serde_json::to_string(value).expect("serde_json");
        assert_eq!(fast(value).as_deref(), Some(expected.as_str()));
    }

    #[derive(serde::Serialize)]
    enum Shape {
        Unit,
        Newtype(u8),
        Tuple(i32, String),
        Struct { a: Option<f64>, b: Vec<bool> },
    }

    #[derive(serde::Serialize)]
    struct Event {
        message: String,
        timestamp: f64,
        tags: Vec<&'static str>,
        shape: Shape,
        nothing: (),
        unit: Unit,
        wrapped: Wrapped,
        tuple: (u8, char),
        counts: BTreeMap<u32, i64>,
    }

    #[derive(serde::Serialize)]
    struct Unit;

    #[derive(serde::Serialize)]
    struct Wrapped(&'static str);

    #[test]
    fn structs_enums_and_maps_are_written_as_serde_json_writes_them() {
        for shape in [
            Shape::Unit,
            Shape::Newtype(7),
            Shape::Tuple(-3, "t\"x".to_owned()),
            Shape::Struct {
                a: Some(1.5e300),
                b: vec![true, false],
            },
            Shape::Struct { a: None, b: vec![] },
        ] {
            same(&Event {
                message: "Event 42 \u{1f}\u{7f} é \\ / \n".to_owned(),
                timestamp: 1_732_460_000.123_456,
                tags: vec!["a", "", "ü"],
                shape,
                nothing: (),
                unit: Unit,
                wrapped: Wrapped("w"),
                tuple: (255, '"'),
                counts: [(1, -1), (u32::MAX, i64::MIN)].into_iter().collect(),
            });
        }
        same(&[f64::NAN, f64::INFINITY, -0.0, 0.1, 1e-7, f64::MAX]);
        same(&[f32::NAN, 0.1f32, 3.4e38f32]);
        same(&serde_json::json!({"k": [1, -2, 3.5, null, "s", {"": {}}], "e": []}));
    }

    #[test]
    fn what_serde_json_must_write_is_left_to_it() {
        let raw = serde_json::value::RawValue::from_string("{\"a\" : 1}".to_owned()).unwrap();
        assert_eq!(fast(&raw), None);
        assert_eq!(fast(&1u128), None);
        assert_eq!(fast(&serde_bytes_like()), None);
        let float_keys: BTreeMap<bool, u8> = [(true, 1)].into_iter().collect();
        assert_eq!(fast(&float_keys), None);
    }

    struct Bytes3;
    impl Serialize for Bytes3 {
        fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            s.serialize_bytes(b"abc")
        }
    }

    fn serde_bytes_like() -> Bytes3 {
        Bytes3
    }

    proptest! {
        #[test]
        fn any_string_is_escaped_as_serde_json_escapes_it(text in any::<String>()) {
            same(&text);
        }

        #[test]
        fn ascii_with_every_control_character_is_escaped_alike(
            bytes in proptest::collection::vec(0u8..0x80, 0..64)
        ) {
            let text = String::from_utf8(bytes).expect("ASCII");
            same(&text);
            same(&vec![text.clone(), text]);
        }

        #[test]
        fn any_number_is_written_alike(i in any::<i64>(), u in any::<u64>(), f in any::<f64>(), g in any::<f32>()) {
            same(&(i, u, f, g));
        }
    }
}
