//! The routes of every scenario in the guide (`docs/guide.md`), one module each.
//!
//! Each module exposes its route functions, a `routes(app)` that adds them (and any state
//! they need) to an [`App`], and an `app()` with just that scenario. The examples
//! (`examples/NAME.rs`) serve one `app()`, the [`showcase`] composes them all, and the tests
//! (`tests/tests/examples.rs`) call the very same routes through the test client.

use std::time::{SystemTime, UNIX_EPOCH};

use sse_runtime::App;

pub mod chat;
pub mod chat_room;
pub mod logs;
pub mod notifications;
pub mod quickstart;
pub mod resume;
pub mod safe_stream;
pub mod showcase;
pub mod stocks;
pub mod typed_events;

/// Serves `app` the way every example does: binds `$ADDR` (default `127.0.0.1:8000`;
/// `ADDR=127.0.0.1:0` picks a free port), prints `listening on http://HOST:PORT` as the
/// first line on stdout, logs to stderr (`RUST_LOG`, default `info`), and shuts down
/// gracefully on Ctrl-C or SIGTERM.
pub async fn serve(app: App) -> Result<(), Box<dyn std::error::Error>> {
    crate::init_tracing();
    let listener = tokio::net::TcpListener::bind(crate::addr_from_env()).await?;
    let stop = stop_signal()?;
    println!("listening on http://{}", listener.local_addr()?);
    app.serve_with_shutdown(listener, stop).await?;
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM, like [`sse_runtime::shutdown_signal`], but with the handlers
/// installed before it returns rather than when first polled: a Ctrl-C that follows the
/// `listening on` line at once still shuts the server down gracefully.
#[cfg(unix)]
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("Ctrl-C received, shutting down"),
            _ = terminate.recv() => tracing::info!("SIGTERM received, shutting down"),
        }
    })
}

#[cfg(not(unix))]
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(sse_runtime::shutdown_signal())
}

/// Seconds since the Unix epoch, with a fractional part (Python's `time.time()`).
pub fn unix_timestamp() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64())
}
