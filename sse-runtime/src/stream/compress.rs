//! Compressed streams: [`Compression`] (which content codings a stream may use, with
//! bounded windows), `Accept-Encoding` negotiation, and the per-stream [`Encoder`] that
//! compresses every frame and flushes it at once, so no event waits for a buffer to fill.
//!
//! One encoder lives as long as its stream and keeps its window across frames: the
//! second `price_update` event compresses against the first. Each frame ends in a flush
//! (deflate `Z_PARTIAL_FLUSH`, brotli `BROTLI_OPERATION_FLUSH`, zstd `ZSTD_e_flush`), so
//! what the client has received always decompresses to whole frames. deflate's partial
//! flush makes every byte of the frame decodable, as `Z_SYNC_FLUSH` does, but ends it
//! with a 10-bit empty block instead of a 4-byte stored one: 3.5 bytes less per event,
//! a fifth of a compressed `price_update`.

use std::io::Write;

use bytes::{BufMut, Bytes, BytesMut};
use http::HeaderValue;

/// A content coding a compressed stream can use (`Content-Encoding`).
///
/// ```
/// use sse_runtime::Coding;
///
/// assert_eq!(Coding::Brotli.as_str(), "br");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Coding {
    /// `gzip` (deflate in a gzip wrapper, via zlib-rs).
    Gzip,
    /// `br` (brotli).
    Brotli,
    /// `zstd` (Zstandard; feature `zstd`, on by default).
    #[cfg(feature = "zstd")]
    Zstd,
}

impl Coding {
    /// The coding's token in `Accept-Encoding` and `Content-Encoding`.
    pub fn as_str(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Brotli => "br",
            #[cfg(feature = "zstd")]
            Coding::Zstd => "zstd",
        }
    }

    /// Every coding this build supports, in the default order of preference (measured in
    /// `docs/performance.md`): gzip (the fewest bytes for one-line updates such as a
    /// ticker's, the first event soonest, and every client decodes it), zstd (the least
    /// CPU and memory, the fewest bytes for larger JSON events), brotli (the most CPU and
    /// memory for no gain on small frames).
    pub(crate) fn all() -> Vec<Coding> {
        vec![
            Coding::Gzip,
            #[cfg(feature = "zstd")]
            Coding::Zstd,
            Coding::Brotli,
        ]
    }

    fn matches(self, token: &str) -> bool {
        token.eq_ignore_ascii_case(self.as_str())
            || (self == Coding::Gzip && token.eq_ignore_ascii_case("x-gzip"))
    }
}

/// Whether (and how) event streams and JSON Lines streams are compressed.
///
/// Set it for the whole app with [`App::compression`](crate::App::compression) (off by
/// default) and override it for one response with [`Sse::compression`](crate::Sse::compression)
/// or [`JsonLines::compression`](crate::JsonLines::compression). A stream is compressed
/// only when the request's `Accept-Encoding` accepts one of the enabled codings (q-values
/// respected; ties go to the order of [`codings`](Self::codings)); every frame the stream
/// writes (events, keep-alive comments, the farewell) is flushed through the compressor
/// at once. Such responses carry `Vary: Accept-Encoding`; `HEAD`, error responses and
/// plain JSON are never compressed.
///
/// The defaults keep a compressed stream's memory small (see `docs/performance.md` for
/// the measurements): zstd level 3 with a 64 KiB window (`windowLog` 16, 4 Ki-entry
/// match tables), gzip level 6 with a 4 KiB window (`windowBits` 12, `memLevel` 1),
/// brotli quality 5 with a 64 KiB window (`lgwin` 16). Out-of-range values are clamped
/// to each coding's range.
///
/// ```
/// use sse_runtime::{App, Coding, Compression};
///
/// let app = App::new().compression(Compression::new().codings([Coding::Brotli, Coding::Gzip]));
/// # let _ = app;
/// assert!(Compression::off().is_off());
/// assert!(!Compression::new().is_off());
/// ```
#[must_use = "a Compression does nothing until it is given to an app or a response"]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compression {
    codings: Vec<Coding>,
    gzip_level: u8,
    gzip_window_bits: u8,
    gzip_mem_level: u8,
    brotli_quality: u8,
    brotli_lgwin: u8,
    #[cfg(feature = "zstd")]
    zstd_level: i8,
    #[cfg(feature = "zstd")]
    zstd_window_log: u8,
}

