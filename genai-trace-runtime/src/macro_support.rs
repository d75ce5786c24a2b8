//! Everything `#[genai_span]`'s expansion names, in one place: the crate's
//! `__private` module. Not a public API: no stability promise.
//!
//! Besides re-exports of the span machinery, this holds the dispatch the
//! expansion does on concrete types by autoref specialisation: method lookup
//! finds the most specific impl first (`&&&Wrapper` before `&&Wrapper` ...), so
//! any argument, return or item type compiles, and types that implement the
//! recording traits are recorded through them.
#![allow(missing_docs, missing_debug_implementations)]

use std::fmt;

use serde_json::Value as Json;

pub use opentelemetry::trace::SpanKind;

use crate::base::diag;
use crate::genai::message::ToContent;
pub use crate::genai::recorder::ContentSlot;
use crate::genai::recorder::{RecordRequest, RecordResponse, Recorder};
pub use crate::span::callsite::{CallSite, NameSuffix, StartAttributes};
pub use crate::span::current::Attached;
use crate::span::error::{ErrorType, type_path};
pub use crate::span::future::{Instrumented, InstrumentedThen, body_once, call_once, record_nothing, run_recorded};
pub use crate::span::guard::SpanGuard;
use crate::span::stream::{ChunkRecorder, RecordChunk};
pub use crate::span::stream::{InstrumentedIter, InstrumentedStream};

/// Runs the expansion's outcome recording (response and error dispatch) for a
/// stream function that failed before its stream existed; a panic in the user's
/// code there (an error's `Display`, a `RecordResponse`) is caught and counted.
pub fn record_outcome(record: impl FnOnce()) {
    diag::guarded("the recording of a call's outcome", record);
}

// ---- arguments: request types and `sensitive` content ------------------------

/// Wraps an argument so the macro can ask whether its type records itself.
#[doc(hidden)]
pub struct RequestArg<'a, T: ?Sized>(pub &'a T);
/// Wraps a return value for [`RecordResponse`] dispatch.
#[doc(hidden)]
pub struct ResponseOf<'a, T: ?Sized>(pub &'a T);
/// Wraps a `sensitive` argument for [`ToContent`] dispatch.
#[doc(hidden)]
pub struct ContentArg<'a, T: ?Sized>(pub &'a T);

#[doc(hidden)]
pub trait RequestViaTrait {
    fn __genai_request(&self, r: &mut Recorder<'_>);
}
#[doc(hidden)]
pub trait RequestIgnored {
    fn __genai_request(&self, r: &mut Recorder<'_>);
}
impl<T: RecordRequest + ?Sized> RequestViaTrait for &RequestArg<'_, T> {
    #[inline]
    fn __genai_request(&self, r: &mut Recorder<'_>) {
        self.0.record_request(r);
    }
}
impl<T: ?Sized> RequestIgnored for RequestArg<'_, T> {
    #[inline]
    fn __genai_request(&self, _: &mut Recorder<'_>) {}
}

#[doc(hidden)]
pub trait ResponseViaTrait {
    fn __genai_response(&self, g: &mut SpanGuard);
}
#[doc(hidden)]
pub trait ResponseIgnored {
    fn __genai_response(&self, g: &mut SpanGuard);
}
impl<T: RecordResponse + ?Sized> ResponseViaTrait for &ResponseOf<'_, T> {
    fn __genai_response(&self, g: &mut SpanGuard) {
        g.record_response(|r| self.0.record_response(r));
    }
}
impl<T: ?Sized> ResponseIgnored for ResponseOf<'_, T> {
    #[inline]
    fn __genai_response(&self, _: &mut SpanGuard) {}
}

#[doc(hidden)]
pub trait ContentViaTrait {
    fn __genai_content(&self) -> Option<Json>;
}
#[doc(hidden)]
pub trait ContentViaDebug {
    fn __genai_content(&self) -> Option<Json>;
}
impl<T: ToContent + ?Sized> ContentViaTrait for &ContentArg<'_, T> {
    fn __genai_content(&self) -> Option<Json> {
        Some(self.0.to_content())
    }
}
impl<T: fmt::Debug + ?Sized> ContentViaDebug for ContentArg<'_, T> {
    fn __genai_content(&self) -> Option<Json> {
        Some(Json::String(format!("{:?}", self.0)))
    }
}

