//! Carrying the trace across boundaries: W3C `traceparent`, `tracestate` and
//! `baggage` in HTTP headers, string maps and message headers; and the current
//! context into spawned tasks, blocking pools and threads.
//!
//! Extracted baggage is bounded ([`MAX_BAGGAGE_ENTRIES`], [`MAX_BAGGAGE_BYTES`])
//! and only ever becomes span attributes: nothing in it configures genai-trace
//! (content capture in particular is never read from it).

mod propagation;
pub(crate) mod session;
mod spawn;

pub use propagation::{
    FutureExt, MAX_BAGGAGE_BYTES, MAX_BAGGAGE_ENTRIES, MAX_BAGGAGE_VALUE_BYTES, MessageHeaders, baggage_value, extract,
    extract_headers, extract_map, extract_message, inject, inject_context, inject_headers, inject_map, inject_message,
};
pub use spawn::{bind, spawn_thread};
#[cfg(feature = "tokio")]
pub use spawn::{spawn, spawn_blocking};
