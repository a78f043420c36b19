//! The driver's command line (`Options`) and the servers it measures (`Server`).

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
}

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
        };
        let mut args = args.iter();
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
                other => return Err(format!("unknown option {other:?}")),
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
