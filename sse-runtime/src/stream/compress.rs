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
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use http::HeaderValue;
use tokio::time::Instant;

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
    /// Silence after which a stream's compressor state is freed (`None`: never).
    release_after: Option<Duration>,
    /// Freed gzip states, for the next stream that needs one (shared by the clones).
    deflates: Pool<zlib_rs::Deflate>,
    /// Freed zstd states, likewise.
    #[cfg(feature = "zstd")]
    zstds: Pool<zstd::stream::raw::Encoder<'static>>,
}

/// A few compressor states put back by idle streams, for the next stream that needs one
/// (reset when taken). A gzip state is one 150 KiB allocation: freed and allocated again
/// at every release, it would leave the allocator a hole that the stream's next small
/// allocation splits, and the next state would come from fresh memory (measured with
/// glibc: every released gzip stream kept ~148 KiB of RSS).
struct Pool<T>(Arc<Mutex<Vec<Box<T>>>>);

/// States a [`Pool`] keeps at most (~150 KiB each for gzip).
const POOL_SIZE: usize = 8;

impl<T> Pool<T> {
    fn take(&self) -> Option<Box<T>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).pop()
    }

    fn put(&self, state: Box<T>) {
        let mut pool = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if pool.len() < POOL_SIZE {
            pool.push(state);
        }
    }
}

impl<T> Default for Pool<T> {
    fn default() -> Self {
        Self(Arc::default())
    }
}

impl<T> Clone for Pool<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T> std::fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pool(..)")
    }
}

/// Pools are a cache: two configurations are equal whatever their pools hold.
impl<T> PartialEq for Pool<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T> Eq for Pool<T> {}

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
            release_after: Some(DEFAULT_RELEASE_AFTER),
            deflates: Pool::default(),
            #[cfg(feature = "zstd")]
            zstds: Pool::default(),
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
        // The pooled states have the old settings.
        self.deflates = Pool::default();
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
        // The pooled states have the old settings.
        self.zstds = Pool::default();
        self
    }

    /// How long a compressed stream may stay silent before its compressor's state is
    /// freed (default 5 seconds; `None`: kept for the stream's whole life).
    ///
    /// A compressor holds 90–360 KiB while it exists (its match tables and window); an
    /// idle stream needs none of it. gzip keeps the last window of text (at most 4 KiB with
    /// the default `windowBits`) and continues the same deflate stream with it when the
    /// next event comes, so nothing is lost but a 6-byte empty block per release; zstd
    /// ends its frame and starts a new one (the next event compresses without the earlier
    /// ones); brotli cannot end and resume a stream, so it keeps its state. A stream's
    /// first frame is followed by a release at once (most streams send one event, then
    /// wait); the state is built again when a second frame comes.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sse_runtime::Compression;
    ///
    /// let compression = Compression::new().release_after(Some(Duration::from_secs(30)));
    /// # let _ = compression;
    /// ```
    pub fn release_after(mut self, idle: Option<Duration>) -> Self {
        self.release_after = idle;
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

    /// A fresh encoder for `coding`, with this configuration's window and level. The
    /// gzip and zstd state is built at the first frame.
    pub(crate) fn encoder(&self, coding: Coding) -> Result<Encoder, std::io::Error> {
        let kind = match coding {
            Coding::Gzip => Kind::Gzip(Box::new(Gzip {
                config: zlib_rs::DeflateConfig {
                    level: i32::from(self.gzip_level),
                    method: zlib_rs::Method::Deflated,
                    // Raw deflate: the gzip header and trailer are written here, so that
                    // the deflate state can be dropped and built again mid-stream.
                    window_bits: -i32::from(self.gzip_window_bits),
                    mem_level: i32::from(self.gzip_mem_level),
                    strategy: zlib_rs::Strategy::Default,
                },
                window: 1 << self.gzip_window_bits,
                pool: self.deflates.clone(),
                deflate: None,
                history: Vec::new(),
                crc: 0,
                size: 0,
                started: false,
                held: Vec::new(),
            })),
            Coding::Brotli => Kind::Brotli(Some(Box::new(brotli::CompressorWriter::new(
                BytesMut::new().writer(),
                BROTLI_BUFFER,
                u32::from(self.brotli_quality),
                u32::from(self.brotli_lgwin),
            )))),
            #[cfg(feature = "zstd")]
            Coding::Zstd => Kind::Zstd(Box::new(Zstd {
                level: i32::from(self.zstd_level),
                window_log: u32::from(self.zstd_window_log),
                pool: self.zstds.clone(),
                encoder: None,
                started: false,
                held: Vec::new(),
            })),
        };
        Ok(Encoder {
            coding,
            kind,
            finished: false,
            last_frame: None,
            release_after: self.release_after,
        })
    }
}

