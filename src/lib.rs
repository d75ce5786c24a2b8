//! # genai-trace
//!
//! OpenTelemetry instrumentation for GenAI code — LLM calls, agents, tools,
//! retrieval — with one attribute line per function.
//!
//! ```
//! use genai_trace::{Telemetry, genai_span};
//!
//! #[genai_span(kind = "chat", provider = "openai", model = model)]
//! fn complete(model: &str, prompt: &str) -> Result<String, std::io::Error> {
//!     Ok(format!("echo: {prompt}"))
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let _guard = Telemetry::builder().service_name("docs").with_console().install()?;
//! complete("gpt-4o", "hello")?; // a CLIENT span "chat gpt-4o"
//! # Ok(()) }
//! ```
//!
//! See `README.md` and `docs/` for the guides.
#![warn(missing_docs)]

pub use genai_trace_macros::genai_span;

/// The README's code blocks are doc tests: its quickstart compiles as pasted.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
pub use genai_trace_runtime::*;
