//! Ending a call: its metrics recorded, its span handed to the export queues
//! (or ended through the SDK), its state recycled.

use std::borrow::Cow;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, SystemTime};

use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, KeyValue};

use crate::genai::cost::PriceTable;
use crate::genai::semconv as sc;
use crate::pipeline::held::HeldTrace;
use crate::pipeline::state::{Active, HOLDING};
use crate::span::call::{CallData, CallState, Recording};
use crate::span::callsite::CallSite;
use crate::span::details;

/// `later - earlier`, zero if the wall clock stepped back in between.
pub(super) fn elapsed(earlier: SystemTime, later: SystemTime) -> Duration {
    later.duration_since(earlier).unwrap_or_default()
}

/// `error.type` of a cancelled call in the duration metric.
pub(super) const CANCELLED: &str = "cancelled";

/// Records the call's metrics and ends its span; recycles the state when the
/// guard held the only reference (the usual case: calls are detached first).
pub(super) fn finish(mut call: Arc<CallState>) {
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

/// The call's cost from the price table: response model before request model.
#[cold]
#[inline(never)]
fn cost(table: &PriceTable, d: &CallData) -> Option<f64> {
    let model = match (&d.buf.response_model, &d.request_model) {
        (Some(m), _) => Some(Cow::Borrowed(m.as_str())),
        (None, Some(m)) => Some(m.as_str()),
        (None, None) => None,
    };
    table.cost_of(model.as_deref(), &d.buf.usage)
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
    let cost = active.prices.as_ref().and_then(|table| cost(table, d));
    #[cfg(feature = "metrics")]
    if site.and_then(|s| s.operation).is_some() {
        let op = crate::genai::metrics::FinishedOperation {
            seconds: elapsed(started, ended).as_secs_f64(),
            error_type: d.error_type.as_deref(),
            input_tokens: d.buf.usage.input_tokens,
            output_tokens: d.buf.usage.output_tokens,
            cost,
        };
        active.record_metrics(&op, &mut d.metric_attrs);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = site;
    match recording {
        Recording::Own => {
            let Some(mut span) = d.span.take() else { return };
            if !d.buf.event.is_empty()
                && let Some(event) = details::attributes(&d.buf.kvs, std::mem::take(&mut d.buf.event))
                && let Some(event) = details::emit_as_log(active, &span.span_context, ended, event)
            {
                span.add_event(Cow::Borrowed(sc::INFERENCE_DETAILS_EVENT), event);
            }
            if d.buf.truncated {
                span.push_attribute(&mut d.buf.kvs, KeyValue::new(sc::GENAI_TRACE_CONTENT_TRUNCATED, true));
            }
            if let Some(usd) = cost {
                span.push_attribute(&mut d.buf.kvs, KeyValue::new(sc::GENAI_TRACE_USAGE_COST, usd));
            }
            if let Some(pipeline) = &active.spans {
                // Error-keeping sampling: an unsampled recorded span is held.
                let held = if span.span_context.is_sampled() {
                    None
                } else {
                    cx.and_then(Context::get::<HeldTrace>)
                };
                let span = span.finish(ended.max(started));
                match held {
                    Some(held) => held.span_ended(span, &mut d.buf.kvs, &|span, attributes| {
                        // A held span counts as started once it is kept.
                        pipeline.started.fetch_add(1, Ordering::Relaxed);
                        pipeline.export(span, attributes);
                    }),
                    None => pipeline.export(span, &mut d.buf.kvs),
                }
            }
        }
        Recording::Sdk => {
            let Some(cx) = cx else { return };
            let span = cx.span();
            // The SDK's span took the start attributes: the operation is what is
            // left; a span of no operation gets no details event (see `details`).
            if !d.buf.event.is_empty()
                && let Some(op) = site.and_then(|s| s.operation)
            {
                let mut event = std::mem::take(&mut d.buf.event);
                event.insert(0, KeyValue::new(sc::GEN_AI_OPERATION_NAME, op));
                if let Some(event) = details::emit_as_log(active, span.span_context(), ended, event) {
                    span.add_event(sc::INFERENCE_DETAILS_EVENT, event);
                }
            }
            if d.buf.truncated {
                span.set_attribute(KeyValue::new(sc::GENAI_TRACE_CONTENT_TRUNCATED, true));
            }
            if let Some(usd) = cost {
                span.set_attribute(KeyValue::new(sc::GENAI_TRACE_USAGE_COST, usd));
            }
            span.end();
        }
        Recording::No => {
            // A span of a held trace over its span cap: its failure still keeps the trace.
            if HOLDING.load(Ordering::Relaxed)
                && d.error_type.as_deref().is_some_and(|e| e != CANCELLED)
                && let Some(held) = cx.and_then(Context::get::<HeldTrace>)
            {
                held.note_failure();
            }
        }
    }
}
