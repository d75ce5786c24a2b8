//! Span lifecycle for `#[genai_span]` and for hand-written spans.
//!
//! The macro expansion is thin: a `static CallSite`, a call to
//! [`SpanGuard::start`], the user's body (in a closure or an [`Instrumented`]
//! future), then [`SpanGuard::end`]. Everything else lives here.
//!
//! Exactly-once ending: a [`SpanGuard`] ends its span in [`SpanGuard::end`], or
//! else in `Drop` — marked as a panic when the thread is unwinding, as
//! cancelled otherwise (a future dropped before completion).

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Context, ContextGuard, Key, KeyValue, Value};

use crate::attr_value::ToAttributeValue;
use crate::install::{Active, ENABLED, GENERATION, METRICS_ON, ROOTS_UNSAMPLED, active};
use crate::record::{ContentSlot, RecordBuffer, Recorder};
use crate::semconv as sc;

thread_local! {
    /// The current installation, cached per thread and refreshed when the
    /// install generation changes (a tracer is bound to its provider).
    static ACTIVE: RefCell<Option<(u64, Arc<Active>)>> = const { RefCell::new(None) };
}

/// The current installation without a global lock on the hot path.
fn cached_active() -> Option<Arc<Active>> {
    let generation = GENERATION.load(Ordering::Acquire);
    ACTIVE
        .try_with(|cell| {
            if let Some((g, a)) = cell.borrow().as_ref()
                && *g == generation
            {
                return Some(Arc::clone(a));
            }
            let a = active()?;
            *cell.borrow_mut() = Some((generation, Arc::clone(&a)));
            Some(a)
        })
        .ok()
        .flatten()
}

/// How the span name is completed at run time.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub enum NameSuffix {
    /// The name is static.
    None,
    /// `{name} {value of this attribute}` when the attribute is set (e.g. the model).
    Attribute(&'static str),
}

/// Per-call-site static state, built at compile time by `#[genai_span]`.
#[doc(hidden)]
#[derive(Debug)]
pub struct CallSite {
    name: &'static str,
    operation: Option<&'static str>,
    kind: SpanKind,
    suffix: NameSuffix,
    default_attr: Option<(&'static str, &'static str)>,
    content_slot: ContentSlot,
    has_sensitive: bool,
}

impl CallSite {
    /// `name` is the static part of the span name; `operation` the value of
    /// `gen_ai.operation.name` (well-known kinds only); `default_attr` an attribute
    /// set when the user's attributes do not set that key (e.g. the tool name);
    /// `content_slot` where `sensitive` arguments go; `has_sensitive` whether the
    /// function declares any (their error messages are then content too).
    pub const fn new(
        name: &'static str,
        operation: Option<&'static str>,
        kind: SpanKind,
        suffix: NameSuffix,
        default_attr: Option<(&'static str, &'static str)>,
        content_slot: ContentSlot,
        has_sensitive: bool,
    ) -> Self {
        Self {
            name,
            operation,
            kind,
            suffix,
            default_attr,
            content_slot,
            has_sensitive,
        }
    }
}

/// At most this many attributes a span may get from `attrs(...)` keys outside the
/// GenAI namespaces, so the SDK's 128-attribute limit always leaves room for the
/// `gen_ai.*`, `server.*` and `error.*` attributes set later.
pub const MAX_CUSTOM_ATTRIBUTES: usize = 64;

/// Attributes given at span start, where samplers can see them.
#[doc(hidden)]
#[derive(Debug)]
pub struct StartAttributes {
    buf: RecordBuffer,
    active: Arc<Active>,
    content_slot: ContentSlot,
    custom: usize,
    dropped: u32,
}

fn is_convention_key(key: &str) -> bool {
    key.starts_with("gen_ai.") || key.starts_with("server.") || key.starts_with("error.")
}

