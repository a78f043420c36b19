//! Authenticated streams: a cookie or a query token, checked before the stream starts.
//!
//! ```text
//! cargo run --example auth
//! curl -N http://127.0.0.1:8000/private/events                       # 401
//! curl -N http://127.0.0.1:8000/private/events?token=demo-token      # events
//! curl -N -H 'cookie: session=demo-token' http://127.0.0.1:8000/private/events
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use sse_runtime::shutdown_signal;
use sse_tests::auth::{app, Sessions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    sse_tests::init_tracing();
    let sessions = Sessions(Arc::new(HashMap::from([(
        "demo-token".to_owned(),
        "demo".to_owned(),
    )])));
    let listener = tokio::net::TcpListener::bind(sse_tests::addr_from_env()).await?;
    println!("listening on http://{}", listener.local_addr()?);
    app(sessions)
        .serve_with_shutdown(listener, shutdown_signal())
        .await?;
    Ok(())
}
