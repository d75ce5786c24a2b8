//! What one recorded call carries from start to end ([`CallState`]), kept in a
//! small per-thread pool so a recorded call allocates no state of its own, and
//! the writes every recording path shares (attributes, events, status).

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use opentelemetry::trace::{SpanId, Status, TraceContextExt};
use opentelemetry::{Context, KeyValue};

use crate::base::span_data::{MetricAttributes, OpenSpan};
use crate::genai::message::Usage;
use crate::genai::recorder::RecordBuffer;
use crate::genai::semconv as sc;
use crate::pipeline::state::{Active, GENERATION, active};
use crate::span::callsite::CallSite;

thread_local! {
    /// The current installation, cached per thread and refreshed when the
    /// install generation changes (a tracer is bound to its provider).
    static ACTIVE: RefCell<Option<(u64, Arc<Active>)>> = const { RefCell::new(None) };
}

/// Runs `f` with the current installation, without a global lock on the hot
/// path (and without touching its reference count).
#[inline]
pub(super) fn with_cached_active<R>(f: impl FnOnce(&Arc<Active>) -> R) -> Option<R> {
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

/// How a call's span is recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Recording {
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
pub(super) struct CallState {
    pub(super) active: Arc<Active>,
    pub(super) site: Option<&'static CallSite>,
    /// Wall-clock start: the span's start time, and the origin of the call's
    /// durations (one clock reading at each end, as the SDK does).
    pub(super) started: SystemTime,
    /// The context the call runs in: its span (or span context) and the parent's
    /// baggage. `None`: metrics only.
    pub(super) cx: Option<Context>,
    pub(super) recording: Recording,
    pub(super) span_id: SpanId,
    /// `gen_ai.provider.name` of a GenAI call: its own, else inherited (see
    /// `SpanGuard::start`); read by the GenAI calls it encloses.
    pub(super) provider: Option<opentelemetry::Value>,
    pub(super) data: Mutex<CallData>,
}

#[derive(Default)]
pub(super) struct CallData {
    /// The span's attributes (own spans), the details event's content, usage.
    pub(super) buf: RecordBuffer,
    /// The rest of an own span.
    pub(super) span: Option<OpenSpan>,
    /// Operation, provider, models and server: the metric attributes.
    pub(super) metric_attrs: MetricAttributes,
    pub(super) error_type: Option<Cow<'static, str>>,
    /// `gen_ai.request.model`, kept for pricing when a price table is set (the
    /// SDK's spans take the start attributes away).
    pub(super) request_model: Option<opentelemetry::Value>,
}

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
    // Inlined into its two callers, as it was while they shared a module: out of
    // line it costs the recording path a call and a spill (~10 ns in `peers`).
    #[inline]
    pub(super) fn start(
        site: Option<&'static CallSite>,
        init: impl FnOnce(&mut CallState) -> bool,
    ) -> Option<Arc<CallState>> {
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
                    provider: None,
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
    pub(super) fn recycle(mut call: Arc<CallState>) {
        let Some(s) = Arc::get_mut(&mut call) else { return };
        s.cx = None;
        s.recording = Recording::No;
        s.site = None;
        if s.provider.is_some() {
            s.provider = None;
        }
        let d = s.data.get_mut().unwrap_or_else(PoisonError::into_inner);
        d.buf.kvs.clear();
        d.buf.event.clear();
        d.buf.usage = Usage::default();
        d.buf.response_model = None;
        d.buf.truncated = false;
        d.span = None;
        d.metric_attrs.clear();
        d.error_type = None;
        if d.request_model.is_some() {
            // Only set with a price table: the common path skips the drop glue.
            d.request_model = None;
        }
        let _ = CALL_POOL.try_with(move |p| {
            let mut p = p.borrow_mut();
            if p.len() < POOLED_CALLS {
                p.push(call);
            }
        });
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, CallData> {
        // Poisoned only by a panic while recording; the data is still usable.
        self.data.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn sdk_span(&self) -> Option<opentelemetry::trace::SpanRef<'_>> {
        (self.recording == Recording::Sdk)
            .then_some(self.cx.as_ref())
            .flatten()
            .map(TraceContextExt::span)
    }

    pub(super) fn set_attribute(&self, kv: KeyValue) {
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

    pub(super) fn add_event(&self, name: Cow<'static, str>, attributes: Vec<KeyValue>) {
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

    pub(super) fn set_status(&self, status: Status) {
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

    /// Status Error, `error.type`, and an `exception` event: how every failure is
    /// recorded, by the macro's outcome, `record_error` and `EnteredSpan` alike.
    ///
    /// In a function that declares `sensitive` arguments, with content capture off,
    /// the message is the error type: error texts of model APIs often echo the prompt.
    pub(super) fn mark_failed(&self, error_type: &str, exception_type: &str, message: &str) {
        if self.recording == Recording::No {
            return;
        }
        let hide = self.site.is_some_and(|s| s.has_sensitive) && !self.active.content.captures();
        let message = if hide { error_type } else { message };
        self.set_status(Status::error(message.to_owned()));
        self.set_attribute(KeyValue::new(sc::ERROR_TYPE, error_type.to_owned()));
        self.add_event(
            Cow::Borrowed(sc::EXCEPTION_EVENT),
            exception_event(exception_type, message),
        );
    }
}

impl CallData {
    pub(super) fn push_attribute(&mut self, kv: KeyValue) {
        if let Some(span) = self.span.as_mut() {
            span.push_attribute(&mut self.buf.kvs, kv);
        }
    }
}

/// The attributes of the `exception` event of a failure.
pub(super) fn exception_event(exception_type: &str, message: &str) -> Vec<KeyValue> {
    vec![
        KeyValue::new(sc::EXCEPTION_TYPE, exception_type.to_owned()),
        KeyValue::new(sc::EXCEPTION_MESSAGE, message.to_owned()),
    ]
}
