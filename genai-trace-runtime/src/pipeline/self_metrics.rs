//! The pipeline's own metrics, named as the conventions' SDK self-observability
//! metrics (`otel.sdk.*`, semantic conventions v1.41.0, model/otel/metrics.yaml):
//! observable instruments whose callbacks read, at each collection, the
//! counters [`health`](crate::health) keeps. The span path does no extra work
//! for them; only `otel.sdk.exporter.operation.duration` is recorded as it
//! happens, on the export thread.
//!
//! Where genai-trace departs from the conventions, and why (docs/metrics.md):
//! `otel.sdk.span.started` counts recorded spans only (the conventions ask for
//! non-recording ones too, but a sampled-out call is skipped before any work,
//! counting included), so it always carries `otel.span.sampling_result =
//! RECORD_AND_SAMPLE`; spans dropped from a full *or shut* queue are both
//! `error.type = queue_full`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use opentelemetry::KeyValue;
use opentelemetry::metrics::Meter;

use crate::export::processor::{ExportQueue, ExporterCounters};
use crate::genai::semconv as sc;

/// `otel.component.type` of genai-trace's batch processors.
const PROCESSOR_TYPE: &str = "batching_span_processor";
const UNIT_SPAN: &str = "{span}";

/// What one exporter's pipeline exposes.
pub(crate) struct ExporterSource {
    /// The exporter's name in `health()` (`otlp-http`, `console`, ...).
    pub name: &'static str,
    pub counters: Arc<ExporterCounters>,
    /// Its queue, when genai-trace's own spans feed it.
    pub queue: Option<ExportQueue>,
}

/// `otel.component.type` of a span exporter, from its name in `health()`.
pub(crate) fn exporter_type(name: &str) -> &str {
    match name {
        "otlp-http" => "otlp_http_span_exporter",
        "otlp-grpc" => "otlp_grpc_span_exporter",
        other => other,
    }
}

struct Component {
    counters: Arc<ExporterCounters>,
    queue: Option<ExportQueue>,
    processor: [KeyValue; 2],
    exporter: [KeyValue; 2],
}

impl Component {
    /// Spans in the queue, and spans handed to the exporter (taken from the queue).
    fn queued_and_submitted(&self) -> (u64, u64) {
        let accepted = self.counters.accepted.load(Ordering::Relaxed);
        let queued = self.queue.as_ref().map_or(0, |q| q.queued() as u64).min(accepted);
        (queued, accepted - queued)
    }
}

fn component_attrs(kind: &str, index: usize) -> [KeyValue; 2] {
    [
        KeyValue::new("otel.component.type", kind.to_owned()),
        KeyValue::new("otel.component.name", format!("{kind}/{index}")),
    ]
}

fn with(attrs: &[KeyValue], extra: KeyValue) -> Vec<KeyValue> {
    let mut v = attrs.to_vec();
    v.push(extra);
    v
}

/// Registers the `otel.sdk.*` instruments on `meter`, reading `started` (recorded
/// spans started) and each exporter's counters and queue.
pub(crate) fn register(meter: &Meter, started: Arc<AtomicU64>, exporters: Vec<ExporterSource>) {
    let components: Arc<Vec<Component>> = Arc::new(
        exporters
            .into_iter()
            .enumerate()
            .map(|(i, e)| Component {
                processor: component_attrs(PROCESSOR_TYPE, i),
                exporter: component_attrs(exporter_type(e.name), i),
                counters: e.counters,
                queue: e.queue,
            })
            .collect(),
    );
    let duration = meter
        .f64_histogram("otel.sdk.exporter.operation.duration")
        .with_unit("s")
        .with_description("The duration of exporting a batch of telemetry records.")
        .with_boundaries(sc::metric::DURATION_BUCKETS.to_vec())
        .build();
    for c in components.iter() {
        let _ = c
            .counters
            .operation_duration
            .set((duration.clone(), c.exporter.to_vec()));
    }

    register_spans(meter, Arc::clone(&started), Arc::clone(&components));
    register_processors(meter, Arc::clone(&started), Arc::clone(&components));
    register_exporters(meter, started, components);
}

/// `true` while the pipeline has seen no span: the instruments then observe
/// nothing, so an idle program exports no metrics (and its shutdown does not wait
/// on a metrics export it has nothing to say in).
fn idle(started: &AtomicU64, components: &[Component]) -> bool {
    started.load(Ordering::Relaxed) == 0
        && components.iter().all(|c| {
            c.counters.accepted.load(Ordering::Relaxed) == 0 && c.counters.dropped.load(Ordering::Relaxed) == 0
        })
}

