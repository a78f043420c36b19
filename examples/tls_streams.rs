//! Ten live streams on one page over HTTPS. Browsers allow six HTTP/1.1 connections per
//! site, so a page with more `EventSource`s than that stalls; over TLS with ALPN `h2`
//! every stream shares one HTTP/2 connection. The streams are compressed for clients
//! that accept it (`App::compression`: a browser gets `gzip`, every event flushed).
//!
//! ```text
//! cargo run --example tls_streams          # self-signed certificate for localhost
//! # open https://localhost:8443/ (accept the certificate warning)
//! curl -kN https://localhost:8443/streams/3
//! curl -kN --compressed https://localhost:8443/streams/3   # gzip, decoded as it arrives
//! ```
//!
//! `TLS_CERT` and `TLS_KEY` (PEM files) replace the generated certificate.

use std::time::Duration;

use serde_json::{json, Value};
use sse_runtime::{shutdown_signal, App, Compression, Html, Path, Stream, TlsConfig};

/// The page: ten `EventSource`s, each showing its count of events and the last one.
const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8">
<title>Ten streams over HTTP/2</title>
<style>body{font:14px system-ui;margin:2em}li{margin:.2em 0}</style>
<h1>Ten streams over one HTTP/2 connection</h1>
<ol id="streams"></ol>
<script>
const list = document.getElementById('streams');
window.counts = new Array(10).fill(0);
for (let n = 0; n < 10; n++) {
  const item = document.createElement('li');
  item.textContent = `stream ${n}: waiting`;
  list.appendChild(item);
  const source = new EventSource(`/streams/${n}`);
  source.onmessage = (event) => {
    window.counts[n] += 1;
    item.textContent = `stream ${n}: ${window.counts[n]} events, last ${event.data}`;
  };
}
</script>
"#;

sse_runtime::routes! {
    /// `GET /`: the page.
    #[get("/")]
    async fn page() -> Html<&'static str> {
        Html(PAGE)
    }

    /// `GET /streams/{n}`: `{"stream": n, "tick": i}` every 200 ms, forever.
    #[get("/streams/{n}", sse)]
    async fn stream(Path(n): Path<u32>) -> impl Stream<Item = Value> {
        for i in 0u64.. {
            yield json!({ "stream": n, "tick": i });
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The app: the page and its streams, compressed when the client accepts it.
fn app() -> App {
    App::new()
        .route(page)
        .route(stream)
        .compression(Compression::new())
}

/// The certificate and key in `TLS_CERT` and `TLS_KEY`, or a self-signed certificate for
/// `localhost` and `127.0.0.1`.
fn tls_config() -> Result<TlsConfig, Box<dyn std::error::Error>> {
    if let (Ok(cert), Ok(key)) = (std::env::var("TLS_CERT"), std::env::var("TLS_KEY")) {
        return Ok(TlsConfig::from_pem_files(cert, key)?);
    }
    let generated =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    Ok(TlsConfig::from_pem(
        generated.cert.pem().as_bytes(),
        generated.signing_key.serialize_pem().as_bytes(),
    )?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let tls = tls_config()?;
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:8443".to_owned());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on https://{}", listener.local_addr()?);
    // `serve_tls` takes its stop signal: `shutdown_signal()` is Ctrl-C or SIGTERM.
    app().serve_tls(listener, tls, shutdown_signal()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use sse_runtime::testing::{Protocol, TestClient};
    use sse_runtime::StatusCode;
    use tokio::time::Instant;

    use super::{app, tls_config, PAGE};

    #[tokio::test]
    async fn the_page_opens_ten_event_sources() {
        let response = TestClient::new(app()).get("/").send().await;
        assert_eq!(response.status(), StatusCode::OK);
        let html = response.text().await;
        assert_eq!(html, PAGE);
        assert!(html.contains("n < 10") && html.contains("new EventSource(`/streams/${n}`)"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_ticks_every_200_ms() {
        let start = Instant::now();
        let response = TestClient::new(app()).get("/streams/7").send().await;
        assert_eq!(response.status(), StatusCode::OK);
        let mut events = response.events();
        for tick in 0..3u128 {
            let event = events.next().await.expect("an endless stream");
            assert_eq!(event.data, format!(r#"{{"stream":7,"tick":{tick}}}"#));
            // Paused clock: exact milliseconds.
            assert_eq!(start.elapsed().as_millis(), 200 * tick);
        }
    }

    /// Ten streams open at once over HTTP/2, as the page opens them.
    #[tokio::test]
    async fn ten_streams_at_once_over_http2() {
        let client = TestClient::spawn(app(), Protocol::Http2).await;
        let mut streams = Vec::new();
        for n in 0..10 {
            streams.push(client.get(&format!("/streams/{n}")).send().await.events());
        }
        for (n, events) in streams.iter_mut().enumerate() {
            let event = events.next().await.expect("a first event");
            assert_eq!(event.data, format!(r#"{{"stream":{n},"tick":0}}"#));
        }
    }

    /// What a browser asks for, it gets: `gzip` (the app's first choice), each event
    /// decoded as it arrives.
    #[tokio::test]
    async fn a_browser_gets_a_gzip_stream() {
        let client = TestClient::spawn(app(), Protocol::Http2).await;
        let response = client
            .get("/streams/3")
            .header("accept-encoding", "gzip, deflate, br, zstd")
            .send()
            .await;
        assert_eq!(response.header("content-encoding"), Some("gzip"));
        let mut events = response.events();
        for tick in 0..2 {
            let event = events.next().await.expect("an endless stream");
            assert_eq!(event.data, format!(r#"{{"stream":3,"tick":{tick}}}"#));
        }
    }

    #[test]
    fn a_self_signed_certificate_is_generated_without_tls_cert() {
        if std::env::var_os("TLS_CERT").is_none() {
            let _config = tls_config().expect("a generated certificate");
        }
    }
}
