//! `install()`: reads the environment, builds the span exporters and their batch
//! processors, the tracer provider and the other signals' providers, sets the
//! OpenTelemetry globals, and publishes the installation for the hot path.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use opentelemetry::InstrumentationScope;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{RandomIdGenerator, SdkTracerProvider};

use crate::base::diag;
use crate::base::errors::{ConfigWarning, InstallError};
use crate::export::dialect::WithDialects;
use crate::export::otlp::Signal;
use crate::export::processor::{BatchProcessor, DynSpanExporter, ExporterCounters};
use crate::pipeline::health;
use crate::pipeline::held::HeldTraces;
use crate::pipeline::state::{self, Active, OwnPipeline};
use crate::setup::builder::{ExporterKind, ExporterSpec, OtlpExporter, TelemetryBuilder};
use crate::setup::env::{EnvSettings, ExporterChoice, read_env};
use crate::setup::guard::{Owned, TelemetryGuard};
use crate::setup::resolve;
use crate::setup::sampler::{sampler, samples_no_root};
use crate::setup::signals::SignalBuilders;

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
                kind: ExporterKind::Console(Box::new(crate::export::console::ConsoleExporter::tree())),
            }),
            #[cfg(not(feature = "console"))]
            ExporterChoice::Console => diag::warn(format_args!(
                "OTEL_TRACES_EXPORTER: console needs the console feature; ignored"
            )),
            // Read from OTEL_METRICS_EXPORTER only.
            ExporterChoice::Prometheus => {}
        }
    }
    out
}

/// The SDK's tracer provider over genai-trace's processors (for the spans the
/// SDK's tracer makes: other instrumentations, `tracing-opentelemetry`).
fn sdk_tracer_provider(
    resource: &opentelemetry_sdk::Resource,
    sampler_cfg: crate::setup::sampler::SamplerConfig,
    processors: Vec<BatchProcessor>,
    started: &Arc<AtomicU64>,
) -> SdkTracerProvider {
    let b = SdkTracerProvider::builder()
        .with_resource(resource.clone())
        .with_sampler(sampler(sampler_cfg));
    processors
        .into_iter()
        .enumerate()
        .fold(b, |b, (i, p)| {
            // The first processor counts the SDK's spans as they start.
            b.with_span_processor(if i == 0 {
                p.counting_starts(Arc::clone(started))
            } else {
                p
            })
        })
        .build()
}

/// The installed provider and W3C trace context + baggage become OpenTelemetry's globals.
fn set_globals(tracer_provider: &SdkTracerProvider) {
    opentelemetry::global::set_tracer_provider(tracer_provider.clone());
    opentelemetry::global::set_text_map_propagator(opentelemetry::propagation::TextMapCompositePropagator::new(vec![
        Box::new(opentelemetry_sdk::propagation::TraceContextPropagator::new()),
        Box::new(opentelemetry_sdk::propagation::BaggagePropagator::new()),
    ]));
}

