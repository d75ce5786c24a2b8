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
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, Tracer as _};
use opentelemetry::{Context, ContextGuard, Key, KeyValue, Value};
use opentelemetry_sdk::trace::{IdGenerator, SamplingDecision, ShouldSample, SpanEvents};

use crate::attr_value::ToAttributeValue;
use crate::content::ContentPolicy;
use crate::install::{Active, ENABLED, GENERATION, METRICS_ON, OwnPipeline, ROOTS_UNSAMPLED, active};
use crate::record::{ContentSlot, RecordBuffer, Recorder};
use crate::semconv as sc;
use crate::span_data::{MetricAttributes, OpenSpan, SpanAttributes};

thread_local! {
    /// The current installation, cached per thread and refreshed when the
    /// install generation changes (a tracer is bound to its provider).
    static ACTIVE: RefCell<Option<(u64, Arc<Active>)>> = const { RefCell::new(None) };
}

/// Runs `f` with the current installation, without a global lock on the hot
/// path (and without touching its reference count).
fn with_cached_active<R>(f: impl FnOnce(&Arc<Active>) -> R) -> Option<R> {
    let generation = GENERATION.load(Ordering::Acquire);
    ACTIVE
        .try_with(|cell| {
            let mut cell = cell.borrow_mut();
            if !matches!(cell.as_ref(), Some((g, _)) if *g == generation) {
                *cell = Some((generation, active()?));
            }
            let (_, a) = cell.as_ref()?;
            Some(f(a))
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
/// GenAI namespaces, so the 128-attribute span limit always leaves room for the
/// `gen_ai.*`, `server.*` and `error.*` attributes set later.
pub const MAX_CUSTOM_ATTRIBUTES: usize = 64;

/// Attributes given at span start, where samplers can see them.
#[doc(hidden)]
#[derive(Debug)]
pub struct StartAttributes<'a> {
    buf: &'a mut RecordBuffer,
    policy: &'a ContentPolicy,
    content_slot: ContentSlot,
    custom: usize,
    dropped: u32,
}

fn is_convention_key(key: &str) -> bool {
    key.starts_with("gen_ai.") || key.starts_with("server.") || key.starts_with("error.")
}

impl StartAttributes<'_> {
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
            buf: self.buf,
            policy: self.policy,
        }
    }

    /// `true` when content is captured (so `sensitive` arguments are converted).
    #[inline]
    pub fn captures_content(&self) -> bool {
        self.policy.captures()
    }

    /// Records a `sensitive` argument's content (the caller checked `captures_content`).
    pub fn sensitive(&mut self, content: Option<serde_json::Value>) {
        if let Some(c) = content {
            let slot = self.content_slot;
            self.recorder().sensitive(slot, c);
        }
    }
}

fn find_attribute<'a>(kvs: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    kvs.iter().rev().find(|kv| kv.key.as_str() == key).map(|kv| &kv.value)
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
    state: ManuallyDrop<Option<Arc<CallState>>>,
}

/// How a call's span is recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Recording {
    /// No span: metrics only, or a sampled-out span whose context children
    /// inherit (so they keep the sampling decision of their trace).
    No,
    /// By genai-trace: the span's fields are in [`CallData`].
    Own,
    /// By the SDK, in the call's context (a tracer provider the user built).
    Sdk,
}

/// What one recorded call carries from start to end.
///
/// Shared (an `Arc`) between its guard and, while the call is attached, this
/// thread's [current-call stack](CURRENT_CALLS), through which `set_attribute`
/// and friends reach it; everything that changes after start is in `data`.
/// Recycled through a small per-thread pool when the guard held the only reference.
struct CallState {
    active: Arc<Active>,
    site: Option<&'static CallSite>,
    /// Wall-clock start: the span's start time, and the origin of the call's
    /// durations (one clock reading at each end, as the SDK does).
    started: SystemTime,
    /// The context the call runs in: its span (or span context) and the parent's
    /// baggage. `None`: metrics only.
    cx: Option<Context>,
    recording: Recording,
    span_id: SpanId,
    data: Mutex<CallData>,
}

