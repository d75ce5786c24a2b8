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
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Array, Context, ContextGuard, Key, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::SdkTracer;

use crate::install::{ENABLED, GENERATION, active};
use crate::semconv;

thread_local! {
    /// The tracer of the current installation, cached per thread and refreshed
    /// when the install generation changes (a tracer is bound to its provider).
    static TRACER: RefCell<Option<(u64, SdkTracer)>> = const { RefCell::new(None) };
}

fn with_tracer<R>(f: impl FnOnce(&SdkTracer) -> R) -> Option<R> {
    let generation = GENERATION.load(Ordering::Acquire);
    TRACER
        .try_with(|cell| {
            let cached = cell
                .borrow()
                .as_ref()
                .filter(|(g, _)| *g == generation)
                .map(|(_, t)| t.clone());
            let tracer = match cached {
                Some(t) => t,
                None => {
                    let t = active()?.tracer.clone();
                    *cell.borrow_mut() = Some((generation, t.clone()));
                    t
                }
            };
            Some(f(&tracer))
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
}

impl CallSite {
    /// `name` is the static part of the span name; `operation` the value of
    /// `gen_ai.operation.name` (well-known kinds only); `default_attr` an attribute
    /// set when the user's attributes do not set that key (e.g. the tool name).
    pub const fn new(
        name: &'static str,
        operation: Option<&'static str>,
        kind: SpanKind,
        suffix: NameSuffix,
        default_attr: Option<(&'static str, &'static str)>,
    ) -> Self {
        Self {
            name,
            operation,
            kind,
            suffix,
            default_attr,
        }
    }
}

/// Attributes given at span start, where samplers can see them.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct StartAttributes {
    kvs: Vec<KeyValue>,
}

impl StartAttributes {
    /// Records `value` under `key` unless it converts to nothing (`None`).
    #[inline]
    pub fn push<T: ToAttributeValue + ?Sized>(&mut self, key: &'static str, value: &T) {
        if let Some(v) = value.to_attribute_value() {
            self.kvs.push(KeyValue::new(Key::from_static_str(key), v));
        }
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.kvs
            .iter()
            .rev()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }
}

/// Converts an argument-derived expression into an attribute value.
///
/// Implemented for strings, integers, floats, booleans, `Option` (where `None`
/// records nothing), references and smart pointers, and slices/vectors of these.
/// Implement it for your own types to use them in `model = ...` or `attrs(...)`.
///
/// ```
/// use genai_trace_runtime::ToAttributeValue;
/// use opentelemetry::Value;
/// struct Model(&'static str);
/// impl ToAttributeValue for Model {
///     fn to_attribute_value(&self) -> Option<Value> { Some(Value::from(self.0)) }
/// }
/// assert_eq!(Model("gpt-4o").to_attribute_value(), Some(Value::from("gpt-4o")));
/// assert_eq!(None::<u32>.to_attribute_value(), None);
/// ```
pub trait ToAttributeValue {
    /// The value, or `None` to record nothing.
    fn to_attribute_value(&self) -> Option<Value>;
}

impl ToAttributeValue for str {
    fn to_attribute_value(&self) -> Option<Value> {
        Some(Value::String(StringValue::from(self.to_owned())))
    }
}
impl ToAttributeValue for String {
    fn to_attribute_value(&self) -> Option<Value> {
        Some(Value::String(StringValue::from(self.clone())))
    }
}
impl ToAttributeValue for Cow<'_, str> {
    fn to_attribute_value(&self) -> Option<Value> {
        self.as_ref().to_attribute_value()
    }
}
impl ToAttributeValue for bool {
    fn to_attribute_value(&self) -> Option<Value> {
        Some(Value::Bool(*self))
    }
}
impl ToAttributeValue for Value {
    fn to_attribute_value(&self) -> Option<Value> {
        Some(self.clone())
    }
}
macro_rules! int_attr {
    ($($t:ty),*) => {$(
        impl ToAttributeValue for $t {
            fn to_attribute_value(&self) -> Option<Value> {
                Some(Value::I64(i64::try_from(*self).unwrap_or(i64::MAX)))
            }
        }
    )*};
}
int_attr!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);
impl ToAttributeValue for f64 {
    fn to_attribute_value(&self) -> Option<Value> {
        Some(Value::F64(*self))
    }
}
impl ToAttributeValue for f32 {
    fn to_attribute_value(&self) -> Option<Value> {
        Some(Value::F64(f64::from(*self)))
    }
}
impl<T: ToAttributeValue + ?Sized> ToAttributeValue for &T {
    fn to_attribute_value(&self) -> Option<Value> {
        (**self).to_attribute_value()
    }
}
impl<T: ToAttributeValue + ?Sized> ToAttributeValue for Box<T> {
    fn to_attribute_value(&self) -> Option<Value> {
        (**self).to_attribute_value()
    }
}
impl<T: ToAttributeValue + ?Sized> ToAttributeValue for std::sync::Arc<T> {
    fn to_attribute_value(&self) -> Option<Value> {
        (**self).to_attribute_value()
    }
}
impl<T: ToAttributeValue> ToAttributeValue for Option<T> {
    fn to_attribute_value(&self) -> Option<Value> {
        self.as_ref().and_then(T::to_attribute_value)
    }
}
impl<T: ToAttributeValue> ToAttributeValue for [T] {
    /// Homogeneous arrays only (as OpenTelemetry requires); mixed or nested → nothing.
    fn to_attribute_value(&self) -> Option<Value> {
        let values: Vec<Value> = self.iter().filter_map(T::to_attribute_value).collect();
        match values.first() {
            None => Some(Value::Array(Array::String(Vec::new()))),
            Some(Value::String(_)) => values
                .into_iter()
                .map(|v| if let Value::String(s) = v { Some(s) } else { None })
                .collect::<Option<Vec<_>>>()
                .map(|a| Value::Array(Array::String(a))),
            Some(Value::I64(_)) => values
                .iter()
                .map(|v| if let Value::I64(i) = v { Some(*i) } else { None })
                .collect::<Option<Vec<_>>>()
                .map(|a| Value::Array(Array::I64(a))),
            Some(Value::F64(_)) => values
                .iter()
                .map(|v| if let Value::F64(f) = v { Some(*f) } else { None })
                .collect::<Option<Vec<_>>>()
                .map(|a| Value::Array(Array::F64(a))),
            Some(Value::Bool(_)) => values
                .iter()
                .map(|v| if let Value::Bool(b) = v { Some(*b) } else { None })
                .collect::<Option<Vec<_>>>()
                .map(|a| Value::Array(Array::Bool(a))),
            Some(_) => None,
        }
    }
}
impl<T: ToAttributeValue> ToAttributeValue for Vec<T> {
    fn to_attribute_value(&self) -> Option<Value> {
        self.as_slice().to_attribute_value()
    }
}
impl<T: ToAttributeValue, const N: usize> ToAttributeValue for [T; N] {
    fn to_attribute_value(&self) -> Option<Value> {
        self.as_slice().to_attribute_value()
    }
}