// No `Default`: it would be ambiguous, since an app compresses nothing unless told to
// (`Compression::off()`) while `Compression::new()` enables every coding.
#[allow(clippy::new_without_default)]
impl Compression {
    /// Every supported coding (`gzip`, `zstd`, `br`, preferred in that order) with the
    /// bounded defaults.
    pub fn new() -> Self {
        Self {
            codings: Coding::all(),
            gzip_level: 6,
            gzip_window_bits: 12,
            gzip_mem_level: 1,
            brotli_quality: 5,
            brotli_lgwin: 16,
            #[cfg(feature = "zstd")]
            zstd_level: 3,
            #[cfg(feature = "zstd")]
            zstd_window_log: 16,
        }
    }

    /// No compression: streams are sent as they are (the app's default).
    pub fn off() -> Self {
        Self {
            codings: Vec::new(),
            ..Self::new()
        }
    }

    /// True when no coding is enabled.
    pub fn is_off(&self) -> bool {
        self.codings.is_empty()
    }

    /// The codings to offer, most preferred first (a repeated coding counts once).
    pub fn codings(mut self, codings: impl IntoIterator<Item = Coding>) -> Self {
        self.codings.clear();
        for coding in codings {
            if !self.codings.contains(&coding) {
                self.codings.push(coding);
            }
        }
        self
    }

    /// gzip's level (0..=9, default 6) and window (`windowBits` 9..=15, default 12: a
    /// 4 KiB window). The deflate state is about 128 KiB plus four windows.
    pub fn gzip(mut self, level: u8, window_bits: u8) -> Self {
        self.gzip_level = level.min(9);
        self.gzip_window_bits = window_bits.clamp(9, 15);
        self
    }

    /// brotli's quality (0..=11, default 5) and window (`lgwin` 10..=24, default 16).
    pub fn brotli(mut self, quality: u8, lgwin: u8) -> Self {
        self.brotli_quality = quality.min(11);
        self.brotli_lgwin = lgwin.clamp(10, 24);
        self
    }

    /// zstd's level (1..=19, default 3) and window (`windowLog` 10..=24, default 16).
    #[cfg(feature = "zstd")]
    pub fn zstd(mut self, level: i8, window_log: u8) -> Self {
        self.zstd_level = level.clamp(1, 19);
        self.zstd_window_log = window_log.clamp(10, 24);
        self
    }

    /// The coding to use for a request with this `Accept-Encoding` (RFC 9110 §12.5.3):
    /// the enabled coding with the highest q-value above 0 (an explicit entry, else `*`),
    /// ties broken by [`codings`](Self::codings) order; `None` (send it as it is) when the
    /// header is absent, accepts none of them, or prefers `identity`.
    ///
    /// ```
    /// use sse_runtime::{Coding, Compression};
    ///
    /// let c = Compression::new();
    /// assert_eq!(c.negotiate(Some("gzip, deflate, br")), Some(Coding::Gzip));
    /// assert_eq!(c.negotiate(Some("gzip;q=0.5, br;q=0.8")), Some(Coding::Brotli));
    /// assert_eq!(c.negotiate(Some("gzip;q=0, zstd;q=0, *")), Some(Coding::Brotli));
    /// assert_eq!(c.negotiate(Some("identity")), None);
    /// assert_eq!(c.negotiate(None), None);
    /// ```
    pub fn negotiate(&self, accept_encoding: Option<&str>) -> Option<Coding> {
        let header = accept_encoding?;
        let mut star = None;
        let mut identity = None;
        let mut listed: Vec<(Coding, u16)> = Vec::new();
        for entry in header.split(',') {
            let mut parts = entry.split(';');
            let token = parts.next().unwrap_or("").trim();
            if token.is_empty() {
                continue;
            }
            let Some(q) = parse_q(parts) else {
                continue;
            };
            if token == "*" {
                star = Some(q);
            } else if token.eq_ignore_ascii_case("identity") {
                identity = Some(q);
            } else if let Some(coding) = self.codings.iter().find(|c| c.matches(token)) {
                listed.push((*coding, q));
            }
        }
        let mut best: Option<(Coding, u16)> = None;
        for coding in &self.codings {
            let q = listed
                .iter()
                .find(|(c, _)| c == coding)
                .map(|(_, q)| *q)
                .or(star)
                .unwrap_or(0);
            if q > 0 && best.is_none_or(|(_, best_q)| q > best_q) {
                best = Some((*coding, q));
            }
        }
        let (coding, q) = best?;
        match identity {
            Some(identity_q) if identity_q > q => None,
            _ => Some(coding),
        }
    }

