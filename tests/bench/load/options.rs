//! The driver's command line (`Options`) and the servers it measures (`Server`).

use std::path::{Path, PathBuf};

use crate::procs::{Launch, Pinning, ServerProc};

pub struct Options {
    pub quick: bool,
    pub rounds: usize,
    /// Rounds of the fan-out scenarios: `--rounds`, or `BENCH_FANOUT_ROUNDS` (100,000
    /// subscribers take a while).
    pub fanout_rounds: usize,
    pub servers: Option<Vec<String>>,
    pub scenarios: Option<Vec<String>>,
    pub fastapi: bool,
    pub pin: bool,
    pub out: std::path::PathBuf,
    /// Measure a server started by hand (e.g. under a profiler) instead of starting any.
    pub attach: Option<std::net::SocketAddr>,
    /// `--json PATH`: the run's record; default `out` with the extension `.json`.
    pub json: Option<PathBuf>,
    /// `--charts DIR`: the charts; default `bench-charts/` beside `out`.
    pub charts: Option<PathBuf>,
    /// `--no-charts`.
    pub no_charts: bool,
    /// `--compare OLD.json`: the record the run is compared with.
    pub compare: Option<PathBuf>,
    /// `--from RECORD.json`, or NEW of `--compare OLD.json NEW.json`: report on a record
    /// (targets, charts, comparison), run nothing.
    pub from: Option<PathBuf>,
    /// `--noise PCT`, as a fraction: the comparison's noise floor.
    pub noise: f64,
    /// `--help`.
    pub help: bool,
}

/// `--help`.
pub const USAGE: &str = "\
cargo bench -p sse-bench --bench load -- [OPTIONS]      the side-by-side run
cargo bench -p sse-bench --bench load -- soak            the soak (see load/soak.rs)

What runs:
  --quick                  smaller sizes, 1 round (or BENCH_QUICK=1)
  --rounds N               rounds per scenario (default 3, quick 1), servers alternating
  --servers LIST           ours,ours+trace,axum,raw-hyper,fastapi,ours-redis
                           (ours+trace only when named)
  --scenarios LIST         throughput,streams,streams-h2,ttfe,short,fanout,fanout-h2,
                           fanout-redis,compression (fanout-hyper only when named)
  --no-fastapi             leave FastAPI out
  --no-pin                 no CPU pinning (default: servers on CPU 0, client on CPU 1)
  --attach HOST:PORT       measure a server started by hand (`load serve ours PORT`)
  BENCH_FANOUT_COUNTS=1000,10000,100000   fan-out sizes (HTTP/1.1 and h2c)
  BENCH_FANOUT_ROUNDS=N                   fan-out rounds (default --rounds)
  BENCH_STREAMS_H2_COUNTS=1000,10000      idle h2c stream counts

What it writes:
  --out FILE               the markdown report (default target/tmp/bench-load.md)
  --json PATH              the run's record: every row, each repetition and the median,
                           machine, date, git commit, command line (default: --out with
                           the extension .json)
  --charts DIR             SVG charts (default: bench-charts/ beside --out)
  --no-charts              no charts

Comparing runs (an A/B of a change):
  --compare OLD.json       after the run, each row's old and new median, new/old, and
                           whether the change is beyond the run-to-run spread
  --compare OLD.json NEW.json
                           compare two records and run nothing (prints the targets of
                           NEW too; charts of NEW only with --charts DIR)
  --from RECORD.json       run nothing: print the targets of a record and draw its charts
                           (with --charts DIR), e.g. to draw them again
  --noise PCT              noise floor of the comparison, percent (default 5)
  A row changed when the new run's repetitions (min..max) lie wholly above or below the
  old run's and the medians differ by more than the noise floor; it is then better or
  worse by the row's direction, else within spread.

The targets of issue #25 (and the earlier ones) are printed met, NOT met or not measured.
";

