//! # Side-by-side SSE benchmark: ours, axum, raw hyper and FastAPI (issue #7)
//!
//! ```text
//! cargo bench -p sse-bench --bench load              # full run, 5-7 minutes
//! cargo bench -p sse-bench --bench load -- --quick   # smoke test, < 1 minute
//! ```
//!
//! This binary is the load generator. It starts every server under test as a separate
//! process — the Rust ones by running itself again as `load serve NAME PORT`, FastAPI
//! with uvicorn from a venv it creates under `target/` — each on 127.0.0.1, and talks to
//! them through its own hyper client connections (the fan-out through plain sockets
//! stamped by the kernel, `fanout_client.rs`). Servers are pinned to CPU 0 and the
//! load generator to CPU 1 (`--no-pin` turns this off), so every server gets the same
//! single core and never competes with its client.
//!
//! For every scenario, each server is measured in alternation (`--rounds`, default 3),
//! a fresh process for every measurement, and the table reports the median.
//!
//! Options (after `--`): `--quick` (or `BENCH_QUICK=1`), `--rounds N`,
//! `--servers ours,axum,raw-hyper,fastapi` (and `ours+trace`, ours inside tower-http's
//! `TraceLayer`, only when named),
//! `--scenarios throughput,streams,streams-h2,ttfe,short,fanout,fanout-h2,fanout-redis,compression`
//! (`streams-h2`: idle streams over h2c, 100 per connection; `fanout-h2`: the fan-out to
//! HTTP/2 streams, 100 per h2c connection, measured the same way, see `fanout_h2.rs`;
//! `fanout-redis`: the fan-out
//! through the Redis hub, server `ours-redis`, see `fanout_redis.rs`; `compression`:
//! bytes, CPU, time to first event and memory of compressed streams, ours only, see
//! `compression.rs`; `fanout-hyper`, only when named: the fan-out measured by the old
//! hyper client, to compare methods),
//! `--no-fastapi`, `--no-pin`, `--out FILE` (default `target/tmp/bench-load.md`),
//! `BENCH_FANOUT_COUNTS=1000,10000,100000` (the fan-out sizes, over HTTP/1.1 and h2c),
//! `BENCH_FANOUT_ROUNDS=N` (their repeat count; default `--rounds`),
//! `BENCH_STREAMS_H2_COUNTS=1000,10000,100000` (the idle h2c stream counts),
//! `--attach HOST:PORT` (measure a server started by hand, e.g. under `perf record` or
//! `valgrind --tool=callgrind` as `load serve ours PORT`; no memory figures).
//!
//! Every run writes its record as JSON (`--json PATH`, default beside `--out`, see
//! `record.rs`) and its charts as SVG (`--charts DIR`, default `bench-charts/` beside
//! `--out`, `--no-charts` for none; `charts.rs`), and prints the targets met or not
//! (`targets.rs`). `--compare OLD.json` compares the run with an earlier record, row by
//! row, `--compare OLD.json NEW.json` two records without a run (`compare.rs`, `--noise
//! PCT`). `--help` lists every option.
//!
//! `cargo bench -p sse-bench --bench load -- soak` runs the soak instead (10,000
//! streams of our server held for 10 minutes, `SOAK_STREAMS` / `SOAK_SECS` to shrink it;
//! see `soak.rs`); the comparison never includes it.