    /// A fresh encoder for `coding`, with this configuration's window and level.
    pub(crate) fn encoder(&self, coding: Coding) -> Result<Encoder, std::io::Error> {
        let kind = match coding {
            Coding::Gzip => Kind::Gzip(Box::new(zlib_rs::Deflate::new_with_config(
                zlib_rs::DeflateConfig {
                    level: i32::from(self.gzip_level),
                    method: zlib_rs::Method::Deflated,
                    // +16: a gzip header and trailer around the deflate stream.
                    window_bits: i32::from(self.gzip_window_bits) + 16,
                    mem_level: i32::from(self.gzip_mem_level),
                    strategy: zlib_rs::Strategy::Default,
                },
            ))),
            Coding::Brotli => Kind::Brotli(Some(Box::new(brotli::CompressorWriter::new(
                BytesMut::new().writer(),
                BROTLI_BUFFER,
                u32::from(self.brotli_quality),
                u32::from(self.brotli_lgwin),
            )))),
            #[cfg(feature = "zstd")]
            Coding::Zstd => {
                use zstd::stream::raw::CParameter;
                let mut encoder = zstd::stream::raw::Encoder::new(i32::from(self.zstd_level))?;
                let window_log = u32::from(self.zstd_window_log);
                encoder.set_parameter(CParameter::WindowLog(window_log))?;
                // Small match-finder tables: events are short and repeat recent ones, so
                // 4 Ki entries find the matches that count (the level's defaults, sized for
                // an unknown input, would hold 256 KiB per stream).
                encoder.set_parameter(CParameter::HashLog(window_log.min(13) - 1))?;
                encoder.set_parameter(CParameter::ChainLog(window_log.min(13) - 1))?;
                Kind::Zstd(Box::new(encoder))
            }
        };
        Ok(Encoder {
            coding,
            kind,
            finished: false,
        })
    }
}

/// The internal output buffer of the brotli writer.
const BROTLI_BUFFER: usize = 4096;

/// A q-value from the parameters after a coding; `None` for an invalid one (the entry is
/// ignored). Returned in thousandths.
fn parse_q<'a>(params: impl Iterator<Item = &'a str>) -> Option<u16> {
    let mut q = 1000;
    for param in params {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        if !name.trim().eq_ignore_ascii_case("q") {
            continue;
        }
        let value = value.trim();
        let (int, frac) = value.split_once('.').unwrap_or((value, ""));
        if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut thousandths: u16 = 0;
        for (i, digit) in frac.bytes().enumerate() {
            thousandths += u16::from(digit - b'0') * [100, 10, 1][i];
        }
        q = match int {
            "0" => thousandths,
            "1" if thousandths == 0 => 1000,
            _ => return None,
        };
    }
    Some(q)
}

/// The compressor of one stream: every [`encode`](Self::encode) returns the compressed
/// bytes of one frame, flushed so that the client can decode all of it.
pub(crate) struct Encoder {
    coding: Coding,
    kind: Kind,
    finished: bool,
}

enum Kind {
    Gzip(Box<zlib_rs::Deflate>),
    Brotli(Option<Box<brotli::CompressorWriter<bytes::buf::Writer<BytesMut>>>>),
    #[cfg(feature = "zstd")]
    Zstd(Box<zstd::stream::raw::Encoder<'static>>),
}

impl Encoder {
    /// The coding, for `Content-Encoding`.
    pub(crate) fn header_value(&self) -> HeaderValue {
        HeaderValue::from_static(self.coding.as_str())
    }

    /// True once the stream was finished (its trailer written).
    pub(crate) fn is_finished(&self) -> bool {
        self.finished
    }

