use sse_runtime::{post, try_stream, HttpError, Json, Stream};

/// Streams the words back; an empty list is a 400.
#[post("/echo", sse, retry = "3s")]
async fn echo(Json(words): Json<Vec<String>>) -> impl Stream<Item = Result<String, HttpError>> {
    try_stream! {
        if words.is_empty() {
            Err(HttpError::bad_request("nothing to echo"))?;
        }
        for word in words {
            yield word;
        }
    }
}

fn main() {}