// ---- return values as content: a tool's result, an agent's answer -------------

/// Wraps the return value of an `execute_tool`, `invoke_agent` or `invoke_workflow`
/// function: its `Ok` value (or the plain value) is the tool's
/// `gen_ai.tool.call.result` or the agent's `gen_ai.output.messages` when content
/// is captured.
#[doc(hidden)]
pub struct ReturnContentOf<'a, T: ?Sized>(pub &'a T);

#[doc(hidden)]
pub trait ReturnContentOfResult {
    fn __genai_return_content(&self) -> Option<Json>;
}
#[doc(hidden)]
pub trait ReturnContentViaTrait {
    fn __genai_return_content(&self) -> Option<Json>;
}
#[doc(hidden)]
pub trait ReturnContentViaDebug {
    fn __genai_return_content(&self) -> Option<Json>;
}
#[doc(hidden)]
pub trait ReturnContentIgnored {
    fn __genai_return_content(&self) -> Option<Json>;
}
impl<T: ToContent, E> ReturnContentOfResult for &&&ReturnContentOf<'_, Result<T, E>> {
    fn __genai_return_content(&self) -> Option<Json> {
        // A failed call has no result: its error is recorded as the span's error.
        self.0.as_ref().ok().map(ToContent::to_content)
    }
}
impl<T: ToContent + ?Sized> ReturnContentViaTrait for &&ReturnContentOf<'_, T> {
    fn __genai_return_content(&self) -> Option<Json> {
        Some(self.0.to_content())
    }
}
impl<T: fmt::Debug + ?Sized> ReturnContentViaDebug for &ReturnContentOf<'_, T> {
    fn __genai_return_content(&self) -> Option<Json> {
        Some(Json::String(format!("{:?}", self.0)))
    }
}
impl<T: ?Sized> ReturnContentIgnored for ReturnContentOf<'_, T> {
    fn __genai_return_content(&self) -> Option<Json> {
        None
    }
}

/// Records a tool's result (the caller checked that content is captured).
#[doc(hidden)]
pub fn record_tool_result(guard: &mut SpanGuard, result: Option<Json>) {
    if let Some(result) = result {
        guard.record_response(|r| r.tool_call_result(&result));
    }
}

/// Records an agent's or workflow's answer as its output messages (the caller
/// checked that content is captured).
#[doc(hidden)]
pub fn record_output_value(guard: &mut SpanGuard, output: Option<Json>) {
    if let Some(output) = output {
        guard.record_response(|r| r.output_value(&output));
    }
}

// ---- return values: errors -----------------------------------------------------

/// Wraps a return value so the macro can dispatch on its type (autoref
/// specialisation: the most specific impl is found first by method lookup).
#[doc(hidden)]
pub struct Outcome<'a, T: ?Sized>(pub &'a T);

macro_rules! outcome_trait {
    ($trait:ident) => {
        #[doc(hidden)]
        pub trait $trait {
            fn __genai_record(&self, guard: &mut SpanGuard);
        }
    };
}
outcome_trait!(OutcomeErrorType);
outcome_trait!(OutcomeDisplay);
outcome_trait!(OutcomeDebug);
outcome_trait!(OutcomeOpaque);
outcome_trait!(OutcomeValue);