/// The default of [`Compression::release_after`].
const DEFAULT_RELEASE_AFTER: Duration = Duration::from_secs(5);

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
/// bytes of one frame, flushed so that the client can decode all of it. Its gzip or zstd
/// state exists only while the stream is busy: it is freed after the first frame, and
/// after [`Compression::release_after`] of silence ([`release_due`](Self::release_due)).
pub(crate) struct Encoder {
    coding: Coding,
    kind: Kind,
    finished: bool,
    /// When the last frame was compressed (`None`: none yet).
    last_frame: Option<Instant>,
    release_after: Option<Duration>,
}

enum Kind {
    Gzip(Box<Gzip>),
    Brotli(Option<Box<brotli::CompressorWriter<bytes::buf::Writer<BytesMut>>>>),
    #[cfg(feature = "zstd")]
    Zstd(Box<Zstd>),
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
        let first = self.last_frame.is_none();
        if first || self.release_after.is_some() {
            self.last_frame = Some(Instant::now());
        }
        let data = match &mut self.kind {
            Kind::Gzip(gzip) => gzip.frame(input, last),
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
            Kind::Zstd(zstd) => zstd.frame(input, last),
        }?;
        // Most streams send one event and then wait: the state goes at once, and comes
        // back if a second frame follows.
        if first && !last && self.release_after.is_some() {
            self.release()?;
        }
        Ok(data)
    }

    /// True while the gzip or zstd state exists.
    fn is_resident(&self) -> bool {
        match &self.kind {
            Kind::Gzip(gzip) => gzip.deflate.is_some(),
            Kind::Brotli(_) => true,
            #[cfg(feature = "zstd")]
            Kind::Zstd(zstd) => zstd.encoder.is_some(),
        }
    }

    /// As [`encode`](Self::encode), for a frame of an idle stream (a keep-alive comment):
    /// a state that was freed is freed again after it, so that the comments of an idle
    /// stream do not keep it.
    pub(crate) fn encode_idle(&mut self, input: &[u8]) -> Result<Bytes, std::io::Error> {
        let resident = self.is_resident() || self.last_frame.is_none();
        let data = self.encode(input, false)?;
        if !resident && self.release_after.is_some() {
            self.release()?;
        }
        Ok(data)
    }

    /// When the state of this encoder is to be freed ([`release`](Self::release)), if it
    /// holds any.
    pub(crate) fn release_due(&self) -> Option<Instant> {
        let idle = self.release_after?;
        if matches!(self.kind, Kind::Brotli(_)) || self.finished || !self.is_resident() {
            return None;
        }
        self.last_frame.map(|at| at + idle)
    }

    /// Frees the compressor's state (gzip: keeps its last window of text; zstd: ends its
    /// frame), to be built again at the next frame; what it still had to write goes
    /// before that frame's bytes.
    pub(crate) fn release(&mut self) -> Result<(), std::io::Error> {
        match &mut self.kind {
            Kind::Gzip(gzip) => gzip.release(),
            Kind::Brotli(_) => Ok(()),
            #[cfg(feature = "zstd")]
            Kind::Zstd(zstd) => zstd.release(),
        }
    }
}

