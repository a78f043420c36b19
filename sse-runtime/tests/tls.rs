//! HTTPS: ALPN negotiates `h2` or `http/1.1`, and ten event streams share one HTTP/2
//! connection (what lets a browser page hold more than six streams).

#![cfg(feature = "tls")]

use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, ServerName};
use sse_runtime::{App, ServerSentEvent, Sse, TlsConfig};

async fn ticks() -> Sse {
    Sse::new(async_stream::stream! {
        for i in 0..3u32 {
            yield ServerSentEvent::new().data(i).id(i.to_string());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
}

struct Server {
    addr: std::net::SocketAddr,
    cert: CertificateDer<'static>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start() -> Server {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let tls = TlsConfig::from_pem(
        generated.cert.pem().as_bytes(),
        generated.signing_key.serialize_pem().as_bytes(),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(
        App::new()
            .get("/ticks", ticks)
            .serve_tls(listener, tls, async {
                let _ = stopped.await;
            }),
    );
    Server {
        addr,
        cert: generated.cert.der().clone(),
        _stop: stop,
    }
}

async fn connect(
    server: &Server,
    alpn: &[&[u8]],
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(server.cert.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap()
}

fn get(path: &str) -> http::Request<http_body_util::Empty<bytes::Bytes>> {
    http::Request::get(format!("https://localhost{path}"))
        .body(http_body_util::Empty::new())
        .unwrap()
}

#[tokio::test]
async fn ten_streams_share_one_http2_connection_over_tls() {
    let server = start().await;
    let tls = connect(&server, &[b"h2", b"http/1.1"]).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(conn);
    let streams = (0..10).map(|_| {
        let mut sender = sender.clone();
        async move {
            let response = sender.send_request(get("/ticks")).await.unwrap();
            assert_eq!(response.version(), http::Version::HTTP_2);
            assert_eq!(
                response.headers()["content-type"],
                "text/event-stream; charset=utf-8"
            );
            let body = response.into_body().collect().await.unwrap().to_bytes();
            String::from_utf8(body.to_vec()).unwrap()
        }
    });
    let bodies = futures_util::future::join_all(streams).await;
    for body in bodies {
        assert_eq!(
            body,
            "data: 0\nid: 0\n\ndata: 1\nid: 1\n\ndata: 2\nid: 2\n\n"
        );
    }
}

#[tokio::test]
async fn http1_clients_get_http1_over_tls() {
    let server = start().await;
    let tls = connect(&server, &[b"http/1.1"]).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut request = get("/ticks");
    request
        .headers_mut()
        .insert("host", http::HeaderValue::from_static("localhost"));
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.version(), http::Version::HTTP_11);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(body.starts_with(b"data: 0\nid: 0\n\n"));
}

#[test]
fn bad_certificates_are_errors_not_panics() {
    assert!(TlsConfig::from_pem(b"", b"").is_err());
    assert!(TlsConfig::from_pem(
        b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n",
        b"x"
    )
    .is_err());
    let a = rcgen::generate_simple_self_signed(vec!["a".into()]).unwrap();
    let b = rcgen::generate_simple_self_signed(vec!["b".into()]).unwrap();
    let mismatch = TlsConfig::from_pem(
        a.cert.pem().as_bytes(),
        b.signing_key.serialize_pem().as_bytes(),
    );
    assert!(mismatch.is_err());
}