#[derive(Default)]
struct CallData {
    /// The span's attributes (own spans), the details event's content, usage.
    buf: RecordBuffer,
    /// The rest of an own span.
    span: Option<OpenSpan>,
    /// Operation, provider, models and server: the metric attributes.
    metric_attrs: MetricAttributes,
    error_type: Option<Cow<'static, str>>,
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

// --- the per-thread pool of call states ----------------------------------------

/// Call states kept per thread for reuse; beyond this many they are freed.
const POOLED_CALLS: usize = 16;

thread_local! {
    static CALL_POOL: RefCell<Vec<Arc<CallState>>> = const { RefCell::new(Vec::new()) };
}

impl CallState {
    /// A state from this thread's pool (or a new allocation) for a call of the
    /// current installation, set up by `init` (which returns `false` when nothing
    /// is recorded: the state then goes back to the pool).
    fn start(site: Option<&'static CallSite>, init: impl FnOnce(&mut CallState) -> bool) -> Option<Arc<CallState>> {
        let mut call = with_cached_active(|active| {
            let pooled = CALL_POOL.try_with(|p| p.borrow_mut().pop()).ok().flatten();
            match pooled {
                Some(mut call) => {
                    if let Some(s) = Arc::get_mut(&mut call) {
                        // A pooled state usually served this installation already:
                        // no reference count traffic then.
                        if !Arc::ptr_eq(&s.active, active) {
                            s.active = Arc::clone(active);
                        }
                        s.site = site;
                    }
                    call
                }
                None => Arc::new(CallState {
                    active: Arc::clone(active),
                    site,
                    started: SystemTime::UNIX_EPOCH,
                    cx: None,
                    recording: Recording::No,
                    span_id: SpanId::INVALID,
                    data: Mutex::new(CallData::default()),
                }),
            }
        })?;
        // Unique: a pooled state is held by nobody else (`recycle` checks it).
        let s = Arc::get_mut(&mut call)?;
        if init(s) {
            Some(call)
        } else {
            CallState::recycle(call);
            None
        }
    }

    /// Empties a state nobody else holds and returns it to this thread's pool.
    fn recycle(mut call: Arc<CallState>) {
        let Some(s) = Arc::get_mut(&mut call) else { return };
        s.cx = None;
        s.recording = Recording::No;
        s.site = None;
        let d = s.data.get_mut().unwrap_or_else(PoisonError::into_inner);
        d.buf.kvs.clear();
        d.buf.event.clear();
        d.buf.usage = Default::default();
        d.buf.response_model = None;
        d.buf.truncated = false;
        d.span = None;
        d.metric_attrs.clear();
        d.error_type = None;
        let _ = CALL_POOL.try_with(move |p| {
            let mut p = p.borrow_mut();
            if p.len() < POOLED_CALLS {
                p.push(call);
            }
        });
    }

    fn lock(&self) -> MutexGuard<'_, CallData> {
        // Poisoned only by a panic while recording; the data is still usable.
        self.data.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn sdk_span(&self) -> Option<opentelemetry::trace::SpanRef<'_>> {
        (self.recording == Recording::Sdk)
            .then_some(self.cx.as_ref())
            .flatten()
            .map(TraceContextExt::span)
    }

    fn set_attribute(&self, kv: KeyValue) {
        match self.recording {
            Recording::Own => self.lock().push_attribute(kv),
            Recording::Sdk => {
                if let Some(s) = self.sdk_span() {
                    s.set_attribute(kv);
                }
            }
            Recording::No => {}
        }
    }

    fn add_event(&self, name: Cow<'static, str>, attributes: Vec<KeyValue>) {
        match self.recording {
            Recording::Own => {
                if let Some(span) = self.lock().span.as_mut() {
                    span.add_event(name, attributes);
                }
            }
            Recording::Sdk => {
                if let Some(s) = self.sdk_span() {
                    s.add_event(name, attributes);
                }
            }
            Recording::No => {}
        }
    }

    fn set_status(&self, status: Status) {
        match self.recording {
            Recording::Own => {
                if let Some(span) = self.lock().span.as_mut() {
                    span.set_status(status);
                }
            }
            Recording::Sdk => {
                if let Some(s) = self.sdk_span() {
                    s.set_status(status);
                }
            }
            Recording::No => {}
        }
    }