// The modules import one another one way only (`tests/bench/modules.rs` checks it):
// `shared` and `procs` are leaves; the server side (`servers`) and the client side
// (`client`, `fanout_client`, `fanout_h2`, `scenarios`, `fanout_redis`, `compression`,
// `soak`) meet only there; `options` holds the command line; `record` the run's rows,
// which `compare`, `targets` and `charts` read; this file drives them all.
mod charts;
mod client;
mod compare;
mod compression;
mod fanout_client;
mod fanout_h2;
mod fanout_redis;
mod options;
mod procs;
mod record;
mod scenarios;
mod servers;
mod shared;
mod soak;
mod soak_settings;
mod sockets;
mod targets;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use options::{Options, Server};
use procs::{Launch, Pinning};
use record::Record;
use scenarios::{Config, Metric, Scenario};
use shared::{machine, median};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        let (Some(name), Some(port)) = (args.get(1), args.get(2).and_then(|p| p.parse().ok()))
        else {
            eprintln!("usage: load serve NAME PORT");
            std::process::exit(2);
        };
        let served = match name.as_str() {
            "soak" => soak::serve(port),
            _ => servers::run(name, port),
        };
        if let Err(err) = served {
            eprintln!("server {name}: {err}");
            std::process::exit(1);
        }
        return;
    }
    if args.iter().any(|arg| arg == "soak") {
        std::process::exit(soak::main(&args));
    }
    let options = match Options::parse(&args) {
        Ok(options) => options,
        Err(err) => {
            eprintln!("load: {err}");
            std::process::exit(2);
        }
    };
    if options.help {
        print!("{}", options::USAGE);
        return;
    }
    // The record to compare with is read first: a wrong path fails now, not after the run.
    let old = match options.compare.as_deref().map(Record::load).transpose() {
        Ok(old) => old,
        Err(err) => {
            eprintln!("load: --compare: {err}");
            std::process::exit(2);
        }
    };
    let driven = match &options.from {
        Some(new) => from_record(&options, old.as_ref(), new),
        None => drive(&options, old.as_ref()),
    };
    if let Err(err) = driven {
        eprintln!("load: {err}");
        std::process::exit(1);
    }
}

/// `--from NEW.json` (or `--compare OLD.json NEW.json`): NEW's targets and the comparison
/// with OLD if given, without a run (NEW's charts too with `--charts DIR`).
fn from_record(
    options: &Options,
    old: Option<&Record>,
    new: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let new = Record::load(new)?;
    let mut out = String::new();
    if let Some(old) = old {
        out.push_str(&compare::render(old, &new, options.noise));
    }
    out.push_str(&targets::render(&new));
    if let Some(dir) = options.charts.as_deref().filter(|_| !options.no_charts) {
        out.push_str(&charts_section(&new, dir, None)?);
    }
    print!("{out}");
    Ok(())
}

/// Writes the charts of `record` into `dir`; the report's section that shows them (paths
/// relative to the report's folder `beside`, when under it).
fn charts_section(
    record: &Record,
    dir: &Path,
    beside: Option<&Path>,
) -> Result<String, Box<dyn std::error::Error>> {
    let written = charts::write_all(record, dir)?;
    let mut out = String::new();
    if written.is_empty() {
        return Ok(out);
    }
    let _ = writeln!(out, "\n## Charts\n");
    for path in &written {
        let shown = beside
            .and_then(|base| path.strip_prefix(base).ok())
            .unwrap_or(path);
        let name = path
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        let _ = writeln!(out, "![{name}]({})", shown.display());
    }
    eprintln!("charts written to {}", dir.display());
    Ok(out)
}

/// The command line as the record keeps it: the environment variables that size the run,
/// then the bench's arguments.
fn command_line() -> String {
    let mut parts: Vec<String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("BENCH_") && k != shared::REDIS_URL_ENV)
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    parts.sort();
    parts.push("cargo bench -p sse-bench --bench load --".to_owned());
    parts.extend(
        std::env::args()
            .skip(1)
            .filter(|a| a != "--bench")
            .map(|a| {
                if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '\'') {
                    format!("'{}'", a.replace('\'', r"'\''"))
                } else {
                    a
                }
            }),
    );
    parts.join(" ")
}

