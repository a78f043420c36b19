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
        format!("{} ({})", number(row.median), shown.join(", "))
    }
}

/// A number with about four significant digits.
fn number(v: f64) -> String {
    let a = v.abs();
    if a >= 1_000.0 || a == 0.0 {
        format!("{v:.0}")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests::record;

    fn row(values: &[f64], higher_is_better: bool) -> Row {
        Row::new(
            "s",
            None,
            None,
            "m",
            "ours",
            "l",
            "ms",
            higher_is_better,
            values,
        )
        .expect("row")
    }

    #[test]
    fn overlapping_repetitions_are_within_spread() {
        let old = row(&[10.0, 12.0, 14.0], false);
        let new = row(&[13.0, 15.0, 16.0], false);
        assert_eq!(judge(&old, &new, 0.05), Verdict::Within);
    }

    #[test]
    fn separate_repetitions_beyond_the_noise_floor_are_a_change_with_a_direction() {
        let old = row(&[10.0, 11.0, 12.0], false);
        let slower = row(&[13.0, 14.0, 15.0], false);
        let faster = row(&[7.0, 8.0, 9.0], false);
        assert_eq!(judge(&old, &slower, 0.05), Verdict::Worse);
        assert_eq!(judge(&old, &faster, 0.05), Verdict::Better);
        // Higher is better: the same numbers read the other way.
        let old = row(&[10.0, 11.0, 12.0], true);
        assert_eq!(
            judge(&old, &row(&[13.0, 14.0], true), 0.05),
            Verdict::Better
        );
        assert_eq!(judge(&old, &row(&[7.0, 8.0], true), 0.05), Verdict::Worse);
    }

    #[test]
    fn single_repetitions_are_judged_by_the_noise_floor() {
        let old = row(&[100.0], false);
        assert_eq!(judge(&old, &row(&[104.0], false), 0.05), Verdict::Within);
        assert_eq!(judge(&old, &row(&[106.0], false), 0.05), Verdict::Worse);
        assert_eq!(judge(&old, &row(&[106.0], false), 0.10), Verdict::Within);
        assert_eq!(
            judge(&row(&[0.0], false), &row(&[0.0], false), 0.05),
            Verdict::Within
        );
        assert_eq!(
            judge(&row(&[0.0], false), &row(&[1.0], false), 0.05),
            Verdict::Worse
        );
    }

    #[test]
    fn rows_are_matched_by_key_and_missing_ones_are_named() {
        let old = record(&[
            ("fanout", Some(1_000), "p99", "ours", &[20.0, 21.0]),
            ("fanout", Some(1_000), "p99", "axum", &[20.0]),
            ("throughput", None, "events_per_s", "ours", &[1.0e6, 1.1e6]),
        ]);
        let new = record(&[
            ("throughput", None, "events_per_s", "ours", &[2.0e6, 2.1e6]),
            ("fanout", Some(1_000), "p99", "ours", &[20.5, 22.0]),
            ("fanout", Some(10_000), "p99", "ours", &[200.0]),
        ]);
        let changes = compare(&old, &new, 0.05);
        let summary: Vec<(String, Verdict)> =
            changes.iter().map(|c| (c.row().key(), c.verdict)).collect();
        assert_eq!(
            summary,
            vec![
                ("throughput/events_per_s @ ours".to_owned(), Verdict::Better),
                ("fanout/1000/p99 @ ours".to_owned(), Verdict::Within),
                ("fanout/10000/p99 @ ours".to_owned(), Verdict::New),
                ("fanout/1000/p99 @ axum".to_owned(), Verdict::Gone),
            ]
        );
        assert_eq!(changes[0].ratio(), Some(2.05e6 / 1.05e6));
        let text = render(&old, &new, 0.05);
        assert!(
            text.contains(
                "1 better, 0 worse, 1 within spread, 1 in the old run only, 1 in the new run only"
            ),
            "{text}"
        );
        assert!(text.contains("| events_per_s ↑ | ours | 1050000 (1000000, 1100000) | 2050000 (2000000, 2100000) | 1.95× (+95.2 %) | **better** |"), "{text}");
    }
}