impl<T, E: ErrorType + fmt::Display> OutcomeErrorType for &&&&Outcome<'_, Result<T, E>> {
    fn __genai_record(&self, guard: &mut SpanGuard) {
        if let Err(e) = self.0 {
            guard.record_error(&e.error_type(), type_path::<E>(), &e.to_string());
        }
    }
}
impl<T, E: fmt::Display> OutcomeDisplay for &&&Outcome<'_, Result<T, E>> {
    fn __genai_record(&self, guard: &mut SpanGuard) {
        if let Err(e) = self.0 {
            guard.record_error(type_path::<E>(), type_path::<E>(), &e.to_string());
        }
    }
}
impl<T, E: fmt::Debug> OutcomeDebug for &&Outcome<'_, Result<T, E>> {
    fn __genai_record(&self, guard: &mut SpanGuard) {
        if let Err(e) = self.0 {
            guard.record_error(type_path::<E>(), type_path::<E>(), &format!("{e:?}"));
        }
    }
}
impl<T, E> OutcomeOpaque for &Outcome<'_, Result<T, E>> {
    fn __genai_record(&self, guard: &mut SpanGuard) {
        if self.0.is_err() {
            guard.record_error(type_path::<E>(), type_path::<E>(), "");
        }
    }
}
impl<T: ?Sized> OutcomeValue for Outcome<'_, T> {
    #[inline]
    fn __genai_record(&self, _guard: &mut SpanGuard) {}
}

// ---- stream items ------------------------------------------------------------------

/// Wraps a stream item for [`RecordChunk`] / `Result` dispatch.
#[doc(hidden)]
pub struct ChunkOf<'a, T: ?Sized>(pub &'a T);

#[doc(hidden)]
pub trait ChunkErrorTypeOfChunks {
    fn __genai_chunk(&self, c: &mut ChunkRecorder<'_>);
}
#[doc(hidden)]
pub trait ChunkErrorType {
    fn __genai_chunk(&self, c: &mut ChunkRecorder<'_>);
}
#[doc(hidden)]
pub trait ChunkResultOfChunks {
    fn __genai_chunk(&self, c: &mut ChunkRecorder<'_>);
}
#[doc(hidden)]
pub trait ChunkResult {
    fn __genai_chunk(&self, c: &mut ChunkRecorder<'_>);
}
#[doc(hidden)]
pub trait ChunkPlain {
    fn __genai_chunk(&self, c: &mut ChunkRecorder<'_>);
}
#[doc(hidden)]
pub trait ChunkIgnored {
    fn __genai_chunk(&self, c: &mut ChunkRecorder<'_>);
}

fn error_parts<E: fmt::Display>(e: &E) -> (&'static str, String) {
    (type_path::<E>(), e.to_string())
}

// An error item is recorded as a returned error is: the user's `ErrorType` class
// when the error has one, else its type path.
impl<T: RecordChunk, E: ErrorType + fmt::Display> ChunkErrorTypeOfChunks for &&&&&ChunkOf<'_, Result<T, E>> {
    fn __genai_chunk(&self, c: &mut ChunkRecorder<'_>) {
        match self.0 {
            Ok(v) => v.record_chunk(c),
            Err(e) => c.error(&e.error_type(), type_path::<E>(), &e.to_string()),
        }
    }
}
impl<T, E: ErrorType + fmt::Display> ChunkErrorType for &&&&ChunkOf<'_, Result<T, E>> {
    fn __genai_chunk(&self, c: &mut ChunkRecorder<'_>) {
        if let Err(e) = self.0 {
            c.error(&e.error_type(), type_path::<E>(), &e.to_string());
        }
    }
}
impl<T: RecordChunk, E: fmt::Display> ChunkResultOfChunks for &&&ChunkOf<'_, Result<T, E>> {
    fn __genai_chunk(&self, c: &mut ChunkRecorder<'_>) {
        match self.0 {
            Ok(v) => v.record_chunk(c),
            Err(e) => {
                let (t, m) = error_parts(e);
                c.error(t, t, &m);
            }
        }
    }
}
impl<T, E: fmt::Display> ChunkResult for &&ChunkOf<'_, Result<T, E>> {
    fn __genai_chunk(&self, c: &mut ChunkRecorder<'_>) {
        if let Err(e) = self.0 {
            let (t, m) = error_parts(e);
            c.error(t, t, &m);
        }
    }
}
impl<T: RecordChunk + ?Sized> ChunkPlain for &ChunkOf<'_, T> {
    fn __genai_chunk(&self, c: &mut ChunkRecorder<'_>) {
        self.0.record_chunk(c);
    }
}
impl<T: ?Sized> ChunkIgnored for ChunkOf<'_, T> {
    #[inline]
    fn __genai_chunk(&self, _: &mut ChunkRecorder<'_>) {}
}
