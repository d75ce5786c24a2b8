//! Installing the pipeline, the process-wide state the hot path reads, the guard
//! that shuts it down, and the health snapshot.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{RandomIdGenerator, Sampler, SdkTracer, SdkTracerProvider};

use crate::config::{ContentCapture, ExporterKind, ExporterSpec, OtlpExporter, SamplerConfig, TelemetryBuilder};
use crate::content::ContentPolicy;
use crate::env::{ConfigWarning, EnvSettings, ExporterChoice, read_env};
use crate::processor::{BatchProcessor, DynSpanExporter, ExportQueue, ExporterCounters};

/// Checked first by every instrumented call: one relaxed load when off.
pub(crate) static ENABLED: AtomicBool = AtomicBool::new(false);
/// `true` when the installed sampler never samples a new root (`AlwaysOff`, a
/// ratio of 0): calls without a sampled parent are skipped before any work.
pub(crate) static ROOTS_UNSAMPLED: AtomicBool = AtomicBool::new(false);
/// `true` when GenAI metrics are recorded (they are kept for sampled-out calls).
pub(crate) static METRICS_ON: AtomicBool = AtomicBool::new(false);
/// Bumped on every install and shutdown, so per-thread caches of the tracer are
/// refreshed (a tracer is bound to the provider it came from).
pub(crate) static GENERATION: AtomicU64 = AtomicU64::new(0);
static ACTIVE: RwLock<Option<Arc<Active>>> = RwLock::new(None);
/// Serialises install and shutdown.
static INSTALL_LOCK: Mutex<()> = Mutex::new(());
/// Warnings of the most recent install attempt, also when it ended disabled.
static LAST_WARNINGS: Mutex<Vec<ConfigWarning>> = Mutex::new(Vec::new());

/// What the hot path and the health snapshot need from the current installation.
pub(crate) struct Active {
    pub tracer: SdkTracer,
    /// Set when genai-trace built the provider: its spans then skip the SDK's
    /// `Span` and go straight to these export queues. `None` with a provider the
    /// user built (whose processors only the SDK can reach).
    pub spans: Option<OwnPipeline>,
    pub content: ContentPolicy,
    #[cfg(feature = "metrics")]
    instruments: Option<crate::metrics::GenAiInstruments>,
    exporters: Vec<(&'static str, Arc<ExporterCounters>)>,
    started: Arc<AtomicU64>,
    #[cfg(feature = "logs")]
    logger_provider: Option<opentelemetry_sdk::logs::SdkLoggerProvider>,
}

/// What genai-trace needs to record spans itself: the provider's sampler and id
/// generator, and the export queues of its processors.
#[derive(Debug)]
pub(crate) struct OwnPipeline {
    pub sampler: Sampler,
    pub ids: RandomIdGenerator,
    pub queues: Vec<ExportQueue>,
    /// Recording spans started (also counted for the SDK's spans by the first processor).
    pub started: Arc<AtomicU64>,
}

impl OwnPipeline {
    /// Hands a finished span and its attributes to every exporter (`attributes` is left
    /// empty unless the last exporter's queue dropped the span).
    pub fn export(&self, span: crate::span_data::FinishedSpan, attributes: &mut crate::span_data::SpanAttributes) {
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
    pub fn instruments_enabled(&self) -> bool {
        #[cfg(feature = "metrics")]
        return self.instruments.is_some();
        #[cfg(not(feature = "metrics"))]
        false
    }

    /// Records a stream's time to first chunk and mean time per output chunk.
    #[cfg(feature = "metrics")]
    pub fn record_stream_metrics(&self, ttfc: Option<f64>, per_chunk: Option<f64>, attrs: &[KeyValue]) {
        if let Some(i) = &self.instruments {
            if let Some(t) = ttfc {
                i.time_to_first_chunk.record(t, attrs);
            }
            if let Some(t) = per_chunk {
                i.time_per_output_chunk.record(t, attrs);
            }
        }
    }

    /// Records one finished GenAI operation in the client metrics.
    #[cfg(feature = "metrics")]
    pub fn record_metrics(
        &self,
        op: &crate::metrics::FinishedOperation<'_>,
        attrs: &mut crate::span_data::MetricAttributes,
    ) {
        if let Some(i) = &self.instruments {
            i.record_operation(self.content.semconv_latest, op, attrs);
        }
    }
}

pub(crate) fn active() -> Option<Arc<Active>> {
    ACTIVE.read().unwrap_or_else(|e| e.into_inner()).clone()
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

/// `true` when `OTEL_SEMCONV_STABILITY_OPT_IN` contains `gen_ai_latest_experimental`:
/// emit the newest GenAI conventions instead of the v1.41.0 baseline.
pub fn semconv_latest_experimental() -> bool {
    active().is_some_and(|a| a.content.semconv_latest)
}

/// Why installing failed. Bad *environment* values never fail an install (they
/// warn and fall back); these are problems in the code's own configuration.
#[derive(Debug)]
#[non_exhaustive]
pub enum InstallError {
    /// Telemetry is already installed; drop the first guard before installing again.
    AlreadyInstalled,
    /// A builder value is invalid (the text says which and why).
    InvalidConfig(String),
    /// An exporter could not be built.
    Exporter(String),
    /// The configuration needs a cargo feature that is off.
    FeatureMissing(&'static str),
}

impl fmt::Display for InstallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlreadyInstalled => {
                f.write_str("genai-trace is already installed; drop the first TelemetryGuard first")
            }
            Self::InvalidConfig(why) => write!(f, "invalid genai-trace configuration: {why}"),
            Self::Exporter(why) => write!(f, "cannot build an exporter: {why}"),
            Self::FeatureMissing(feat) => write!(f, "this configuration needs the `{feat}` feature of genai-trace"),
        }
    }
}

impl std::error::Error for InstallError {}

/// Why a shutdown did not complete cleanly. Either way telemetry is off afterwards.
#[derive(Debug)]
#[non_exhaustive]
pub enum ShutdownError {
    /// Flushing did not finish within the shutdown timeout; what was left is lost.
    Timeout(Duration),
    /// An exporter reported an error while flushing.
    Failed(String),
}

impl fmt::Display for ShutdownError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout(d) => write!(f, "telemetry shutdown did not finish within {d:?}"),
            Self::Failed(why) => write!(f, "telemetry shutdown failed: {why}"),
        }
    }
}

