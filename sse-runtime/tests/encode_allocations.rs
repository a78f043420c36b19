//! Encoding an item allocates nothing beyond the response buffer: a bare `T: Serialize`
//! and an [`Event<T>`] both serialize their payload straight into the buffer (no
//! intermediate `String`). Counted with a counting global allocator, on this thread only,
//! so the count is exact (no timing involved).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::BytesMut;
use serde::Serialize;
use sse_runtime::{Event, IntoEvent, ServerSentEvent};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded to the system allocator unchanged; the thread-locals
// are const-initialized, so touching them never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.with(|n| n.set(n.get() + 1));
        }
        // SAFETY: forwarded as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.with(|n| n.set(n.get() + 1));
        }
        // SAFETY: forwarded as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// How many allocations `f` makes on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.with(Cell::get)
}

#[derive(Clone, Serialize)]
struct Chunk {
    id: u64,
    delta: String,
    tags: Vec<String>,
}

fn chunk() -> Chunk {
    Chunk {
        id: 7,
        delta: "Hello, world".to_owned(),
        tags: vec!["a".to_owned(), "b".to_owned()],
    }
}

#[test]
fn encoding_allocates_nothing_beyond_the_buffer() {
    let mut buf = BytesMut::with_capacity(64 * 1024);

    let bare = chunk();
    assert_eq!(allocations(|| bare.encode_into(&mut buf).unwrap()), 0);

    let typed = Event::new(chunk())
        .id("42")
        .event("chunk")
        .retry(std::time::Duration::from_millis(1000))
        .comment("c");
    assert_eq!(allocations(|| typed.encode_into(&mut buf).unwrap()), 0);

    let done: Event<Chunk> = Event::raw("[DONE]");
    assert_eq!(allocations(|| done.encode_into(&mut buf).unwrap()), 0);

    // The untyped event serialized its data into a `String` when it was built.
    let untyped_build = allocations(|| {
        let _ = ServerSentEvent::new().data(chunk()).id("42");
    });
    let typed_build = allocations(|| {
        let _ = Event::new(chunk()).id("42");
    });
    assert!(
        untyped_build > typed_build,
        "building: ServerSentEvent {untyped_build} allocations, Event<T> {typed_build}"
    );
}
