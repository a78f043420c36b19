//! Stock ticker: `GET /stocks/{symbol}/stream` sends `event: price_update` with
//! `{"symbol", "price", "change"}` every second, forever (until the client leaves).
//!
//! Prices are simulated: a random walk that stays within 100..=200 and moves at most 5
//! per tick. A real feed would replace [`PriceFeed`] and keep the route as it is.
//!
//! The route's items are `Result`s and its body uses `?`: an `Err` before the first event
//! is the HTTP answer (here `400` for a bad symbol); no stream starts.
//!
//! ```text
//! cargo run --example stocks
//! curl -N http://127.0.0.1:8000/stocks/AAPL/stream
//! ```

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sse_runtime::schemars::JsonSchema;
use sse_runtime::{App, Event, HttpError, Path, Stream};

/// The time between two updates.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// The lowest and highest simulated price.
pub const PRICE_RANGE: (f64, f64) = (100.0, 200.0);

/// The largest simulated move per update, either way.
pub const MAX_CHANGE: f64 = 5.0;

/// One price update: `{"symbol": "AAPL", "price": 151.27, "change": -1.08}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "sse_runtime::schemars")]
pub struct StockUpdate {
    /// The ticker symbol, upper-cased.
    pub symbol: String,
    /// The new price, rounded to cents.
    pub price: f64,
    /// The move since the previous update, rounded to cents.
    pub change: f64,
}

/// A simulated price feed for one symbol.
#[derive(Clone, Debug)]
pub struct PriceFeed {
    symbol: String,
    price: f64,
    rng: u64,
}

impl PriceFeed {
    /// A feed for `symbol`; `seed` picks the starting price and the walk.
    pub fn new(symbol: impl Into<String>, seed: u64) -> Self {
        let mut feed = Self {
            symbol: symbol.into(),
            price: 0.0,
            rng: seed,
        };
        let (low, high) = PRICE_RANGE;
        feed.price = cents(low + (high - low) * feed.next_unit());
        feed
    }

    /// The next update.
    pub fn tick(&mut self) -> StockUpdate {
        let (low, high) = PRICE_RANGE;
        let step = MAX_CHANGE * (2.0 * self.next_unit() - 1.0);
        let price = cents((self.price + step).clamp(low, high));
        let change = cents(price - self.price);
        self.price = price;
        StockUpdate {
            symbol: self.symbol.clone(),
            price,
            change,
        }
    }

    /// A uniform number in `[0, 1)` (splitmix64).
    fn next_unit(&mut self) -> f64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `value` rounded to cents.
fn cents(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// True for 1 to 10 ASCII letters, digits, `.` or `-` (`AAPL`, `BRK.B`, `RDS-A`).
pub fn is_valid_symbol(symbol: &str) -> bool {
    (1..=10).contains(&symbol.len())
        && symbol
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

/// A fresh random seed for each stream.
fn random_seed(symbol: &str) -> u64 {
    RandomState::new().hash_one(symbol)
}

sse_runtime::routes! {
    /// `GET /stocks/{symbol}/stream`: a `price_update` event every [`INTERVAL`], forever.
    ///
    /// A symbol that is not 1 to 10 letters, digits, `.` or `-` is refused before the stream
    /// starts: `400 Bad Request` with `{"detail": "..."}`.
    #[get("/stocks/{symbol}/stream", sse)]
    pub async fn stock_stream(
        Path(symbol): Path<String>,
    ) -> impl Stream<Item = Result<Event<StockUpdate>, HttpError>> {
        if !is_valid_symbol(&symbol) {
            Err(HttpError::bad_request(
                "symbol must be 1 to 10 letters, digits, '.' or '-'",
            ))?;
        }
        let mut feed = PriceFeed::new(symbol.to_ascii_uppercase(), random_seed(&symbol));
        loop {
            yield Event::new(feed.tick()).event("price_update");
            tokio::time::sleep(INTERVAL).await;
        }
    }
}

/// The app: `GET /stocks/{symbol}/stream`.
pub fn app() -> App {
    App::new().route(stock_stream)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:8000".to_owned());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    app().serve_with_listener(listener).await?; // until Ctrl-C or SIGTERM
    Ok(())
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use serde_json::{json, Value};
    use sse_runtime::testing::TestClient;
    use sse_runtime::StatusCode;
    use tokio::time::Instant;

    use super::{app, PriceFeed, StockUpdate, MAX_CHANGE, PRICE_RANGE};

    fn assert_cents(value: f64) {
        assert!(
            ((value * 100.0).round() - value * 100.0).abs() < 1e-6,
            "{value} is not rounded to cents"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn price_updates_every_second_within_range() {
        let client = TestClient::new(app());
        let start = Instant::now();
        let response = client.get("/stocks/aapl/stream").send().await;
        response.assert_event_stream();
        let mut events = response.events();
        let mut previous: Option<f64> = None;
        for i in 0..5u128 {
            let event = events.next().await.expect("an endless stream");
            // Paused clock: exact milliseconds.
            assert_eq!(start.elapsed().as_millis(), 1000 * i);
            assert_eq!(event.event, "price_update");
            assert_eq!(event.id, None);
            let raw: Value = serde_json::from_str(&event.data).expect("JSON");
            assert!(raw["price"].is_f64() && raw["change"].is_f64(), "{raw}");
            assert_eq!(raw.as_object().map(|o| o.len()), Some(3));
            let update: StockUpdate = event.json().expect("StockUpdate");
            assert_eq!(update.symbol, "AAPL");
            assert!((PRICE_RANGE.0..=PRICE_RANGE.1).contains(&update.price));
            assert!(update.change.abs() <= MAX_CHANGE + 1e-9);
            assert_cents(update.price);
            assert_cents(update.change);
            if let Some(previous) = previous {
                assert!((previous + update.change - update.price).abs() < 0.011);
            }
            previous = Some(update.price);
        }
    }

    #[tokio::test]
    async fn an_invalid_symbol_is_400_before_the_stream() {
        let client = TestClient::new(app());
        for symbol in ["TOOLONGSYMBOL", "A%20B", "%F0%9F%93%88"] {
            let response = client.get(&format!("/stocks/{symbol}/stream")).send().await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{symbol}");
            let body: Value = response.json().await;
            assert_eq!(
                body,
                json!({ "detail": "symbol must be 1 to 10 letters, digits, '.' or '-'" })
            );
        }
        let response = client.get("/stocks/BRK.B/stream").send().await;
        response.assert_event_stream();
    }

    #[test]
    fn the_simulated_feed_stays_in_range() {
        for seed in 0..20 {
            let mut feed = PriceFeed::new("X", seed);
            for _ in 0..2_000 {
                let update = feed.tick();
                assert!((PRICE_RANGE.0..=PRICE_RANGE.1).contains(&update.price));
                assert!(update.change.abs() <= MAX_CHANGE + 1e-9);
            }
        }
    }
}