impl StartAttributes {
    /// Records `value` under `key` unless it converts to nothing (`None`).
    #[inline]
    pub fn push<T: ToAttributeValue + ?Sized>(&mut self, key: &'static str, value: &T) {
        if self.admit(key)
            && let Some(v) = value.to_attribute_value()
        {
            self.buf.kvs.push(KeyValue::new(Key::from_static_str(key), v));
        }
    }

    /// Records a string literal (no allocation).
    #[inline]
    pub fn push_static(&mut self, key: &'static str, value: &'static str) {
        if self.admit(key) {
            self.buf.kvs.push(KeyValue::new(Key::from_static_str(key), value));
        }
    }

    /// Convention keys always fit; others count against [`MAX_CUSTOM_ATTRIBUTES`].
    fn admit(&mut self, key: &str) -> bool {
        if is_convention_key(key) {
            return true;
        }
        if self.custom >= MAX_CUSTOM_ATTRIBUTES {
            self.dropped += 1;
            return false;
        }
        self.custom += 1;
        true
    }

    /// The recorder request types write to.
    pub fn recorder(&mut self) -> Recorder<'_> {
        Recorder {
            buf: &mut self.buf,
            policy: &self.active.content,
        }
    }

    /// `true` when content is captured (so `sensitive` arguments are converted).
    #[inline]
    pub fn captures_content(&self) -> bool {
        self.active.content.captures()
    }

    /// Records a `sensitive` argument's content (the caller checked `captures_content`).
    pub fn sensitive(&mut self, content: Option<serde_json::Value>) {
        if let Some(c) = content {
            let slot = self.content_slot;
            self.recorder().sensitive(slot, c);
        }
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.buf
            .kvs
            .iter()
            .rev()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }
}

/// One call's span (and metrics). Ends exactly once: by [`SpanGuard::end`], or
/// on drop (as a panic while unwinding, as cancelled otherwise). `Send`, so it
/// can live inside futures; it never holds the context attached across `.await`.
#[doc(hidden)]
#[must_use]
pub struct SpanGuard {
    // One pointer: "nothing recorded" is null, so the disabled path moves 8 bytes.
    // `ManuallyDrop`: only the cold end paths ever hold state to drop (they
    // `take()` it), so dropping a guard that records nothing compiles to nothing.
    state: ManuallyDrop<Option<Box<CallState>>>,
}

/// What one recorded call carries from start to end.
struct CallState {
    /// The span, when sampled; `None` for a call recorded in metrics only.
    cx: Option<Context>,
    active: Arc<Active>,
    site: Option<&'static CallSite>,
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    started: Instant,
    /// Operation, provider, models and server: the metric attributes.
    metric_attrs: Vec<KeyValue>,
    error_type: Option<Cow<'static, str>>,
    /// Content for the details event, usage for the metrics.
    buf: RecordBuffer,
}

impl fmt::Debug for SpanGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpanGuard")
            .field("recording", &self.is_recording())
            .finish()
    }
}

const METRIC_KEYS: [&str; 5] = [
    sc::GEN_AI_OPERATION_NAME,
    sc::GEN_AI_PROVIDER_NAME,
    sc::GEN_AI_REQUEST_MODEL,
    sc::SERVER_ADDRESS,
    sc::SERVER_PORT,
];

impl SpanGuard {
    /// A guard that records nothing.
    pub const NONE: SpanGuard = SpanGuard {
        state: ManuallyDrop::new(None),
    };

    /// Starts the call site's span as a child of the current context. When
    /// telemetry is off this is one relaxed atomic load: `attributes` is not called.
    #[inline]
    pub fn start(site: &'static CallSite, attributes: impl FnOnce(&mut StartAttributes)) -> Self {
        if !ENABLED.load(Ordering::Relaxed) {
            return Self::NONE;
        }
        Self::start_enabled(site, attributes)
    }

