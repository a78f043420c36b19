//! The streaming engine and what a streaming body is made of: the format-agnostic
//! engine ([`engine`]), keep-alive comments, per-frame compression, and [`Body`](body::Body),
//! the response body every route answers with.

pub(crate) mod body;
pub(crate) mod compress;
pub(crate) mod engine;
pub(crate) mod keep_alive;
pub(crate) mod start;
pub(crate) mod watch;