/// One span of one call. Ends exactly once: by [`SpanGuard::end`], or on drop
/// (as a panic while unwinding, as cancelled otherwise). `Send`, so it can live
/// inside futures; it never holds the context attached across `.await`.
#[doc(hidden)]
#[must_use]
pub struct SpanGuard {
    // One pointer: "not recording" is null, so the disabled path moves 8 bytes.
    // `ManuallyDrop`: only the cold end paths ever hold a context to drop (they
    // `take()` it), so dropping a guard that records nothing compiles to nothing.
    cx: std::mem::ManuallyDrop<Option<Box<Context>>>,
}

impl fmt::Debug for SpanGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpanGuard")
            .field("recording", &self.cx.is_some())
            .finish()
    }
}

impl SpanGuard {
    /// A guard that records nothing.
    pub const NONE: SpanGuard = SpanGuard {
        cx: std::mem::ManuallyDrop::new(None),
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
        let parent = Context::current();
        // A child of an unsampled parent is not recorded (parent-based sampling):
        // skip building its attributes altogether.
        let parent_sc = parent.span().span_context().clone();
        if parent_sc.is_valid() && !parent_sc.is_sampled() && !parent_sc.is_remote() {
            return Self::NONE;
        }
        let mut attrs = StartAttributes {
            kvs: Vec::with_capacity(4),
        };
        if let Some(op) = site.operation {
            attrs
                .kvs
                .push(KeyValue::new(Key::from_static_str(semconv::GEN_AI_OPERATION_NAME), op));
        }
        attributes(&mut attrs);
        if let Some((key, value)) = site.default_attr
            && attrs.get(key).is_none()
        {
            attrs.kvs.push(KeyValue::new(Key::from_static_str(key), value));
        }
        let name: Cow<'static, str> = match site.suffix {
            NameSuffix::Attribute(key) => match attrs.get(key) {
                Some(v) => Cow::Owned(format!("{} {}", site.name, v.as_str())),
                None => Cow::Borrowed(site.name),
            },
            NameSuffix::None => Cow::Borrowed(site.name),
        };
        Self::start_named(name, site.kind.clone(), attrs.kvs, parent)
    }

    fn start_named(name: Cow<'static, str>, kind: SpanKind, attrs: Vec<KeyValue>, parent: Context) -> Self {
        with_tracer(|tracer| {
            let span = tracer
                .span_builder(name)
                .with_kind(kind)
                .with_attributes(attrs)
                .start_with_context(tracer, &parent);
            if !opentelemetry::trace::Span::is_recording(&span) {
                return Self::NONE;
            }
            Self {
                cx: std::mem::ManuallyDrop::new(Some(Box::new(parent.with_span(span)))),
            }
        })
        .unwrap_or(Self::NONE)
    }

    /// `true` when the span is being recorded.
    #[inline]
    pub fn is_recording(&self) -> bool {
        self.cx.is_some()
    }

    /// Makes this span current on this thread until the returned guard drops.
    #[inline]
    pub fn attach(&self) -> Option<ContextGuard> {
        self.cx.as_deref().map(|cx| cx.clone().attach())
    }

    /// Sets an attribute (no-op when not recording).
    pub fn set_attribute(&self, kv: KeyValue) {
        if let Some(cx) = self.cx.as_deref() {
            cx.span().set_attribute(kv);
        }
    }

    /// Adds an event (no-op when not recording).
    pub fn add_event(&self, name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>) {
        if let Some(cx) = self.cx.as_deref() {
            cx.span().add_event(name, attributes);
        }
    }

    /// Marks the span failed: status Error, `error.type`, and an `exception` event.
    pub fn record_error(&self, error_type: &str, exception_type: &str, message: &str) {
        let Some(cx) = self.cx.as_deref() else { return };
        let span = cx.span();
        span.set_status(Status::error(message.to_owned()));
        span.set_attribute(KeyValue::new(semconv::ERROR_TYPE, error_type.to_owned()));
        span.add_event(
            semconv::EXCEPTION_EVENT,
            vec![
                KeyValue::new(semconv::EXCEPTION_TYPE, exception_type.to_owned()),
                KeyValue::new(semconv::EXCEPTION_MESSAGE, message.to_owned()),
            ],
        );
    }

    /// Ends the span normally.
    #[inline]
    pub fn end(mut self) {
        // Only the check is inlined: when not recording, ending costs one branch.
        if self.cx.is_some() {
            self.end_recording();
        }
    }

    #[cold]
    #[inline(never)]
    fn end_recording(&mut self) {
        if let Some(cx) = self.cx.take() {
            cx.span().end();
        }
    }

    #[cold]
    #[inline(never)]
    fn end_abnormally(&mut self) {
        let Some(cx) = self.cx.take() else { return };
        let span = cx.span();
        if std::thread::panicking() {
            span.set_status(Status::error("panicked"));
            span.set_attribute(KeyValue::new(semconv::ERROR_TYPE, semconv::ERROR_TYPE_PANIC));
        } else {
            span.set_attribute(KeyValue::new(semconv::GENAI_TRACE_CANCELLED, true));
        }
        span.end();
    }
}