    #[inline(never)]
    fn start_enabled(site: &'static CallSite, attributes: impl FnOnce(&mut StartAttributes)) -> Self {
        let metrics_wanted = site.operation.is_some() && METRICS_ON.load(Ordering::Relaxed);
        // Decide what the sampler will decide, before any work: a child of an
        // unsampled local parent (parent-based sampling), or a new root under a
        // sampler that samples no root, is not recorded. Unless its metrics are
        // wanted, nothing is built, cloned or allocated for it.
        if !metrics_wanted && !Self::may_sample() {
            return Self::NONE;
        }
        let Some(active) = cached_active() else {
            return Self::NONE;
        };
        let parent = Context::current();
        let mut attrs = StartAttributes {
            buf: RecordBuffer {
                kvs: Vec::with_capacity(6),
                ..RecordBuffer::default()
            },
            active,
            content_slot: site.content_slot,
            custom: 0,
            dropped: 0,
        };
        if let Some(op) = site.operation {
            attrs
                .buf
                .kvs
                .push(KeyValue::new(Key::from_static_str(sc::GEN_AI_OPERATION_NAME), op));
        }
        attributes(&mut attrs);
        if let Some((key, value)) = site.default_attr
            && attrs.get(key).is_none()
        {
            attrs.buf.kvs.push(KeyValue::new(Key::from_static_str(key), value));
        }
        if attrs.dropped > 0 {
            attrs.buf.kvs.push(KeyValue::new(
                sc::GENAI_TRACE_DROPPED_ATTRIBUTES,
                i64::from(attrs.dropped),
            ));
        }
        let name: Cow<'static, str> = match site.suffix {
            NameSuffix::Attribute(key) => match attrs.get(key) {
                Some(v) => Cow::Owned(format!("{} {}", site.name, v.as_str())),
                None => Cow::Borrowed(site.name),
            },
            NameSuffix::None => Cow::Borrowed(site.name),
        };
        let metric_attrs: Vec<KeyValue> = if metrics_wanted {
            attrs
                .buf
                .kvs
                .iter()
                .filter(|kv| METRIC_KEYS.contains(&kv.key.as_str()))
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        let StartAttributes { mut buf, active, .. } = attrs;
        let mut kvs = std::mem::take(&mut buf.kvs);
        session_attributes(&parent, &mut kvs);
        let span = active
            .tracer
            .span_builder(name)
            .with_kind(site.kind.clone())
            .with_attributes(kvs)
            .start_with_context(&active.tracer, &parent);
        let cx = opentelemetry::trace::Span::is_recording(&span).then(|| parent.with_span(span));
        if cx.is_none() && !metrics_wanted {
            return Self::NONE;
        }
        Self::from_state(CallState {
            cx,
            active,
            site: Some(site),
            started: Instant::now(),
            metric_attrs,
            error_type: None,
            buf,
        })
    }

    /// `false` when the span would certainly be dropped by the sampler.
    #[inline]
    fn may_sample() -> bool {
        Context::map_current(|cx| {
            let span = cx.span();
            let sc = span.span_context();
            if sc.is_valid() {
                sc.is_sampled() || sc.is_remote()
            } else {
                !ROOTS_UNSAMPLED.load(Ordering::Relaxed)
            }
        })
    }

    fn from_state(state: CallState) -> Self {
        Self {
            state: ManuallyDrop::new(Some(Box::new(state))),
        }
    }

    /// Starts a span whose parent is `parent` (a fresh root when it holds no span).
    pub(crate) fn start_root(name: Cow<'static, str>, kind: SpanKind, attrs: Vec<KeyValue>, parent: &Context) -> Self {
        if !ENABLED.load(Ordering::Relaxed) {
            return Self::NONE;
        }
        Self::start_named(name, kind, attrs, parent.clone())
    }

    /// The span's context (with the parent's baggage), when recording.
    pub(crate) fn context(&self) -> Option<Context> {
        self.span_cx().cloned()
    }

