// A route is a free function: methods with `self` are refused.
use sse_runtime::get;

struct Service;

impl Service {
    #[get("/status")]
    async fn status(&self) -> &'static str {
        "ok"
    }
}

fn main() {
    let _ = Service;
}
