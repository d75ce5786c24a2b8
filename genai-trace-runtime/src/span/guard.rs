//! [`SpanGuard`]: one call's span and metrics, started by the expansion (or a
//! hand-written span), ended exactly once — by [`SpanGuard::end`], or on drop
//! (as a panic while unwinding, as cancelled otherwise).

use std::borrow::Cow;
use std::fmt;
use std::mem::ManuallyDrop;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::SystemTime;

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{Context, ContextGuard, Key, KeyValue};

use crate::base::diag;
use crate::genai::recorder::{RecordBuffer, Recorder};
use crate::genai::semconv as sc;
use crate::pipeline::state::{ENABLED, METRICS_ON};
use crate::span::call::{CallState, Recording};
use crate::span::callsite::{CallSite, NameSuffix, StartAttributes, find_attribute};
use crate::span::current::{Attached, CURRENT_CALLS};
use crate::span::finish::{CANCELLED, elapsed, finish};
use crate::span::open::{may_sample, open_span};

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
        if !metrics_wanted && !may_sample() {
            return Self::NONE;
        }
        let call = CallState::start(Some(site), |s| {
            let CallState {
                active, data, provider, ..
            } = s;
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
            // The user's expressions, `RecordRequest` and `ToContent` run here.
            if diag::guarded("a span's start attributes", || attributes(&mut attrs)).is_none() {
                return false;
            }
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
            if site.operation.is_some() {
                *provider = provider_of(kvs, active);
            }
            let name: Cow<'static, str> = match site.suffix {
                NameSuffix::Attribute(key) => match find_attribute(kvs, key) {
                    Some(v) => Cow::Owned(format!("{} {}", site.name, v.as_str())),
                    None => Cow::Borrowed(site.name),
                },
                NameSuffix::None => Cow::Borrowed(site.name),
            };
            if active.prices.is_some() {
                d.request_model = find_attribute(kvs, sc::GEN_AI_REQUEST_MODEL).cloned();
            }
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

    pub(super) fn start_named(name: Cow<'static, str>, kind: SpanKind, attrs: Vec<KeyValue>, parent: &Context) -> Self {
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
    pub(super) fn mark_span_failed(&self, error_type: &str, exception_type: &str, message: &str) {
        let Some(state) = self.state.as_deref() else { return };
        state.mark_failed(error_type, exception_type, message);
    }

    /// Lets a response type record itself (attributes, usage, gated output).
    pub fn record_response(&mut self, f: impl FnOnce(&mut Recorder<'_>)) {
        let Some(state) = self.state.as_deref() else { return };
        let mut buf = RecordBuffer::default();
        // The user's recording code runs without the call's data locked.
        let recorded = diag::guarded("a RecordResponse", || {
            f(&mut Recorder {
                buf: &mut buf,
                policy: &state.active.content,
            });
        });
        if recorded.is_none() {
            return;
        }
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
        s.usage.update(&buf.usage);
        s.event.append(&mut buf.event);
        s.truncated |= buf.truncated;
        if let Some(m) = buf.response_model {
            if state.active.prices.is_some() {
                // Priced before the request model.
                d.buf.response_model = Some(m.clone());
            }
            d.metric_attrs.push(KeyValue::new(sc::GEN_AI_RESPONSE_MODEL, m));
        }
    }

    /// `true` when this span is recorded and content is captured (the macro
    /// converts a tool's result only then).
    #[doc(hidden)]
    pub fn captures_content(&self) -> bool {
        self.content_limits().0
    }

    /// Whether content is captured, and the content byte limit.
    pub(crate) fn content_limits(&self) -> (bool, usize) {
        self.state.as_deref().map_or((false, 0), |s| {
            (s.active.content.captures(), s.active.content.max_bytes)
        })
    }

    /// `true` when this call's stream chunks are timed for
    /// `gen_ai.client.operation.time_per_output_chunk`: a GenAI operation, with
    /// metrics installed.
    #[cfg_attr(not(feature = "metrics"), allow(clippy::unused_self))]
    pub(crate) fn times_chunks(&self) -> bool {
        #[cfg(feature = "metrics")]
        return self
            .state
            .as_deref()
            .is_some_and(|s| s.site.and_then(|s| s.operation).is_some() && s.active.instruments_enabled());
        #[cfg(not(feature = "metrics"))]
        false
    }

    /// Records the times between chunks, one `time_per_output_chunk` value each.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables, clippy::unused_self))]
    pub(crate) fn record_chunk_gaps(&self, gaps: &[f64]) {
        #[cfg(feature = "metrics")]
        if let Some(state) = self.state.as_deref() {
            let d = state.lock();
            state.active.record_chunk_gaps(gaps, &d.metric_attrs);
        }
    }

    /// A stream ended: time to first chunk (span attribute and metric) and
    /// chunk count.
    pub(crate) fn stream_finished(&mut self, summary: &StreamSummary) {
        let Some(state) = self.state.as_deref() else { return };
        let ttfc = summary.first.map(|first| elapsed(state.started, first).as_secs_f64());
        state.set_attribute(KeyValue::new(sc::GENAI_TRACE_STREAM_CHUNKS, summary.chunks as i64));
        if let Some(t) = ttfc {
            state.set_attribute(KeyValue::new(sc::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, t));
        }
        #[cfg(feature = "metrics")]
        if let Some(t) = ttfc
            && state.site.and_then(|s| s.operation).is_some()
        {
            let d = state.lock();
            state.active.record_time_to_first_chunk(t, &d.metric_attrs);
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
    pub(super) fn end_recording(&mut self) {
        if let Some(call) = self.state.take() {
            finish(call);
        }
    }

    #[cold]
    #[inline(never)]
    pub(super) fn end_abnormally(&mut self) {
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

impl Drop for SpanGuard {
    #[inline]
    fn drop(&mut self) {
        if self.state.is_some() {
            self.end_abnormally();
        }
    }
}

/// What the span learns when a stream ends.
pub(crate) struct StreamSummary {
    pub(crate) chunks: u64,
    pub(crate) first: Option<SystemTime>,
}

/// A GenAI call's `gen_ai.provider.name` (Required by the conventions on every
/// GenAI span and metric): its own (the `provider` option, a request type's
/// recorder); else the enclosing GenAI call's, on this thread (a tool or a
/// model call inside an agent); else the installation's default
/// (`GENAI_TRACE_DEFAULT_PROVIDER`). An inherited or default provider is added
/// to `kvs`. `None` when none is known: never a made-up value.
fn provider_of(
    kvs: &mut crate::base::span_data::SpanAttributes,
    active: &crate::pipeline::state::Active,
) -> Option<opentelemetry::Value> {
    if let Some(own) = find_attribute(kvs, sc::GEN_AI_PROVIDER_NAME) {
        return Some(own.clone());
    }
    let inherited = crate::span::current::current_call()
        .and_then(|enclosing| enclosing.provider.clone())
        .or_else(|| active.default_provider.clone())?;
    kvs.push(KeyValue::new(sc::GEN_AI_PROVIDER_NAME, inherited.clone()));
    Some(inherited)
}
