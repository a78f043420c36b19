//! Round trip: arbitrary field values -> `ServerSentEvent` builder -> our encoder ->
//! our parser (fed in arbitrary chunks) gives back exactly the values, with data and
//! comment line breaks (CRLF, LF, lone CR) normalized to LF. A value the wire format cannot
//! carry (`event`/`id` with CR or LF, `id` with NUL) is refused by `validate` and by the
//! encoder, which then writes nothing.
#![no_main]

use arbitrary::Arbitrary;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use sse_runtime::encode;
use sse_runtime::parse::{EventParser, Frame};
use sse_runtime::ServerSentEvent;

#[derive(Arbitrary, Debug)]
struct Input {
    events: Vec<Fields>,
    /// Where to cut the encoded stream before feeding the parser.
    cuts: Vec<u16>,
}

#[derive(Arbitrary, Debug)]
struct Fields {
    comment: Option<String>,
    event: Option<String>,
    data: Option<Data>,
    id: Option<String>,
    retry: Option<u64>,
}

#[derive(Arbitrary, Debug)]
enum Data {
    /// `raw_data(text)`.
    Raw(String),
    /// `data(value)`: compact JSON.
    Json(Json),
    /// The JSON fast path for plain `Serialize` items (`encode::write_json_data`).
    JsonItem(Json),
}

/// JSON without floats (NaN does not round-trip through JSON).
#[derive(Arbitrary, Debug)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

/// Deeper JSON than this is cut to `null`: serde_json parses at most 128 levels back (its
/// recursion limit), and the round trip checks the data by parsing it.
const MAX_DEPTH: usize = 64;

impl Json {
    fn value(&self) -> serde_json::Value {
        self.value_at(0)
    }

    fn value_at(&self, depth: usize) -> serde_json::Value {
        use serde_json::Value;
        if depth >= MAX_DEPTH {
            return Value::Null;
        }
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Int(n) => Value::from(*n),
            Json::Str(s) => Value::String(s.clone()),
            Json::Arr(items) => Value::Array(items.iter().map(|v| v.value_at(depth + 1)).collect()),
            Json::Obj(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.value_at(depth + 1)))
                    .collect(),
            ),
        }
    }
}

/// Lines of `text` split on CRLF, LF and lone CR, as the spec's parser sees them.
fn lines(text: &str) -> Vec<String> {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .split('\n')
        .map(str::to_owned)
        .collect()
}

/// What the parser must report for one valid event, written from the spec, not from the
/// encoder: `None` when the event has no field at all (it encodes as a lone blank line).
fn expected_frame(fields: &Fields) -> Option<Frame> {
    let frame = Frame {
        comments: fields.comment.as_deref().map(lines).unwrap_or_default(),
        event: fields.event.clone(),
        data: match &fields.data {
            None => None,
            Some(Data::Raw(text)) => Some(lines(text).join("\n")),
            // Compared as JSON values below.
            Some(Data::Json(_) | Data::JsonItem(_)) => Some(String::new()),
        },
        id: fields.id.clone(),
        retry: fields.retry,
    };
    (frame != Frame::default()).then_some(frame)
}

fn invalid(fields: &Fields) -> bool {
    let breaks = |s: &Option<String>| s.as_deref().is_some_and(|s| s.contains(['\r', '\n']));
    breaks(&fields.event)
        || breaks(&fields.id)
        || fields.id.as_deref().is_some_and(|id| id.contains('\0'))
}

fuzz_target!(|input: Input| {
    let mut wire = BytesMut::new();
    let mut expected: Vec<(Option<Frame>, Option<serde_json::Value>)> = Vec::new();
    for fields in &input.events {
        let only_data = fields.comment.is_none()
            && fields.event.is_none()
            && fields.id.is_none()
            && fields.retry.is_none();
        if let (Some(Data::JsonItem(json)), true) = (&fields.data, only_data) {
            // A plain `Serialize` item: the JSON fast path, never invalid.
            let value = json.value();
            encode::write_json_data(&value, &mut wire).expect("JSON of a Value serializes");
            expected.push((expected_frame(fields), Some(value)));
            continue;
        }
        let mut event = ServerSentEvent::new();
        if let Some(comment) = &fields.comment {
            event = event.comment(comment.clone());
        }
        if let Some(name) = &fields.event {
            event = event.event(name.clone());
        }
        let mut json = None;
        match &fields.data {
            None => {}
            Some(Data::Raw(text)) => event = event.raw_data(text.clone()),
            Some(Data::Json(j) | Data::JsonItem(j)) => {
                let value = j.value();
                event = event.data(&value);
                json = Some(value);
            }
        }
        if let Some(id) = &fields.id {
            event = event.id(id.clone());
        }
        if let Some(retry) = fields.retry {
            event = event.retry(std::time::Duration::from_millis(retry));
        }

        let before = wire.clone();
        let result = encode::write_event(&event, &mut wire);
        if invalid(fields) {
            assert!(event.validate().is_err(), "accepted {fields:?}");
            assert!(result.is_err(), "encoded {fields:?}");
            assert_eq!(wire, before, "an invalid event wrote bytes");
        } else {
            assert_eq!(event.validate(), Ok(()), "refused {fields:?}");
            assert_eq!(result, Ok(()), "failed to encode {fields:?}");
            expected.push((expected_frame(fields), json));
        }
    }

    // Never a BOM or a bare CR: the stream is what a client parses without surprises.
    assert!(!wire.starts_with(b"\xEF\xBB\xBF"));
    assert!(!wire.contains(&b'\r'));

    let mut parser = EventParser::new();
    let mut cuts: Vec<usize> = input
        .cuts
        .iter()
        .map(|&c| usize::from(c) % (wire.len() + 1))
        .collect();
    cuts.sort_unstable();
    let mut at = 0;
    for cut in cuts.into_iter().chain([wire.len()]) {
        parser.feed(&wire[at..cut]);
        at = cut;
    }
    let frames: Vec<Frame> = std::iter::from_fn(|| parser.next_frame()).collect();
    let want: Vec<_> = expected
        .into_iter()
        .filter_map(|(frame, json)| frame.map(|f| (f, json)))
        .collect();
    assert_eq!(frames.len(), want.len(), "frames {frames:?}, want {want:?}");
    for (got, (mut want, json)) in frames.into_iter().zip(want) {
        if let Some(value) = json {
            let text = got.data.as_deref().expect("a JSON event has data");
            let parsed: serde_json::Value = serde_json::from_str(text).expect("data is JSON");
            assert_eq!(parsed, value);
            want.data.clone_from(&got.data);
        }
        assert_eq!(got, want);
    }
});
