//! The targets, each met or not, read from a run's record (never asserted in tests: the
//! machine is shared and noisy). Issue #25's first, then the earlier issues' (#7, #15)
//! that still hold. A target whose rows the run did not measure says "not measured".

use std::fmt::Write as _;

use crate::record::Record;
use crate::shared::thousands;

/// The server every target is about.
const OURS: &str = "ours";
const AXUM: &str = "axum";
const RAW_HYPER: &str = "raw hyper";
const FASTAPI: &str = "FastAPI";

/// What one target came to.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Met, with the figures that show it.
    Met(String),
    NotMet(String),
    NotMeasured,
}

/// One target and its outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub text: String,
    pub outcome: Outcome,
}

impl Target {
    fn new(text: impl Into<String>, outcome: Outcome) -> Self {
        Self {
            text: text.into(),
            outcome,
        }
    }
}

/// `value` against `limit` (`value <= limit`, or `>=` when `at_least`), shown as `shown`.
fn check(value: f64, limit: f64, at_least: bool, shown: String) -> Outcome {
    let met = if at_least {
        value >= limit
    } else {
        value <= limit
    };
    if met {
        Outcome::Met(shown)
    } else {
        Outcome::NotMet(shown)
    }
}

/// ours / `other` of one row, against `limit`: "0.95× raw hyper (17.5 / 18.4 ms)".
fn ratio_target(
    record: &Record,
    (scenario, size, variant, metric): (&str, Option<usize>, Option<&str>, &str),
    other: &str,
    limit: f64,
    at_least: bool,
) -> Outcome {
    let (Some(ours), Some(theirs)) = (
        record.find(scenario, size, variant, metric, OURS),
        record.find(scenario, size, variant, metric, other),
    ) else {
        return Outcome::NotMeasured;
    };
    if theirs.median == 0.0 {
        return Outcome::NotMeasured;
    }
    let ratio = ours.median / theirs.median;
    check(
        ratio,
        limit,
        at_least,
        format!(
            "{ratio:.2}× {other} ({} / {} {})",
            short(ours.median),
            short(theirs.median),
            ours.unit
        ),
    )
}

fn short(v: f64) -> String {
    if v.abs() >= 100.0 {
        rounded(v)
    } else {
        format!("{v:.1}")
    }
}

/// `v` (not negative) rounded, with thousands separators.
fn rounded(v: f64) -> String {
    thousands(v.max(0.0).round() as usize)
}

/// "1,000": a size as the report writes it.
fn size(n: usize) -> String {
    thousands(n)
}

/// The HTTP/1.1 fan-out sizes issue #25 names.
pub const FANOUT_SIZES: [usize; 3] = [1_000, 10_000, 19_000];

/// Issue #25's targets.
pub fn issue_25(record: &Record) -> Vec<Target> {
    let mut targets = Vec::new();
    for n in FANOUT_SIZES {
        let at = Some(n);
        targets.push(Target::new(
            format!(
                "HTTP/1.1 fan-out to {}: server CPU per delivery ≤ raw hyper's",
                size(n)
            ),
            ratio_target(
                record,
                ("fanout", at, None, "server_cpu_per_delivery"),
                RAW_HYPER,
                1.0,
                false,
            ),
        ));
        targets.push(Target::new(
            format!("HTTP/1.1 fan-out to {}: p99 ≤ 0.9× axum", size(n)),
            ratio_target(record, ("fanout", at, None, "p99"), AXUM, 0.9, false),
        ));
        targets.push(Target::new(
            format!("HTTP/1.1 fan-out to {}: p99 ≤ raw hyper", size(n)),
            ratio_target(record, ("fanout", at, None, "p99"), RAW_HYPER, 1.0, false),
        ));
    }

    // Memory per idle stream, at every size measured with both servers.
    let mut memory =
        |scenario: &str, what: &str, other: &str, rule: &dyn Fn(f64, f64) -> (bool, String)| {
            let mut any = false;
            for n in record.sizes(scenario) {
                let ours = record.find(scenario, Some(n), None, "rss_per_stream", OURS);
                let theirs = record.find(scenario, Some(n), None, "rss_per_stream", other);
                if let (Some(ours), Some(theirs)) = (ours, theirs) {
                    any = true;
                    let (met, shown) = rule(ours.median, theirs.median);
                    targets.push(Target::new(
                        format!("{} at {}", what, size(n)),
                        if met {
                            Outcome::Met(shown)
                        } else {
                            Outcome::NotMet(shown)
                        },
                    ));
                }
            }
            if !any {
                targets.push(Target::new(what.to_owned(), Outcome::NotMeasured));
            }
        };
    memory(
        "streams",
        "memory per idle HTTP/1.1 stream ≤ raw hyper + 0.5 KiB",
        RAW_HYPER,
        &|ours, theirs| {
            (
                ours <= theirs + 0.5,
                format!("{:+.2} KiB ({ours:.1} / {theirs:.1} KiB)", ours - theirs),
            )
        },
    );
    memory(
        "streams-h2",
        "memory per idle h2c stream ≤ axum's",
        AXUM,
        &|ours, theirs| {
            (
                ours <= theirs,
                format!("{:.2}× axum ({ours:.1} / {theirs:.1} KiB)", ours / theirs),
            )
        },
    );

    // Compressed streams: gzip against identity.
    let gzip = |metric: &str| record.median("compression", None, Some("gzip"), metric, OURS);
    let identity =
        |metric: &str| record.median("compression", None, Some("identity"), metric, OURS);
    targets.push(Target::new(
        "idle gzip stream ≤ 24 KiB",
        gzip("rss_per_idle_stream").map_or(Outcome::NotMeasured, |kib| {
            check(kib, 24.0, false, format!("{kib:.1} KiB"))
        }),
    ));
    for payload in ["stocks", "tokens"] {
        let metric = format!("{payload}_bytes_per_event");
        targets.push(Target::new(
            format!("gzip: ≥ 5× fewer bytes, {payload}"),
            match (identity(&metric), gzip(&metric)) {
                (Some(plain), Some(packed)) if packed > 0.0 => check(
                    plain / packed,
                    5.0,
                    true,
                    format!("{:.1}× ({plain:.1} → {packed:.1} B/event)", plain / packed),
                ),
                _ => Outcome::NotMeasured,
            },
        ));
    }
    targets.push(Target::new(
        "gzip: first event ≤ 1.1× identity",
        match (identity("ttfe_p50"), gzip("ttfe_p50")) {
            (Some(plain), Some(packed)) if plain > 0.0 => check(
                packed / plain,
                1.1,
                false,
                format!("{:.2}× ({packed:.3} / {plain:.3} ms)", packed / plain),
            ),
            _ => Outcome::NotMeasured,
        },
    ));
    targets.push(Target::new(
        "throughput, 1 stream ≥ 0.8× raw hyper",
        ratio_target(
            record,
            ("throughput", None, None, "events_per_s"),
            RAW_HYPER,
            0.8,
            true,
        ),
    ));
    targets
}

