//! Compressed streams (issue #15): `App::compression` negotiates gzip, br or zstd from
//! `Accept-Encoding` and flushes every frame through the compressor. The test client
//! decodes a compressed body chunk by chunk, as a browser does, so an event that was not
//! flushed would not show: the keep-alive and disconnect checks of `runtime.rs` run here
//! again, compressed, in process and over HTTP/1.1 and h2c.

use std::time::Duration;

use futures_util::StreamExt;
use sse_runtime::testing::{Protocol, TestClient};
use sse_runtime::{
    App, Coding, Compression, HttpError, JsonLines, KeepAlive, Request, ServerSentEvent, Sse,
    StatusCode,
};
use sse_tests::cleanups::Cleanups;

use crate::runtime::{keep_alive_arrives_on_time, stream_app, streams_then_cleans_up};

const CODINGS: [&str; 3] = ["gzip", "br", "zstd"];
const BOTH: [Protocol; 2] = [Protocol::Http1, Protocol::Http2];

/// `app` with compression on, and every request sending `Accept-Encoding: {coding}` (a
/// layer, so the shared helpers of `runtime.rs`, which send none, run compressed).
fn compressed(app: App, coding: &'static str) -> App {
    app.compression(Compression::new())
        .layer(tower::util::MapRequestLayer::new(
            move |mut req: Request| {
                req.headers_mut().insert(
                    "accept-encoding",
                    sse_runtime::http::HeaderValue::from_static(coding),
                );
                req
            },
        ))
}

#[tokio::test]
async fn each_coding_is_negotiated_and_its_events_arrive_one_by_one() {
    for coding in CODINGS {
        let cleanups = Cleanups::default();
        let client = TestClient::new(stream_app(&cleanups).compression(Compression::new()));
        let response = client
            .get("/endless")
            .header("accept-encoding", coding)
            .send()
            .await;
        response.assert_event_stream();
        assert_eq!(response.header("content-encoding"), Some(coding));
        assert_eq!(response.header("vary"), Some("accept-encoding"));
        // 20 ms apart: each event decodes from its own frame, or the take would hang.
        let events = tokio::time::timeout(
            Duration::from_secs(5),
            response.events().take(5).collect::<Vec<_>>(),
        )
        .await
        .expect("five events within 5 s");
        let data: Vec<_> = events.iter().map(|e| e.data.as_str()).collect();
        assert_eq!(data, ["0", "1", "2", "3", "4"], "{coding}");
        cleanups.wait_for(1, Duration::from_secs(2)).await;
    }
}

#[tokio::test]
async fn each_frame_is_a_separate_flushed_chunk_on_the_wire() {
    // An event, then only keep-alive comments: if the compressor held the event back,
    // no chunk would come until the stream ended (never).
    async fn one_then_quiet() -> Sse {
        Sse::new(
            futures_util::stream::iter([ServerSentEvent::new().data("first")])
                .chain(futures_util::stream::pending()),
        )
        .keep_alive(KeepAlive::new().interval(Duration::from_millis(50)))
    }
    for protocol in BOTH {
        for coding in CODINGS {
            let app = App::new()
                .get("/one", one_then_quiet)
                .compression(Compression::new());
            let client = TestClient::spawn(app, protocol).await;
            let response = client
                .get("/one")
                .header("accept-encoding", coding)
                .send()
                .await;
            assert_eq!(response.header("content-encoding"), Some(coding));
            let mut chunks = response.chunks();
            let mut sizes = Vec::new();
            for _ in 0..3 {
                let chunk = tokio::time::timeout(Duration::from_secs(5), chunks.next())
                    .await
                    .expect("a chunk within 5 s")
                    .expect("the stream is open");
                sizes.push(chunk.len());
            }
            // The first holds the header and the event; the pings compress to a few bytes.
            // An idle zstd stream has ended its frame (its encoder was freed), so each ping
            // is a small frame of its own: header, raw block, end (about 20 bytes).
            let most = if coding == "zstd" { 24 } else { 16 };
            assert!(
                sizes[1] < most && sizes[2] < most,
                "{protocol:?} {coding}: {sizes:?}"
            );
        }
    }
}

#[tokio::test]
async fn keep_alive_and_disconnect_cleanup_hold_when_compressed() {
    for coding in CODINGS {
        for protocol in BOTH {
            let cleanups = Cleanups::default();
            let client =
                TestClient::spawn(compressed(stream_app(&cleanups), coding), protocol).await;
            keep_alive_arrives_on_time(&client, "/quiet").await;
            streams_then_cleans_up(&client, "/endless", &cleanups).await;
            let response = client.get("/endless").send().await;
            assert_eq!(response.header("content-encoding"), Some(coding));
        }
    }
}

#[tokio::test]
async fn a_route_can_turn_compression_off() {
    async fn plain() -> Sse {
        Sse::new(futures_util::stream::iter([
            ServerSentEvent::new().raw_data("plain")
        ]))
        .compression(Compression::off())
    }
    async fn gzip_only() -> Sse {
        Sse::new(futures_util::stream::iter([
            ServerSentEvent::new().raw_data("zipped")
        ]))
        .compression(Compression::new().codings([Coding::Gzip]))
    }
    let client = TestClient::new(
        App::new()
            .get("/plain", plain)
            .get("/gzip", gzip_only)
            .compression(Compression::new()),
    );
    let response = client
        .get("/plain")
        .header("accept-encoding", "gzip, br, zstd")
        .send()
        .await;
    assert_eq!(response.header("content-encoding"), None);
    assert_eq!(response.header("vary"), None);
    assert_eq!(response.text().await, "data: plain\n\n");

    let response = client
        .get("/gzip")
        .header("accept-encoding", "br, zstd, gzip;q=0.1")
        .send()
        .await;
    assert_eq!(response.header("content-encoding"), Some("gzip"));
    assert_eq!(response.text().await, "data: zipped\n\n");
}

