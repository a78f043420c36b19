//! The Rust servers under test. Each runs in its own process (`load serve NAME PORT`),
//! on a default multi-threaded Tokio runtime (one worker per CPU the process may use:
//! the driver pins every server to one core), and serves the same three routes:
//!
//! - `GET /events`: an endless stream of `{"message":"Event N","timestamp":<float>}`, as
//!   fast as the server produces it (throughput);
//! - `GET /idle`: one such event, then nothing but keep-alive (open streams, time to
//!   first event);
//! - `GET /short`: ten events, then the end of the response (short streams);
//! - `GET /fanout`: a subscription to one broadcast topic, and
//!   `GET /publish?n=N&every_ms=M`, which starts publishing N events to it, one every M
//!   ms, each stamped with the time it was published (fan-out).

mod axum_sse;
mod compressed;
mod ours;
mod raw_hyper;

use crate::shared::{COMPRESSED_SERVER, REDIS_SERVER};

/// The Rust servers, by the name the driver and the table use.
pub const RUST_SERVERS: [&str; 3] = ["ours", "axum", "raw hyper"];

/// Rust servers measured only when `--servers` names them: `ours+trace`, ours inside
/// tower-http's `TraceLayer` (what a layer costs per event).
pub const OPT_IN_SERVERS: [&str; 1] = ["ours+trace"];

/// A listener on 127.0.0.1:`port` with the backlog of `procs::listen_backlog`
/// (`somaxconn`; tokio's `bind` would use 1,024), the same for every server.
fn listen(port: u16) -> std::io::Result<tokio::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], port)).into())?;
    socket.listen(crate::procs::listen_backlog())?;
    socket.set_nonblocking(true)?;
    tokio::net::TcpListener::from_std(socket.into())
}

/// Serves `name` on 127.0.0.1:`port` until SIGTERM / Ctrl-C.
pub fn run(name: &str, port: u16) -> Result<(), Box<dyn std::error::Error>> {
    // Started by the driver, it inherits the raised limit; by hand (`--attach`), not.
    crate::procs::raise_fd_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = listen(port)?;
        match name {
            "ours" => ours::serve(listener).await,
            "ours+trace" => ours::serve_traced(listener).await,
            // Ours with `App::compression` (measured by `compression.rs`).
            COMPRESSED_SERVER => compressed::serve(listener).await,
            "axum" => axum_sse::serve(listener).await,
            "raw-hyper" | "raw hyper" => raw_hyper::serve(listener).await,
            // Ours with the Redis hub at `$BENCH_REDIS_URL` (measured by `fanout_redis.rs`).
            "ours-redis" | REDIS_SERVER => {
                ours::serve_with(listener, ours::redis_hub().await?).await
            }
            other => Err(format!("unknown server {other:?}").into()),
        }
    })
}
