//! Stock ticker: `GET /stocks/{symbol}/stream` sends `event: price_update` with
//! `{"symbol", "price", "change"}` every second, forever (until the client leaves).
//!
//! Prices are simulated: a random walk that stays within 100..=200 and moves at most 5
//! per tick. A real feed would replace [`PriceFeed`] and keep the route as it is.
//!
//! The route is written inside [`sse_runtime::routes!`], so its body `yield`s directly
//! (stable Rust allows bare `yield` only inside a macro's tokens); because its items are
//! `Result`s and it uses `?`, the body becomes a `try_stream!` generator.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sse_runtime::{App, HttpError, Path, ServerSentEvent, Stream};

/// The time between two updates.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// The lowest and highest simulated price.
pub const PRICE_RANGE: (f64, f64) = (100.0, 200.0);

/// The largest simulated move per update, either way.
pub const MAX_CHANGE: f64 = 5.0;

/// One price update: `{"symbol": "AAPL", "price": 151.27, "change": -1.08}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    ) -> impl Stream<Item = Result<ServerSentEvent, HttpError>> {
        if !is_valid_symbol(&symbol) {
            Err(HttpError::bad_request(
                "symbol must be 1 to 10 letters, digits, '.' or '-'",
            ))?;
        }
        let mut feed = PriceFeed::new(symbol.to_ascii_uppercase(), random_seed(&symbol));
        loop {
            yield ServerSentEvent::new()
                .data(feed.tick())
                .event("price_update");
            tokio::time::sleep(INTERVAL).await;
        }
    }
}

/// Adds this scenario's routes to `app`.
pub fn routes(app: App) -> App {
    app.route(stock_stream)
}

/// An app with only this scenario.
pub fn app() -> App {
    routes(App::new())
}