    fn start_named(name: Cow<'static, str>, kind: SpanKind, mut attrs: Vec<KeyValue>, parent: Context) -> Self {
        let Some(active) = cached_active() else {
            return Self::NONE;
        };
        session_attributes(&parent, &mut attrs);
        let span = active
            .tracer
            .span_builder(name)
            .with_kind(kind)
            .with_attributes(attrs)
            .start_with_context(&active.tracer, &parent);
        if !opentelemetry::trace::Span::is_recording(&span) {
            return Self::NONE;
        }
        Self::from_state(CallState {
            cx: Some(parent.with_span(span)),
            active,
            site: None,
            started: Instant::now(),
            metric_attrs: Vec::new(),
            error_type: None,
            buf: RecordBuffer::default(),
        })
    }

    /// `true` when this call records anything (a span, or metrics): the outcome
    /// and response are then worth inspecting.
    #[inline]
    pub fn is_active(&self) -> bool {
        self.state.is_some()
    }

    /// `true` when a span is being recorded.
    pub fn is_recording(&self) -> bool {
        self.state.as_deref().is_some_and(|s| s.cx.is_some())
    }

    fn span_cx(&self) -> Option<&Context> {
        self.state.as_deref().and_then(|s| s.cx.as_ref())
    }

    /// Makes this span current on this thread until the returned guard drops.
    #[inline]
    pub fn attach(&self) -> Option<ContextGuard> {
        if self.state.is_none() {
            return None;
        }
        self.span_cx().map(|cx| cx.clone().attach())
    }

    /// Sets an attribute (no-op when not recording).
    pub fn set_attribute(&self, kv: KeyValue) {
        if let Some(cx) = self.span_cx() {
            cx.span().set_attribute(kv);
        }
    }

    /// Adds an event (no-op when not recording).
    pub fn add_event(&self, name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>) {
        if let Some(cx) = self.span_cx() {
            cx.span().add_event(name, attributes);
        }
    }

    /// Marks the call failed: status Error, `error.type`, and an `exception` event.
    ///
    /// When the function declares `sensitive` arguments and content capture is
    /// off, the message is replaced by the error type: error texts of model APIs
    /// often echo the prompt.
    pub fn record_error(&mut self, error_type: &str, exception_type: &str, message: &str) {
        let Some(state) = self.state.as_deref_mut() else { return };
        state.error_type = Some(Cow::Owned(error_type.to_owned()));
        self.mark_span_failed(error_type, exception_type, message);
    }

    /// The span half of [`SpanGuard::record_error`] (no metrics state needed).
    fn mark_span_failed(&self, error_type: &str, exception_type: &str, message: &str) {
        let Some(state) = self.state.as_deref() else { return };
        let Some(cx) = &state.cx else { return };
        let hide = state.site.is_some_and(|s| s.has_sensitive) && !state.active.content.captures();
        let message = if hide { error_type } else { message };
        mark_failed(&cx.span(), error_type, exception_type, message);
    }

