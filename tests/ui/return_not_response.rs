// A plain route must return something that implements `IntoResponse`.
use sse_runtime::{get, App};

struct Report {
    lines: u32,
}

#[get("/report")]
async fn report() -> Report {
    Report { lines: 1 }
}

fn main() {
    let _ = App::new().route(report);
}
