//! The fast JSON path of `data:` fields (`event/json.rs`) against serde_json: for any
//! JSON value (parsed from the input) and any string, `encode::write_json_data` writes
//! exactly `data: ` + serde_json's compact JSON + a blank line.
#![no_main]

use arbitrary::Arbitrary;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use sse_runtime::encode;

#[derive(Arbitrary, Debug)]
struct Input {
    text: String,
    numbers: Vec<(i64, u64, f64, f32)>,
    /// Parsed as JSON when it is JSON.
    json: String,
}

fn check<T: serde::Serialize + ?Sized>(value: &T) {
    let mut buf = BytesMut::new();
    encode::write_json_data(value, &mut buf).expect("encodes");
    let expected = format!("data: {}\n\n", serde_json::to_string(value).expect("serde_json"));
    assert_eq!(std::str::from_utf8(&buf).expect("UTF-8"), expected);
}

fuzz_target!(|input: Input| {
    check(&input.text);
    check(&input.numbers);
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(&input.json) {
        check(&value);
    }
    let mut map = serde_json::Map::new();
    map.insert(input.text.clone(), serde_json::Value::String(input.json));
    check(&map);
});
