//! The load bench's pure parts, tested without running it (issue #25): the run's record and
//! its JSON (`load/record.rs`), the comparison of two records (`load/compare.rs`), the
//! targets read from a record (`load/targets.rs`) and the charts drawn from one
//! (`load/charts.rs`). The bench binary (`harness = false`) has no test harness of its own:
//! these modules are compiled here a second time, as modules of this test crate.

#[allow(dead_code)]
#[path = "load/charts.rs"]
mod charts;
#[allow(dead_code)]
#[path = "load/compare.rs"]
mod compare;
#[allow(dead_code)]
#[path = "load/record.rs"]
mod record;
#[allow(dead_code)]
#[path = "load/shared.rs"]
mod shared;
#[allow(dead_code)]
#[path = "load/targets.rs"]
mod targets;

/// The tests of `load/record.rs`.
mod record_tests {
    use crate::record::{now_utc, utc, Machine, Record, Row, FORMAT};

    /// One row of `record`: scenario, size, metric, server, values.
    pub type Spec<'a> = (&'a str, Option<usize>, &'a str, &'a str, &'a [f64]);

    /// A record of `rows`, for the tests of the modules that read records.
    pub fn record(rows: &[Spec<'_>]) -> Record {
        Record {
            format: FORMAT,
            date: "2026-12-07T19:30:00Z".to_owned(),
            git_commit: Some("e4f4f93".to_owned()),
            git_dirty: Some(false),
            command: "--quick".to_owned(),
            machine: Machine {
                cores: 2,
                description: "test CPU, 2 cores".to_owned(),
            },
            pinning: "none".to_owned(),
            quick: true,
            rounds: 3,
            fanout_rounds: 3,
            rows: rows
                .iter()
                .filter_map(|(scenario, size, metric, server, values)| {
                    let higher = matches!(*metric, "events_per_s" | "connections_per_s");
                    Row::new(
                        scenario, *size, None, metric, server, metric, "x", higher, values,
                    )
                })
                .collect(),
            failures: Vec::new(),
        }
    }

    #[test]
    fn a_record_survives_json() {
        let mut record = record(&[
            (
                "throughput",
                None,
                "events_per_s",
                "ours",
                &[1.0e6, 2.5e6, 2.0e6],
            ),
            ("fanout", Some(1_000), "p99", "raw hyper", &[18.4, 17.2]),
        ]);
        record.rows.extend(Row::new(
            "compression",
            None,
            Some("gzip"),
            "rss_per_idle_stream",
            "ours",
            "RSS",
            "KiB",
            false,
            &[158.0],
        ));
        let text = record.to_json();
        let back = Record::from_json(&text).expect("parses");
        assert_eq!(back, record);
        assert_eq!(back.rows[0].median, 2.0e6);
        assert_eq!(back.rows[1].median, (18.4 + 17.2) / 2.0);
        assert_eq!(
            back.median(
                "compression",
                None,
                Some("gzip"),
                "rss_per_idle_stream",
                "ours"
            ),
            Some(158.0)
        );
        assert_eq!(back.rows[1].key(), "fanout/1000/p99 @ raw hyper");
        assert_eq!(
            back.rows[2].key(),
            "compression/gzip/rss_per_idle_stream @ ours"
        );
    }

    #[test]
    fn a_record_of_another_format_is_refused() {
        let mut record = record(&[]);
        record.format = FORMAT + 1;
        let err = Record::from_json(&record.to_json()).expect_err("refused");
        assert!(err.contains("format"), "{err}");
        assert!(Record::from_json("{").is_err());
    }

    #[test]
    fn values_that_are_not_numbers_are_left_out() {
        let row = Row::new(
            "f",
            None,
            None,
            "max",
            "s",
            "l",
            "ms",
            false,
            &[f64::NAN, 3.0],
        )
        .expect("a row");
        assert_eq!(row.values, vec![3.0]);
        assert!(Row::new("f", None, None, "max", "s", "l", "ms", false, &[f64::NAN]).is_none());
        assert_eq!(row.range(), (3.0, 3.0));
    }

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_796_671_800), "2026-12-07T19:30:00Z");
        let now = now_utc();
        assert!(now.len() == 20 && now.ends_with('Z'), "{now}");
    }
}

