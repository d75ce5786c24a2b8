//! Runtime of [genai-trace](https://docs.rs/genai-trace): setup, exporters, the
//! span guards `#[genai_span]` expands to, and helpers for hand-written spans.
//!
//! Most users depend on the `genai-trace` facade, which re-exports this crate.
//!
//! The source is in layers, each using only the ones before it
//! (docs/architecture.md has the map):
//! `base` → `genai` → `export` → `pipeline` → `span` → `context`,
//! `macro_support` → `setup` → `testing`, `logging`.
//! The folders are private; everything public is re-exported here.
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod base;
pub mod context;
mod export;
mod genai;
#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub mod logging;
pub mod ollama;
pub mod openai;
mod pipeline;
mod setup;
mod span;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

/// Used by `#[genai_span]`'s expansion. Not a public API: no stability promise.
#[doc(hidden)]
#[path = "macro_support.rs"]
pub mod __private;

pub use base::attr_value::ToAttributeValue;
pub use base::errors::{ConfigWarning, InstallError, ShutdownError};
pub use base::secret::{Secret, SecretHeaders};
pub use context::session::{Session, SessionBuilder};
#[cfg(feature = "console")]
#[cfg_attr(docsrs, doc(cfg(feature = "console")))]
pub use export::console::ConsoleExporter;
pub use export::dialect::{DialectExporter, Dialects};
pub use export::otlp::OtlpProtocol;
pub use export::processor::BatchSettings;
pub use genai::category::SpanCategory;
pub use genai::content::{ContentCapture, DEFAULT_MAX_CONTENT_BYTES, RedactHook};
pub use genai::cost::{ModelPrice, PriceTable, PriceTableError};
pub use genai::message::{Document, Message, Part, ToContent, Usage};
pub use genai::recorder::{RecordRequest, RecordResponse, Recorder};
pub use genai::semconv;
pub use pipeline::health::{ExporterHealth, Health, health};
pub use pipeline::held::HeldTraceHealth;
#[cfg(feature = "prometheus")]
pub use pipeline::state::prometheus_exposition;
pub use pipeline::state::{content_capture, is_enabled, semconv_latest_experimental};
#[cfg(feature = "prometheus")]
pub use setup::builder::PrometheusExporter;
pub use setup::builder::{OtlpExporter, Telemetry, TelemetryBuilder};
pub use setup::guard::TelemetryGuard;
pub use setup::sampler::SamplerConfig;
pub use span::callsite::MAX_CUSTOM_ATTRIBUTES;
pub use span::error::ErrorType;
pub use span::manual::{
    EnteredSpan, SpanOptions, add_event, current_span_id, current_trace_id, record_error, set_attribute, span,
};
pub use span::open::SESSION_BAGGAGE_KEYS;
pub use span::stream::{
    ChunkFn, ChunkRecorder, InstrumentedIter, InstrumentedStream, RecordChunk, count_chunk, record_chunk,
};

/// Re-exported so generated code and users name one version of OpenTelemetry.
pub use opentelemetry;
pub use opentelemetry_sdk;