/// gzip: a raw deflate stream between a gzip header and trailer written here. The deflate
/// state is dropped while the stream is idle and built again from the last window of
/// text (deflate's preset dictionary): the client's decoder has that text in its window,
/// so the new state's back-references decode as the old one's would.
struct Gzip {
    config: zlib_rs::DeflateConfig,
    /// The window size (bytes).
    window: usize,
    /// Where the state comes from and goes back to.
    pool: Pool<zlib_rs::Deflate>,
    deflate: Option<Box<zlib_rs::Deflate>>,
    /// The last `window` (up to `2 × window` while the state exists) bytes of text.
    history: Vec<u8>,
    /// CRC-32 and size (mod 2^32) of all the text so far, for the trailer.
    crc: u32,
    size: u32,
    /// The header was written.
    started: bool,
    /// The end of a dropped deflate state's output (the rest of its last block and an
    /// empty stored block, ≤ 6 bytes), to go before the next frame's.
    held: Vec<u8>,
}

/// The gzip header (RFC 1952): deflate, no name or time, OS "unix" as zlib writes it.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];

/// A last, empty deflate block (fixed Huffman codes), starting on a byte boundary.
const DEFLATE_LAST_EMPTY_BLOCK: [u8; 2] = [0x03, 0x00];

impl Gzip {
    fn frame(&mut self, input: &[u8], last: bool) -> Result<Bytes, std::io::Error> {
        let mut out = BytesMut::with_capacity(
            GZIP_HEADER.len() + self.held.len() + input.len() + input.len() / 1024 + 64 + 8,
        );
        if !self.started {
            self.started = true;
            out.extend_from_slice(&GZIP_HEADER);
        }
        out.extend_from_slice(&self.held);
        self.held = Vec::new();
        self.crc = zlib_rs::crc32::crc32(self.crc, input);
        // The trailer's ISIZE is the size modulo 2^32.
        #[allow(clippy::cast_possible_truncation)]
        let len = input.len() as u32;
        self.size = self.size.wrapping_add(len);
        if last && input.is_empty() && self.deflate.is_none() && !out.is_empty() {
            // The state was dropped on a byte boundary: the last block needs none.
            out.extend_from_slice(&DEFLATE_LAST_EMPTY_BLOCK);
        } else {
            let deflate = match &mut self.deflate {
                Some(deflate) => deflate,
                slot @ None => {
                    let mut deflate = match self.pool.take() {
                        Some(mut deflate) => {
                            // Here rather than when it was put back: a stream's first
                            // frame goes out without waiting for it.
                            deflate.reset();
                            deflate
                        }
                        None => Box::new(zlib_rs::Deflate::new_with_config(self.config)),
                    };
                    if !self.history.is_empty() {
                        deflate.set_dictionary(&self.history).map_err(|err| {
                            std::io::Error::other(format!("deflate dictionary: {err:?}"))
                        })?;
                    }
                    slot.insert(deflate)
                }
            };
            let flush = if last {
                zlib_rs::DeflateFlush::Finish
            } else {
                zlib_rs::DeflateFlush::PartialFlush
            };
            deflate_into(deflate, input, flush, &mut out)?;
            if !last {
                self.remember(input);
            }
        }
        if last {
            out.extend_from_slice(&self.crc.to_le_bytes());
            out.extend_from_slice(&self.size.to_le_bytes());
            if let Some(deflate) = self.deflate.take() {
                self.pool.put(deflate);
            }
            self.history = Vec::new();
        }
        Ok(out.freeze())
    }

