use sse_runtime::{get, Json};

/// A plain route: the attribute also serves ordinary JSON endpoints.
#[get("/health")]
async fn health() -> Json<&'static str> {
    Json("ok")
}

fn main() {}
