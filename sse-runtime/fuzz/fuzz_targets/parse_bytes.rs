//! Arbitrary bytes -> our parser: no panic, the same frames and events however the bytes
//! are chunked, and bounded memory: with a line limit no value is longer than the limit,
//! and no output is larger than the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sse_runtime::parse::{EventParser, Frame, ParsedEvent};

/// Frames (with their dispatched events) of `input` fed in pieces of the given sizes.
fn parse(input: &[u8], max_line: Option<usize>, sizes: &[u8]) -> (Vec<Frame>, Vec<ParsedEvent>) {
    let mut parser = match max_line {
        Some(max) => EventParser::with_max_line(max),
        None => EventParser::new(),
    };
    let mut frames = Vec::new();
    let mut events = Vec::new();
    let mut rest = input;
    let mut sizes = sizes.iter().cycle();
    while !rest.is_empty() {
        let size = sizes.next().map_or(rest.len(), |&s| usize::from(s).max(1));
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        parser.feed(chunk);
        rest = tail;
        // Drain as a client would, so that nothing piles up inside the parser.
        while let Some(frame) = parser.next_frame() {
            if let Some(event) = parser.dispatch(frame.clone()) {
                events.push(event);
            }
            frames.push(frame);
        }
    }
    (frames, events)
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    // The first byte picks a line limit, the next 8 the chunk sizes; the rest is the stream.
    let max_line = (control & 1 == 1).then_some(usize::from(control >> 1) + 1);
    let (sizes, input) = rest.split_at(rest.len().min(8));

    let (frames, events) = parse(input, max_line, sizes);
    let whole = parse(input, max_line, &[]);
    assert_eq!(
        (&frames, &events),
        (&whole.0, &whole.1),
        "chunking changed the result"
    );

    let mut total = 0;
    for frame in &frames {
        let values = frame
            .comments
            .iter()
            .chain(&frame.event)
            .chain(&frame.id)
            .map(String::len);
        for len in values {
            total += len;
            if let Some(max) = max_line {
                // Lossy UTF-8 decoding turns an invalid byte into U+FFFD (3 bytes).
                assert!(
                    len <= 3 * max,
                    "value of {len} bytes with a {max}-byte line limit"
                );
            }
        }
        if let Some(data) = &frame.data {
            total += data.len();
            if let Some(max) = max_line {
                for line in data.split('\n') {
                    assert!(line.len() <= 3 * max, "data line of {} bytes", line.len());
                }
            }
        }
    }
    // Lossy UTF-8 decoding may turn one invalid byte into U+FFFD (3 bytes).
    assert!(
        total <= 3 * input.len(),
        "{total} bytes out of {} in",
        input.len()
    );
    for event in &events {
        assert!(frames.iter().any(|f| f.data.as_ref() == Some(&event.data)));
    }
});
