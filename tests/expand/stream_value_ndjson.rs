use sse_runtime::{route, Query, Stream};

#[derive(serde::Deserialize)]
struct Limit {
    n: u32,
}

/// No generator: the function returns a stream value, sent as JSON Lines.
#[route(GET, "/numbers", ndjson)]
fn numbers(Query(limit): Query<Limit>) -> impl Stream<Item = u32> {
    futures_util::stream::iter(0..limit.n)
}

fn main() {}