    /// Status Error, `error.type`, and an `exception` event: how every failure is recorded.
    fn mark_failed(&self, error_type: &str, exception_type: &str, message: &str) {
        if self.recording == Recording::No {
            return;
        }
        self.set_status(Status::error(message.to_owned()));
        self.set_attribute(KeyValue::new(sc::ERROR_TYPE, error_type.to_owned()));
        self.add_event(
            Cow::Borrowed(sc::EXCEPTION_EVENT),
            exception_event(exception_type, message),
        );
    }
}

impl CallData {
    fn push_attribute(&mut self, kv: KeyValue) {
        if let Some(span) = self.span.as_mut() {
            span.push_attribute(&mut self.buf.kvs, kv);
        }
    }
}

// --- the current call of this thread ---------------------------------------------

thread_local! {
    /// Own-span calls attached on this thread, innermost last. Our spans are in
    /// the OpenTelemetry context only as a span context (no recording span object:
    /// that would cost two more allocations per span), so `set_attribute` and
    /// friends find the span to write to here, checked against the context.
    static CURRENT_CALLS: RefCell<Vec<Arc<CallState>>> = const { RefCell::new(Vec::new()) };
}

/// The call whose span is the current context's span, when it is an own span.
fn current_call() -> Option<Arc<CallState>> {
    let current = Context::map_current(|cx| cx.span().span_context().span_id());
    CURRENT_CALLS
        .try_with(|c| c.borrow().last().filter(|call| call.span_id == current).cloned())
        .ok()
        .flatten()
}

/// A call made current on this thread by [`SpanGuard::attach`]; detached on drop.
#[doc(hidden)]
pub struct Attached {
    _cx: ContextGuard,
    /// Identifies this call's entry in the current-call stack (never dereferenced).
    call: Option<*const CallState>,
}

impl fmt::Debug for Attached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attached").finish_non_exhaustive()
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        let Some(call) = self.call else { return };
        let removed = CURRENT_CALLS
            .try_with(|c| {
                let mut c = c.borrow_mut();
                let at = c.iter().rposition(|s| Arc::as_ptr(s) == call)?;
                Some(c.remove(at))
            })
            .ok()
            .flatten();
        drop(removed); // outside the borrow: it may be the call's last reference
    }
}

impl SpanGuard {
    /// A guard that records nothing.
    pub const NONE: SpanGuard = SpanGuard {
        state: ManuallyDrop::new(None),
    };