    /// Lets a response type record itself (attributes, usage, gated output).
    pub fn record_response(&mut self, f: impl FnOnce(&mut Recorder<'_>)) {
        let Some(state) = self.state.as_deref_mut() else { return };
        let mut buf = RecordBuffer::default();
        f(&mut Recorder {
            buf: &mut buf,
            policy: &state.active.content,
        });
        if let Some(cx) = &state.cx
            && !buf.kvs.is_empty()
        {
            cx.span().set_attributes(std::mem::take(&mut buf.kvs));
        }
        let s = &mut state.buf;
        s.usage.input_tokens = buf.usage.input_tokens.or(s.usage.input_tokens);
        s.usage.output_tokens = buf.usage.output_tokens.or(s.usage.output_tokens);
        if let Some(m) = buf.response_model {
            state.metric_attrs.push(KeyValue::new(sc::GEN_AI_RESPONSE_MODEL, m));
        }
        s.event.append(&mut buf.event);
        s.truncated |= buf.truncated;
    }

    /// Whether content is captured, and the content byte limit.
    pub(crate) fn content_limits(&self) -> (bool, usize) {
        self.state.as_deref().map_or((false, 0), |s| {
            (s.active.content.captures(), s.active.content.max_bytes)
        })
    }

    /// A stream ended: time to first chunk (span attribute and metric), chunk
    /// count, and the mean time per output chunk (metric).
    pub(crate) fn stream_finished(&mut self, summary: &crate::stream::StreamSummary) {
        let Some(state) = self.state.as_deref_mut() else { return };
        let ttfc = summary
            .first
            .map(|first| first.saturating_duration_since(state.started).as_secs_f64());
        if let Some(cx) = &state.cx {
            let span = cx.span();
            span.set_attribute(KeyValue::new(sc::GENAI_TRACE_STREAM_CHUNKS, summary.chunks as i64));
            if let Some(t) = ttfc {
                span.set_attribute(KeyValue::new(sc::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, t));
            }
        }
        #[cfg(feature = "metrics")]
        if state.site.and_then(|s| s.operation).is_some() {
            // Mean gap between chunks after the first: one recording per stream
            // keeps the per-chunk cost to a counter and a timestamp.
            let per_chunk = match (summary.first, summary.last) {
                (Some(f), Some(l)) if summary.chunks > 1 => {
                    Some(l.saturating_duration_since(f).as_secs_f64() / (summary.chunks - 1) as f64)
                }
                _ => None,
            };
            state.active.record_stream_metrics(ttfc, per_chunk, &state.metric_attrs);
        }
    }

    /// Ends the span normally.
    #[inline]
    pub fn end(mut self) {
        // Only the check is inlined: when not recording, ending costs one branch.
        if self.state.is_some() {
            self.end_recording();
        }
    }

    #[cold]
    #[inline(never)]
    fn end_recording(&mut self) {
        if let Some(state) = self.state.take() {
            state.finish();
        }
    }

    #[cold]
    #[inline(never)]
    fn end_abnormally(&mut self) {
        let Some(mut state) = self.state.take() else { return };
        let panicking = std::thread::panicking();
        state.error_type = Some(Cow::Borrowed(if panicking { sc::ERROR_TYPE_PANIC } else { CANCELLED }));
        if let Some(cx) = &state.cx {
            let span = cx.span();
            if panicking {
                span.set_status(Status::error("panicked"));
                span.set_attribute(KeyValue::new(sc::ERROR_TYPE, sc::ERROR_TYPE_PANIC));
            } else {
                span.set_attribute(KeyValue::new(sc::GENAI_TRACE_CANCELLED, true));
            }
        }
        state.finish();
    }
}

/// Copies the session's baggage (`session.id`, `user.id`, `gen_ai.conversation.id`)
/// onto a span's attributes, unless the span sets them itself.
fn session_attributes(parent: &Context, attrs: &mut Vec<KeyValue>) {
    use opentelemetry::baggage::BaggageExt;
    let baggage = parent.baggage();
    if baggage.is_empty() {
        return;
    }
    for key in crate::session::SESSION_BAGGAGE_KEYS {
        if let Some(v) = baggage.get(key)
            && !attrs.iter().any(|kv| kv.key.as_str() == key)
        {
            attrs.push(KeyValue::new(Key::from_static_str(key), v.as_str().to_owned()));
        }
    }
}

/// `error.type` of a cancelled call in the duration metric.
const CANCELLED: &str = "cancelled";

impl CallState {
    fn finish(mut self: Box<Self>) {
        #[cfg(feature = "metrics")]
        if let Some(operation) = self.site.and_then(|s| s.operation) {
            let op = crate::metrics::FinishedOperation {
                operation,
                seconds: self.started.elapsed().as_secs_f64(),
                error_type: self.error_type.as_deref(),
                input_tokens: self.buf.usage.input_tokens,
                output_tokens: self.buf.usage.output_tokens,
            };
            self.active.record_metrics(&op, &mut self.metric_attrs);
        }
        let Some(cx) = self.cx.take() else { return };
        let span = cx.span();
        if !self.buf.event.is_empty() {
            span.add_event(sc::INFERENCE_DETAILS_EVENT, std::mem::take(&mut self.buf.event));
        }
        if self.buf.truncated {
            span.set_attribute(KeyValue::new(sc::GENAI_TRACE_CONTENT_TRUNCATED, true));
        }
        span.end();
    }
}

impl Drop for SpanGuard {
    #[inline]
    fn drop(&mut self) {
        if self.state.is_some() {
            self.end_abnormally();
        }
    }
}

pin_project_lite::pin_project! {
    /// A future run inside a span: the span's context is attached for every poll
    /// and detached after it. On completion `record` sees the output (the macro
    /// passes a function that records `Err`s), then the span ends; dropped
    /// early, the span ends as cancelled.
    #[doc(hidden)]
    pub struct Instrumented<F>
    where
        F: Future,
    {
        #[pin]
        inner: F,
        guard: SpanGuard,
        record: fn(&F::Output, &mut SpanGuard),
    }
}

impl<F: Future> Instrumented<F> {
    /// Wraps `inner` in the span of `guard`; `record` runs on the output before the span ends.
    #[inline]
    pub fn new(inner: F, guard: SpanGuard, record: fn(&F::Output, &mut SpanGuard)) -> Self {
        Self { inner, guard, record }
    }
}

/// Ends the span as a panic if the inner poll unwinds. Executors such as Tokio
/// catch the panic and drop the future later, when `panicking()` is false again:
/// without this the span would be recorded as cancelled.
struct PanicSentinel<'a>(&'a mut SpanGuard);

