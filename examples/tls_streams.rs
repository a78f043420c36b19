//! Ten live streams on one page over HTTPS. Browsers allow six HTTP/1.1 connections per
//! site, so a page with more `EventSource`s than that stalls; over TLS with ALPN `h2`
//! every stream shares one HTTP/2 connection.
//!
//! ```text
//! cargo run --example tls_streams          # self-signed certificate for localhost
//! # open https://localhost:8443/ (accept the certificate warning)
//! ```
//!
//! `TLS_CERT` and `TLS_KEY` (PEM files) replace the generated certificate.

use std::time::Duration;

use sse_runtime::{shutdown_signal, App, Html, Path, ServerSentEvent, Sse, TlsConfig};

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

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

async fn stream(Path(n): Path<u32>) -> Sse {
    Sse::new(async_stream::stream! {
        for i in 0u64.. {
            yield ServerSentEvent::new().data(serde_json::json!({ "stream": n, "tick": i }));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
}

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
    sse_tests::init_tracing();
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:8443".to_owned());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on https://{}", listener.local_addr()?);
    App::new()
        .get("/", page)
        .get("/streams/{n}", stream)
        .serve_tls(listener, tls_config()?, shutdown_signal())
        .await?;
    Ok(())
}
