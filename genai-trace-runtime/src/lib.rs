//! Runtime of [genai-trace](https://docs.rs/genai-trace): setup, exporters, the
//! span guards `#[genai_span]` expands to, and helpers for hand-written spans.
//!
//! Most users depend on the `genai-trace` facade, which re-exports this crate.
#![warn(missing_docs)]

mod attr_value;
mod config;
#[cfg(feature = "console")]
mod console;
mod content;
pub mod context;
mod diag;
mod env;
mod install;
#[cfg(feature = "tracing")]
pub mod logging;
#[cfg(feature = "metrics")]
mod metrics;
mod otlp;
mod processor;
mod record;
mod secret;
pub mod semconv;
mod session;
mod span;
mod span_data;
mod stream;
#[cfg(feature = "testing")]
pub mod testing;

pub use attr_value::ToAttributeValue;
pub use config::{ContentCapture, OtlpExporter, OtlpProtocol, SamplerConfig, Telemetry, TelemetryBuilder};
#[cfg(feature = "console")]
pub use console::ConsoleExporter;
pub use content::{DEFAULT_MAX_CONTENT_BYTES, RedactHook};
pub use env::ConfigWarning;
pub use install::{
    ExporterHealth, Health, InstallError, ShutdownError, TelemetryGuard, content_capture, health, is_enabled,
    semconv_latest_experimental,
};
pub use processor::BatchSettings;
pub use record::{Document, Message, Part, RecordRequest, RecordResponse, Recorder, ToContent, Usage};
pub use secret::{Secret, SecretHeaders};
pub use session::{SESSION_BAGGAGE_KEYS, Session, SessionBuilder};
pub use span::{
    EnteredSpan, ErrorType, MAX_CUSTOM_ATTRIBUTES, SpanOptions, add_event, current_span_id, current_trace_id,
    record_error, set_attribute, span,
};
pub use stream::{
    ChunkFn, ChunkRecorder, InstrumentedIter, InstrumentedStream, RecordChunk, count_chunk, record_chunk,
};

/// Re-exported so generated code and users name one version of OpenTelemetry.
pub use opentelemetry;
pub use opentelemetry_sdk;

/// Used by `#[genai_span]`'s expansion. Not a public API: no stability promise.
#[doc(hidden)]
pub mod __private {
    pub use crate::record::{
        ContentArg, ContentIgnored, ContentSlot, ContentViaDebug, ContentViaTrait, RequestArg, RequestIgnored,
        RequestViaTrait, ResponseIgnored, ResponseOf, ResponseViaTrait,
    };
    pub use crate::span::{
        Attached, CallSite, Instrumented, InstrumentedThen, NameSuffix, Outcome, OutcomeDebug, OutcomeDisplay,
        OutcomeErrorType, OutcomeOpaque, OutcomeValue, SpanGuard, StartAttributes, body_once, call_once,
        record_nothing, run_recorded,
    };
    pub use crate::stream::{
        ChunkIgnored, ChunkOf, ChunkPlain, ChunkResult, ChunkResultOfChunks, InstrumentedIter, InstrumentedStream,
    };
    pub use opentelemetry::trace::SpanKind;
}