    /// Compresses `input` and flushes it; when `last`, also ends the compressed stream
    /// (gzip's trailer, brotli's last block, zstd's epilogue).
    pub(crate) fn encode(&mut self, input: &[u8], last: bool) -> Result<Bytes, std::io::Error> {
        if self.finished {
            return Ok(Bytes::new());
        }
        self.finished = last;
        match &mut self.kind {
            Kind::Gzip(deflate) => deflate_frame(deflate, input, last),
            Kind::Brotli(slot) => {
                let Some(writer) = slot.as_mut() else {
                    return Ok(Bytes::new());
                };
                writer.write_all(input)?;
                if last {
                    // `into_inner` finishes the stream (the last, empty meta-block).
                    let Some(writer) = slot.take() else {
                        return Ok(Bytes::new());
                    };
                    let mut out = writer.into_inner().into_inner();
                    return Ok(out.split().freeze());
                }
                writer.flush()?;
                Ok(writer.get_mut().get_mut().split().freeze())
            }
            #[cfg(feature = "zstd")]
            Kind::Zstd(encoder) => zstd_frame(encoder, input, last),
        }
    }
}

/// Deflates `input` with a partial flush (or a finish) into a new buffer.
fn deflate_frame(
    deflate: &mut zlib_rs::Deflate,
    input: &[u8],
    last: bool,
) -> Result<Bytes, std::io::Error> {
    let flush = if last {
        zlib_rs::DeflateFlush::Finish
    } else {
        zlib_rs::DeflateFlush::PartialFlush
    };
    // Deflate adds at most 5 bytes per stored 16 KiB block, and the flush a few more.
    let mut out = BytesMut::zeroed(input.len() + input.len() / 1024 + 64);
    let mut written = 0;
    let mut consumed = 0;
    loop {
        let before_in = deflate.total_in();
        let before_out = deflate.total_out();
        let status = deflate
            .compress(&input[consumed..], &mut out[written..], flush)
            .map_err(|err| std::io::Error::other(format!("deflate failed: {err:?}")))?;
        consumed += usize::try_from(deflate.total_in() - before_in).unwrap_or(0);
        written += usize::try_from(deflate.total_out() - before_out).unwrap_or(0);
        let done = match status {
            zlib_rs::Status::StreamEnd => true,
            // Output space left over means the flush is complete.
            _ => !last && consumed == input.len() && written < out.len(),
        };
        if done {
            break;
        }
        if written == out.len() {
            out.resize(out.len() * 2, 0);
        }
    }
    out.truncate(written);
    Ok(out.freeze())
}

/// Compresses `input` with zstd and flushes it (or ends the frame) into a new buffer.
#[cfg(feature = "zstd")]
fn zstd_frame(
    encoder: &mut zstd::stream::raw::Encoder<'static>,
    input: &[u8],
    last: bool,
) -> Result<Bytes, std::io::Error> {
    use zstd::stream::raw::{InBuffer, Operation, OutBuffer};
    let mut out = BytesMut::zeroed(input.len() + 64);
    let mut written = 0;
    let mut source = InBuffer::around(input);
    loop {
        if written == out.len() {
            out.resize(out.len() * 2, 0);
        }
        let mut sink = OutBuffer::around(&mut out[written..]);
        let remaining = if source.pos() < input.len() {
            encoder.run(&mut source, &mut sink)?;
            1
        } else if last {
            encoder.finish(&mut sink, true)?
        } else {
            encoder.flush(&mut sink)?
        };
        written += sink.pos();
        if remaining == 0 && source.pos() == input.len() {
            break;
        }
    }
    out.truncate(written);
    Ok(out.freeze())
}

/// The client side, for the test client: decodes a compressed body chunk by chunk, giving
/// back at once all that a chunk decodes to (so a frame that was not flushed shows).
pub(crate) struct Decoder(DecoderKind);

enum DecoderKind {
    Gzip(Box<zlib_rs::Inflate>),
    Brotli(
        Box<
            brotli::BrotliState<
                brotli::HeapAlloc<u8>,
                brotli::HeapAlloc<u32>,
                brotli::HeapAlloc<brotli::HuffmanCode>,
            >,
        >,
    ),
    #[cfg(feature = "zstd")]
    Zstd(Box<zstd::stream::raw::Decoder<'static>>),
}

impl Decoder {
    /// A decoder for a `Content-Encoding`; `None` for one we do not know.
    pub(crate) fn new(content_encoding: &str) -> Option<Self> {
        let coding = Coding::all()
            .into_iter()
            .find(|c| c.matches(content_encoding.trim()))?;
        Some(Self(match coding {
            Coding::Gzip => DecoderKind::Gzip(Box::new(zlib_rs::Inflate::new(true, 15 + 16))),
            Coding::Brotli => DecoderKind::Brotli(Box::new(brotli::BrotliState::new(
                brotli::HeapAlloc::new(0),
                brotli::HeapAlloc::new(0),
                brotli::HeapAlloc::new(brotli::HuffmanCode::default()),
            ))),
            #[cfg(feature = "zstd")]
            Coding::Zstd => DecoderKind::Zstd(Box::new(zstd::stream::raw::Decoder::new().ok()?)),
        }))
    }