/// The pipeline's own `otel.sdk.*` metrics, over every exporter's counters and queue.
#[cfg(feature = "metrics")]
fn register_self_metrics(
    mp: &opentelemetry_sdk::metrics::SdkMeterProvider,
    scope: &InstrumentationScope,
    started: &Arc<AtomicU64>,
    counters: &[(&'static str, Arc<ExporterCounters>)],
    queues: Vec<crate::export::processor::ExportQueue>,
) {
    use opentelemetry::metrics::MeterProvider as _;
    let sources = counters
        .iter()
        .zip(queues.into_iter().map(Some).chain(std::iter::repeat_with(|| None)))
        .map(|((name, c), queue)| crate::pipeline::self_metrics::ExporterSource {
            name,
            counters: Arc::clone(c),
            queue,
        })
        .collect();
    crate::pipeline::self_metrics::register(&mp.meter_with_scope(scope.clone()), Arc::clone(started), sources);
}

/// The Prometheus reader, when one is wanted, and the registry it fills.
#[cfg(feature = "prometheus")]
fn prometheus_reader(
    b: &TelemetryBuilder,
    env: &EnvSettings,
    signals: &mut SignalBuilders,
    warnings: &mut Vec<ConfigWarning>,
) -> Option<(
    resolve::ResolvedPrometheus,
    crate::export::prometheus::PrometheusRegistry,
)> {
    let p = resolve::prometheus(b, env)?;
    match signals.add_prometheus() {
        Ok(registry) => Some((p, registry)),
        Err(why) => {
            warnings.push(ConfigWarning {
                variable: "OTEL_METRICS_EXPORTER".into(),
                message: format!("prometheus: {why}"),
            });
            None
        }
    }
}

/// Starts the `/metrics` server; a port in use or a bad host is a warning.
#[cfg(feature = "prometheus")]
fn serve_prometheus(
    p: &resolve::ResolvedPrometheus,
    registry: &crate::export::prometheus::PrometheusRegistry,
    warnings: &mut Vec<ConfigWarning>,
) -> Option<crate::export::prometheus::MetricsServer> {
    match crate::export::prometheus::MetricsServer::start(registry.clone(), &p.host, p.port) {
        Ok(server) => Some(server),
        Err(e) => {
            let variable = if e.kind() == std::io::ErrorKind::AddrInUse {
                "OTEL_EXPORTER_PROMETHEUS_PORT"
            } else {
                "OTEL_EXPORTER_PROMETHEUS_HOST"
            };
            warnings.push(ConfigWarning {
                variable: variable.into(),
                message: format!(
                    "cannot serve metrics on {}:{}: {e}; no /metrics endpoint (prometheus_exposition() still \
                     renders them)",
                    p.host, p.port
                ),
            });
            None
        }
    }
}

/// One batch processor per span exporter, and the counters `health()` reads.
struct SpanProcessors {
    processors: Vec<BatchProcessor>,
    counters: Vec<(&'static str, Arc<ExporterCounters>)>,
}

impl TelemetryBuilder {
    /// Builds the pipeline and makes it current for every instrumented call.
    ///
    /// Returns a disabled guard (instrumentation stays free) when `OTEL_SDK_DISABLED=true`
    /// or [`TelemetryBuilder::disabled`] was set; an error only for a problem in the
    /// code's configuration or when telemetry is already installed.
    ///
    /// # Errors
    ///
    /// [`InstallError::AlreadyInstalled`] while another guard is alive; otherwise a
    /// problem in the code's own configuration (an invalid builder value, an
    /// exporter that cannot be built, a configuration that needs a cargo feature
    /// that is off). Bad environment values never fail an install: they warn.
    pub fn install(mut self) -> Result<TelemetryGuard, InstallError> {
        let env = read_env(&*self.env);
        let mut warnings = env.warnings.clone();
        let specs = std::mem::take(&mut self.exporters);
        let result = self.install_inner(&env, &mut warnings, specs);
        if self.print_warnings {
            for w in &warnings {
                diag::warn(format_args!("{}: {}", w.variable, w.message));
            }
        }
        health::set_last_warnings(warnings);
        result
    }

    fn install_inner(
        &self,
        env: &EnvSettings,
        warnings: &mut Vec<ConfigWarning>,
        specs: Vec<ExporterSpec>,
    ) -> Result<TelemetryGuard, InstallError> {
        if self.disabled || env.sdk_disabled {
            return Ok(TelemetryGuard::disabled());
        }
        let _lock = state::install_lock();
        if state::active().is_some() {
            return Err(InstallError::AlreadyInstalled);
        }
        let specs = self.span_exporter_specs(env, specs, warnings)?;
        let scope = InstrumentationScope::builder("genai-trace")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        let mut signals = SignalBuilders::new(self, env);
        let SpanProcessors { processors, counters } =
            self.span_processors(specs, env, warnings, &mut signals, &scope)?;

        #[cfg(feature = "prometheus")]
        let prometheus = prometheus_reader(self, env, &mut signals, warnings);
        #[cfg(not(feature = "prometheus"))]
        resolve::prometheus_unavailable(env, warnings);
        #[cfg(feature = "metrics")]
        let queues: Vec<_> = processors.iter().map(BatchProcessor::queue).collect();

        let resource = resolve::resource(self, env);
        let sampler_cfg = resolve::sampler(self, env);
        let started = Arc::new(AtomicU64::new(0));
        let held = resolve::hold_settings(self, env, sampler_cfg, warnings).map(|h| Arc::new(HeldTraces::new(h)));
        let own_spans = self.tracer_provider.is_none().then(|| OwnPipeline {
            sampler: sampler(sampler_cfg),
            ids: RandomIdGenerator::default(),
            queues: processors.iter().map(BatchProcessor::queue).collect(),
            started: Arc::clone(&started),
            held,
        });
        let tracer_provider = self
            .tracer_provider
            .clone()
            .unwrap_or_else(|| sdk_tracer_provider(&resource, sampler_cfg, processors, &started));
        #[cfg_attr(
            not(any(feature = "metrics", feature = "logs", feature = "otlp-grpc")),
            allow(unused_variables)
        )]
        let providers = signals.build(&resource);

        let tracer = tracer_provider.tracer_with_scope(scope.clone());
        set_globals(&tracer_provider);
        #[cfg(feature = "metrics")]
        let instruments = providers.meter.as_ref().map(|mp| {
            use opentelemetry::metrics::MeterProvider as _;
            crate::genai::metrics::GenAiInstruments::new(&mp.meter_with_scope(scope.clone()))
        });
        #[cfg(feature = "metrics")]
        if let Some(mp) = &providers.meter
            && self.self_metrics.or(env.self_metrics).unwrap_or(true)
        {
            register_self_metrics(mp, &scope, &started, &counters, queues);
        }
        #[cfg(feature = "prometheus")]
        let metrics_server = prometheus
            .as_ref()
            .filter(|(p, _)| p.serve)
            .and_then(|(p, registry)| serve_prometheus(p, registry, warnings));
        state::publish(
            Active {
                tracer,
                spans: own_spans,
                content: resolve::content_policy(self, env),
                prices: resolve::prices(self, env, warnings),
                default_provider: resolve::default_provider(self, env),
                #[cfg(feature = "metrics")]
                instruments,
                exporters: counters,
                started,
                #[cfg(feature = "logs")]
                logger_provider: providers.logger.clone(),
                #[cfg(feature = "logs")]
                details_logger: providers.logger.as_ref().map(|lp| {
                    use opentelemetry::logs::LoggerProvider as _;
                    lp.logger_with_scope(scope.clone())
                }),
                #[cfg(feature = "prometheus")]
                prometheus: prometheus.map(|(_, registry)| registry),
            },
            self.tracer_provider.is_none() && samples_no_root(sampler_cfg),
        );
        Ok(TelemetryGuard::installed(Owned {
            tracer_provider,
            #[cfg(feature = "metrics")]
            meter_provider: providers.meter,
            #[cfg(feature = "logs")]
            logger_provider: providers.logger,
            #[cfg(feature = "otlp-grpc")]
            _grpc: providers.grpc,
            shutdown_timeout: resolve::shutdown_timeout(self),
            otlp_endpoints: providers.otlp_endpoints,
            #[cfg(feature = "prometheus")]
            metrics_server,
        }))
    }

    /// The span exporters: the code's, else `OTEL_TRACES_EXPORTER`'s; plus OTLP
    /// when `with_otlp_if_configured` finds an endpoint in the environment.
    fn span_exporter_specs(
        &self,
        env: &EnvSettings,
        mut specs: Vec<ExporterSpec>,
        warnings: &mut Vec<ConfigWarning>,
    ) -> Result<Vec<ExporterSpec>, InstallError> {
        let backends = resolve::backends(self, env);
        // A backend preset stands for the default OTLP exporter, unless
        // OTEL_TRACES_EXPORTER names exporters explicitly.
        if specs.is_empty() && self.tracer_provider.is_none() && (backends.is_empty() || env.traces_exporter.is_some())
        {
            specs = exporters_from_env(env);
        }
        for backend in backends {
            match backend.exporter(&env.backends) {
                Ok(otlp) => specs.push(ExporterSpec {
                    name: backend.name(),
                    kind: ExporterKind::Otlp(otlp),
                }),
                Err(w) => warnings.push(w),
            }
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
        Ok(specs)
    }

    /// Builds each span exporter (and, for OTLP, the metric and log exporters
    /// beside it) and starts its batch processor.
    fn span_processors(
        &self,
        specs: Vec<ExporterSpec>,
        env: &EnvSettings,
        warnings: &mut Vec<ConfigWarning>,
        signals: &mut SignalBuilders,
        scope: &InstrumentationScope,
    ) -> Result<SpanProcessors, InstallError> {
        let batch = resolve::batch_settings(self, env);
        let dialects = resolve::dialects(self, env);
        let mut out = SpanProcessors {
            processors: Vec::new(),
            counters: Vec::new(),
        };
        for spec in specs {
            let mut name = spec.name;
            let exporter: Box<dyn DynSpanExporter> = match spec.kind {
                #[cfg(feature = "console")]
                // The console is for people: no backend dialect there.
                ExporterKind::Console(mut c) => {
                    c.set_sampled(resolve::sampler(self, env).may_leave_calls_out());
                    c
                }
                ExporterKind::Custom(e) => WithDialects::wrap(e, dialects),
                #[cfg(feature = "testing")]
                ExporterKind::InMemory(m) => {
                    #[cfg(feature = "metrics")]
                    signals.add_metric_exporter(m.metrics.clone());
                    WithDialects::wrap(Box::new(m.spans.clone()), dialects)
                }
                ExporterKind::Otlp(o) => {
                    let traces = resolve::otlp(&o, env, Signal::Traces, warnings)?;
                    name = o.preset.unwrap_or_else(|| traces.protocol.exporter_name());
                    WithDialects::wrap(
                        signals.otlp_span_exporter(&o, &traces, env, warnings)?,
                        dialects | o.dialects,
                    )
                }
            };
            let c = Arc::new(ExporterCounters::default());
            out.processors.push(
                BatchProcessor::new(name, exporter, batch, Arc::clone(&c), scope.clone())
                    .map_err(|e| InstallError::Exporter(format!("cannot start the export thread: {e}")))?,
            );
            out.counters.push((name, c));
        }
        #[cfg(any(feature = "otlp-http", feature = "otlp-grpc"))]
        signals.otlp_without_traces(env, warnings)?;
        Ok(out)
    }
}
