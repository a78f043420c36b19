//! The record of one run (issue #25): every row the bench measured, each repetition's
//! value and their median, with what the run was (machine, date, git commit, command line),
//! as JSON (`--json PATH`). The comparison (`compare.rs`), the targets (`targets.rs`) and
//! the charts (`charts.rs`) read it; it reads nothing of theirs.
//!
//! A row is named by its scenario (the `--scenarios` key: `throughput`, `streams`,
//! `fanout-h2`, `compression`, ...), its size (subscribers or streams, if the scenario has
//! sizes), its variant (the compression's coding, if any), its metric (`p99`,
//! `rss_per_stream`, `server_cpu_per_delivery`, ...) and its server (`ours`, `raw hyper`,
//! ...): `Row::key` joins them, and two records are compared row by row on that key.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::shared::median;

/// The version of the record's layout, `format` in the JSON.
pub const FORMAT: u32 = 1;

/// One run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// `FORMAT` when written.
    pub format: u32,
    /// When the run ended, UTC, RFC 3339 (`2026-12-07T19:30:00Z`).
    pub date: String,
    /// `git rev-parse HEAD` of the bench's checkout, if git answered.
    pub git_commit: Option<String>,
    /// Whether the checkout had uncommitted changes (`git status --porcelain`), if git
    /// answered.
    pub git_dirty: Option<bool>,
    /// The bench's own arguments (after `--`) and the environment variables that size it.
    pub command: String,
    pub machine: Machine,
    /// Which CPUs the servers and the load generator ran on.
    pub pinning: String,
    pub quick: bool,
    pub rounds: usize,
    pub fanout_rounds: usize,
    pub rows: Vec<Row>,
    /// Measurements that failed (`scenario / server: error`).
    pub failures: Vec<String>,
}

/// The machine a record was measured on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// Available cores (`std::thread::available_parallelism`).
    pub cores: usize,
    /// CPU model, cores, memory and kernel, as the markdown report's "Run" section says.
    pub description: String,
}

/// One measured row: one metric of one scenario (and size) on one server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub scenario: String,
    /// Subscribers or streams, for the scenarios that have sizes.
    pub size: Option<usize>,
    /// The compression's coding (`identity`, `gzip`, `br`, `zstd`).
    pub variant: Option<String>,
    pub metric: String,
    pub server: String,
    /// The markdown table's label.
    pub label: String,
    pub unit: String,
    pub higher_is_better: bool,
    /// One value per repetition (round), in the order measured; finite.
    pub values: Vec<f64>,
    pub median: f64,
}

impl Row {
    /// A row of `values` (its non-finite ones left out); `None` if none is left.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        scenario: &str,
        size: Option<usize>,
        variant: Option<&str>,
        metric: &str,
        server: &str,
        label: &str,
        unit: &str,
        higher_is_better: bool,
        values: &[f64],
    ) -> Option<Self> {
        let values: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        if values.is_empty() {
            return None;
        }
        Some(Self {
            scenario: scenario.to_owned(),
            size,
            variant: variant.map(str::to_owned),
            metric: metric.to_owned(),
            server: server.to_owned(),
            label: label.to_owned(),
            unit: unit.to_owned(),
            higher_is_better,
            median: median(&values),
            values,
        })
    }

    /// `scenario[/size][/variant]/metric @ server`: the row's identity across records.
    pub fn key(&self) -> String {
        let mut key = self.scenario.clone();
        if let Some(size) = self.size {
            key.push_str(&format!("/{size}"));
        }
        if let Some(variant) = &self.variant {
            key.push('/');
            key.push_str(variant);
        }
        format!("{key}/{} @ {}", self.metric, self.server)
    }

    /// The smallest and largest repetition.
    pub fn range(&self) -> (f64, f64) {
        self.values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(*v), hi.max(*v))
            })
    }
}

impl Record {
    /// The row `scenario`/`size`/`variant`/`metric` of `server`, if measured.
    pub fn find(
        &self,
        scenario: &str,
        size: Option<usize>,
        variant: Option<&str>,
        metric: &str,
        server: &str,
    ) -> Option<&Row> {
        self.rows.iter().find(|row| {
            row.scenario == scenario
                && row.size == size
                && row.variant.as_deref() == variant
                && row.metric == metric
                && row.server == server
        })
    }

    /// The median of that row, if measured.
    pub fn median(
        &self,
        scenario: &str,
        size: Option<usize>,
        variant: Option<&str>,
        metric: &str,
        server: &str,
    ) -> Option<f64> {
        self.find(scenario, size, variant, metric, server)
            .map(|row| row.median)
    }

    /// The sizes measured in `scenario`, smallest first.
    pub fn sizes(&self, scenario: &str) -> Vec<usize> {
        let mut sizes: Vec<usize> = self
            .rows
            .iter()
            .filter(|row| row.scenario == scenario)
            .filter_map(|row| row.size)
            .collect();
        sizes.sort_unstable();
        sizes.dedup();
        sizes
    }

    /// The servers that have rows, in the order they first appear.
    pub fn servers(&self) -> Vec<String> {
        let mut servers: Vec<String> = Vec::new();
        for row in &self.rows {
            if !servers.contains(&row.server) {
                servers.push(row.server.clone());
            }
        }
        servers
    }

    pub fn to_json(&self) -> String {
        // A record holds only strings, numbers (finite: `Row::new`) and lists.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<Self, String> {
        let record: Self = serde_json::from_str(text).map_err(|err| err.to_string())?;
        if record.format != FORMAT {
            return Err(format!(
                "record format {}, this bench reads {FORMAT}",
                record.format
            ));
        }
        Ok(record)
    }

    pub fn save(&self, path: &Path) -> Result<(), String> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|err| format!("{}: {err}", dir.display()))?;
        }
        std::fs::write(path, self.to_json() + "\n")
            .map_err(|err| format!("{}: {err}", path.display()))
    }

    pub fn load(path: &Path) -> Result<Self, String> {
        let text =
            std::fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))?;
        Self::from_json(&text).map_err(|err| format!("{}: {err}", path.display()))
    }
}

/// `HEAD`'s commit of the git checkout at `dir` and whether it has uncommitted changes;
/// `(None, None)` without git or outside a checkout.
pub fn git_state(dir: &Path) -> (Option<String>, Option<bool>) {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let commit = git(&["rev-parse", "HEAD"]);
    let dirty = commit
        .as_ref()
        .and_then(|_| git(&["status", "--porcelain", "--untracked-files=no"]))
        .map(|status| !status.is_empty());
    (commit, dirty)
}

/// Now, UTC, RFC 3339 to the second.
pub fn now_utc() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc(secs)
}

/// `secs` since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian calendar).
pub fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let time = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        time / 3_600,
        time / 60 % 60,
        time % 60
    )
}