impl Drop for PanicSentinel<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.end_abnormally();
        }
    }
}

impl<F: Future> Future for Instrumented<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if !this.guard.is_active() {
            // Not recording: nothing to attach, record or end.
            return this.inner.poll(cx);
        }
        poll_recording(this.inner, this.guard, *this.record, cx)
    }
}

fn poll_recording<F: Future>(
    inner: Pin<&mut F>,
    guard: &mut SpanGuard,
    record: fn(&F::Output, &mut SpanGuard),
    cx: &mut TaskContext<'_>,
) -> Poll<F::Output> {
    let _attached = guard.attach();
    let sentinel = PanicSentinel(guard);
    match inner.poll(cx) {
        Poll::Ready(out) => {
            record(&out, sentinel.0);
            sentinel.0.end_recording();
            Poll::Ready(out)
        }
        Poll::Pending => Poll::Pending,
    }
}

pin_project_lite::pin_project! {
    /// Like [`Instrumented`], but hands the still-open guard back with the output:
    /// for `async fn`s that return a stream, whose span lasts as long as the stream.
    #[doc(hidden)]
    pub struct InstrumentedThen<F> {
        #[pin]
        inner: F,
        guard: SpanGuard,
    }
}

impl<F: Future> InstrumentedThen<F> {
    /// Wraps `inner` in the span of `guard`.
    pub fn new(inner: F, guard: SpanGuard) -> Self {
        Self { inner, guard }
    }
}

impl<F: Future> Future for InstrumentedThen<F> {
    type Output = (F::Output, SpanGuard);

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _attached = this.guard.attach();
        let sentinel = PanicSentinel(this.guard);
        match this.inner.poll(cx) {
            Poll::Ready(out) => Poll::Ready((out, std::mem::replace(sentinel.0, SpanGuard::NONE))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The `record` of futures whose output is not inspected.
#[doc(hidden)]
pub fn record_nothing<T>(_: &T, _: &mut SpanGuard) {}

/// Calls `f` once. Passing the body as an `FnOnce` makes rustc infer the
/// closure as `FnOnce`, so bodies may return borrows of moved-in references.
#[doc(hidden)]
#[inline(always)]
pub fn call_once<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Lets an error type choose its `error.type` (a low-cardinality class).
///
/// Without an implementation, `error.type` is the error's type path (e.g.
/// `my_app::ApiError`).
///
/// ```
/// use std::borrow::Cow;
/// use genai_trace_runtime::ErrorType;
/// #[derive(Debug)]
/// enum ApiError { RateLimited, Timeout }
/// impl std::fmt::Display for ApiError {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "{self:?}") }
/// }
/// impl ErrorType for ApiError {
///     fn error_type(&self) -> Cow<'static, str> {
///         match self { ApiError::RateLimited => "rate_limited".into(), ApiError::Timeout => "timeout".into() }
///     }
/// }
/// assert_eq!(ApiError::Timeout.error_type(), "timeout");
/// ```
pub trait ErrorType {
    /// The `error.type` value for this error.
    fn error_type(&self) -> Cow<'static, str>;
}

/// The type path without generic arguments: stable and low-cardinality.
pub(crate) fn type_path<E: ?Sized>() -> &'static str {
    let full = std::any::type_name::<E>();
    full.split('<').next().unwrap_or(full)
}

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

// ----------------------------------------------------------------------------
// Hand-written spans, for code the macro cannot reach.

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
            && SpanGuard::may_sample()
            && let Some(v) = value.to_attribute_value()
        {
            self.attrs.push(KeyValue::new(key, v));
        }
        self
    }

