//! genai-trace's own span representation.
//!
//! Spans started by `#[genai_span]` (and the hand-written span API) on a pipeline
//! genai-trace installed do not go through the SDK's `Span`: the SDK allocates the
//! attribute vector on the calling thread, and frees it on the export thread,
//! where glibc's allocator then contends with the caller for the same arena.
//! Here the attributes stay inline ([`SpanAttributes`]) in the call's pooled
//! state, are moved into the export queue's shared attribute buffer when the
//! span ends (only the ones set: a finished span is a small fixed part plus its
//! attributes), and the export thread turns a [`FinishedSpan`] and its attributes
//! into the SDK's `SpanData`. A recorded span costs the calling thread no
//! allocation beyond the OpenTelemetry `Context` that carries its span context
//! to children.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{Event, SpanContext, SpanId, SpanKind, Status};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

/// Attributes of one span, inline up to a typical GenAI span's count.
pub(crate) type SpanAttributes = smallvec::SmallVec<[KeyValue; INLINE_ATTRIBUTES]>;

/// The attributes of one call's metrics: the request's five, the response model,
/// and the token type or `error.type` added while recording.
pub(crate) type MetricAttributes = smallvec::SmallVec<[KeyValue; 8]>;

/// A chat span with request, response and usage attributes has about a dozen.
const INLINE_ATTRIBUTES: usize = 16;

/// The SDK's default span limits (`SpanLimits::default()`), applied the same way.
pub(crate) const MAX_ATTRIBUTES_PER_SPAN: usize = 128;
const MAX_EVENTS_PER_SPAN: usize = 128;
const MAX_ATTRIBUTES_PER_EVENT: usize = 128;

/// The parts of an open span that are not attributes.
#[derive(Clone, Debug)]
pub(crate) struct OpenSpan {
    pub span_context: SpanContext,
    pub parent_span_id: SpanId,
    pub parent_span_is_remote: bool,
    pub kind: SpanKind,
    pub name: Cow<'static, str>,
    pub start_time: SystemTime,
    pub dropped_attributes: u32,
    pub events: SpanEvents,
    pub status: Status,
}

impl OpenSpan {
    /// Adds `kv` unless the span holds [`MAX_ATTRIBUTES_PER_SPAN`] already (then counts it dropped).
    pub(crate) fn push_attribute(&mut self, attributes: &mut SpanAttributes, kv: KeyValue) {
        if attributes.len() < MAX_ATTRIBUTES_PER_SPAN {
            attributes.push(kv);
        } else {
            self.dropped_attributes += 1;
        }
    }

    /// Adds an event timestamped now, within the SDK's default limits.
    pub(crate) fn add_event(&mut self, name: Cow<'static, str>, mut attributes: Vec<KeyValue>) {
        if self.events.events.len() >= MAX_EVENTS_PER_SPAN {
            self.events.dropped_count += 1;
            return;
        }
        let dropped = attributes.len().saturating_sub(MAX_ATTRIBUTES_PER_EVENT);
        attributes.truncate(MAX_ATTRIBUTES_PER_EVENT);
        self.events.events.push(Event::new(
            name,
            SystemTime::now(),
            attributes,
            u32::try_from(dropped).unwrap_or(u32::MAX),
        ));
    }

    /// Status only moves up the order Unset < Error < Ok, as in the SDK.
    pub(crate) fn set_status(&mut self, status: Status) {
        if status > self.status {
            self.status = status;
        }
    }

    /// The span, ended at `end_time`.
    pub(crate) fn finish(self, end_time: SystemTime) -> FinishedSpan {
        FinishedSpan {
            span: self,
            end_time,
            attributes: 0,
        }
    }
}

/// An ended span on its way to the export thread, without its attributes: they
/// follow it in the queue's attribute buffer.
#[derive(Clone, Debug)]
pub(crate) struct FinishedSpan {
    span: OpenSpan,
    end_time: SystemTime,
    /// How many attributes of the queue's attribute buffer are this span's.
    pub attributes: usize,
}

impl FinishedSpan {
    pub(crate) fn span_id(&self) -> SpanId {
        self.span.span_context.span_id()
    }

    /// The span ended with status Error.
    pub(crate) fn failed(&self) -> bool {
        matches!(self.span.status, Status::Error { .. })
    }

    pub(crate) fn duration(&self) -> Duration {
        self.end_time.duration_since(self.span.start_time).unwrap_or_default()
    }

    /// Sets the sampled flag: a span recorded without it (held by error-keeping
    /// sampling) that is exported after all.
    pub(crate) fn mark_sampled(&mut self) {
        let sc = &self.span.span_context;
        self.span.span_context = SpanContext::new(
            sc.trace_id(),
            sc.span_id(),
            sc.trace_flags().with_sampled(true),
            sc.is_remote(),
            sc.trace_state().clone(),
        );
    }

    /// The SDK's export form. Runs on the export thread: the attribute vector is
    /// allocated where the exporter will free it.
    pub(crate) fn into_span_data(self, attributes: Vec<KeyValue>, scope: &InstrumentationScope) -> SpanData {
        let s = self.span;
        SpanData {
            span_context: s.span_context,
            parent_span_id: s.parent_span_id,
            parent_span_is_remote: s.parent_span_is_remote,
            span_kind: s.kind,
            name: s.name,
            start_time: s.start_time,
            end_time: self.end_time,
            attributes,
            dropped_attributes_count: s.dropped_attributes,
            events: s.events,
            links: SpanLinks::default(),
            status: s.status,
            instrumentation_scope: scope.clone(),
        }
    }
}
