//! Bad input over real sockets: each row of the table in `docs/reliability.md` is one
//! case here. Every case gets its documented answer (a 4xx, or the connection closed
//! where HTTP says so), never a panic, and a healthy client keeps being served.

use std::time::Duration;

use futures_util::StreamExt;
use serde::Deserialize;
use sse_runtime::testing::{Protocol, TestClient};
use sse_runtime::{App, Json, LastEventId, Limits, Path, Query, ServerSentEvent, Sse};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Deserialize)]
struct Page {
    #[allow(dead_code)]
    limit: u32,
}

#[derive(Deserialize)]
struct Body {
    #[allow(dead_code)]
    text: String,
}

async fn ticks(last: LastEventId<u64>) -> Sse {
    let start = last.0.map_or(0, |id| id + 1);
    Sse::new(async_stream::stream! {
        for i in start.. {
            yield ServerSentEvent::new().data(i).id(i.to_string());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
}

fn app() -> App {
    App::new()
        .get("/ticks", ticks)
        .get("/items/{id}", |Path(id): Path<u32>| async move {
            id.to_string()
        })
        .get(
            "/names/{name}",
            |Path(name): Path<String>| async move { name },
        )
        .get("/page", |Query(p): Query<Page>| async move {
            p.limit.to_string()
        })
        .post("/json", |Json(b): Json<Body>| async move { b.text })
        .limits(
            Limits::default()
                .max_body_bytes(1024)
                .max_header_bytes(16 * 1024),
        )
}

/// Sends raw bytes, returns everything the server answers before closing (or 2 s).
async fn raw(client: &TestClient, request: &[u8]) -> String {
    let mut socket = tokio::net::TcpStream::connect(client.addr().unwrap())
        .await
        .unwrap();
    let _ = socket.write_all(request).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), socket.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

fn status_of(answer: &str) -> &str {
    answer.get(9..12).unwrap_or("")
}

#[tokio::test]
async fn every_bad_input_gets_its_answer_while_a_stream_keeps_flowing() {
    let client = TestClient::spawn(app(), Protocol::Http1).await;
    // A healthy client streams throughout.
    let mut healthy = client.get("/ticks").send().await.events();
    assert!(healthy.next().await.is_some());

    let cases: &[(&str, &[u8], &str)] = &[
        ("malformed request line", b"GARBAGE\r\n\r\n", "400"),
        ("header without colon", b"GET /ticks HTTP/1.1\r\nhost: x\r\nbad header\r\n\r\n", "400"),
        ("unsupported HTTP version", b"GET /ticks HTTP/9.9\r\nhost: x\r\n\r\n", "400"),
        ("raw non-UTF-8 byte in path", b"GET /names/\xff HTTP/1.1\r\nhost: x\r\n\r\n", "400"),
        ("percent-encoding that decodes to invalid UTF-8", b"GET /names/%FF%FE HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n", "400"),
        ("path parameter that does not parse", b"GET /items/abc HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n", "422"),
        ("path parameter out of range", b"GET /items/99999999999 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n", "422"),
        ("query value that does not parse", b"GET /page?limit=lots HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n", "422"),
        ("query missing a required field", b"GET /page?other=1 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n", "422"),
        ("malformed query string", b"GET /page?%%%=&&=%zz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n", "422"),
        ("malformed JSON body", b"POST /json HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 9\r\nconnection: close\r\n\r\n{\"text\": ", "422"),
        ("JSON of the wrong shape", b"POST /json HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 12\r\nconnection: close\r\n\r\n{\"text\": 12}", "422"),
        ("wrong content type", b"POST /json HTTP/1.1\r\nhost: x\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi", "415"),
        ("body over the limit (declared)", b"POST /json HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 5000\r\nconnection: close\r\n\r\n{", "413"),
        ("garbage Last-Event-ID", b"GET /ticks HTTP/1.1\r\nhost: x\r\nlast-event-id: DROP TABLE\r\nconnection: close\r\n\r\n", "422"),
        ("Last-Event-ID that is not UTF-8", b"GET /ticks HTTP/1.1\r\nhost: x\r\nlast-event-id: \xff\xfe\r\nconnection: close\r\n\r\n", "422"),
        ("unknown route", b"GET /nowhere HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n", "404"),
        ("unknown method on a route", b"DELETE /ticks HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n", "405"),
        ("oversize header", &[], "431"),
    ];
    let big_header = format!(
        "GET /ticks HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    for (name, request, want) in cases {
        let request = if request.is_empty() {
            big_header.as_bytes()
        } else {
            request
        };
        let answer = raw(&client, request).await;
        assert_eq!(status_of(&answer), *want, "{name}: {answer:?}");
        if want.starts_with('4') && !["400", "431"].contains(want) {
            assert!(answer.contains("application/json"), "{name}: {answer:?}");
            assert!(answer.contains("\"detail\""), "{name}: {answer:?}");
        }
    }
    // The healthy stream never noticed.
    let next: Vec<_> = (&mut healthy).take(3).collect().await;
    assert_eq!(next.len(), 3);
}

#[tokio::test]
async fn http2_limits_are_advertised_to_clients() {
    let client = TestClient::spawn(
        app().limits(Limits::default().h2_max_concurrent_streams(64)),
        Protocol::Http2,
    )
    .await;
    let socket = tokio::net::TcpStream::connect(client.addr().unwrap())
        .await
        .unwrap();
    let (send, connection) = h2::client::handshake(socket).await.unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut send = send.ready().await.unwrap();
    // The server's SETTINGS arrive with the first exchange.
    let request = sse_runtime::http::Request::get("http://localhost/items/1")
        .body(())
        .unwrap();
    let (response, _) = send.send_request(request, true).unwrap();
    let response = response.await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(send.current_max_send_streams(), 64);
}
