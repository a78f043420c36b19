// `yield` inside a closure, an async block or a nested fn is not a yield of the route.
use sse_runtime::{get, stream, App, Stream};

#[get("/closure", sse)]
async fn closure() -> impl Stream<Item = u32> {
    stream! {
        let items = vec![1, 2, 3];
        items.into_iter().for_each(|n| {
            yield n;
        });
    }
}

#[get("/async-block", sse)]
async fn async_block() -> impl Stream<Item = u32> {
    stream! {
        yield 0;
        let task = async {
            yield 1;
        };
        task.await;
    }
}

#[get("/nested-fn", sse)]
async fn nested_fn() -> impl Stream<Item = u32> {
    stream! {
        fn helper() {
            yield 2;
        }
        helper();
        yield 3;
    }
}

fn main() {
    let _ = App::new().route(closure).route(async_block).route(nested_fn);
}
