//! The comparison of two records (issue #25, `--compare OLD.json [NEW.json]`): each row's
//! old and new median, their ratio, and whether the change is beyond the run-to-run spread.
//!
//! A row changed when both hold:
//! - the repetitions do not overlap: the new run's range (its smallest to its largest
//!   repetition) lies wholly above or wholly below the old run's range, and
//! - the medians differ by more than the noise floor (`--noise PCT`, default 5 %), so that
//!   rows measured once (`--quick`, `--rounds 1`, the compression's rows), whose ranges are
//!   single points, are not all called changed.
//!
//! A changed row is "better" or "worse" by the row's direction (events/s up is better,
//! milliseconds and KiB down are better); any other row is "within spread".

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::record::{Record, Row};
use crate::shared::thousands;

/// The default noise floor, percent.
pub const DEFAULT_NOISE_PERCENT: f64 = 5.0;

/// What happened to one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Better,
    Worse,
    Within,
    /// Measured in the old run only.
    Gone,
    /// Measured in the new run only.
    New,
}

impl Verdict {
    pub fn text(self) -> &'static str {
        match self {
            Verdict::Better => "**better**",
            Verdict::Worse => "**WORSE**",
            Verdict::Within => "within spread",
            Verdict::Gone => "old run only",
            Verdict::New => "new run only",
        }
    }
}

/// One row of the comparison.
#[derive(Clone, Debug)]
pub struct Change<'a> {
    pub old: Option<&'a Row>,
    pub new: Option<&'a Row>,
    pub verdict: Verdict,
}

impl Change<'_> {
    /// new / old of the medians, if both were measured and old is not 0.
    pub fn ratio(&self) -> Option<f64> {
        let (old, new) = (self.old?, self.new?);
        (old.median != 0.0).then(|| new.median / old.median)
    }

    fn row(&self) -> &Row {
        self.new.or(self.old).expect("a change has a row")
    }
}

/// The verdict on `old` → `new` with a noise floor of `noise` (a fraction: 0.05 is 5 %).
pub fn judge(old: &Row, new: &Row, noise: f64) -> Verdict {
    let (old_lo, old_hi) = old.range();
    let (new_lo, new_hi) = new.range();
    let up = new_lo > old_hi;
    let down = new_hi < old_lo;
    let relative = if old.median == 0.0 {
        if new.median == 0.0 {
            0.0
        } else {
            f64::INFINITY
        }
    } else {
        ((new.median - old.median) / old.median).abs()
    };
    if !(up || down) || relative <= noise {
        return Verdict::Within;
    }
    if up == new.higher_is_better {
        Verdict::Better
    } else {
        Verdict::Worse
    }
}

/// Every row of either record, matched by `Row::key`, in the new record's order (then the
/// old record's rows it lacks).
pub fn compare<'a>(old: &'a Record, new: &'a Record, noise: f64) -> Vec<Change<'a>> {
    let old_rows: BTreeMap<String, &Row> = old.rows.iter().map(|r| (r.key(), r)).collect();
    let mut seen = std::collections::BTreeSet::new();
    let mut changes = Vec::new();
    for row in &new.rows {
        let key = row.key();
        let before = old_rows.get(&key).copied();
        seen.insert(key);
        changes.push(Change {
            old: before,
            new: Some(row),
            verdict: before.map_or(Verdict::New, |before| judge(before, row, noise)),
        });
    }
    for row in &old.rows {
        if !seen.contains(&row.key()) {
            changes.push(Change {
                old: Some(row),
                new: None,
                verdict: Verdict::Gone,
            });
        }
    }
    changes
}

fn describe(record: &Record) -> String {
    let commit = match (&record.git_commit, record.git_dirty) {
        (Some(commit), Some(true)) => format!("{} + changes", short(commit)),
        (Some(commit), _) => short(commit).to_owned(),
        (None, _) => "no commit".to_owned(),
    };
    format!(
        "{}, {commit}, {} round(s) ({} for fan-outs){}, `{}`",
        record.date,
        record.rounds,
        record.fanout_rounds,
        if record.quick { ", quick" } else { "" },
        record.command
    )
}

fn short(commit: &str) -> &str {
    commit.get(..10).unwrap_or(commit)
}

fn values(row: &Row) -> String {
    let shown: Vec<String> = row.values.iter().map(|v| number(*v)).collect();
    if shown.len() == 1 {
        shown.join("")
    } else {
        format!("{} ({})", number(row.median), shown.join("; "))
    }
}

/// A number with about four significant digits.
fn number(v: f64) -> String {
    let a = v.abs();
    if a >= 1_000.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        format!("{sign}{}", thousands(a.round() as usize))
    } else if a == 0.0 {
        "0".to_owned()
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// The comparison as a markdown section.
pub fn render(old: &Record, new: &Record, noise: f64) -> String {
    let changes = compare(old, new, noise);
    let mut out = String::new();
    let _ = writeln!(out, "\n## Compared with an earlier run\n");
    let _ = writeln!(out, "- old: {}", describe(old));
    let _ = writeln!(out, "- new: {}", describe(new));
    if old.machine != new.machine {
        let _ = writeln!(
            out,
            "- NOTICE: different machines: {} / {}",
            old.machine.description, new.machine.description
        );
    }
    let _ = writeln!(
        out,
        "\nA row changed when the new run's repetitions lie wholly above or below the old \
         run's (min..max) and the medians differ by more than {:.0} % (`--noise`). \
         Values: median (each repetition).\n",
        noise * 100.0
    );
    let _ = writeln!(out, "| row | server | old | new | new / old | verdict |");
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for change in &changes {
        let row = change.row();
        let ratio = change.ratio().map_or_else(
            || "—".to_owned(),
            |r| format!("{r:.2}× ({:+.1} %)", (r - 1.0) * 100.0),
        );
        let arrow = if row.higher_is_better { "↑" } else { "↓" };
        let label = match &row.variant {
            Some(variant) => format!("{}: {}", variant, row.label),
            None => row.label.clone(),
        };
        let _ = writeln!(
            out,
            "| {label} {arrow} | {} | {} | {} | {ratio} | {} |",
            row.server,
            change.old.map_or_else(|| "—".to_owned(), values),
            change.new.map_or_else(|| "—".to_owned(), values),
            change.verdict.text()
        );
    }
    let count = |verdict| changes.iter().filter(|c| c.verdict == verdict).count();
    let _ = writeln!(
        out,
        "\n{} better, {} worse, {} within spread, {} in the old run only, {} in the new run only.",
        count(Verdict::Better),
        count(Verdict::Worse),
        count(Verdict::Within),
        count(Verdict::Gone),
        count(Verdict::New),
    );
    out
}
