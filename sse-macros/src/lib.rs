//! Route attributes for `sse-runtime` (placeholder until the macro issue lands).
