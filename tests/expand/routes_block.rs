use sse_runtime::{routes, Path, Stream};

routes! {
    /// Counts from `from` to 3, one event each, with a bare `yield`.
    #[get("/count/{from}", sse)]
    async fn count(Path(from): Path<u32>) -> impl Stream<Item = u32> {
        for n in from..=3 {
            yield n;
        }
    }
}

fn main() {}
