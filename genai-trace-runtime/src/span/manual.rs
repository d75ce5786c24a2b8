//! Hand-written spans, for code the macro cannot reach ([`span`] → `enter`,
//! `in_scope`, `instrument`, `instrument_stream`), and writes to the current
//! span from anywhere (`set_attribute`, `add_event`, `record_error`).

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::sync::atomic::Ordering;

use opentelemetry::trace::{SpanKind, Status, TraceContextExt};
use opentelemetry::{Context, Key, KeyValue};

use crate::base::attr_value::ToAttributeValue;
use crate::genai::semconv as sc;
use crate::pipeline::state::ENABLED;
use crate::span::call::exception_event;
use crate::span::current::{Attached, current_call};
use crate::span::error::type_path;
use crate::span::future::{Instrumented, record_nothing};
use crate::span::guard::SpanGuard;
use crate::span::open::may_sample;
use crate::span::stream::{InstrumentedStream, RecordChunk, record_chunk};

/// A span started by hand: [`span`] → `.enter()`, `.in_scope(..)` or `.instrument(..)`.
///
/// ```
/// use genai_trace_runtime::span;
/// let answer = span("rerank").attribute("candidates", 12).in_scope(|| 42);
/// assert_eq!(answer, 42);
/// ```
#[must_use = "a SpanOptions does nothing until entered"]
#[derive(Debug)]
pub struct SpanOptions {
    name: Cow<'static, str>,
    kind: SpanKind,
    attrs: Vec<KeyValue>,
}

/// Describes a span to start by hand. Nothing is built when telemetry is off
/// beyond this small struct.
pub fn span(name: impl Into<Cow<'static, str>>) -> SpanOptions {
    SpanOptions {
        name: name.into(),
        kind: SpanKind::Internal,
        attrs: Vec::new(),
    }
}

impl SpanOptions {
    /// The span kind (default `Internal`).
    pub fn kind(mut self, kind: SpanKind) -> Self {
        self.kind = kind;
        self
    }

    /// An attribute given at start (samplers see it).
    pub fn attribute<V: ToAttributeValue>(mut self, key: impl Into<Key>, value: V) -> Self {
        if is_enabled_fast()
            && may_sample()
            && let Some(v) = value.to_attribute_value()
        {
            self.attrs.push(KeyValue::new(key, v));
        }
        self
    }

    fn start(self) -> SpanGuard {
        if !is_enabled_fast() || !may_sample() {
            return SpanGuard::NONE;
        }
        SpanGuard::start_named(self.name, self.kind, self.attrs, &Context::current())
    }

    /// Starts the span and makes it current on this thread until the guard drops.
    pub fn enter(self) -> EnteredSpan {
        let guard = self.start();
        let attached = guard.attach();
        EnteredSpan {
            attached,
            guard: Some(guard),
        }
    }

    /// Runs `f` inside the span. A panic in `f` ends the span with an error.
    pub fn in_scope<R>(self, f: impl FnOnce() -> R) -> R {
        let entered = self.enter();
        let out = f();
        drop(entered);
        out
    }

    /// Records `stream` in the span: the span stays open until the stream ends,
    /// yields an error item (see [`RecordChunk`](crate::RecordChunk)), or is dropped.
    pub fn instrument_stream<S>(self, stream: S) -> InstrumentedStream<S>
    where
        S: futures_core::Stream,
        S::Item: RecordChunk,
    {
        let mut this = self;
        if is_enabled_fast() {
            this.attrs.push(KeyValue::new(sc::GEN_AI_REQUEST_STREAM, true));
        }
        InstrumentedStream::new(stream, this.start(), record_chunk)
    }

    /// Runs `fut` inside the span (attached on every poll). Dropped before it
    /// completes, the span ends marked `genai_trace.cancelled`.
    pub fn instrument<F: Future>(self, fut: F) -> impl Future<Output = F::Output> {
        Instrumented::new(fut, self.start(), record_nothing)
    }
}

#[inline]
fn is_enabled_fast() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// A span made current by [`SpanOptions::enter`]; ends when dropped. Not `Send`:
/// the attachment belongs to this thread.
pub struct EnteredSpan {
    attached: Option<Attached>,
    /// `Some` until dropped; ended after the context is detached.
    guard: Option<SpanGuard>,
}

impl fmt::Debug for EnteredSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnteredSpan")
            .field("recording", &self.guard.as_ref().is_some_and(SpanGuard::is_recording))
            .finish_non_exhaustive()
    }
}

impl EnteredSpan {
    /// Sets an attribute on this span.
    pub fn set_attribute(&self, key: impl Into<Key>, value: impl ToAttributeValue) {
        if let (Some(g), Some(v)) = (&self.guard, value.to_attribute_value()) {
            g.set_attribute(KeyValue::new(key, v));
        }
    }

    /// Records an error on this span (status, `error.type`, `exception` event).
    pub fn record_error<E: std::error::Error + ?Sized>(&self, error: &E) {
        if let Some(g) = &self.guard {
            g.mark_span_failed(type_path::<E>(), type_path::<E>(), &error.to_string());
        }
    }
}

impl Drop for EnteredSpan {
    fn drop(&mut self) {
        drop(self.attached.take());
        if let Some(guard) = self.guard.take() {
            if std::thread::panicking() {
                drop(guard); // ends as a panic
            } else {
                guard.end();
            }
        }
    }
}

/// Sets an attribute on the current span (the innermost `#[genai_span]` or
/// entered span on this thread or task). No-op when nothing is recorded.
pub fn set_attribute(key: impl Into<Key>, value: impl ToAttributeValue) {
    if !is_enabled_fast() {
        return;
    }
    if let Some(v) = value.to_attribute_value() {
        let kv = KeyValue::new(key, v);
        match current_call() {
            Some(call) => call.set_attribute(kv),
            None => Context::map_current(|cx| cx.span().set_attribute(kv)),
        }
    }
}

/// Adds an event to the current span.
pub fn add_event(name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>) {
    if !is_enabled_fast() {
        return;
    }
    match current_call() {
        Some(call) => call.add_event(name.into(), attributes),
        None => Context::map_current(|cx| cx.span().add_event(name, attributes)),
    }
}

/// Records an error on the current span: status Error, `error.type` (the
/// error's type path), and an `exception` event with its message.
pub fn record_error<E: std::error::Error + ?Sized>(error: &E) {
    if !is_enabled_fast() {
        return;
    }
    let (error_type, message) = (type_path::<E>(), error.to_string());
    match current_call() {
        Some(call) => call.mark_failed(error_type, error_type, &message),
        // A span of other code (the SDK's), current inside ours or alone.
        None => Context::map_current(|cx| {
            let span = cx.span();
            span.set_status(Status::error(message.clone()));
            span.set_attribute(KeyValue::new(sc::ERROR_TYPE, error_type));
            span.add_event(sc::EXCEPTION_EVENT, exception_event(error_type, &message));
        }),
    }
}

/// The current trace id as 32 hex digits, for log correlation; `None` outside any span.
///
/// ```
/// assert_eq!(genai_trace_runtime::current_trace_id(), None);
/// ```
pub fn current_trace_id() -> Option<String> {
    Context::map_current(|cx| {
        let sc = cx.span().span_context().clone();
        sc.is_valid().then(|| sc.trace_id().to_string())
    })
}

/// The current span id as 16 hex digits; `None` outside any span.
pub fn current_span_id() -> Option<String> {
    Context::map_current(|cx| {
        let sc = cx.span().span_context().clone();
        sc.is_valid().then(|| sc.span_id().to_string())
    })
}