    /// Starts the call site's span as a child of the current context. When
    /// telemetry is off this is one relaxed atomic load: `attributes` is not called.
    #[inline]
    pub fn start(site: &'static CallSite, attributes: impl FnOnce(&mut StartAttributes<'_>)) -> Self {
        if !ENABLED.load(Ordering::Relaxed) {
            return Self::NONE;
        }
        Self::start_enabled(site, attributes)
    }

    #[inline(never)]
    fn start_enabled(site: &'static CallSite, attributes: impl FnOnce(&mut StartAttributes<'_>)) -> Self {
        let metrics_wanted = site.operation.is_some() && METRICS_ON.load(Ordering::Relaxed);
        // Decide what the sampler will decide, before any work: a child of an
        // unsampled local parent (parent-based sampling), or a new root under a
        // sampler that samples no root, is not recorded. Unless its metrics are
        // wanted, nothing is built, cloned or allocated for it.
        if !metrics_wanted && !Self::may_sample() {
            return Self::NONE;
        }
        let call = CallState::start(Some(site), |s| {
            let CallState { active, data, .. } = s;
            let d = data.get_mut().unwrap_or_else(PoisonError::into_inner);
            if let Some(op) = site.operation {
                d.buf
                    .kvs
                    .push(KeyValue::new(Key::from_static_str(sc::GEN_AI_OPERATION_NAME), op));
            }
            let mut attrs = StartAttributes {
                buf: &mut d.buf,
                policy: &active.content,
                content_slot: site.content_slot,
                custom: 0,
                dropped: 0,
            };
            attributes(&mut attrs);
            let dropped = attrs.dropped;
            let kvs = &mut d.buf.kvs;
            if let Some((key, value)) = site.default_attr
                && find_attribute(kvs, key).is_none()
            {
                kvs.push(KeyValue::new(Key::from_static_str(key), value));
            }
            if dropped > 0 {
                kvs.push(KeyValue::new(sc::GENAI_TRACE_DROPPED_ATTRIBUTES, i64::from(dropped)));
            }
            let name: Cow<'static, str> = match site.suffix {
                NameSuffix::Attribute(key) => match find_attribute(kvs, key) {
                    Some(v) => Cow::Owned(format!("{} {}", site.name, v.as_str())),
                    None => Cow::Borrowed(site.name),
                },
                NameSuffix::None => Cow::Borrowed(site.name),
            };
            if metrics_wanted {
                let metric = kvs.iter().filter(|kv| METRIC_KEYS.contains(&kv.key.as_str())).cloned();
                d.metric_attrs.extend(metric);
            }
            let parent = Context::current();
            let opened = open_span(active, &parent, name, site.kind.clone(), d);
            if opened.cx.is_none() && !metrics_wanted {
                return false;
            }
            s.apply(opened);
            true
        });
        call.map_or(Self::NONE, Self::from_call)
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
                !ROOTS_UNSAMPLED.load(Ordering::Relaxed) && !cx.is_telemetry_suppressed()
            }
        })
    }

    fn from_call(call: Arc<CallState>) -> Self {
        Self {
            state: ManuallyDrop::new(Some(call)),
        }
    }

    /// Starts a span whose parent is `parent` (a fresh root when it holds no span).
    pub(crate) fn start_root(name: Cow<'static, str>, kind: SpanKind, attrs: Vec<KeyValue>, parent: &Context) -> Self {
        if !ENABLED.load(Ordering::Relaxed) {
            return Self::NONE;
        }
        Self::start_named(name, kind, attrs, parent)
    }

    /// The span's context (with the parent's baggage), when recording.
    pub(crate) fn context(&self) -> Option<Context> {
        self.state.as_deref().and_then(|s| s.cx.clone())
    }

    fn start_named(name: Cow<'static, str>, kind: SpanKind, attrs: Vec<KeyValue>, parent: &Context) -> Self {
        let call = CallState::start(None, |s| {
            let d = s.data.get_mut().unwrap_or_else(PoisonError::into_inner);
            d.buf.kvs.extend(attrs);
            let opened = open_span(&s.active, parent, name, kind, d);
            if opened.cx.is_none() {
                return false;
            }
            s.apply(opened);
            true
        });
        call.map_or(Self::NONE, Self::from_call)
    }

    /// `true` when this call records anything (a span, or metrics): the outcome
    /// and response are then worth inspecting.
    #[inline]
    pub fn is_active(&self) -> bool {
        self.state.is_some()
    }

    /// `true` when a span is being recorded.
    pub fn is_recording(&self) -> bool {
        self.state.as_deref().is_some_and(|s| s.recording != Recording::No)
    }

    /// Makes this span current on this thread until the returned guard drops.
    #[inline]
    pub fn attach(&self) -> Option<Attached> {
        let call = self.state.as_ref()?;
        let cx = call.cx.as_ref()?.clone().attach();
        let entry = (call.recording == Recording::Own)
            .then(|| CURRENT_CALLS.try_with(|c| c.borrow_mut().push(Arc::clone(call))).ok())
            .flatten()
            .map(|()| Arc::as_ptr(call));
        Some(Attached { _cx: cx, call: entry })
    }

    /// Makes this span's context current without making the call reachable by
    /// `set_attribute` and friends: for the polls of a stream, where the inner
    /// stream is the model client's code and the per-chunk cost matters.
    #[inline]
    pub(crate) fn attach_context(&self) -> Option<ContextGuard> {
        Some(self.state.as_ref()?.cx.as_ref()?.clone().attach())
    }

    /// Sets an attribute (no-op when not recording).
    pub fn set_attribute(&self, kv: KeyValue) {
        if let Some(s) = self.state.as_deref() {
            s.set_attribute(kv);
        }
    }

    /// Adds an event (no-op when not recording).
    pub fn add_event(&self, name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>) {
        if let Some(s) = self.state.as_deref() {
            s.add_event(name.into(), attributes);
        }
    }

    /// Marks the call failed: status Error, `error.type`, and an `exception` event.
    ///
    /// When the function declares `sensitive` arguments and content capture is
    /// off, the message is replaced by the error type: error texts of model APIs
    /// often echo the prompt.
    pub fn record_error(&mut self, error_type: &str, exception_type: &str, message: &str) {
        let Some(state) = self.state.as_deref() else { return };
        state.lock().error_type = Some(Cow::Owned(error_type.to_owned()));
        self.mark_span_failed(error_type, exception_type, message);
    }

    /// The span half of [`SpanGuard::record_error`] (no metrics state needed).
    fn mark_span_failed(&self, error_type: &str, exception_type: &str, message: &str) {
        let Some(state) = self.state.as_deref() else { return };
        let hide = state.site.is_some_and(|s| s.has_sensitive) && !state.active.content.captures();
        let message = if hide { error_type } else { message };
        state.mark_failed(error_type, exception_type, message);
    }

    /// Lets a response type record itself (attributes, usage, gated output).
    pub fn record_response(&mut self, f: impl FnOnce(&mut Recorder<'_>)) {
        let Some(state) = self.state.as_deref() else { return };
        let mut buf = RecordBuffer::default();
        // The user's recording code runs without the call's data locked.
        f(&mut Recorder {
            buf: &mut buf,
            policy: &state.active.content,
        });
        match state.recording {
            Recording::Sdk if !buf.kvs.is_empty() => {
                if let Some(span) = state.sdk_span() {
                    span.set_attributes(std::mem::take(&mut buf.kvs));
                }
            }
            _ => {}
        }
        let mut d = state.lock();
        for kv in buf.kvs.drain(..) {
            d.push_attribute(kv);
        }
        let s = &mut d.buf;
        s.usage.input_tokens = buf.usage.input_tokens.or(s.usage.input_tokens);
        s.usage.output_tokens = buf.usage.output_tokens.or(s.usage.output_tokens);
        s.event.append(&mut buf.event);
        s.truncated |= buf.truncated;
        if let Some(m) = buf.response_model {
            d.metric_attrs.push(KeyValue::new(sc::GEN_AI_RESPONSE_MODEL, m));
        }
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
        let Some(state) = self.state.as_deref() else { return };
        let ttfc = summary.first.map(|first| elapsed(state.started, first).as_secs_f64());
        state.set_attribute(KeyValue::new(sc::GENAI_TRACE_STREAM_CHUNKS, summary.chunks as i64));
        if let Some(t) = ttfc {
            state.set_attribute(KeyValue::new(sc::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, t));
        }
        #[cfg(feature = "metrics")]
        if state.site.and_then(|s| s.operation).is_some() {
            // Mean gap between chunks after the first: one recording per stream
            // keeps the per-chunk cost to a counter and a timestamp.
            let per_chunk = match (summary.first, summary.last) {
                (Some(f), Some(l)) if summary.chunks > 1 => {
                    Some(elapsed(f, l).as_secs_f64() / (summary.chunks - 1) as f64)
                }
                _ => None,
            };
            let d = state.lock();
            state.active.record_stream_metrics(ttfc, per_chunk, &d.metric_attrs);
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
        if let Some(call) = self.state.take() {
            finish(call);
        }
    }

    #[cold]
    #[inline(never)]
    fn end_abnormally(&mut self) {
        let Some(call) = self.state.take() else { return };
        let panicking = std::thread::panicking();
        call.lock().error_type = Some(Cow::Borrowed(if panicking { sc::ERROR_TYPE_PANIC } else { CANCELLED }));
        if panicking {
            call.set_status(Status::error("panicked"));
            call.set_attribute(KeyValue::new(sc::ERROR_TYPE, sc::ERROR_TYPE_PANIC));
        } else {
            call.set_attribute(KeyValue::new(sc::GENAI_TRACE_CANCELLED, true));
        }
        finish(call);
    }
}

/// A span as `open_span` made it.
struct Opened {
    started: SystemTime,
    recording: Recording,
    cx: Option<Context>,
    span_id: SpanId,
}

impl Opened {
    /// No span and no context; metrics may still time the call.
    fn nothing() -> Self {
        Opened {
            started: SystemTime::now(),
            recording: Recording::No,
            cx: None,
            span_id: SpanId::INVALID,
        }
    }
}

impl CallState {
    fn apply(&mut self, opened: Opened) {
        self.recording = opened.recording;
        self.cx = opened.cx;
        self.span_id = opened.span_id;
        self.started = opened.started;
    }
}

/// Samples and opens the span of a call whose start attributes are in `d.buf.kvs`.
fn open_span(active: &Active, parent: &Context, name: Cow<'static, str>, kind: SpanKind, d: &mut CallData) -> Opened {
    session_attributes(parent, &mut d.buf.kvs);
    match &active.spans {
        Some(pipeline) => open_own_span(pipeline, parent, name, kind, d),
        None => open_sdk_span(active, parent, name, kind, &mut d.buf.kvs),
    }
}

/// The SDK tracer's decision, made here without the SDK's `Span`.
fn open_own_span(
    p: &OwnPipeline,
    parent: &Context,
    name: Cow<'static, str>,
    kind: SpanKind,
    d: &mut CallData,
) -> Opened {
    if parent.is_telemetry_suppressed() {
        return Opened::nothing();
    }
    let parent_span = parent.span();
    let psc = parent_span.span_context();
    let (trace_id, parent_span_id, parent_span_is_remote, flags) = if psc.is_valid() {
        (psc.trace_id(), psc.span_id(), psc.is_remote(), psc.trace_flags())
    } else {
        (p.ids.new_trace_id(), SpanId::INVALID, false, TraceFlags::default())
    };
    let sampling = p
        .sampler
        .should_sample(Some(parent), trace_id, &name, &kind, &d.buf.kvs, &[]);
    let span_id = p.ids.new_span_id();
    let sampled = sampling.decision == SamplingDecision::RecordAndSample;
    let flags = if sampled {
        flags.with_sampled(true)
    } else {
        TraceFlags::default()
    };
    let span_context = SpanContext::new(trace_id, span_id, flags, false, sampling.trace_state);
    // Children inherit the decision through this context, sampled or not.
    let cx = parent.with_remote_span_context(span_context.clone());
    let started = SystemTime::now();
    if !sampled {
        return Opened {
            started,
            recording: Recording::No,
            cx: Some(cx),
            span_id,
        };
    }
    d.buf.kvs.extend(sampling.attributes);
    p.started.fetch_add(1, Ordering::Relaxed);
    d.span = Some(OpenSpan {
        span_context,
        parent_span_id,
        parent_span_is_remote,
        kind,
        name,
        start_time: started,
        dropped_attributes: 0,
        events: SpanEvents::default(),
        status: Status::Unset,
    });
    Opened {
        started,
        recording: Recording::Own,
        cx: Some(cx),
        span_id,
    }
}

/// Through the SDK's tracer: the provider (and its processors) is the user's.
fn open_sdk_span(
    active: &Active,
    parent: &Context,
    name: Cow<'static, str>,
    kind: SpanKind,
    kvs: &mut SpanAttributes,
) -> Opened {
    let span = active
        .tracer
        .span_builder(name)
        .with_kind(kind)
        .with_attributes(kvs.drain(..))
        .start_with_context(&active.tracer, parent);
    let sc = opentelemetry::trace::Span::span_context(&span).clone();
    if !sc.is_valid() {
        return Opened::nothing();
    }
    let recording = if opentelemetry::trace::Span::is_recording(&span) {
        Recording::Sdk
    } else {
        Recording::No
    };
    Opened {
        started: SystemTime::now(),
        recording,
        cx: Some(parent.with_span(span)),
        span_id: sc.span_id(),
    }
}

/// Copies the session's baggage (`session.id`, `user.id`, `gen_ai.conversation.id`)
/// onto a span's attributes, unless the span sets them itself.
fn session_attributes(parent: &Context, attrs: &mut SpanAttributes) {
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

/// `later - earlier`, zero if the wall clock stepped back in between.
pub(crate) fn elapsed(earlier: SystemTime, later: SystemTime) -> Duration {
    later.duration_since(earlier).unwrap_or_default()
}

/// `error.type` of a cancelled call in the duration metric.
const CANCELLED: &str = "cancelled";

/// Records the call's metrics and ends its span; recycles the state when the
/// guard held the only reference (the usual case: calls are detached first).
fn finish(mut call: Arc<CallState>) {
    let ended = SystemTime::now();
    match Arc::get_mut(&mut call) {
        Some(s) => {
            let d = s.data.get_mut().unwrap_or_else(PoisonError::into_inner);
            finish_call(&s.active, s.site, s.started, s.recording, s.cx.as_ref(), d, ended);
            CallState::recycle(call);
        }
        None => {
            let mut d = call.lock();
            finish_call(
                &call.active,
                call.site,
                call.started,
                call.recording,
                call.cx.as_ref(),
                &mut d,
                ended,
            );
            // Late writes through the current-call stack find no span any more.
            d.span = None;
        }
    }
}

fn finish_call(
    active: &Active,
    site: Option<&'static CallSite>,
    started: SystemTime,
    recording: Recording,
    cx: Option<&Context>,
    d: &mut CallData,
    ended: SystemTime,
) {
    #[cfg(feature = "metrics")]
    if let Some(operation) = site.and_then(|s| s.operation) {
        let op = crate::metrics::FinishedOperation {
            operation,
            seconds: elapsed(started, ended).as_secs_f64(),
            error_type: d.error_type.as_deref(),
            input_tokens: d.buf.usage.input_tokens,
            output_tokens: d.buf.usage.output_tokens,
        };
        active.record_metrics(&op, &mut d.metric_attrs);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = site;
    match recording {
        Recording::Own => {
            let Some(mut span) = d.span.take() else { return };
            if !d.buf.event.is_empty() {
                span.add_event(
                    Cow::Borrowed(sc::INFERENCE_DETAILS_EVENT),
                    std::mem::take(&mut d.buf.event),
                );
            }
            if d.buf.truncated {
                span.push_attribute(&mut d.buf.kvs, KeyValue::new(sc::GENAI_TRACE_CONTENT_TRUNCATED, true));
            }
            if let Some(pipeline) = &active.spans {
                pipeline.export(span.finish(ended.max(started)), &mut d.buf.kvs);
            }
        }
        Recording::Sdk => {
            let Some(cx) = cx else { return };
            let span = cx.span();
            if !d.buf.event.is_empty() {
                span.add_event(sc::INFERENCE_DETAILS_EVENT, std::mem::take(&mut d.buf.event));
            }
            if d.buf.truncated {
                span.set_attribute(KeyValue::new(sc::GENAI_TRACE_CONTENT_TRUNCATED, true));
            }
            span.end();
        }
        Recording::No => {}
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

    // Out of line: only recorded calls get here (the expansion awaits the bare
    // body otherwise), and inlined it made the caller's state machine too large
    // to be inlined where it is polled.
    #[inline(never)]
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
    let attached = guard.attach();
    let sentinel = PanicSentinel(guard);
    let polled = inner.poll(cx);
    // Detached before ending: the guard then holds the call's only reference,
    // and its state goes back to the pool.
    drop(attached);
    match polled {
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

/// The recording path of a sync function: attach, run the body, record its
/// outcome, end. Out of line, so that the path through an instrumented function
/// when nothing is recorded stays as small as the function itself.
#[doc(hidden)]
#[inline(never)]
pub fn run_recorded<R>(mut guard: SpanGuard, body: impl FnOnce() -> R, record: impl FnOnce(&R, &mut SpanGuard)) -> R {
    let ret = {
        // Detached before ending: the guard then holds the call's only reference,
        // and its state goes back to the pool.
        let _attached = guard.attach();
        body()
    };
    record(&ret, &mut guard);
    guard.end();
    ret
}

/// Returns `f`: bound through it, the body closure is inferred as `FnOnce`, so
/// bodies may return borrows of moved-in references.
#[doc(hidden)]
#[inline(always)]
pub fn body_once<R, F: FnOnce() -> R>(f: F) -> F {
    f
}

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
    attached: Option<Attached>,
    /// `Some` until dropped; ended after the context is detached.
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

/// The attributes of the `exception` event of a failure.
fn exception_event(exception_type: &str, message: &str) -> Vec<KeyValue> {
    vec![
        KeyValue::new(sc::EXCEPTION_TYPE, exception_type.to_owned()),
        KeyValue::new(sc::EXCEPTION_MESSAGE, message.to_owned()),
    ]
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
