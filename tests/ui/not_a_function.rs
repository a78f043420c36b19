// The attribute goes on a function.
use sse_runtime::get;

#[get("/thing")]
struct Thing;

#[get("/other")]
const OTHER: u32 = 1;

fn main() {
    let _ = (Thing, OTHER);
}
