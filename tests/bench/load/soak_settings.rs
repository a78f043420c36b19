//! The soak's settings, read from its environment variables (`SOAK_*`; see `soak.rs`).

use std::time::Duration;

use crate::shared::thousands;

pub(crate) struct Settings {
    pub(crate) streams: usize,
    /// Streams per h2c connection; 0: one HTTP/1.1 connection per stream.
    pub(crate) h2_per_connection: usize,
    pub(crate) hold: Duration,
    /// Seconds between two events of a stream.
    pub(crate) interval: u64,
    /// Source addresses 127.0.0.1 ..= 127.0.0.<sources>.
    pub(crate) sources: usize,
    pub(crate) sample_every: Duration,
    pub(crate) open_concurrency: usize,
    pub(crate) pin: bool,
    pub(crate) out: std::path::PathBuf,
}

pub(crate) fn env_number(name: &str) -> Result<Option<u64>, String> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .map(Some)
            .ok_or(format!("{name} must be a positive number, not {v:?}")),
        _ => Ok(None),
    }
}

/// `SOAK_H2_STREAMS_PER_CONNECTION`: 0 (the default) or a positive number.
pub(crate) fn h2_streams_per_connection() -> Result<usize, String> {
    const NAME: &str = "SOAK_H2_STREAMS_PER_CONNECTION";
    if std::env::var(NAME).is_ok_and(|v| v.trim() == "0") {
        return Ok(0);
    }
    let n = env_number(NAME)?.unwrap_or(0);
    usize::try_from(n).map_err(|e| format!("{NAME}: {e}"))
}

impl Settings {
    /// Client sockets: one per stream, or one per h2c connection.
    pub(crate) fn connections(&self) -> usize {
        match self.h2_per_connection {
            0 => self.streams,
            per => self.streams.div_ceil(per),
        }
    }

    /// The connections, for the report.
    pub(crate) fn transport(&self) -> String {
        match self.h2_per_connection {
            0 => format!(
                "one HTTP/1.1 connection each: {} connections",
                thousands(self.streams)
            ),
            per => format!(
                "{per} per h2c connection: {} connections",
                thousands(self.connections())
            ),
        }
    }

    pub(crate) fn parse(args: &[String]) -> Result<Self, String> {
        let secs = env_number("SOAK_SECS")?.unwrap_or(600);
        let streams = env_number("SOAK_STREAMS")?.unwrap_or(10_000);
        let sample = env_number("SOAK_SAMPLE_SECS")?.unwrap_or(if secs >= 360 {
            60
        } else {
            secs.div_ceil(6)
        });
        let sources = env_number("SOAK_SOURCES")?.unwrap_or(streams.div_ceil(20_000));
        let mut settings = Settings {
            streams: usize::try_from(streams).map_err(|e| e.to_string())?,
            h2_per_connection: h2_streams_per_connection()?,
            hold: Duration::from_secs(secs),
            interval: env_number("SOAK_INTERVAL_SECS")?.unwrap_or(1),
            sources: usize::try_from(sources.clamp(1, 250)).map_err(|e| e.to_string())?,
            sample_every: Duration::from_secs(sample),
            open_concurrency: 256,
            pin: true,
            out: std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-soak.md"),
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "soak" | "--bench" => {}
                "--no-pin" => settings.pin = false,
                "--out" => settings.out = args.next().ok_or("--out needs a file")?.into(),
                other => return Err(format!("soak: unknown option {other:?}")),
            }
        }
        Ok(settings)
    }
}
