//! Opening a call's span: the sampling decision (made before any work when the
//! outcome is certain), then either genai-trace's own span or, with a tracer
//! provider the user built, the SDK's.

use std::borrow::Cow;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, Tracer as _};
use opentelemetry::{Context, Key, KeyValue};
use opentelemetry_sdk::trace::{IdGenerator, SamplingDecision, ShouldSample, SpanEvents};

use crate::base::span_data::{OpenSpan, SpanAttributes};
use crate::genai::semconv as sc;
use crate::pipeline::held::HeldTrace;
use crate::pipeline::state::{Active, HOLDING, OwnPipeline, ROOTS_UNSAMPLED};
use crate::span::call::{CallData, CallState, Recording};

/// `false` when the span would certainly be dropped by the sampler.
#[inline]
pub(super) fn may_sample() -> bool {
    Context::map_current(|cx| {
        let span = cx.span();
        let sc = span.span_context();
        if sc.is_valid() {
            sc.is_sampled() || sc.is_remote() || (HOLDING.load(Ordering::Relaxed) && cx.get::<HeldTrace>().is_some())
        } else {
            !ROOTS_UNSAMPLED.load(Ordering::Relaxed) && !cx.is_telemetry_suppressed()
        }
    })
}

/// A span as `open_span` made it.
pub(super) struct Opened {
    pub(super) started: SystemTime,
    pub(super) recording: Recording,
    pub(super) cx: Option<Context>,
    pub(super) span_id: SpanId,
}

impl Opened {
    /// No span and no context; metrics may still time the call.
    pub(super) fn nothing() -> Self {
        Opened {
            started: SystemTime::now(),
            recording: Recording::No,
            cx: None,
            span_id: SpanId::INVALID,
        }
    }
}

impl CallState {
    pub(super) fn apply(&mut self, opened: Opened) {
        self.recording = opened.recording;
        self.cx = opened.cx;
        self.span_id = opened.span_id;
        self.started = opened.started;
    }
}

/// Samples and opens the span of a call whose start attributes are in `d.buf.kvs`.
pub(super) fn open_span(
    active: &Active,
    parent: &Context,
    name: Cow<'static, str>,
    kind: SpanKind,
    d: &mut CallData,
) -> Opened {
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
    let mut cx = parent.with_remote_span_context(span_context.clone());
    let started = SystemTime::now();
    if sampled {
        p.started.fetch_add(1, Ordering::Relaxed);
    } else {
        // Error-keeping sampling: a new local root is held (its context marks
        // its descendants), a span inside a held trace is recorded into it.
        let admitted = match &p.held {
            Some(held) if !psc.is_valid() => match held.hold(span_id) {
                Some(h) => {
                    cx = cx.with_value(h);
                    true
                }
                None => false,
            },
            Some(_) if !parent_span_is_remote => parent.get::<HeldTrace>().is_some_and(HeldTrace::admit),
            _ => false,
        };
        if !admitted {
            return Opened {
                started,
                recording: Recording::No,
                cx: Some(cx),
                span_id,
            };
        }
    }
    d.buf.kvs.extend(sampling.attributes);
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
        // The user's provider counts nothing for `health()`: its spans started are
        // counted here.
        active.started.fetch_add(1, Ordering::Relaxed);
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

/// The baggage keys copied onto every span started inside a session.
pub const SESSION_BAGGAGE_KEYS: [&str; 3] = [sc::SESSION_ID, sc::USER_ID, sc::GEN_AI_CONVERSATION_ID];

/// Copies the session's baggage (`session.id`, `user.id`, `gen_ai.conversation.id`)
/// onto a span's attributes, unless the span sets them itself; a GenAI span
/// inside a session without a conversation id takes the session id as one.
fn session_attributes(parent: &Context, attrs: &mut SpanAttributes) {
    use opentelemetry::baggage::BaggageExt;
    let baggage = parent.baggage();
    if baggage.is_empty() {
        return;
    }
    for key in SESSION_BAGGAGE_KEYS {
        if let Some(v) = baggage.get(key)
            && !attrs.iter().any(|kv| kv.key.as_str() == key)
        {
            attrs.push(KeyValue::new(Key::from_static_str(key), v.as_str().to_owned()));
        }
    }
    // A session is the conversation its GenAI calls belong to: without an
    // explicit conversation id, GenAI spans carry the session's id as
    // `gen_ai.conversation.id` (the operation name is their first attribute).
    let genai = attrs
        .first()
        .is_some_and(|kv| kv.key.as_str() == sc::GEN_AI_OPERATION_NAME);
    if genai
        && let Some(session) = baggage.get(sc::SESSION_ID)
        && !attrs.iter().any(|kv| kv.key.as_str() == sc::GEN_AI_CONVERSATION_ID)
    {
        attrs.push(KeyValue::new(sc::GEN_AI_CONVERSATION_ID, session.as_str().to_owned()));
    }
}