impl Drop for SpanGuard {
    #[inline]
    fn drop(&mut self) {
        if self.cx.is_some() {
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
        record: fn(&F::Output, &SpanGuard),
    }
}

impl<F: Future> Instrumented<F> {
    /// Wraps `inner` in the span of `guard`; `record` runs on the output before the span ends.
    #[inline]
    pub fn new(inner: F, guard: SpanGuard, record: fn(&F::Output, &SpanGuard)) -> Self {
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
        if !this.guard.is_recording() {
            // Not recording: nothing to attach, record or end.
            return this.inner.poll(cx);
        }
        poll_recording(this.inner, this.guard, *this.record, cx)
    }
}

fn poll_recording<F: Future>(
    inner: Pin<&mut F>,
    guard: &mut SpanGuard,
    record: fn(&F::Output, &SpanGuard),
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

/// The `record` of futures whose output is not inspected.
#[doc(hidden)]
pub fn record_nothing<T>(_: &T, _: &SpanGuard) {}

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
fn type_path<E: ?Sized>() -> &'static str {
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
            fn __genai_record(&self, guard: &SpanGuard);
        }
    };
}
outcome_trait!(OutcomeErrorType);
outcome_trait!(OutcomeDisplay);
outcome_trait!(OutcomeDebug);
outcome_trait!(OutcomeOpaque);
outcome_trait!(OutcomeValue);