impl std::error::Error for ShutdownError {}

/// Counters of one exporter, in a [`Health`] snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExporterHealth {
    /// `console`, `otlp-http`, `otlp-grpc`, `in-memory`, or the name given to `with_exporter`.
    pub name: &'static str,
    /// Spans accepted into the export queue.
    pub spans_queued: u64,
    /// Spans the exporter confirmed.
    pub spans_exported: u64,
    /// Spans dropped because the queue was full or already shut down.
    pub spans_dropped: u64,
    /// Spans in batches the exporter failed to send.
    pub spans_failed: u64,
}

/// A snapshot of the pipeline: see [`health`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Health {
    /// Telemetry is installed and enabled.
    pub installed: bool,
    /// Recording spans started since install.
    pub spans_started: u64,
    /// Per exporter counters.
    pub exporters: Vec<ExporterHealth>,
    /// Configuration warnings of the last install.
    pub warnings: Vec<ConfigWarning>,
}

impl Health {
    /// Spans exported, summed over exporters.
    pub fn spans_exported(&self) -> u64 {
        self.exporters.iter().map(|e| e.spans_exported).sum()
    }
    /// Spans dropped, summed over exporters.
    pub fn spans_dropped(&self) -> u64 {
        self.exporters.iter().map(|e| e.spans_dropped).sum()
    }
    /// Spans that failed to export, summed over exporters.
    pub fn spans_failed(&self) -> u64 {
        self.exporters.iter().map(|e| e.spans_failed).sum()
    }
}

/// The state of the telemetry pipeline right now.
///
/// ```
/// let h = genai_trace_runtime::health();
/// assert!(!h.installed);
/// assert_eq!(h.spans_dropped(), 0);
/// ```
pub fn health() -> Health {
    let warnings = LAST_WARNINGS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let Some(a) = active() else {
        return Health {
            warnings,
            ..Health::default()
        };
    };
    Health {
        installed: is_enabled(),
        spans_started: a.started.load(Ordering::Relaxed),
        exporters: a
            .exporters
            .iter()
            .map(|(name, c)| ExporterHealth {
                name,
                spans_queued: c.accepted.load(Ordering::Relaxed),
                spans_exported: c.exported.load(Ordering::Relaxed),
                spans_dropped: c.dropped.load(Ordering::Relaxed),
                spans_failed: c.failed.load(Ordering::Relaxed),
            })
            .collect(),
        warnings,
    }
}