#[tokio::test]
async fn off_by_default_and_a_route_can_turn_it_on() {
    async fn on() -> Sse {
        Sse::new(futures_util::stream::iter([
            ServerSentEvent::new().raw_data("on")
        ]))
        .compression(Compression::new())
    }
    let cleanups = Cleanups::default();
    let client = TestClient::new(stream_app(&cleanups).get("/on", on));
    let response = client
        .get("/endless")
        .header("accept-encoding", "gzip, br")
        .send()
        .await;
    assert_eq!(response.header("content-encoding"), None);
    assert_eq!(response.header("vary"), None);
    drop(response);
    let response = client
        .get("/on")
        .header("accept-encoding", "gzip, br")
        .send()
        .await;
    assert_eq!(response.header("content-encoding"), Some("gzip"));
    assert_eq!(response.text().await, "data: on\n\n");
}

#[tokio::test]
async fn negotiation_respects_q_values_identity_and_unknown_codings() {
    async fn one() -> Sse {
        Sse::new(futures_util::stream::iter([ServerSentEvent::new().data(1)]))
    }
    let client = TestClient::new(App::new().get("/one", one).compression(Compression::new()));
    for (accept, expected) in [
        (Some("gzip, deflate, br, zstd"), Some("gzip")),
        (Some("gzip;q=0.9, deflate, br, zstd"), Some("zstd")),
        (Some("gzip, deflate, br"), Some("gzip")),
        (Some("gzip;q=0.5, br;q=1"), Some("br")),
        (Some("gzip;q=0, zstd;q=0, *"), Some("br")),
        (Some("identity"), None),
        (Some("identity;q=1, gzip;q=0.5"), None),
        (Some("deflate, compress"), None),
        (Some("*;q=0"), None),
        (Some(""), None),
        (None, None),
    ] {
        let mut request = client.get("/one");
        if let Some(accept) = accept {
            request = request.header("accept-encoding", accept);
        }
        let response = request.send().await;
        assert_eq!(response.header("content-encoding"), expected, "{accept:?}");
        assert_eq!(
            response.header("vary"),
            Some("accept-encoding"),
            "{accept:?}"
        );
        assert_eq!(response.text().await, "data: 1\n\n", "{accept:?}");
    }
}

#[tokio::test]
async fn head_and_errors_are_never_compressed() {
    async fn fails() -> Sse {
        Sse::try_new(futures_util::stream::iter([Err::<ServerSentEvent, _>(
            HttpError::new(StatusCode::CONFLICT, "taken"),
        )]))
    }
    let cleanups = Cleanups::default();
    let client = TestClient::new(
        stream_app(&cleanups)
            .get("/fails", fails)
            .compression(Compression::new()),
    );
    let response = client
        .head("/endless")
        .header("accept-encoding", "gzip")
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.header("content-encoding"), None);
    assert!(response.bytes().await.is_empty());

    let response = client
        .get("/fails")
        .header("accept-encoding", "gzip")
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(response.header("content-encoding"), None);
    let body: serde_json::Value = response.json().await;
    assert_eq!(body, serde_json::json!({ "detail": "taken" }));

    let response = client
        .get("/missing")
        .header("accept-encoding", "gzip")
        .send()
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.header("content-encoding"), None);
}

#[tokio::test]
async fn json_lines_are_compressed_line_by_line() {
    async fn rows() -> JsonLines {
        JsonLines::new(async_stream::stream! {
            for i in 0..3 {
                yield serde_json::json!({ "row": i, "text": "the same words again" });
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    }
    for coding in CODINGS {
        let client = TestClient::spawn(
            App::new()
                .get("/rows", rows)
                .compression(Compression::new()),
            Protocol::Http1,
        )
        .await;
        let response = client
            .get("/rows")
            .header("accept-encoding", coding)
            .send()
            .await;
        assert_eq!(response.header("content-encoding"), Some(coding));
        let text = response.text().await;
        let rows: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect();
        assert_eq!(rows.len(), 3, "{coding}: {text}");
        assert_eq!(rows[2]["row"], 2);
    }
}

#[tokio::test]
async fn shutdown_farewell_ends_a_compressed_stream_cleanly() {
    for coding in CODINGS {
        let cleanups = Cleanups::default();
        let app = stream_app(&cleanups)
            .farewell(ServerSentEvent::new().event("bye").raw_data("restarting"))
            .expect("a valid farewell")
            .compression(Compression::new());
        let client = TestClient::spawn(app, Protocol::Http1).await;
        let response = client
            .get("/endless")
            .header("accept-encoding", coding)
            .send()
            .await;
        assert_eq!(response.header("content-encoding"), Some(coding));
        let mut events = response.events();
        let first = events.next().await.expect("an event");
        assert_eq!(first.data, "0");
        client.shutdown();
        let rest: Vec<_> = tokio::time::timeout(Duration::from_secs(5), events.collect::<Vec<_>>())
            .await
            .expect("the stream ends at shutdown");
        let last = rest.last().expect("the farewell");
        assert_eq!(
            (last.event.as_str(), last.data.as_str()),
            ("bye", "restarting")
        );
    }
}