    /// Everything `input` (the next chunk of the body) decodes to.
    pub(crate) fn feed(&mut self, input: &[u8]) -> Result<Vec<u8>, std::io::Error> {
        self.feed_at_most(input, usize::MAX)
    }

    /// As [`feed`](Self::feed), but fails with [`std::io::ErrorKind::FileTooLarge`] as
    /// soon as `input` decodes to more than `limit` bytes (a client's bound on memory:
    /// one compressed chunk may decode to a thousand times its size).
    pub(crate) fn feed_at_most(
        &mut self,
        input: &[u8],
        limit: usize,
    ) -> Result<Vec<u8>, std::io::Error> {
        let mut out = Vec::new();
        let mut chunk = vec![0u8; 16 * 1024];
        let mut consumed = 0;
        loop {
            let (used, made, more) = match &mut self.0 {
                DecoderKind::Gzip(inflate) => {
                    let (in0, out0) = (inflate.total_in(), inflate.total_out());
                    let status = inflate
                        .decompress(
                            &input[consumed..],
                            &mut chunk,
                            zlib_rs::InflateFlush::SyncFlush,
                        )
                        .map_err(|err| std::io::Error::other(format!("bad gzip: {err:?}")))?;
                    let used = usize::try_from(inflate.total_in() - in0).unwrap_or(0);
                    let made = usize::try_from(inflate.total_out() - out0).unwrap_or(0);
                    let ended = matches!(status, zlib_rs::Status::StreamEnd);
                    (used, made, !ended && made == chunk.len())
                }
                DecoderKind::Brotli(state) => {
                    let rest = &input[consumed..];
                    let (mut avail_in, mut in_pos) = (rest.len(), 0);
                    let (mut avail_out, mut out_pos, mut total) = (chunk.len(), 0, 0);
                    let result = brotli::BrotliDecompressStream(
                        &mut avail_in,
                        &mut in_pos,
                        rest,
                        &mut avail_out,
                        &mut out_pos,
                        &mut chunk,
                        &mut total,
                        state,
                    );
                    if matches!(result, brotli::BrotliResult::ResultFailure) {
                        return Err(std::io::Error::other("bad brotli"));
                    }
                    // A full output buffer may hide more output whatever the result says.
                    let more = matches!(result, brotli::BrotliResult::NeedsMoreOutput)
                        || out_pos == chunk.len();
                    (in_pos, out_pos, more)
                }
                #[cfg(feature = "zstd")]
                DecoderKind::Zstd(decoder) => {
                    use zstd::stream::raw::{InBuffer, Operation, OutBuffer};
                    let mut source = InBuffer::around(&input[consumed..]);
                    let mut sink = OutBuffer::around(&mut chunk[..]);
                    decoder.run(&mut source, &mut sink)?;
                    let made = sink.pos();
                    (source.pos(), made, made == chunk.len())
                }
            };
            consumed += used;
            if out.len() + made > limit {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::FileTooLarge,
                    format!("one chunk decodes to more than {limit} bytes"),
                ));
            }
            out.extend_from_slice(&chunk[..made]);
            if !more && (consumed == input.len() || (used == 0 && made == 0)) {
                return Ok(out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn negotiate(header: &str) -> Option<&'static str> {
        Compression::new()
            .negotiate(Some(header))
            .map(Coding::as_str)
    }

    #[test]
    fn negotiation_follows_q_values() {
        assert_eq!(negotiate("gzip"), Some("gzip"));
        assert_eq!(negotiate("GZIP"), Some("gzip"));
        assert_eq!(negotiate("x-gzip"), Some("gzip"));
        assert_eq!(negotiate("gzip, deflate, br, zstd"), Some("gzip"));
        assert_eq!(negotiate("deflate, br, zstd"), Some("zstd"));
        assert_eq!(negotiate("gzip, deflate, br"), Some("gzip"));
        assert_eq!(negotiate("gzip;q=1.0, br;q=0.9"), Some("gzip"));
        assert_eq!(negotiate("gzip;q=0.001"), Some("gzip"));
        assert_eq!(negotiate("gzip;q=0, br;q=0"), None);
        assert_eq!(negotiate("gzip ; q=0 , *"), Some("zstd"));
        assert_eq!(negotiate("*"), Some("gzip"));
        assert_eq!(negotiate("*;q=0"), None);
        assert_eq!(negotiate("*;q=0, gzip"), Some("gzip"));
        assert_eq!(negotiate("gzip;q=0, *;q=0.5"), Some("zstd"));
    }

    #[test]
    fn identity_unknown_and_none_mean_uncompressed() {
        assert_eq!(negotiate(""), None);
        assert_eq!(negotiate("identity"), None);
        assert_eq!(negotiate("deflate, compress, sdch"), None);
        assert_eq!(negotiate("identity, gzip;q=0.5"), None);
        assert_eq!(negotiate("identity;q=0.5, gzip"), Some("gzip"));
        assert_eq!(negotiate("identity;q=0, gzip"), Some("gzip"));
        assert_eq!(Compression::new().negotiate(None), None);
        assert_eq!(Compression::off().negotiate(Some("gzip, br")), None);
    }

    #[test]
    fn invalid_q_values_drop_their_entry() {
        assert_eq!(negotiate("gzip;q=2"), None);
        assert_eq!(negotiate("gzip;q=1.5"), None);
        assert_eq!(negotiate("gzip;q=0.1234"), None);
        assert_eq!(negotiate("gzip;q=abc, br;q=0.1"), Some("br"));
        assert_eq!(negotiate("gzip;q=-1"), None);
        assert_eq!(negotiate(",,gzip;level=1,"), Some("gzip"));
    }

    #[test]
    fn only_enabled_codings_in_their_order() {
        let c = Compression::new().codings([Coding::Gzip, Coding::Brotli]);
        assert_eq!(c.negotiate(Some("br, gzip")), Some(Coding::Gzip));
        assert_eq!(c.negotiate(Some("zstd")), None);
        let c = Compression::new().codings([Coding::Gzip, Coding::Gzip]);
        assert_eq!(c.codings, vec![Coding::Gzip]);
    }

    #[test]
    fn settings_are_clamped() {
        let c = Compression::new().gzip(42, 3).brotli(99, 99);
        assert_eq!((c.gzip_level, c.gzip_window_bits), (9, 9));
        assert_eq!((c.brotli_quality, c.brotli_lgwin), (11, 24));
    }

    fn codings() -> Vec<Coding> {
        Coding::all()
    }

    fn events(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                format!(
                    "event: price_update\ndata: {{\"symbol\":\"AAPL\",\"price\":{}.{:02},\"tick\":{i}}}\nid: {i}\n\n",
                    180 + i % 7,
                    i * 13 % 100
                )
            })
            .collect()
    }