const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Keeps telemetry installed. Dropping it (or [`TelemetryGuard::shutdown`])
/// flushes every span and metric and shuts the providers down, waiting at most
/// the shutdown timeout (default 5 s) even when the backend is unreachable.
#[must_use = "telemetry is shut down as soon as the guard is dropped"]
pub struct TelemetryGuard {
    owned: Option<Owned>,
}

struct Owned {
    tracer_provider: SdkTracerProvider,
    #[cfg(feature = "metrics")]
    meter_provider: Option<opentelemetry_sdk::metrics::SdkMeterProvider>,
    #[cfg(feature = "logs")]
    logger_provider: Option<opentelemetry_sdk::logs::SdkLoggerProvider>,
    /// Kept alive while exporting; dropped (stopped) after the providers shut down.
    #[cfg(feature = "otlp-grpc")]
    _grpc: Option<crate::otlp::GrpcRuntime>,
    shutdown_timeout: Duration,
}

impl fmt::Debug for TelemetryGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelemetryGuard")
            .field("installed", &self.owned.is_some())
            .finish()
    }
}

impl TelemetryGuard {
    /// `true` when this guard holds an installed pipeline (not disabled).
    pub fn is_installed(&self) -> bool {
        self.owned.is_some()
    }

    /// Exports everything ended so far without shutting down.
    pub fn flush(&self) -> Result<(), ShutdownError> {
        let Some(o) = &self.owned else { return Ok(()) };
        let spans = o.tracer_provider.force_flush();
        #[cfg(feature = "metrics")]
        if let Some(mp) = &o.meter_provider {
            mp.force_flush().map_err(|e| ShutdownError::Failed(e.to_string()))?;
        }
        #[cfg(feature = "logs")]
        if let Some(lp) = &o.logger_provider {
            lp.force_flush().map_err(|e| ShutdownError::Failed(e.to_string()))?;
        }
        spans.map_err(|e| ShutdownError::Failed(e.to_string()))
    }

    /// Flushes and shuts down, reporting what went wrong.
    pub fn shutdown(mut self) -> Result<(), ShutdownError> {
        self.shutdown_inner()
    }

    fn shutdown_inner(&mut self) -> Result<(), ShutdownError> {
        let Some(owned) = self.owned.take() else { return Ok(()) };
        let _lock = INSTALL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        // New spans stop here; the ones already ended are flushed below.
        ENABLED.store(false, Ordering::SeqCst);
        METRICS_ON.store(false, Ordering::SeqCst);
        ROOTS_UNSAMPLED.store(false, Ordering::SeqCst);
        *ACTIVE.write().unwrap_or_else(|e| e.into_inner()) = None;
        GENERATION.fetch_add(1, Ordering::SeqCst);
        opentelemetry::global::set_tracer_provider(opentelemetry::trace::noop::NoopTracerProvider::new());

        let timeout = owned.shutdown_timeout;
        let (tx, rx) = std::sync::mpsc::channel();
        let tp = owned.tracer_provider.clone();
        #[cfg(feature = "metrics")]
        let mp = owned.meter_provider.clone();
        #[cfg(feature = "logs")]
        let lp = owned.logger_provider.clone();
        // On a helper thread so a stuck exporter cannot hold the caller past the timeout.
        let spawned = std::thread::Builder::new()
            .name("genai-trace-shutdown".into())
            .spawn(move || {
                #[cfg_attr(not(any(feature = "metrics", feature = "logs")), allow(unused_mut))]
                let mut result = tp.shutdown_with_timeout(timeout).map_err(|e| e.to_string());
                #[cfg(feature = "metrics")]
                if let Some(mp) = mp {
                    result = result.and(mp.shutdown_with_timeout(timeout).map_err(|e| e.to_string()));
                }
                #[cfg(feature = "logs")]
                if let Some(lp) = lp {
                    result = result.and(lp.shutdown_with_timeout(timeout).map_err(|e| e.to_string()));
                }
                let _ = tx.send(result);
            });
        let result = match spawned {
            Err(e) => Err(ShutdownError::Failed(format!("cannot start the shutdown thread: {e}"))),
            Ok(_) => match rx.recv_timeout(timeout + Duration::from_millis(200)) {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) if e.contains("Timeout") || e.contains("timed out") => Err(ShutdownError::Timeout(timeout)),
                Ok(Err(e)) => Err(ShutdownError::Failed(e)),
                Err(_) => Err(ShutdownError::Timeout(timeout)),
            },
        };
        drop(owned);
        match &result {
            Ok(()) => crate::diag::info(format_args!("telemetry shut down; every span was flushed")),
            Err(e) => crate::diag::warn(format_args!("{e}")),
        }
        result
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        // Problems were reported by shutdown_inner.
        let _ = self.shutdown_inner();
    }
}

