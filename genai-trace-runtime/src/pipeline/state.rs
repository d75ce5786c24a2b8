//! The process-wide state the hot path reads: the switches checked first by
//! every instrumented call, and the current installation ([`Active`]). Only
//! [`publish`] and [`retire`] change it, under the install lock.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use opentelemetry_sdk::trace::{RandomIdGenerator, Sampler, SdkTracer};

#[cfg(feature = "metrics")]
use crate::base::span_data::MetricAttributes;
use crate::base::span_data::{FinishedSpan, SpanAttributes};
use crate::export::processor::{ExportQueue, ExporterCounters};
use crate::genai::content::{ContentCapture, ContentPolicy};
use crate::genai::cost::PriceTable;
use crate::pipeline::held::HeldTraces;

/// Checked first by every instrumented call: one relaxed load when off.
pub(crate) static ENABLED: AtomicBool = AtomicBool::new(false);
/// `true` when the installed sampler never samples a new root (`AlwaysOff`, a
/// ratio of 0): calls without a sampled parent are skipped before any work.
pub(crate) static ROOTS_UNSAMPLED: AtomicBool = AtomicBool::new(false);
/// `true` when error-keeping sampling holds sampled-out traces: a child of a
/// sampled-out local parent may then be recorded (when its context is held).
pub(crate) static HOLDING: AtomicBool = AtomicBool::new(false);
/// `true` when GenAI metrics are recorded (they are kept for sampled-out calls).
pub(crate) static METRICS_ON: AtomicBool = AtomicBool::new(false);
/// Bumped on every install and shutdown, so per-thread caches of the tracer are
/// refreshed (a tracer is bound to the provider it came from).
pub(crate) static GENERATION: AtomicU64 = AtomicU64::new(0);
static ACTIVE: RwLock<Option<Arc<Active>>> = RwLock::new(None);
/// Serialises install and shutdown.
static INSTALL_LOCK: Mutex<()> = Mutex::new(());

/// What the hot path and the health snapshot need from the current installation.
pub(crate) struct Active {
    pub(crate) tracer: SdkTracer,
    /// Set when genai-trace built the provider: its spans then skip the SDK's
    /// `Span` and go straight to these export queues. `None` with a provider the
    /// user built (whose processors only the SDK can reach).
    pub(crate) spans: Option<OwnPipeline>,
    pub(crate) content: ContentPolicy,
    /// The price table: calls with token usage get a cost.
    pub(crate) prices: Option<PriceTable>,
    /// `gen_ai.provider.name` of GenAI calls that name none and have no
    /// enclosing GenAI call that does.
    pub(crate) default_provider: Option<opentelemetry::Value>,
    #[cfg(feature = "metrics")]
    pub(crate) instruments: Option<crate::genai::metrics::GenAiInstruments>,
    /// Each exporter's name and counters, for the health snapshot.
    pub(crate) exporters: Vec<(&'static str, Arc<ExporterCounters>)>,
    /// Recording spans started.
    pub(crate) started: Arc<AtomicU64>,
    #[cfg(feature = "logs")]
    pub(crate) logger_provider: Option<opentelemetry_sdk::logs::SdkLoggerProvider>,
    /// With OTLP logs on: the logger the inference details event is emitted through.
    #[cfg(feature = "logs")]
    pub(crate) details_logger: Option<opentelemetry_sdk::logs::SdkLogger>,
    /// The registry of the Prometheus reader, for [`prometheus_exposition`].
    #[cfg(feature = "prometheus")]
    pub(crate) prometheus: Option<crate::export::prometheus::PrometheusRegistry>,
}

/// What genai-trace needs to record spans itself: the provider's sampler and id
/// generator, and the export queues of its processors.
#[derive(Debug)]
pub(crate) struct OwnPipeline {
    pub(crate) sampler: Sampler,
    pub(crate) ids: RandomIdGenerator,
    pub(crate) queues: Vec<ExportQueue>,
    /// Recording spans started (also counted for the SDK's spans by the first processor).
    pub(crate) started: Arc<AtomicU64>,
    /// Error-keeping sampling: traces the sampler dropped, held until their root ends.
    pub(crate) held: Option<Arc<HeldTraces>>,
}

impl OwnPipeline {
    /// Hands a finished span and its attributes to every exporter (`attributes` is left
    /// empty unless the last exporter's queue dropped the span).
    pub(crate) fn export(&self, span: FinishedSpan, attributes: &mut SpanAttributes) {
        if let Some((last, rest)) = self.queues.split_last() {
            for q in rest {
                q.push_copy(span.clone(), attributes);
            }
            last.push(span, attributes);
        }
    }
}

/// The installed OTLP logger provider, if logs are exported.
#[cfg(feature = "logs")]
pub(crate) fn logger_provider() -> Option<opentelemetry_sdk::logs::SdkLoggerProvider> {
    active().and_then(|a| a.logger_provider.clone())
}

impl fmt::Debug for Active {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Active")
            .field("content", &self.content)
            .finish_non_exhaustive()
    }
}