impl Options {
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Options {
            quick: std::env::var("BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0"),
            rounds: 0,
            fanout_rounds: 0,
            servers: None,
            scenarios: None,
            fastapi: true,
            pin: true,
            out: std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-load.md"),
            attach: None,
            json: None,
            charts: None,
            no_charts: false,
            compare: None,
            from: None,
            noise: crate::compare::DEFAULT_NOISE_PERCENT / 100.0,
            help: false,
        };
        let mut args = args.iter().peekable();
        let list = |v: Option<&String>| -> Result<Vec<String>, String> {
            let v = v.ok_or("missing value")?;
            Ok(v.split(',').map(|s| s.trim().to_lowercase()).collect())
        };
        while let Some(arg) = args.next() {
            match arg.as_str() {
                // `cargo bench` passes `--bench` to every bench binary.
                "--bench" => {}
                "--quick" => options.quick = true,
                "--rounds" => {
                    options.rounds = args
                        .next()
                        .and_then(|v| v.parse().ok())
                        .filter(|&n| n > 0)
                        .ok_or("--rounds needs a positive number")?;
                }
                "--servers" => options.servers = Some(list(args.next())?),
                "--scenarios" => options.scenarios = Some(list(args.next())?),
                "--no-fastapi" => options.fastapi = false,
                "--no-pin" => options.pin = false,
                "--out" => options.out = args.next().ok_or("--out needs a file")?.into(),
                "--attach" => {
                    options.attach = Some(
                        args.next()
                            .and_then(|a| a.parse().ok())
                            .ok_or("--attach needs HOST:PORT")?,
                    );
                }
                "--json" => options.json = Some(args.next().ok_or("--json needs a path")?.into()),
                "--charts" => {
                    options.charts = Some(args.next().ok_or("--charts needs a directory")?.into());
                }
                "--no-charts" => options.no_charts = true,
                "--compare" => {
                    options.compare = Some(args.next().ok_or("--compare needs OLD.json")?.into());
                    if let Some(new) = args.next_if(|a| !a.starts_with("--")) {
                        options.from = Some(new.into());
                    }
                }
                "--noise" => {
                    options.noise = args
                        .next()
                        .and_then(|v| v.trim_end_matches('%').parse::<f64>().ok())
                        .filter(|p| p.is_finite() && *p >= 0.0)
                        .ok_or("--noise needs a percentage")?
                        / 100.0;
                }
                "--from" => options.from = Some(args.next().ok_or("--from needs a record")?.into()),
                "--help" | "-h" => options.help = true,
                other => return Err(format!("unknown option {other:?} (see --help)")),
            }
        }
        if options.rounds == 0 {
            options.rounds = if options.quick { 1 } else { 3 };
        }
        options.fanout_rounds = std::env::var("BENCH_FANOUT_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&n| n > 0)
            .unwrap_or(options.rounds);
        Ok(options)
    }

    /// Where the run's record goes.
    pub fn json_path(&self) -> PathBuf {
        self.json
            .clone()
            .unwrap_or_else(|| self.out.with_extension("json"))
    }

    /// Where the charts go, if anywhere.
    pub fn charts_dir(&self) -> Option<PathBuf> {
        if self.no_charts {
            return None;
        }
        Some(self.charts.clone().unwrap_or_else(|| {
            self.out
                .parent()
                .unwrap_or(Path::new("."))
                .join("bench-charts")
        }))
    }

    pub fn wants_server(&self, key: &str) -> bool {
        self.servers
            .as_ref()
            .is_none_or(|s| s.iter().any(|s| s == key))
    }

    pub fn wants_scenario(&self, key: &str) -> bool {
        self.scenarios
            .as_ref()
            .is_none_or(|s| s.iter().any(|s| s == key))
    }
}

pub struct Server {
    pub name: &'static str,
    /// `None`: attached to a running server.
    pub launch: Option<Launch>,
}

impl Server {
    pub fn start(&self, options: &Options, pinning: Pinning) -> Result<ServerProc, String> {
        match (&self.launch, options.attach) {
            (Some(launch), _) => ServerProc::start(launch, pinning),
            (None, Some(addr)) => ServerProc::attach(addr),
            (None, None) => Err("nothing to start".to_owned()),
        }
    }
}
