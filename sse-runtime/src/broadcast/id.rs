//! [`EventId`]: the id of a published event, `<milliseconds>-<sequence>`.

use std::fmt;
use std::str::FromStr;

/// The id of a published event: `<milliseconds>-<sequence>`, e.g. `1732460000123-0`.
///
/// The same format as Redis stream ids, for both backends. Ids compare as the pair
/// (milliseconds, sequence) and increase within a topic.
///
/// ```
/// use sse_runtime::broadcast::EventId;
///
/// let id: EventId = "1732460000123-4".parse().unwrap();
/// assert_eq!((id.millis(), id.seq()), (1732460000123, 4));
/// assert_eq!(id.to_string(), "1732460000123-4");
/// assert!(id < "1732460000124-0".parse().unwrap());
/// assert!("42".parse::<EventId>().is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId {
    ms: u64,
    seq: u64,
}

impl EventId {
    /// `0-0`, below every real id.
    pub const ZERO: EventId = EventId { ms: 0, seq: 0 };

    /// An id from its two parts.
    pub const fn new(millis: u64, seq: u64) -> Self {
        Self { ms: millis, seq }
    }

    /// The milliseconds part (Unix time of the publish).
    pub const fn millis(self) -> u64 {
        self.ms
    }

    /// The sequence within the millisecond.
    pub const fn seq(self) -> u64 {
        self.seq
    }

    /// The id that follows `self` at wall-clock time `now_ms`.
    pub(crate) fn next_at(self, now_ms: u64) -> Self {
        if now_ms > self.ms {
            Self { ms: now_ms, seq: 0 }
        } else {
            Self {
                ms: self.ms,
                seq: self.seq.saturating_add(1),
            }
        }
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// A string that is not an [`EventId`] (`<digits>-<digits>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseEventIdError(());

impl fmt::Display for ParseEventIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event id is `<milliseconds>-<sequence>`, both decimal integers")
    }
}

impl std::error::Error for ParseEventIdError {}

impl FromStr for EventId {
    type Err = ParseEventIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (ms, seq) = s.split_once('-').ok_or(ParseEventIdError(()))?;
        let part = |p: &str| {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ParseEventIdError(()));
            }
            p.parse::<u64>().map_err(|_| ParseEventIdError(()))
        };
        Ok(Self {
            ms: part(ms)?,
            seq: part(seq)?,
        })
    }
}