/// The tests of `load/compare.rs`.
mod compare_tests {
    use crate::compare::{compare, judge, render, Verdict};
    use crate::record::Row;
    use crate::record_tests::record;

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
        let summary: Vec<(String, Verdict)> = changes
            .iter()
            .map(|c| (c.new.or(c.old).expect("a row").key(), c.verdict))
            .collect();
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
        assert!(text.contains("| events_per_s ↑ | ours | 1,050,000 (1,000,000; 1,100,000) | 2,050,000 (2,000,000; 2,100,000) | 1.95× (+95.2 %) | **better** |"), "{text}");
    }
}

/// The tests of `load/targets.rs`.
mod targets_tests {
    use crate::record::Row;
    use crate::record_tests::record;
    use crate::targets::{issue_25, render, Outcome, Target};

    fn outcome<'a>(targets: &'a [Target], text: &str) -> &'a Outcome {
        &targets
            .iter()
            .find(|t| t.text == text)
            .unwrap_or_else(|| panic!("no target {text:?} in {targets:#?}"))
            .outcome
    }

    #[test]
    fn targets_without_their_rows_are_not_measured() {
        let targets = issue_25(&record(&[]));
        assert!(
            targets.iter().all(|t| t.outcome == Outcome::NotMeasured),
            "{targets:#?}"
        );
        // 3 fan-out sizes × 3, two memory rows, four compression rows, throughput.
        assert_eq!(targets.len(), 9 + 2 + 4 + 1);
    }

    #[test]
    fn the_fan_out_targets_read_ratios_of_medians() {
        let r = record(&[
            ("fanout", Some(1_000), "p99", "ours", &[18.0, 19.0, 30.0]),
            ("fanout", Some(1_000), "p99", "axum", &[21.0]),
            ("fanout", Some(1_000), "p99", "raw hyper", &[18.0]),
            (
                "fanout",
                Some(1_000),
                "server_cpu_per_delivery",
                "ours",
                &[16.0],
            ),
            (
                "fanout",
                Some(1_000),
                "server_cpu_per_delivery",
                "raw hyper",
                &[16.1],
            ),
        ]);
        let targets = issue_25(&r);
        // 19 / 21 = 0.905: above 0.9.
        assert!(matches!(
            outcome(&targets, "HTTP/1.1 fan-out to 1,000: p99 ≤ 0.9× axum"),
            Outcome::NotMet(s) if s.starts_with("0.90× axum")
        ));
        assert!(matches!(
            outcome(&targets, "HTTP/1.1 fan-out to 1,000: p99 ≤ raw hyper"),
            Outcome::NotMet(_)
        ));
        assert!(matches!(
            outcome(
                &targets,
                "HTTP/1.1 fan-out to 1,000: server CPU per delivery ≤ raw hyper's"
            ),
            Outcome::Met(_)
        ));
        assert_eq!(
            outcome(&targets, "HTTP/1.1 fan-out to 10,000: p99 ≤ raw hyper"),
            &Outcome::NotMeasured
        );
    }

    #[test]
    fn memory_targets_are_read_at_every_size_measured_by_both() {
        let r = record(&[
            ("streams", Some(1_000), "rss_per_stream", "ours", &[11.4]),
            (
                "streams",
                Some(1_000),
                "rss_per_stream",
                "raw hyper",
                &[11.0],
            ),
            ("streams", Some(10_000), "rss_per_stream", "ours", &[12.6]),
            (
                "streams",
                Some(10_000),
                "rss_per_stream",
                "raw hyper",
                &[11.0],
            ),
            ("streams-h2", Some(1_000), "rss_per_stream", "ours", &[3.0]),
        ]);
        let targets = issue_25(&r);
        assert!(matches!(
            outcome(
                &targets,
                "memory per idle HTTP/1.1 stream ≤ raw hyper + 0.5 KiB at 1,000"
            ),
            Outcome::Met(_)
        ));
        assert!(matches!(
            outcome(&targets, "memory per idle HTTP/1.1 stream ≤ raw hyper + 0.5 KiB at 10,000"),
            Outcome::NotMet(s) if s.starts_with("+1.60 KiB")
        ));
        assert_eq!(
            outcome(&targets, "memory per idle h2c stream ≤ axum's"),
            &Outcome::NotMeasured
        );
    }

    #[test]
    fn compression_and_throughput_targets() {
        let mut r = record(&[
            ("throughput", None, "events_per_s", "ours", &[4_364_819.0]),
            (
                "throughput",
                None,
                "events_per_s",
                "raw hyper",
                &[7_870_773.0],
            ),
        ]);
        let mut add = |coding: &str, metric: &str, value: f64| {
            r.rows.extend(Row::new(
                "compression",
                None,
                Some(coding),
                metric,
                "ours",
                metric,
                "x",
                false,
                &[value],
            ));
        };
        add("identity", "stocks_bytes_per_event", 100.0);
        add("gzip", "stocks_bytes_per_event", 10.0);
        add("identity", "tokens_bytes_per_event", 300.0);
        add("gzip", "tokens_bytes_per_event", 75.0);
        add("identity", "ttfe_p50", 1.0);
        add("gzip", "ttfe_p50", 1.16);
        add("gzip", "rss_per_idle_stream", 158.0);
        let targets = issue_25(&r);
        assert!(matches!(
            outcome(&targets, "gzip: ≥ 5× fewer bytes, stocks"),
            Outcome::Met(_)
        ));
        assert!(matches!(
            outcome(&targets, "gzip: ≥ 5× fewer bytes, tokens"),
            Outcome::NotMet(_)
        ));
        assert!(matches!(
            outcome(&targets, "gzip: first event ≤ 1.1× identity"),
            Outcome::NotMet(_)
        ));
        assert!(
            matches!(outcome(&targets, "idle gzip stream ≤ 24 KiB"), Outcome::NotMet(s) if s == "158.0 KiB")
        );
        assert!(matches!(
            outcome(&targets, "throughput, 1 stream ≥ 0.8× raw hyper"),
            Outcome::NotMet(s) if s == "0.55× raw hyper (4,364,819 / 7,870,773 x)"
        ));
        let text = render(&r);
        assert!(
            text.contains("- idle gzip stream ≤ 24 KiB: **NOT met**: 158.0 KiB"),
            "{text}"
        );
        assert!(text.contains("1 met, 4 not met, 11 not measured"), "{text}");
    }
}