    fn start(self) -> SpanGuard {
        if !is_enabled_fast() || !SpanGuard::may_sample() {
            return SpanGuard::NONE;
        }
        SpanGuard::start_named(self.name, self.kind, self.attrs, Context::current())
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
    pub fn instrument_stream<S>(self, stream: S) -> crate::stream::InstrumentedStream<S>
    where
        S: futures_core::Stream,
        S::Item: crate::stream::RecordChunk,
    {
        let mut this = self;
        if is_enabled_fast() {
            this.attrs.push(KeyValue::new(sc::GEN_AI_REQUEST_STREAM, true));
        }
        crate::stream::InstrumentedStream::new(stream, this.start(), crate::stream::record_chunk)
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
    attached: Option<ContextGuard>,
    /// `Some` until dropped; ended before the context is detached.
    guard: Option<SpanGuard>,
}

impl fmt::Debug for EnteredSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnteredSpan")
            .field("recording", &self.guard.as_ref().is_some_and(SpanGuard::is_recording))
            .finish()
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
        if let Some(guard) = self.guard.take() {
            if std::thread::panicking() {
                drop(guard); // ends as a panic
            } else {
                guard.end();
            }
        }
        drop(self.attached.take());
    }
}

/// Sets an attribute on the current span (the innermost `#[genai_span]` or
/// entered span on this thread or task). No-op when nothing is recorded.
pub fn set_attribute(key: impl Into<Key>, value: impl ToAttributeValue) {
    if !is_enabled_fast() {
        return;
    }
    if let Some(v) = value.to_attribute_value() {
        Context::map_current(|cx| cx.span().set_attribute(KeyValue::new(key, v)));
    }
}

/// Adds an event to the current span.
pub fn add_event(name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>) {
    if !is_enabled_fast() {
        return;
    }
    Context::map_current(|cx| cx.span().add_event(name, attributes));
}

/// Records an error on the current span: status Error, `error.type` (the
/// error's type path), and an `exception` event with its message.
pub fn record_error<E: std::error::Error + ?Sized>(error: &E) {
    if !is_enabled_fast() {
        return;
    }
    Context::map_current(|cx| mark_failed(&cx.span(), type_path::<E>(), type_path::<E>(), &error.to_string()));
}

/// Status Error, `error.type`, and an `exception` event: how every failure is recorded.
fn mark_failed(span: &opentelemetry::trace::SpanRef<'_>, error_type: &str, exception_type: &str, message: &str) {
    span.set_status(Status::error(message.to_owned()));
    span.set_attribute(KeyValue::new(sc::ERROR_TYPE, error_type.to_owned()));
    span.add_event(
        sc::EXCEPTION_EVENT,
        vec![
            KeyValue::new(sc::EXCEPTION_TYPE, exception_type.to_owned()),
            KeyValue::new(sc::EXCEPTION_MESSAGE, message.to_owned()),
        ],
    );
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
