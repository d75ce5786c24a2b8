//! Ollama's native API (`/api/chat`, `/api/generate`, `/api/embed`), recorded
//! without hand-written recorders.
//!
//! - [`record_chat_request`] & co.: the API's JSON bodies as GenAI semantic
//!   conventions, for any client (always available).
//! - With feature `ollama`: ollama-rs 0.3's request, response and stream types
//!   implement [`RecordRequest`](crate::RecordRequest),
//!   [`RecordResponse`](crate::RecordResponse) and [`RecordChunk`](crate::RecordChunk),
//!   and its `Ollama` client records the provider and server; an annotated
//!   function over them needs nothing else (docs/integrations.md). Ollama's
//!   OpenAI-compatible `/v1` is covered by the `async-openai` integration.
//!
//! Not available from Ollama: response ids, cached or reasoning tokens, and,
//! through ollama-rs 0.3 (which drops `done_reason`), finish reasons.

mod wire;

pub use wire::{
    record_chat_chunk, record_chat_request, record_chat_response, record_embed_request, record_embed_response,
    record_generate_chunk, record_generate_request, record_generate_response,
};

#[cfg(feature = "ollama")]
mod types;

/// The ollama-rs crate this integration is built for (0.3), for code with no
/// dependency of its own on it, such as this repository's tests.
#[cfg(feature = "ollama")]
#[cfg_attr(docsrs, doc(cfg(feature = "ollama")))]
pub use ollama_rs;