fn sampler(cfg: SamplerConfig) -> Sampler {
    let ratio = |r: f64| {
        if r >= 1.0 {
            Sampler::AlwaysOn
        } else if r <= 0.0 {
            Sampler::AlwaysOff
        } else {
            Sampler::TraceIdRatioBased(r)
        }
    };
    match cfg {
        SamplerConfig::AlwaysOn => Sampler::AlwaysOn,
        SamplerConfig::AlwaysOff => Sampler::AlwaysOff,
        SamplerConfig::Ratio(r) => ratio(r),
        SamplerConfig::ParentBasedRatio(r) => Sampler::ParentBased(Box::new(ratio(r))),
    }
}

fn resource(b: &TelemetryBuilder, env: &EnvSettings) -> Resource {
    let mut attrs: Vec<(String, String)> = env.resource_attributes.clone();
    attrs.extend(b.resource_attributes.iter().cloned());
    let from_attrs = |key: &str| attrs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let service_name = b
        .service_name
        .clone()
        .or_else(|| env.service_name.clone())
        .or_else(|| from_attrs("service.name"))
        .unwrap_or_else(|| {
            let exe = std::env::current_exe().ok();
            let exe = exe.as_ref().and_then(|p| p.file_stem()).and_then(|s| s.to_str());
            exe.map_or_else(|| "unknown_service".to_owned(), |e| format!("unknown_service:{e}"))
        });
    let mut builder = Resource::builder_empty()
        .with_detector(Box::new(opentelemetry_sdk::resource::TelemetryResourceDetector))
        .with_attributes(attrs.iter().map(|(k, v)| KeyValue::new(k.clone(), v.clone())));
    if let Some(v) = &b.service_version {
        builder = builder.with_attribute(KeyValue::new("service.version", v.clone()));
    }
    builder.with_service_name(service_name).build()
}

/// The exporters to use when the code added none: `OTEL_TRACES_EXPORTER` (default `otlp`).
fn exporters_from_env(env: &EnvSettings) -> Vec<ExporterSpec> {
    let choices = env
        .traces_exporter
        .clone()
        .unwrap_or_else(|| vec![ExporterChoice::Otlp]);
    let mut out = Vec::new();
    for c in choices {
        match c {
            ExporterChoice::Otlp => out.push(ExporterSpec {
                name: "otlp",
                kind: ExporterKind::Otlp(OtlpExporter::from_env()),
            }),
            #[cfg(feature = "console")]
            ExporterChoice::Console => out.push(ExporterSpec {
                name: "console",
                kind: ExporterKind::Console(crate::console::ConsoleExporter::tree()),
            }),
            #[cfg(not(feature = "console"))]
            ExporterChoice::Console => crate::diag::warn(format_args!(
                "OTEL_TRACES_EXPORTER: console needs the console feature; ignored"
            )),
        }
    }
    out
}

impl TelemetryBuilder {
    /// Builds the pipeline and makes it current for every instrumented call.
    ///
    /// Returns a disabled guard (instrumentation stays free) when `OTEL_SDK_DISABLED=true`
    /// or [`TelemetryBuilder::disabled`] was set; an error only for a problem in the
    /// code's configuration or when telemetry is already installed.
    pub fn install(mut self) -> Result<TelemetryGuard, InstallError> {
        let env = read_env(&*self.env);
        let mut warnings = env.warnings.clone();
        let specs = std::mem::take(&mut self.exporters);
        let result = self.install_inner(&env, &mut warnings, specs);
        if self.print_warnings {
            for w in &warnings {
                crate::diag::warn(format_args!("{}: {}", w.variable, w.message));
            }
        }
        *LAST_WARNINGS.lock().unwrap_or_else(|e| e.into_inner()) = warnings;
        result
    }