    #[test]
    fn every_frame_decodes_as_soon_as_it_arrives() {
        for coding in codings() {
            let mut encoder = Compression::new().encoder(coding).expect("encoder");
            let mut decoder = Decoder::new(coding.as_str()).expect("a decoder");
            let events = events(50);
            let mut wire = 0;
            for event in &events {
                let frame = encoder.encode(event.as_bytes(), false).expect("encode");
                wire += frame.len();
                assert_eq!(
                    decoder.feed(&frame).expect("decodes"),
                    event.as_bytes(),
                    "{coding:?}: the frame holds the whole event"
                );
            }
            let keep_alive = encoder.encode(b": ping\n\n", false).expect("encode");
            assert_eq!(
                decoder.feed(&keep_alive).expect("decodes"),
                b": ping\n\n",
                "{coding:?}"
            );
            let last = encoder.encode(b"", true).expect("finish");
            assert!(
                !last.is_empty(),
                "{coding:?}: the end of the stream is written"
            );
            assert!(
                decoder.feed(&last).expect("decodes").is_empty(),
                "{coding:?}"
            );
            assert!(encoder.is_finished());
            assert!(encoder.encode(b"more", false).expect("after").is_empty());
            let raw: usize = events.iter().map(String::len).sum();
            assert!(wire * 3 < raw, "{coding:?}: {wire} bytes for {raw}");
        }
    }

    #[test]
    fn a_large_frame_round_trips() {
        let big: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i * 7919).to_le_bytes())
            .collect();
        for coding in codings() {
            let mut encoder = Compression::new().encoder(coding).expect("encoder");
            let mut decoder = Decoder::new(coding.as_str()).expect("a decoder");
            let frame = encoder.encode(&big, false).expect("encode");
            let got = decoder.feed(&frame).expect("decodes");
            assert_eq!(got.len(), big.len(), "{coding:?}");
            assert!(got == big, "{coding:?}: the bytes differ");
            let frame = encoder.encode(&big[..10], true).expect("encode");
            assert_eq!(
                decoder.feed(&frame).expect("decodes"),
                &big[..10],
                "{coding:?}"
            );
        }
    }
}