/// The earlier issues' targets (#7, #15) that #25 did not replace.
pub fn earlier(record: &Record) -> Vec<Target> {
    let mut targets = vec![
        Target::new(
            "throughput ≥ 1.2× axum",
            ratio_target(
                record,
                ("throughput", None, None, "events_per_s"),
                AXUM,
                1.2,
                true,
            ),
        ),
        Target::new(
            "throughput ≥ 20× FastAPI",
            ratio_target(
                record,
                ("throughput", None, None, "events_per_s"),
                FASTAPI,
                20.0,
                true,
            ),
        ),
    ];
    let big = record.sizes("streams").last().copied();
    targets.push(Target::new(
        format!(
            "≤ 8 KiB server RSS per idle stream{}",
            big.map(|n| format!(" at {}", size(n))).unwrap_or_default()
        ),
        big.and_then(|n| record.median("streams", Some(n), None, "rss_per_stream", OURS))
            .map_or(Outcome::NotMeasured, |kib| {
                check(kib, 8.0, false, format!("{kib:.1} KiB"))
            }),
    ));
    targets.push(Target::new(
        "idle-stream RSS no worse than axum",
        ratio_target(
            record,
            ("streams", big, None, "rss_per_stream"),
            AXUM,
            1.0,
            false,
        ),
    ));
    targets.push(Target::new(
        "time to first event p50 within 1.1× raw hyper",
        ratio_target(record, ("ttfe", None, None, "p50"), RAW_HYPER, 1.1, false),
    ));
    for (n, limit) in [(10_000, 50.0), (100_000, 500.0)] {
        for (scenario, over) in [("fanout", ""), ("fanout-h2", " over h2c")] {
            let Some(p99) = record.median(scenario, Some(n), None, "p99", OURS) else {
                continue;
            };
            let fan = format!("{}{over}", size(n));
            targets.push(Target::new(
                format!("fan-out to {fan}: p99 ≤ {limit} ms"),
                check(p99, limit, false, format!("{p99:.1} ms")),
            ));
            targets.push(Target::new(
                format!("fan-out to {fan}: p99 ≤ 0.9× axum"),
                ratio_target(record, (scenario, Some(n), None, "p99"), AXUM, 0.9, false),
            ));
            targets.push(Target::new(
                format!("fan-out to {fan}: p99 ≤ raw hyper"),
                ratio_target(
                    record,
                    (scenario, Some(n), None, "p99"),
                    RAW_HYPER,
                    1.0,
                    false,
                ),
            ));
        }
    }
    targets
}

/// One markdown line per target.
fn lines(out: &mut String, targets: &[Target]) {
    for target in targets {
        let verdict = match &target.outcome {
            Outcome::Met(shown) => format!("met: {shown}"),
            Outcome::NotMet(shown) => format!("**NOT met**: {shown}"),
            Outcome::NotMeasured => "not measured".to_owned(),
        };
        let _ = writeln!(out, "- {}: {verdict}", target.text);
    }
}

/// The targets section of the report.
pub fn render(record: &Record) -> String {
    let mut out = String::new();
    let current = issue_25(record);
    let count =
        |outcome: fn(&Outcome) -> bool| current.iter().filter(|t| outcome(&t.outcome)).count();
    let _ = writeln!(out, "\n## Targets (issue #25)\n");
    lines(&mut out, &current);
    let _ = writeln!(
        out,
        "\n{} met, {} not met, {} not measured. Ratios are ours / the other, of the medians. \
         \"Hold\" (the rows that meet their targets stay within noise over two runs): \
         `--compare` an earlier run's record.",
        count(|o| matches!(o, Outcome::Met(_))),
        count(|o| matches!(o, Outcome::NotMet(_))),
        count(|o| matches!(o, Outcome::NotMeasured)),
    );
    let _ = writeln!(out, "\n### Earlier targets (issues #7, #15)\n");
    lines(&mut out, &earlier(record));
    out
}