    fn install_inner(
        &self,
        env: &EnvSettings,
        warnings: &mut Vec<ConfigWarning>,
        mut specs: Vec<ExporterSpec>,
    ) -> Result<TelemetryGuard, InstallError> {
        if self.disabled || env.sdk_disabled {
            return Ok(TelemetryGuard { owned: None });
        }
        let _lock = INSTALL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        if active().is_some() {
            return Err(InstallError::AlreadyInstalled);
        }
        let batch = self.batch_settings(env);
        if specs.is_empty() && self.tracer_provider.is_none() {
            specs = exporters_from_env(env);
        }
        let has_otlp = specs.iter().any(|s| matches!(s.kind, ExporterKind::Otlp(_)));
        if self.otlp_if_configured && env.otlp_traces.endpoint.is_some() && !has_otlp {
            specs.push(ExporterSpec {
                name: "otlp",
                kind: ExporterKind::Otlp(OtlpExporter::from_env()),
            });
        }
        if self.tracer_provider.is_some() && !specs.is_empty() {
            return Err(InstallError::InvalidConfig(
                "exporters cannot be added to a tracer provider you built yourself; add them to your provider".into(),
            ));
        }

        #[cfg(feature = "otlp-grpc")]
        let mut grpc: Option<crate::otlp::GrpcRuntime> = None;
        #[cfg(all(feature = "metrics", any(feature = "otlp-http", feature = "otlp-grpc")))]
        let metrics_wanted = env
            .metrics_exporter
            .as_ref()
            .is_none_or(|m| m.contains(&ExporterChoice::Otlp));
        #[cfg(feature = "metrics")]
        let mut meter_builder = opentelemetry_sdk::metrics::SdkMeterProvider::builder();
        #[cfg(feature = "metrics")]
        let mut has_readers = false;
        #[cfg(feature = "metrics")]
        let interval = self
            .metric_export_interval
            .or(env.metric_export_interval)
            .unwrap_or(Duration::from_secs(60));

        #[cfg(all(feature = "logs", any(feature = "otlp-http", feature = "otlp-grpc")))]
        let logs_wanted = env
            .logs_exporter
            .as_ref()
            .is_none_or(|m| m.contains(&ExporterChoice::Otlp));
        #[cfg(feature = "logs")]
        #[cfg_attr(not(any(feature = "otlp-http", feature = "otlp-grpc")), allow(unused_mut))]
        let mut logger_builder: Option<opentelemetry_sdk::logs::LoggerProviderBuilder> = None;
        let started = Arc::new(AtomicU64::new(0));
        let scope = InstrumentationScope::builder("genai-trace")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        let mut counters = Vec::new();
        let mut processors = Vec::new();
        for spec in specs {
            let mut name = spec.name;
            let exporter: Box<dyn DynSpanExporter> = match spec.kind {
                #[cfg(feature = "console")]
                ExporterKind::Console(c) => Box::new(c),
                ExporterKind::Custom(e) => e,
                #[cfg(feature = "testing")]
                ExporterKind::InMemory(m) => {
                    #[cfg(feature = "metrics")]
                    {
                        let reader = opentelemetry_sdk::metrics::PeriodicReader::builder(m.metrics.clone())
                            .with_interval(interval)
                            .build();
                        meter_builder = meter_builder.with_reader(reader);
                        has_readers = true;
                    }
                    Box::new(m.spans.clone())
                }
                ExporterKind::Otlp(o) => {
                    let r = crate::otlp::resolve(&o, env, crate::otlp::Signal::Traces, warnings)?;
                    name = r.protocol.exporter_name();
                    #[cfg(all(feature = "metrics", any(feature = "otlp-http", feature = "otlp-grpc")))]
                    if o.metrics && metrics_wanted {
                        let m = crate::otlp::resolve(&o, env, crate::otlp::Signal::Metrics, warnings)?;
                        let exporter = crate::otlp::metric_exporter(
                            &m,
                            #[cfg(feature = "otlp-grpc")]
                            &mut grpc,
                        )?;
                        let reader = opentelemetry_sdk::metrics::PeriodicReader::builder(exporter)
                            .with_interval(interval)
                            .build();
                        meter_builder = meter_builder.with_reader(reader);
                        has_readers = true;
                    }
                    #[cfg(all(feature = "logs", any(feature = "otlp-http", feature = "otlp-grpc")))]
                    if o.metrics && logs_wanted {
                        let l = crate::otlp::resolve(&o, env, crate::otlp::Signal::Logs, warnings)?;
                        let exporter = crate::otlp::log_exporter(
                            &l,
                            #[cfg(feature = "otlp-grpc")]
                            &mut grpc,
                        )?;
                        let b = logger_builder
                            .take()
                            .unwrap_or_else(opentelemetry_sdk::logs::SdkLoggerProvider::builder);
                        logger_builder = Some(b.with_batch_exporter(exporter));
                    }
                    crate::otlp::span_exporter(
                        &r,
                        #[cfg(feature = "otlp-grpc")]
                        &mut grpc,
                    )?
                }
            };
            let c = Arc::new(ExporterCounters::default());
            processors.push(
                BatchProcessor::new(name, exporter, batch, Arc::clone(&c), scope.clone())
                    .map_err(|e| InstallError::Exporter(format!("cannot start the export thread: {e}")))?,
            );
            counters.push((name, c));
        }

        let resource = resource(self, env);
        let sampler_cfg = self
            .sampler
            .or(env.sampler)
            .unwrap_or(SamplerConfig::ParentBasedRatio(1.0));
        let own_spans = self.tracer_provider.is_none().then(|| OwnPipeline {
            sampler: sampler(sampler_cfg),
            ids: RandomIdGenerator::default(),
            queues: processors.iter().map(BatchProcessor::queue).collect(),
            started: Arc::clone(&started),
        });
        let tracer_provider = match self.tracer_provider.clone() {
            Some(p) => p,
            None => {
                let mut b = SdkTracerProvider::builder()
                    .with_resource(resource.clone())
                    .with_sampler(sampler(sampler_cfg));
                for (i, p) in processors.into_iter().enumerate() {
                    b = b.with_span_processor(if i == 0 {
                        p.counting_starts(Arc::clone(&started))
                    } else {
                        p
                    });
                }
                b.build()
            }
        };
        #[cfg(feature = "metrics")]
        let meter_provider = has_readers.then(|| {
            let mp = meter_builder.with_resource(resource.clone()).build();
            opentelemetry::global::set_meter_provider(mp.clone());
            mp
        });

        #[cfg(feature = "logs")]
        let logger_provider = logger_builder.map(|b| b.with_resource(resource.clone()).build());
        let tracer = tracer_provider.tracer_with_scope(scope.clone());
        opentelemetry::global::set_tracer_provider(tracer_provider.clone());
        opentelemetry::global::set_text_map_propagator(opentelemetry::propagation::TextMapCompositePropagator::new(
            vec![
                Box::new(opentelemetry_sdk::propagation::TraceContextPropagator::new()),
                Box::new(opentelemetry_sdk::propagation::BaggagePropagator::new()),
            ],
        ));
        #[cfg(feature = "metrics")]
        let instruments = meter_provider.as_ref().map(|mp| {
            use opentelemetry::metrics::MeterProvider as _;
            crate::metrics::GenAiInstruments::new(&mp.meter_with_scope(scope.clone()))
        });
        *ACTIVE.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(Active {
            tracer,
            spans: own_spans,
            content: ContentPolicy {
                mode: self.content_capture.or(env.content_capture).unwrap_or_default(),
                max_bytes: self
                    .max_content_bytes
                    .unwrap_or(crate::content::DEFAULT_MAX_CONTENT_BYTES),
                redact: self.redact.clone(),
                semconv_latest: env.semconv_latest_experimental,
            },
            #[cfg(feature = "metrics")]
            instruments,
            exporters: counters,
            started,
            #[cfg(feature = "logs")]
            logger_provider: logger_provider.clone(),
        }));
        ROOTS_UNSAMPLED.store(
            self.tracer_provider.is_none()
                && matches!(
                    sampler_cfg,
                    SamplerConfig::AlwaysOff | SamplerConfig::Ratio(0.0) | SamplerConfig::ParentBasedRatio(0.0)
                ),
            Ordering::SeqCst,
        );
        METRICS_ON.store(active().is_some_and(|a| a.instruments_enabled()), Ordering::SeqCst);
        GENERATION.fetch_add(1, Ordering::SeqCst);
        ENABLED.store(true, Ordering::SeqCst);
        Ok(TelemetryGuard {
            owned: Some(Owned {
                tracer_provider,
                #[cfg(feature = "metrics")]
                meter_provider,
                #[cfg(feature = "logs")]
                logger_provider,
                #[cfg(feature = "otlp-grpc")]
                _grpc: grpc,
                shutdown_timeout: self.shutdown_timeout.unwrap_or(DEFAULT_SHUTDOWN_TIMEOUT),
            }),
        })
    }
}