    /// Keeps the last `window` bytes of text (at most twice that, trimmed in bulk).
    fn remember(&mut self, input: &[u8]) {
        if input.len() >= self.window {
            self.history.clear();
            self.history
                .extend_from_slice(&input[input.len() - self.window..]);
            return;
        }
        if self.history.len() + input.len() > 2 * self.window {
            let keep = self.window - input.len();
            self.history.drain(..self.history.len() - keep);
        }
        self.history.extend_from_slice(input);
    }

    fn release(&mut self) -> Result<(), std::io::Error> {
        let Some(mut deflate) = self.deflate.take() else {
            return Ok(());
        };
        // A sync flush ends the partial flush's last bits on a byte boundary, where the
        // next state's output can start.
        let mut tail = BytesMut::new();
        deflate_into(
            &mut deflate,
            b"",
            zlib_rs::DeflateFlush::SyncFlush,
            &mut tail,
        )?;
        self.held.extend_from_slice(&tail);
        self.pool.put(deflate);
        if self.history.len() > self.window {
            self.history.drain(..self.history.len() - self.window);
        }
        self.history.shrink_to_fit();
        Ok(())
    }
}

impl Drop for Gzip {
    fn drop(&mut self) {
        if let Some(deflate) = self.deflate.take() {
            self.pool.put(deflate);
        }
    }
}

/// Deflates `input` with `flush` and appends the output to `out`.
fn deflate_into(
    deflate: &mut zlib_rs::Deflate,
    input: &[u8],
    flush: zlib_rs::DeflateFlush,
    out: &mut BytesMut,
) -> Result<(), std::io::Error> {
    let last = matches!(flush, zlib_rs::DeflateFlush::Finish);
    let start = out.len();
    // Deflate adds at most 5 bytes per stored 16 KiB block, and the flush a few more.
    out.resize(start + input.len() + input.len() / 1024 + 64, 0);
    let mut written = start;
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
            let grow = (out.len() - start).max(64);
            out.resize(out.len() + grow, 0);
        }
    }
    out.truncate(written);
    Ok(())
}

/// zstd: one frame per busy period. The encoder is dropped while the stream is idle (its
/// frame ended first) and a new one starts the next frame; a client's decoder reads
/// consecutive frames as one stream (RFC 8878 §3.1).
#[cfg(feature = "zstd")]
struct Zstd {
    level: i32,
    window_log: u32,
    /// Where the encoder comes from and goes back to.
    pool: Pool<zstd::stream::raw::Encoder<'static>>,
    encoder: Option<Box<zstd::stream::raw::Encoder<'static>>>,
    /// A frame was started.
    started: bool,
    /// The end of the last frame (its last block), to go before the next frame's bytes.
    held: Vec<u8>,
}

#[cfg(feature = "zstd")]
impl Zstd {
    fn build(&self) -> Result<Box<zstd::stream::raw::Encoder<'static>>, std::io::Error> {
        use zstd::stream::raw::{CParameter, Operation};
        if let Some(mut encoder) = self.pool.take() {
            // A new frame with the same parameters.
            encoder.reinit()?;
            return Ok(encoder);
        }
        let mut encoder = zstd::stream::raw::Encoder::new(self.level)?;
        encoder.set_parameter(CParameter::WindowLog(self.window_log))?;
        // Small match-finder tables: events are short and repeat recent ones, so 4 Ki
        // entries find the matches that count (the level's defaults, sized for an unknown
        // input, would hold 256 KiB per stream).
        encoder.set_parameter(CParameter::HashLog(self.window_log.min(13) - 1))?;
        encoder.set_parameter(CParameter::ChainLog(self.window_log.min(13) - 1))?;
        Ok(Box::new(encoder))
    }

    fn frame(&mut self, input: &[u8], last: bool) -> Result<Bytes, std::io::Error> {
        let held = std::mem::take(&mut self.held);
        if last && input.is_empty() && self.encoder.is_none() && self.started {
            // The last frame was ended when its encoder was dropped.
            return Ok(Bytes::from(held));
        }
        if self.encoder.is_none() {
            self.encoder = Some(self.build()?);
        }
        let Some(encoder) = self.encoder.as_mut() else {
            return Ok(Bytes::from(held));
        };
        self.started = true;
        let data = zstd_frame(encoder, input, last)?;
        if last {
            if let Some(encoder) = self.encoder.take() {
                self.pool.put(encoder);
            }
        }
        if held.is_empty() {
            return Ok(data);
        }
        let mut out = BytesMut::with_capacity(held.len() + data.len());
        out.extend_from_slice(&held);
        out.extend_from_slice(&data);
        Ok(out.freeze())
    }

    fn release(&mut self) -> Result<(), std::io::Error> {
        let Some(mut encoder) = self.encoder.take() else {
            return Ok(());
        };
        let end = zstd_frame(&mut encoder, b"", true)?;
        self.held.extend_from_slice(&end);
        self.pool.put(encoder);
        Ok(())
    }
}

