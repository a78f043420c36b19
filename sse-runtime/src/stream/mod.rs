//! The streaming engine and what a streaming body is made of: the format-agnostic
//! engine ([`engine`]), keep-alive comments, per-frame compression, and [`Body`](body::Body),
//! the response body every route answers with.

pub mod body;
pub mod compress;
pub(crate) mod engine;
pub mod keep_alive;
pub(crate) mod start;