impl Active {
    /// GenAI metrics are recorded (a meter provider is installed).
    #[cfg_attr(not(feature = "metrics"), allow(clippy::unused_self))]
    pub(crate) fn instruments_enabled(&self) -> bool {
        #[cfg(feature = "metrics")]
        return self.instruments.is_some();
        #[cfg(not(feature = "metrics"))]
        false
    }

    /// Records a stream's time to first chunk.
    #[cfg(feature = "metrics")]
    pub(crate) fn record_time_to_first_chunk(&self, seconds: f64, attrs: &[opentelemetry::KeyValue]) {
        if let Some(i) = &self.instruments {
            i.time_to_first_chunk.record(seconds, attrs);
        }
    }

    /// Records the time between consecutive chunks of a stream, one value each.
    #[cfg(feature = "metrics")]
    pub(crate) fn record_chunk_gaps(&self, gaps: &[f64], attrs: &[opentelemetry::KeyValue]) {
        if let Some(i) = &self.instruments {
            for &g in gaps {
                i.time_per_output_chunk.record(g, attrs);
            }
        }
    }

    /// Records one finished GenAI operation in the client metrics.
    #[cfg(feature = "metrics")]
    pub(crate) fn record_metrics(
        &self,
        op: &crate::genai::metrics::FinishedOperation<'_>,
        attrs: &mut MetricAttributes,
    ) {
        if let Some(i) = &self.instruments {
            i.record_operation(op, attrs);
        }
    }
}

pub(crate) fn active() -> Option<Arc<Active>> {
    ACTIVE.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
}

/// Serialises install and shutdown; held across [`publish`] and [`retire`].
pub(crate) fn install_lock() -> MutexGuard<'static, ()> {
    INSTALL_LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Makes `active` the current installation and turns instrumentation on.
/// `roots_unsampled`: the sampler samples no new root.
pub(crate) fn publish(active: Active, roots_unsampled: bool) {
    let metrics_on = active.instruments_enabled();
    let holding = active.spans.as_ref().is_some_and(|p| p.held.is_some());
    *ACTIVE.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(active));
    ROOTS_UNSAMPLED.store(roots_unsampled && !holding, Ordering::SeqCst);
    HOLDING.store(holding, Ordering::SeqCst);
    METRICS_ON.store(metrics_on, Ordering::SeqCst);
    GENERATION.fetch_add(1, Ordering::SeqCst);
    ENABLED.store(true, Ordering::SeqCst);
}

/// Turns instrumentation off: new calls record nothing from here on, and
/// per-thread caches of the installation are refreshed. Returns the installation
/// that was current, for its final totals.
pub(crate) fn retire() -> Option<Arc<Active>> {
    ENABLED.store(false, Ordering::SeqCst);
    METRICS_ON.store(false, Ordering::SeqCst);
    ROOTS_UNSAMPLED.store(false, Ordering::SeqCst);
    HOLDING.store(false, Ordering::SeqCst);
    let retired = ACTIVE.write().unwrap_or_else(std::sync::PoisonError::into_inner).take();
    GENERATION.fetch_add(1, Ordering::SeqCst);
    retired
}

/// `true` while telemetry is installed and enabled.
///
/// ```
/// assert!(!genai_trace_runtime::is_enabled()); // nothing installed yet
/// ```
#[inline]
pub fn is_enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The content-capture mode in force (`NoContent` when not installed).
pub fn content_capture() -> ContentCapture {
    active().map_or(ContentCapture::NoContent, |a| a.content.mode)
}

/// The current metrics in the Prometheus text exposition format (feature
/// `prometheus`), for programs that serve HTTP themselves: `None` unless a
/// Prometheus exporter is installed (`OTEL_METRICS_EXPORTER=prometheus`, or
/// [`TelemetryBuilder::with_prometheus`](crate::TelemetryBuilder::with_prometheus),
/// with [`without_server`](crate::PrometheusExporter::without_server) to serve
/// nothing itself). Answer with content type `text/plain; version=0.0.4`.
///
/// ```
/// use genai_trace_runtime::{PrometheusExporter, Telemetry, prometheus_exposition};
/// assert!(prometheus_exposition().is_none());
/// let guard = Telemetry::builder().with_prometheus(PrometheusExporter::new().without_server()).install().unwrap();
/// let text = prometheus_exposition().unwrap();
/// assert!(text.contains("target_info"));
/// # drop(guard);
/// ```
#[cfg(feature = "prometheus")]
#[cfg_attr(docsrs, doc(cfg(feature = "prometheus")))]
pub fn prometheus_exposition() -> Option<String> {
    active().and_then(|a| {
        a.prometheus
            .as_ref()
            .map(crate::export::prometheus::PrometheusRegistry::render)
    })
}

/// `true` when `OTEL_SEMCONV_STABILITY_OPT_IN` contains `gen_ai_latest_experimental`.
///
/// The switch is how an instrumentation that emits an older GenAI version by
/// default lets users opt into the latest one. genai-trace already emits the
/// latest released GenAI conventions (v1.41.0) by default, so, as the
/// conventions' transition text has it for such an instrumentation, the switch
/// changes nothing it emits; it is accepted, and reported here.
pub fn semconv_latest_experimental() -> bool {
    active().is_some_and(|a| a.content.semconv_latest)
}