#[cfg(feature = "zstd")]
impl Drop for Zstd {
    fn drop(&mut self) {
        if let Some(encoder) = self.encoder.take() {
            self.pool.put(encoder);
        }
    }
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
    fn a_released_state_continues_the_same_stream() {
        for coding in codings() {
            let mut kept = Compression::new()
                .release_after(None)
                .encoder(coding)
                .expect("encoder");
            let mut released = Compression::new().encoder(coding).expect("encoder");
            let mut decoder = Decoder::new(coding.as_str()).expect("a decoder");
            let (mut kept_bytes, mut released_bytes) = (0, 0);
            for (i, event) in events(200).iter().enumerate() {
                kept_bytes += kept.encode(event.as_bytes(), false).expect("encode").len();
                if i % 10 == 5 {
                    released.release().expect("release");
                    assert!(released.release_due().is_none(), "{coding:?}");
                    let ping = released.encode_idle(b": ping\n\n").expect("idle frame");
                    assert_eq!(decoder.feed(&ping).expect("decodes"), b": ping\n\n");
                    released_bytes += ping.len();
                }
                let frame = released.encode(event.as_bytes(), false).expect("encode");
                released_bytes += frame.len();
                assert_eq!(
                    decoder.feed(&frame).expect("decodes"),
                    event.as_bytes(),
                    "{coding:?}: event {i} after a release"
                );
            }
            released.release().expect("release");
            let last = released.encode(b"", true).expect("finish");
            assert!(
                decoder.feed(&last).expect("decodes").is_empty(),
                "{coding:?}"
            );
            if coding == Coding::Gzip {
                // The window survives a release: only the empty blocks and the comments
                // differ (about 6 + 7 bytes a release).
                assert!(
                    released_bytes < kept_bytes + 20 * 16,
                    "{released_bytes} vs {kept_bytes}"
                );
            }
        }
    }

    #[test]
    fn a_gzip_stream_with_releases_is_one_valid_gzip_member() {
        let mut encoder = Compression::new().encoder(Coding::Gzip).expect("encoder");
        let mut wire = Vec::new();
        let mut text = Vec::new();
        for (i, event) in events(30).iter().enumerate() {
            wire.extend_from_slice(&encoder.encode(event.as_bytes(), false).expect("encode"));
            text.extend_from_slice(event.as_bytes());
            if i % 7 == 3 {
                encoder.release().expect("release");
            }
        }
        encoder.release().expect("release");
        wire.extend_from_slice(&encoder.encode(b"", true).expect("finish"));
        // A one-shot decode checks the trailer's CRC-32 and length too.
        let mut out = vec![0u8; text.len() + 16];
        let (got, status) = zlib_rs::decompress_slice(
            &mut out,
            &wire,
            zlib_rs::InflateConfig {
                window_bits: 16 + 15,
            },
        );
        assert_eq!(status, zlib_rs::ReturnCode::Ok, "{status:?}");
        assert_eq!(got, &text[..]);
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