impl<T, E: ErrorType + fmt::Display> OutcomeErrorType for &&&&Outcome<'_, Result<T, E>> {
    fn __genai_record(&self, guard: &SpanGuard) {
        if let Err(e) = self.0 {
            guard.record_error(&e.error_type(), type_path::<E>(), &e.to_string());
        }
    }
}
impl<T, E: fmt::Display> OutcomeDisplay for &&&Outcome<'_, Result<T, E>> {
    fn __genai_record(&self, guard: &SpanGuard) {
        if let Err(e) = self.0 {
            guard.record_error(type_path::<E>(), type_path::<E>(), &e.to_string());
        }
    }
}
impl<T, E: fmt::Debug> OutcomeDebug for &&Outcome<'_, Result<T, E>> {
    fn __genai_record(&self, guard: &SpanGuard) {
        if let Err(e) = self.0 {
            guard.record_error(type_path::<E>(), type_path::<E>(), &format!("{e:?}"));
        }
    }
}
impl<T, E> OutcomeOpaque for &Outcome<'_, Result<T, E>> {
    fn __genai_record(&self, guard: &SpanGuard) {
        if self.0.is_err() {
            guard.record_error(type_path::<E>(), type_path::<E>(), "");
        }
    }
}
impl<T: ?Sized> OutcomeValue for Outcome<'_, T> {
    #[inline]
    fn __genai_record(&self, _guard: &SpanGuard) {}
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
            && let Some(v) = value.to_attribute_value()
        {
            self.attrs.push(KeyValue::new(key, v));
        }
        self
    }

    fn start(self) -> SpanGuard {
        if !is_enabled_fast() {
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
            g.record_error(type_path::<E>(), type_path::<E>(), &error.to_string());
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
    Context::map_current(|cx| {
        let span = cx.span();
        span.set_status(Status::error(error.to_string()));
        span.set_attribute(KeyValue::new(semconv::ERROR_TYPE, type_path::<E>()));
        span.add_event(
            semconv::EXCEPTION_EVENT,
            vec![
                KeyValue::new(semconv::EXCEPTION_TYPE, type_path::<E>()),
                KeyValue::new(semconv::EXCEPTION_MESSAGE, error.to_string()),
            ],
        );
    });
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