/// The tests of `load/charts.rs`.
mod charts_tests {
    use crate::charts::write_all;
    use crate::record::Row;
    use crate::record_tests::record;

    #[test]
    fn every_chart_with_rows_is_written_as_svg() {
        let mut r = record(&[
            ("fanout", Some(1_000), "p50", "ours", &[10.0, 11.0]),
            ("fanout", Some(1_000), "p99", "ours", &[20.0, 22.0]),
            ("fanout", Some(1_000), "max", "ours", &[30.0]),
            ("fanout", Some(1_000), "p50", "raw hyper", &[9.0]),
            ("fanout", Some(1_000), "p99", "raw hyper", &[18.0]),
            ("fanout", Some(1_000), "max", "raw hyper", &[25.0]),
            (
                "fanout",
                Some(1_000),
                "server_cpu_per_delivery",
                "ours",
                &[17.0],
            ),
            ("fanout", Some(1_000), "rss_per_subscriber", "ours", &[12.0]),
            ("streams", Some(1_000), "rss_per_stream", "ours", &[12.6]),
            ("throughput", None, "events_per_s", "ours", &[4.4e6]),
            ("throughput", None, "events_per_s", "raw hyper", &[7.9e6]),
        ]);
        for coding in ["identity", "gzip"] {
            r.rows.extend(Row::new(
                "compression",
                None,
                Some(coding),
                "stocks_bytes_per_event",
                "ours",
                "b",
                "B",
                false,
                &[100.0],
            ));
        }
        let dir = std::env::temp_dir().join(format!("sse-bench-charts-{}", std::process::id()));
        let written = write_all(&r, &dir).expect("written");
        let names: Vec<String> = written
            .iter()
            .map(|p| {
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        // No h2c fan-out rows: no h2c chart.
        assert_eq!(
            names,
            [
                "fanout-latency-http1.svg",
                "fanout-server-cpu.svg",
                "rss-per-stream.svg",
                "throughput.svg",
                "compression.svg"
            ]
        );
        let svg = std::fs::read_to_string(dir.join("fanout-latency-http1.svg")).expect("read");
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(
            svg.contains("1,000 subscribers") && svg.contains("raw hyper"),
            "{svg}"
        );
        let svg = std::fs::read_to_string(dir.join("throughput.svg")).expect("read");
        assert!(svg.contains("4.40M") && svg.contains("7.90M"), "{svg}");
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn a_record_without_rows_draws_nothing() {
        let dir = std::env::temp_dir().join(format!("sse-bench-no-charts-{}", std::process::id()));
        assert_eq!(write_all(&record(&[]), &dir), Ok(Vec::new()));
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