/// The run's record: the scenarios' rows (one per metric and server), then `extra` (the
/// compression's).
fn record_of(
    run: &Run<'_>,
    results: &BTreeMap<(Metric, usize), Vec<f64>>,
    extra: Vec<record::Row>,
    failures: &[String],
) -> Record {
    let mut rows = Vec::new();
    for ((metric, index), values) in results {
        let (scenario, size, name, unit) = metric.row_id();
        rows.extend(record::Row::new(
            scenario,
            size,
            None,
            name,
            run.servers[*index].name,
            &metric.label(),
            unit,
            metric.higher_is_better(),
            values,
        ));
    }
    rows.extend(extra);
    let (git_commit, git_dirty) = record::git_state(Path::new(env!("CARGO_MANIFEST_DIR")));
    Record {
        format: record::FORMAT,
        date: record::now_utc(),
        git_commit,
        git_dirty,
        command: command_line(),
        machine: record::Machine {
            cores: run.cores,
            description: machine(run.cores),
        },
        pinning: run.pinning.describe(),
        quick: run.options.quick,
        rounds: run.options.rounds,
        fanout_rounds: run.options.fanout_rounds,
        rows,
        failures: failures.to_vec(),
    }
}

fn drive(options: &Options, old: Option<&Record>) -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let config = if options.quick {
        Config::quick()
    } else {
        Config::full()
    };

    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let fd_limit = procs::raise_fd_limit();
    let pinning = Pinning::choose(options.pin && options.attach.is_none());
    if let Some(cpu) = pinning.client_cpu {
        procs::pin_current_thread(cpu)?;
    }

    let mut servers = Vec::new();
    if options.attach.is_some() {
        servers.push(Server {
            name: "attached",
            launch: None,
        });
    }
    for name in servers::RUST_SERVERS
        .into_iter()
        .chain(servers::OPT_IN_SERVERS)
    {
        if options.attach.is_some() {
            break;
        }
        let key = name.replace(' ', "-");
        let opt_in = servers::OPT_IN_SERVERS.contains(&name);
        let named = options.servers.as_ref().is_some_and(|s| s.contains(&key));
        if options.wants_server(&key) && (named || !opt_in) {
            servers.push(Server {
                name,
                launch: Some(Launch::Rust(name)),
            });
        }
    }
    if options.fastapi && options.attach.is_none() && options.wants_server("fastapi") {
        if let Some(python) = procs::prepare_fastapi() {
            servers.push(Server {
                name: "FastAPI",
                launch: Some(Launch::FastApi { python }),
            });
        }
    }

    let redis = fanout_redis::setup(options, pinning, &mut servers)?;

    let mut scenario_list = Vec::new();
    if options.wants_scenario("throughput") {
        scenario_list.push(Scenario::Throughput);
    }
    if options.wants_scenario("streams") {
        if fd_limit < 10_500 {
            eprintln!("NOTICE: open-files limit is {fd_limit}: streams above it will fail");
        }
        scenario_list.extend(config.stream_counts.iter().map(|&n| Scenario::Streams(n)));
    }
    if options.wants_scenario("streams-h2") {
        scenario_list.extend(
            config
                .h2_stream_counts
                .iter()
                .map(|&n| Scenario::StreamsH2(n)),
        );
    }
    if options.wants_scenario("ttfe") {
        scenario_list.push(Scenario::Ttfe);
    }
    if options.wants_scenario("short") {
        scenario_list.push(Scenario::Short);
    }
    if options.wants_scenario("fanout") || fanout_redis::runs_http1(redis.as_ref(), options) {
        scenario_list.extend(config.fanout_counts.iter().map(|&n| Scenario::Fanout(n)));
    }
    if options.wants_scenario("fanout-h2") {
        scenario_list.extend(config.fanout_counts.iter().map(|&n| Scenario::FanoutH2(n)));
    }
    // The old fan-out client, only when named (to compare the methods).
    if options
        .scenarios
        .as_ref()
        .is_some_and(|s| s.iter().any(|s| s == "fanout-hyper"))
    {
        scenario_list.extend(
            config
                .fanout_counts
                .iter()
                .map(|&n| Scenario::FanoutHyper(n)),
        );
    }
    // A fan-out needs a socket per subscriber in the server and in the client (and a
    // few more), over h2c one per 100: one that does not fit the open-files limit is
    // left out, with a notice.
    scenario_list.retain(|scenario| match scenario {
        Scenario::Fanout(n) | Scenario::FanoutHyper(n) if (*n as u64) + 1_000 > fd_limit => {
            eprintln!(
                "NOTICE: {} left out: the open-files limit is {fd_limit} and cannot be raised \
                 here (the hard limit needs CAP_SYS_RESOURCE to go up)",
                scenario.name()
            );
            false
        }
        Scenario::FanoutH2(n) | Scenario::StreamsH2(n)
            if (n.div_ceil(scenarios::H2_STREAMS_PER_CONNECTION) as u64) + 1_000 > fd_limit =>
        {
            eprintln!(
                "NOTICE: {} left out: the open-files limit is {fd_limit}",
                scenario.name()
            );
            false
        }
        _ => true,
    });

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();

    // Every server must send the same stream before anything is measured.
    for server in &servers {
        let proc = server.start(options, pinning)?;
        let first = local
            .block_on(&runtime, scenarios::sanity_check(proc.addr))
            .map_err(|e| format!("{}: sanity check failed: {e}", server.name))?;
        eprintln!("{:>9}: {first}", server.name);
        proc.stop();
    }

    let mut results: BTreeMap<(Metric, usize), Vec<f64>> = BTreeMap::new();
    let mut failures = Vec::new();
    for scenario in &scenario_list {
        let rounds = match scenario {
            Scenario::Fanout(_) | Scenario::FanoutH2(_) | Scenario::FanoutHyper(_) => {
                options.fanout_rounds
            }
            _ => options.rounds,
        };
        for round in 1..=rounds {
            for (index, server) in servers.iter().enumerate() {
                if fanout_redis::sits_out(server.name, *scenario, options) {
                    continue;
                }
                if let Some(why) = scenario.skips(server.name, &config) {
                    if round == 1 {
                        eprintln!("[{}] {why}", scenario.name());
                    }
                    continue;
                }
                let proc = server.start(options, pinning)?;
                let measured = local.block_on(&runtime, scenario.run(&proc, &config));
                proc.stop();
                match measured {
                    Ok(figures) => {
                        let shown: Vec<String> = figures
                            .iter()
                            .map(|(m, v)| format!("{} = {}", m.label(), m.format(*v)))
                            .collect();
                        eprintln!(
                            "[{}] round {round}/{rounds} {}: {}",
                            scenario.name(),
                            server.name,
                            shown.join(", ")
                        );
                        for (metric, value) in figures {
                            results.entry((metric, index)).or_default().push(value);
                        }
                    }
                    Err(err) => {
                        eprintln!(
                            "[{}] round {round} {}: FAILED: {err}",
                            scenario.name(),
                            server.name
                        );
                        failures.push(format!("{} / {}: {err}", scenario.name(), server.name));
                    }
                }
            }
        }
    }

    let compressed = if options.wants_scenario("compression") && options.attach.is_none() {
        let sizes = compression::Sizes::new(options.quick);
        match compression::run(pinning, &sizes, &runtime, &local) {
            Ok(measured) => Some(measured),
            Err(err) => {
                eprintln!("[compression] FAILED: {err}");
                failures.push(format!("compression: {err}"));
                None
            }
        }
    } else {
        None
    };

    let run = Run {
        options,
        config: &config,
        servers: &servers,
        pinning,
        cores,
        started,
    };
    let (section, compressed_rows) = compressed.unwrap_or_default();
    let record = record_of(&run, &results, compressed_rows, &failures);
    let json = options.json_path();
    record.save(&json)?;
    eprintln!("record written to {}", json.display());
    let mut report = report(&run, &results, &failures, &record);
    if let Some(redis) = &redis {
        report.push_str(&redis.describe());
    }
    report.push_str(&section);
    if let Some(dir) = options.charts_dir() {
        // The measurements are in the record already: a chart that cannot be written costs
        // the charts, not the report.
        match charts_section(&record, &dir, options.out.parent()) {
            Ok(section) => report.push_str(&section),
            Err(err) => eprintln!("load: charts: {err}"),
        }
    }
    if let Some(old) = old {
        report.push_str(&compare::render(old, &record, options.noise));
    }
    print!("{report}");
    if let Some(dir) = options.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&options.out, &report)?;
    eprintln!("written to {}", options.out.display());
    Ok(())
}