/// `otel.sdk.span.started` and `otel.sdk.span.live`.
fn register_spans(meter: &Meter, started: Arc<AtomicU64>, components: Arc<Vec<Component>>) {
    let sampled = [KeyValue::new("otel.span.sampling_result", "RECORD_AND_SAMPLE")];
    {
        let started = Arc::clone(&started);
        let sampled = sampled.clone();
        meter
            .u64_observable_counter("otel.sdk.span.started")
            .with_unit(UNIT_SPAN)
            .with_description("The number of created spans (recorded spans only: see docs/metrics.md).")
            .with_callback(move |o| {
                let n = started.load(Ordering::Relaxed);
                if n > 0 {
                    o.observe(n, &sampled);
                }
            })
            .build();
    }
    {
        let cs = components;
        // Ended spans reach every exporter: the first one's arrivals count them.
        meter
            .i64_observable_up_down_counter("otel.sdk.span.live")
            .with_unit(UNIT_SPAN)
            .with_description(
                "The number of created spans with recording=true for which the end operation has not been called yet.",
            )
            .with_callback(move |o| {
                if idle(&started, &cs) {
                    return;
                }
                if let Some(first) = cs.first() {
                    let c = &first.counters;
                    let ended = c.accepted.load(Ordering::Relaxed) + c.dropped.load(Ordering::Relaxed);
                    let live = started.load(Ordering::Relaxed).saturating_sub(ended);
                    o.observe(live as i64, &sampled);
                }
            })
            .build();
    }
}

/// `otel.sdk.processor.span.*`: queue size and capacity, spans processed.
fn register_processors(meter: &Meter, started: Arc<AtomicU64>, components: Arc<Vec<Component>>) {
    let (cs, st) = (Arc::clone(&components), Arc::clone(&started));
    meter
        .i64_observable_up_down_counter("otel.sdk.processor.span.queue.size")
        .with_unit(UNIT_SPAN)
        .with_description("The number of spans in the queue of a given instance of an SDK span processor.")
        .with_callback(move |o| {
            if idle(&st, &cs) {
                return;
            }
            for c in cs.iter().filter(|c| c.queue.is_some()) {
                o.observe(c.queued_and_submitted().0 as i64, &c.processor);
            }
        })
        .build();
    let (cs, st) = (Arc::clone(&components), Arc::clone(&started));
    meter
        .i64_observable_up_down_counter("otel.sdk.processor.span.queue.capacity")
        .with_unit(UNIT_SPAN)
        .with_description(
            "The maximum number of spans the queue of a given instance of an SDK span processor can hold.",
        )
        .with_callback(move |o| {
            if idle(&st, &cs) {
                return;
            }
            for c in cs.iter() {
                if let Some(q) = &c.queue {
                    o.observe(q.capacity() as i64, &c.processor);
                }
            }
        })
        .build();
    let (cs, st) = (components, started);
    meter
        .u64_observable_counter("otel.sdk.processor.span.processed")
        .with_unit(UNIT_SPAN)
        .with_description("The number of spans for which the processing has finished, either successful or failed.")
        .with_callback(move |o| {
            if idle(&st, &cs) {
                return;
            }
            for c in cs.iter() {
                o.observe(c.queued_and_submitted().1, &c.processor);
                let dropped = c.counters.dropped.load(Ordering::Relaxed);
                o.observe(
                    dropped,
                    &with(&c.processor, KeyValue::new(sc::ERROR_TYPE, "queue_full")),
                );
            }
        })
        .build();
}

/// `otel.sdk.exporter.span.*`: spans in flight and exported.
fn register_exporters(meter: &Meter, started: Arc<AtomicU64>, components: Arc<Vec<Component>>) {
    let (cs, st) = (Arc::clone(&components), Arc::clone(&started));
    meter
        .i64_observable_up_down_counter("otel.sdk.exporter.span.inflight")
        .with_unit(UNIT_SPAN)
        .with_description("The number of spans which were passed to the exporter, but that have not been exported yet (neither successful, nor failed).")
        .with_callback(move |o| {
            if idle(&st, &cs) {
                return;
            }
            for c in cs.iter() {
                let done = c.counters.exported.load(Ordering::Relaxed) + c.counters.failed.load(Ordering::Relaxed);
                o.observe(c.queued_and_submitted().1.saturating_sub(done) as i64, &c.exporter);
            }
        })
        .build();
    let (cs, st) = (components, started);
    meter
        .u64_observable_counter("otel.sdk.exporter.span.exported")
        .with_unit(UNIT_SPAN)
        .with_description("The number of spans for which the export has finished, either successful or failed.")
        .with_callback(move |o| {
            if idle(&st, &cs) {
                return;
            }
            for c in cs.iter() {
                o.observe(c.counters.exported.load(Ordering::Relaxed), &c.exporter);
                let failed = c.counters.failed.load(Ordering::Relaxed);
                o.observe(failed, &with(&c.exporter, KeyValue::new(sc::ERROR_TYPE, "_OTHER")));
            }
        })
        .build();
}
