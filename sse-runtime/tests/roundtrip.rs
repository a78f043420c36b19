//! Property tests: for arbitrary field values, encode → parse (with the spec's parsing
//! algorithm, fed in arbitrary chunks) gives back the identical event; invalid values are
//! refused and never reach the wire.

use bytes::BytesMut;
use proptest::prelude::*;
use sse_runtime::encode;
use sse_runtime::parse::{EventParser, Frame};
use sse_runtime::ServerSentEvent;

/// Text with a high share of the characters that matter: line breaks, spaces, colons,
/// NUL, U+2028, CJK, emoji.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => any::<char>(),
            2 => prop::sample::select(vec!['\n', '\r', ' ', ':', '\0', '\u{2028}', '\u{feff}', '系', '🎉', 'a']),
        ],
        0..40,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn single_line() -> impl Strategy<Value = String> {
    text().prop_map(|s| s.replace(['\r', '\n'], ""))
}

#[derive(Clone, Debug)]
enum Data {
    Raw(String),
    Json(serde_json::Value),
}

fn json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        text().prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(text(), inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

#[derive(Clone, Debug)]
struct Fields {
    comment: Option<String>,
    event: Option<String>,
    data: Option<Data>,
    id: Option<String>,
    retry: Option<u64>,
}

fn fields() -> impl Strategy<Value = Fields> {
    (
        prop::option::of(text()),
        prop::option::of(single_line()),
        prop::option::of(prop_oneof![
            text().prop_map(Data::Raw),
            json().prop_map(Data::Json)
        ]),
        prop::option::of(single_line().prop_map(|s| s.replace('\0', ""))),
        prop::option::of(any::<u64>()),
    )
        .prop_map(|(comment, event, data, id, retry)| Fields {
            comment,
            event,
            data,
            id,
            retry,
        })
}

fn build(f: &Fields) -> ServerSentEvent {
    let mut event = ServerSentEvent::new();
    if let Some(c) = &f.comment {
        event = event.comment(c.clone());
    }
    if let Some(e) = &f.event {
        event = event.event(e.clone());
    }
    match &f.data {
        Some(Data::Raw(text)) => event = event.raw_data(text.clone()),
        Some(Data::Json(value)) => event = event.data(value),
        None => {}
    }
    if let Some(id) = &f.id {
        event = event.id(id.clone());
    }
    if let Some(retry) = f.retry {
        event = event.retry(std::time::Duration::from_millis(retry));
    }
    event
}

/// What a client must see: line breaks normalized to LF.
fn expected(f: &Fields) -> Frame {
    let norm = |s: &str| s.replace("\r\n", "\n").replace('\r', "\n");
    Frame {
        comments: f
            .comment
            .as_deref()
            .map(|c| norm(c).split('\n').map(str::to_owned).collect())
            .unwrap_or_default(),
        event: f.event.clone(),
        data: f.data.as_ref().map(|d| match d {
            Data::Raw(text) => norm(text),
            Data::Json(value) => serde_json::to_string(value).unwrap(),
        }),
        id: f.id.clone(),
        retry: f.retry,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn encode_then_parse_is_identity(events in prop::collection::vec(fields(), 1..5), cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..4)) {
        let mut wire = BytesMut::new();
        for f in &events {
            encode::write_event(&build(f), &mut wire).expect("valid fields encode");
        }
        // Every line ends with LF only, and the output is valid UTF-8.
        prop_assert!(std::str::from_utf8(&wire).is_ok());
        prop_assert!(!wire.contains(&b'\r'));

        // Feed the bytes in arbitrary chunks.
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
        points.sort_unstable();
        let mut parser = EventParser::new();
        let mut last = 0;
        for p in points.into_iter().chain([wire.len()]) {
            parser.feed(&wire[last..p]);
            last = p;
        }
        let parsed: Vec<Frame> = std::iter::from_fn(|| parser.next_frame()).collect();
        let wanted: Vec<Frame> = events
            .iter()
            .map(expected)
            // A field-less event is a lone blank line: nothing to parse.
            .filter(|f| *f != Frame::default())
            .collect();
        prop_assert_eq!(parsed, wanted);
    }

    #[test]
    fn typed_json_fast_path_matches_the_event_builder(value in json()) {
        let mut fast = BytesMut::new();
        encode::write_json_data(&value, &mut fast).unwrap();
        let mut built = BytesMut::new();
        encode::write_event(&ServerSentEvent::new().data(&value), &mut built).unwrap();
        prop_assert_eq!(fast, built);
    }

    #[test]
    fn invalid_event_or_id_is_refused_and_writes_nothing(prefix in single_line(), bad in prop::sample::select(vec!["\n", "\r", "\r\n"]), suffix in text(), nul in any::<bool>()) {
        let value = format!("{prefix}{bad}{suffix}");
        let mut buf = BytesMut::new();
        prop_assert!(encode::write_event(&ServerSentEvent::new().event(value.clone()), &mut buf).is_err());
        prop_assert!(encode::write_event(&ServerSentEvent::new().id(value), &mut buf).is_err());
        if nul {
            let id = format!("{prefix}\0");
            prop_assert!(encode::write_event(&ServerSentEvent::new().id(id), &mut buf).is_err());
        }
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn parser_survives_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let mut parser = EventParser::with_max_line(256);
        parser.feed(&bytes);
        while parser.next_event().is_some() {}
    }
}