/// What the report says about the run itself.
struct Run<'a> {
    options: &'a Options,
    config: &'a Config,
    servers: &'a [Server],
    pinning: Pinning,
    cores: usize,
    started: Instant,
}

fn report(
    run: &Run<'_>,
    results: &BTreeMap<(Metric, usize), Vec<f64>>,
    failures: &[String],
    record: &Record,
) -> String {
    let Run {
        options,
        config,
        servers,
        pinning,
        cores: _,
        started,
    } = *run;
    let medians: BTreeMap<(Metric, usize), f64> =
        results.iter().map(|(k, v)| (*k, median(v))).collect();
    let index_of = |name: &str| servers.iter().position(|s| s.name == name);
    let ours = index_of("ours");
    let compare = ["ours+trace", "axum", "raw hyper", "FastAPI"]
        .into_iter()
        .filter_map(|name| index_of(name).map(|i| (name, i)))
        .collect::<Vec<_>>();
    let mut metrics: Vec<Metric> = medians.keys().map(|(m, _)| *m).collect();
    metrics.dedup();

    let mut out = String::new();
    let _ = writeln!(out, "\n## Results\n");
    let _ = write!(out, "| scenario | better |");
    for server in servers {
        let _ = write!(out, " {} |", server.name);
    }
    if ours.is_some() {
        for (name, _) in &compare {
            let _ = write!(out, " ours / {name} |");
        }
    }
    let _ = writeln!(out);
    let columns = 2 + servers.len() + if ours.is_some() { compare.len() } else { 0 };
    let _ = writeln!(out, "|{}", "---|".repeat(columns));
    for metric in &metrics {
        let arrow = if metric.higher_is_better() {
            "↑"
        } else {
            "↓"
        };
        let _ = write!(out, "| {} | {arrow} |", metric.label());
        for index in 0..servers.len() {
            match medians.get(&(*metric, index)) {
                Some(v) => {
                    let _ = write!(out, " {} |", metric.format(*v));
                }
                None => out.push_str(" — |"),
            }
        }
        if let Some(ours) = ours {
            for (_, other) in &compare {
                match (
                    medians.get(&(*metric, ours)),
                    medians.get(&(*metric, *other)),
                ) {
                    (Some(a), Some(b)) if *b > 0.0 => {
                        let _ = write!(out, " {:.2}× |", a / b);
                    }
                    _ => out.push_str(" — |"),
                }
            }
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(
        out,
        "\nMedian of {} round(s) ({} for fan-outs), servers alternating, a fresh server process per measurement. \
         Ratios are ours divided by the other: above 1 is better for ↑ rows, below 1 for ↓ rows. \
         A server that cannot send {} events within {:?} (FastAPI) is measured on what it sent \
         in that time; likewise one that cannot serve {} first events within {:?}.",
        options.rounds,
        options.fanout_rounds,
        shared::thousands(config.throughput_events as usize),
        config.throughput_cap,
        shared::thousands(config.ttfe_connections),
        config.ttfe_cap,
    );

    out.push_str(&targets::render(record));

    let _ = writeln!(out, "\n## Run\n");
    let _ = writeln!(out, "- command: `{}`", record.command);
    let _ = writeln!(out, "- date: {}", record.date);
    if let Some(commit) = &record.git_commit {
        let dirty = if record.git_dirty == Some(true) {
            " (with uncommitted changes)"
        } else {
            ""
        };
        let _ = writeln!(out, "- commit: {commit}{dirty}");
    }
    let _ = writeln!(out, "- machine: {}", record.machine.description);
    let _ = writeln!(out, "- pinning: {}", pinning.describe());
    let _ = writeln!(out, "- sizes: {config:?}");
    if options.fanout_rounds != options.rounds {
        let _ = writeln!(out, "- fan-out rounds: {}", options.fanout_rounds);
    }
    let _ = writeln!(out, "- wall time: {:.0} s", started.elapsed().as_secs_f64());
    for failure in failures {
        let _ = writeln!(out, "- FAILED: {failure}");
    }
    out
}
