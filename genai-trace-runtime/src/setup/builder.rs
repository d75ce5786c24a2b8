//! The public configuration surface: [`Telemetry::builder`] and its parts.
//!
//! Precedence, for every setting: a builder method wins over the environment
//! variable, which wins over the built-in default. One exception: the operator's
//! kill switch `OTEL_SDK_DISABLED=true` disables telemetry whatever the code says.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_sdk::trace::{SdkTracerProvider, SpanExporter};

use crate::base::secret::SecretHeaders;
#[cfg(feature = "console")]
use crate::export::console::ConsoleExporter;
use crate::export::dialect::Dialects;
#[cfg(feature = "testing")]
use crate::export::memory::InMemoryExporters;
use crate::export::otlp::OtlpProtocol;
use crate::export::processor::DynSpanExporter;
use crate::genai::content::{ContentCapture, RedactHook};
use crate::genai::cost::PriceTable;
use crate::setup::backends::Backend;
use crate::setup::sampler::SamplerConfig;

/// Entry point of the setup API.
///
/// ```
/// use genai_trace_runtime::Telemetry;
/// # fn main() -> Result<(), genai_trace_runtime::InstallError> {
/// let guard = Telemetry::builder()
///     .service_name("support-bot")
///     .service_version("1.4.2")
///     .with_console()
///     .install()?;
/// // ... the program runs; dropping `guard` flushes and shuts down.
/// drop(guard);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Telemetry;

impl Telemetry {
    /// A builder that reads the standard `OTEL_*` variables as defaults.
    /// Exporters: the ones you add; if you add none, those `OTEL_TRACES_EXPORTER`
    /// names (default `otlp`).
    pub fn builder() -> TelemetryBuilder {
        TelemetryBuilder::default()
    }

    /// Everything from the environment, exporters included: the same as
    /// [`Telemetry::builder`] without adding exporters. Finish with `.install()`.
    pub fn from_env() -> TelemetryBuilder {
        TelemetryBuilder::default()
    }
}

/// An OTLP exporter: protocol, endpoint, headers, timeout and compression.
///
/// Unset fields come from the `OTEL_EXPORTER_OTLP_*` variables (per-signal
/// variants first), then from the defaults (`http/protobuf`,
/// `http://localhost:4318` or `http://localhost:4317` for gRPC, 10 s, no compression).
///
/// ```
/// use genai_trace_runtime::OtlpExporter;
/// use std::time::Duration;
/// let otlp = OtlpExporter::http()
///     .endpoint("http://collector:4318")
///     .header("x-api-key", "secret")
///     .timeout(Duration::from_secs(3))
///     .gzip(true);
/// assert!(!format!("{otlp:?}").contains("secret"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct OtlpExporter {
    pub(crate) protocol: Option<OtlpProtocol>,
    pub(crate) endpoint: Option<String>,
    pub(crate) headers: SecretHeaders,
    pub(crate) timeout: Option<Duration>,
    pub(crate) gzip: Option<bool>,
    pub(crate) metrics: bool,
    pub(crate) dialects: Dialects,
    /// The backend preset that built it (its name in `health()`).
    pub(crate) preset: Option<&'static str>,
}

impl OtlpExporter {
    /// Protocol and everything else from the environment.
    pub fn from_env() -> Self {
        Self {
            metrics: true,
            ..Self::default()
        }
    }
    /// OTLP over HTTP/protobuf.
    pub fn http() -> Self {
        Self {
            protocol: Some(OtlpProtocol::HttpProtobuf),
            ..Self::from_env()
        }
    }
    /// OTLP over gRPC (feature `otlp-grpc`).
    pub fn grpc() -> Self {
        Self {
            protocol: Some(OtlpProtocol::Grpc),
            ..Self::from_env()
        }
    }
    /// Base URL of the collector, e.g. `http://localhost:4318`. For HTTP,
    /// `/v1/traces` and `/v1/metrics` are appended (like `OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }
    /// Adds a header (HTTP) or metadata entry (gRPC). The value is never printed.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name, value);
        self
    }
    /// Timeout of one export request.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
    /// gzip request bodies.
    pub fn gzip(mut self, on: bool) -> Self {
        self.gzip = Some(on);
        self
    }
    /// Adds these backend dialects' attributes to the spans this exporter sends
    /// (besides those of [`TelemetryBuilder::dialects`] / `GENAI_TRACE_DIALECTS`,
    /// which apply to every exporter but the console).
    pub fn dialects(mut self, dialects: Dialects) -> Self {
        self.dialects |= dialects;
        self
    }
    /// Export traces only (by default metrics go to the same collector when the
    /// `metrics` feature is on).
    pub fn without_metrics(mut self) -> Self {
        self.metrics = false;
        self
    }
}

/// Metrics in the Prometheus text format (feature `prometheus`): served at
/// `http://HOST:PORT/metrics` while the guard lives, and rendered on demand by
/// [`prometheus_exposition`](crate::prometheus_exposition) for programs that
/// serve HTTP themselves. Host and port: these methods, else
/// `OTEL_EXPORTER_PROMETHEUS_HOST` / `OTEL_EXPORTER_PROMETHEUS_PORT`, else
/// `localhost:9464`. `OTEL_METRICS_EXPORTER=prometheus` adds one with the
/// environment's settings.
///
/// ```
/// use genai_trace_runtime::PrometheusExporter;
/// let served = PrometheusExporter::new().host("0.0.0.0").port(9464);
/// let rendered_by_my_server = PrometheusExporter::new().without_server();
/// # drop((served, rendered_by_my_server));
/// ```
#[derive(Clone, Debug)]
#[cfg(feature = "prometheus")]
#[cfg_attr(docsrs, doc(cfg(feature = "prometheus")))]
pub struct PrometheusExporter {
    pub(crate) host: Option<String>,
    pub(crate) port: Option<u16>,
    pub(crate) serve: bool,
}

#[cfg(feature = "prometheus")]
impl Default for PrometheusExporter {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "prometheus")]
impl PrometheusExporter {
    /// Served on the environment's host and port, else `localhost:9464`.
    pub fn new() -> Self {
        PrometheusExporter {
            host: None,
            port: None,
            serve: true,
        }
    }
    /// The address to listen on (`localhost`, `0.0.0.0`, an IP).
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }
    /// The port to listen on (0: any free port; see
    /// [`TelemetryGuard::prometheus_url`](crate::TelemetryGuard::prometheus_url)).
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }
    /// No server: render the exposition into your own HTTP handler with
    /// [`prometheus_exposition`](crate::prometheus_exposition).
    pub fn without_server(mut self) -> Self {
        self.serve = false;
        self
    }
}

/// A boxed exporter plus the name health snapshots use for it.
pub(crate) struct ExporterSpec {
    pub name: &'static str,
    pub kind: ExporterKind,
}

pub(crate) enum ExporterKind {
    #[cfg(feature = "console")]
    Console(Box<ConsoleExporter>),
    Otlp(OtlpExporter),
    Custom(Box<dyn DynSpanExporter>),
    #[cfg(feature = "testing")]
    InMemory(InMemoryExporters),
}

pub(crate) type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Builds and installs the telemetry pipeline. See [`Telemetry::builder`].
pub struct TelemetryBuilder {
    pub(crate) env: EnvLookup,
    pub(crate) service_name: Option<String>,
    pub(crate) service_version: Option<String>,
    pub(crate) resource_attributes: Vec<(String, String)>,
    pub(crate) exporters: Vec<ExporterSpec>,
    pub(crate) otlp_if_configured: bool,
    pub(crate) sampler: Option<SamplerConfig>,
    pub(crate) max_queue_size: Option<usize>,
    pub(crate) max_concurrent_exports: Option<usize>,
    pub(crate) max_export_batch_size: Option<usize>,
    pub(crate) scheduled_delay: Option<Duration>,
    pub(crate) export_timeout: Option<Duration>,
    pub(crate) shutdown_timeout: Option<Duration>,
    pub(crate) metric_export_interval: Option<Duration>,
    pub(crate) content_capture: Option<ContentCapture>,
    pub(crate) max_content_bytes: Option<usize>,
    pub(crate) redact: Option<RedactHook>,
    pub(crate) disabled: bool,
    pub(crate) tracer_provider: Option<SdkTracerProvider>,
    #[cfg(feature = "metrics")]
    pub(crate) meter_provider: Option<opentelemetry_sdk::metrics::SdkMeterProvider>,
    pub(crate) print_warnings: bool,
    pub(crate) keep_error_traces: Option<bool>,
    pub(crate) keep_slow_traces: Option<Duration>,
    pub(crate) max_held_traces: Option<usize>,
    pub(crate) max_spans_per_held_trace: Option<usize>,
    pub(crate) prices: Option<PriceTable>,
    pub(crate) default_provider: Option<String>,
    pub(crate) self_metrics: Option<bool>,
    pub(crate) dialects: Option<Dialects>,
    pub(crate) backends: Vec<Backend>,
    #[cfg(feature = "prometheus")]
    pub(crate) prometheus: Option<PrometheusExporter>,
}

impl Default for TelemetryBuilder {
    fn default() -> Self {
        Self {
            env: Arc::new(crate::setup::env::process_env),
            service_name: None,
            service_version: None,
            resource_attributes: Vec::new(),
            exporters: Vec::new(),
            otlp_if_configured: false,
            sampler: None,
            max_queue_size: None,
            max_concurrent_exports: None,
            max_export_batch_size: None,
            scheduled_delay: None,
            export_timeout: None,
            shutdown_timeout: None,
            metric_export_interval: None,
            content_capture: None,
            max_content_bytes: None,
            redact: None,
            disabled: false,
            tracer_provider: None,
            #[cfg(feature = "metrics")]
            meter_provider: None,
            print_warnings: true,
            keep_error_traces: None,
            keep_slow_traces: None,
            max_held_traces: None,
            max_spans_per_held_trace: None,
            prices: None,
            default_provider: None,
            self_metrics: None,
            dialects: None,
            backends: Vec::new(),
            #[cfg(feature = "prometheus")]
            prometheus: None,
        }
    }
}

impl fmt::Debug for TelemetryBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelemetryBuilder")
            .field("service_name", &self.service_name)
            .field("service_version", &self.service_version)
            .field("exporters", &self.exporters.iter().map(|e| e.name).collect::<Vec<_>>())
            .field("sampler", &self.sampler)
            .field("content_capture", &self.content_capture)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

impl TelemetryBuilder {
    /// `service.name` (else `OTEL_SERVICE_NAME`, else `service.name` in
    /// `OTEL_RESOURCE_ATTRIBUTES`, else `unknown_service:<executable>`).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }
    /// `service.version`.
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.service_version = Some(version.into());
        self
    }
    /// An extra resource attribute (added to and overriding `OTEL_RESOURCE_ATTRIBUTES`).
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.resource_attributes.push((key.into(), value.into()));
        self
    }
    /// The development console: a span tree per trace on stderr (feature `console`).
    #[cfg(feature = "console")]
    #[cfg_attr(docsrs, doc(cfg(feature = "console")))]
    pub fn with_console(self) -> Self {
        self.with_console_exporter(ConsoleExporter::tree())
    }
    /// A console exporter configured by hand (JSON lines, another writer, colours;
    /// feature `console`).
    #[cfg(feature = "console")]
    #[cfg_attr(docsrs, doc(cfg(feature = "console")))]
    pub fn with_console_exporter(mut self, console: ConsoleExporter) -> Self {
        self.exporters.push(ExporterSpec {
            name: "console",
            kind: ExporterKind::Console(Box::new(console)),
        });
        self
    }
    /// An OTLP exporter.
    pub fn with_otlp(mut self, otlp: OtlpExporter) -> Self {
        let name = otlp.protocol.map_or("otlp", OtlpProtocol::exporter_name);
        self.exporters.push(ExporterSpec {
            name,
            kind: ExporterKind::Otlp(otlp),
        });
        self
    }
    /// Adds an OTLP exporter configured from the environment, but only if an
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` (or `_TRACES_ENDPOINT`) is set. Handy for a
    /// program that prints to the console in development and exports in production.
    ///
    /// Without such an endpoint, a backend whose own variables are set is used
    /// instead, as by its `with_*` method: Langfuse (`LANGFUSE_PUBLIC_KEY` and
    /// `LANGFUSE_SECRET_KEY`), Phoenix (`PHOENIX_COLLECTOR_ENDPOINT`), Datadog
    /// (`DD_API_KEY` with `DD_LLMOBS_ENABLED=1`).
    pub fn with_otlp_if_configured(mut self) -> Self {
        self.otlp_if_configured = true;
        self
    }
    /// Langfuse, from Langfuse's own variables: `LANGFUSE_BASE_URL` (or
    /// `LANGFUSE_HOST`; default `https://cloud.langfuse.com`),
    /// `LANGFUSE_PUBLIC_KEY`, `LANGFUSE_SECRET_KEY`. Traces go over
    /// http/protobuf to `<url>/api/public/otel/v1/traces` with Basic
    /// authentication and `x-langfuse-ingestion-version: 4`, with the `langfuse`
    /// dialect. Missing keys: a warning, and nothing is sent there.
    ///
    /// ```
    /// let guard = genai_trace_runtime::Telemetry::builder()
    ///     .env_lookup(|k| match k {
    ///         "LANGFUSE_PUBLIC_KEY" => Some("pk-lf-1".into()),
    ///         "LANGFUSE_SECRET_KEY" => Some("sk-lf-1".into()),
    ///         "LANGFUSE_BASE_URL" => Some("http://127.0.0.1:9".into()),
    ///         _ => None,
    ///     })
    ///     .with_langfuse()
    ///     .install()
    ///     .unwrap();
    /// assert_eq!(genai_trace_runtime::health().exporters[0].name, "langfuse");
    /// # drop(guard);
    /// ```
    pub fn with_langfuse(mut self) -> Self {
        self.backends.push(Backend::Langfuse);
        self
    }
    /// Arize Phoenix, from Phoenix's own variables: `PHOENIX_COLLECTOR_ENDPOINT`
    /// (default `http://localhost:6006`), `PHOENIX_API_KEY` (sent as a bearer
    /// token), `PHOENIX_PROJECT_NAME` (the resource's `openinference.project.name`).
    /// Traces only, over http/protobuf, with the `openinference` dialect: Phoenix
    /// refuses OTLP metrics and logs, so none are sent there.
    pub fn with_phoenix(mut self) -> Self {
        self.backends.push(Backend::Phoenix);
        self
    }
    /// Datadog LLM Observability, from Datadog's own variables: `DD_API_KEY`
    /// and `DD_SITE` (default `datadoghq.com`). Traces go over http/protobuf (the
    /// only protocol that intake takes) to `https://otlp.<DD_SITE>/v1/traces`
    /// with headers `dd-api-key` and `dd-otlp-source: llmobs`.
    pub fn with_datadog(mut self) -> Self {
        self.backends.push(Backend::Datadog);
        self
    }
    /// Backend dialects for every exporter but the console: the attributes
    /// Phoenix, MLflow or Langfuse read, derived from what genai-trace records
    /// (see [`Dialects`]). Also `GENAI_TRACE_DIALECTS`. Default: none, pure
    /// semantic conventions.
    pub fn dialects(mut self, dialects: Dialects) -> Self {
        self.dialects = Some(dialects);
        self
    }
    /// Any OpenTelemetry `SpanExporter`, behind genai-trace's counting batch queue.
    pub fn with_exporter<E: SpanExporter + 'static>(mut self, name: &'static str, exporter: E) -> Self {
        self.exporters.push(ExporterSpec {
            name,
            kind: ExporterKind::Custom(Box::new(exporter)),
        });
        self
    }
    /// Use a tracer provider you built yourself (your processors and sampler).
    /// genai-trace records into it and shuts it down when the guard drops; its
    /// exporters are yours, so the health snapshot has no per-exporter counts.
    pub fn tracer_provider(mut self, provider: SdkTracerProvider) -> Self {
        self.tracer_provider = Some(provider);
        self
    }
    /// Record the GenAI metrics (token usage, durations, time to first chunk)
    /// into a meter provider you built yourself (feature `metrics`), typically
    /// beside [`TelemetryBuilder::tracer_provider`]. Its readers are yours: the
    /// exporters added here then send no metrics of their own. genai-trace
    /// flushes and shuts it down when the guard drops, as it does the tracer
    /// provider you give it.
    ///
    /// ```
    /// use genai_trace_runtime::Telemetry;
    /// use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
    /// use opentelemetry_sdk::trace::SdkTracerProvider;
    /// let metrics = InMemoryMetricExporter::default();
    /// let meters = SdkMeterProvider::builder().with_reader(PeriodicReader::builder(metrics.clone()).build()).build();
    /// let guard = Telemetry::builder()
    ///     .env_lookup(|_| None)
    ///     .tracer_provider(SdkTracerProvider::builder().build())
    ///     .meter_provider(meters)
    ///     .install()
    ///     .unwrap();
    /// drop(guard);
    /// ```
    #[cfg(feature = "metrics")]
    #[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
    pub fn meter_provider(mut self, provider: opentelemetry_sdk::metrics::SdkMeterProvider) -> Self {
        self.meter_provider = Some(provider);
        self
    }
    /// Parent-based sampling: follow the parent, sample this fraction of new traces.
    pub fn sampling_ratio(mut self, ratio: f64) -> Self {
        self.sampler = Some(SamplerConfig::ParentBasedRatio(ratio.clamp(0.0, 1.0)));
        self
    }
    /// Any of the standard samplers.
    pub fn sampler(mut self, sampler: SamplerConfig) -> Self {
        self.sampler = Some(sampler);
        self
    }
    /// Spans waiting for export at most, per exporter (`OTEL_BSP_MAX_QUEUE_SIZE`, 2048).
    pub fn max_queue_size(mut self, n: usize) -> Self {
        self.max_queue_size = Some(n);
        self
    }
    /// Spans per export call (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, 512).
    pub fn max_export_batch_size(mut self, n: usize) -> Self {
        self.max_export_batch_size = Some(n);
        self
    }
    /// Longest wait before a partial batch is sent (`OTEL_BSP_SCHEDULE_DELAY`, 5 s).
    pub fn scheduled_delay(mut self, d: Duration) -> Self {
        self.scheduled_delay = Some(d);
        self
    }
    /// Batches in flight at once, per exporter (`OTEL_BSP_MAX_CONCURRENT_EXPORTS`, 4).
    /// Raise it for a distant collector: each batch waits a round trip.
    pub fn max_concurrent_exports(mut self, n: usize) -> Self {
        self.max_concurrent_exports = Some(n);
        self
    }
    /// Longest wait for a flush (`OTEL_BSP_EXPORT_TIMEOUT`, 30 s).
    pub fn export_timeout(mut self, d: Duration) -> Self {
        self.export_timeout = Some(d);
        self
    }
    /// Longest time dropping the guard may take (default 5 s).
    pub fn shutdown_timeout(mut self, d: Duration) -> Self {
        self.shutdown_timeout = Some(d);
        self
    }
    /// How often metrics are exported (`OTEL_METRIC_EXPORT_INTERVAL`, 60 s).
    pub fn metric_export_interval(mut self, d: Duration) -> Self {
        self.metric_export_interval = Some(d);
        self
    }
    /// Content capture (`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`, off).
    pub fn content_capture(mut self, mode: ContentCapture) -> Self {
        self.content_capture = Some(mode);
        self
    }
    /// Longest content (one attribute's JSON or text) recorded, in bytes (default
    /// 32 KiB). Longer content is shortened keeping JSON valid, and the span gets
    /// `genai_trace.content.truncated = true`.
    pub fn max_content_bytes(mut self, bytes: usize) -> Self {
        self.max_content_bytes = Some(bytes);
        self
    }
    /// A hook that sees every piece of content before it is recorded: the
    /// attribute key and the JSON (or plain) text. Return the text to record
    /// (rewritten if you like) or `None` to drop it.
    ///
    /// ```
    /// use genai_trace_runtime::Telemetry;
    /// let builder = Telemetry::builder().redact(|_key, text| Some(text.replace("4111-1111", "<card>")));
    /// # drop(builder);
    /// ```
    pub fn redact(mut self, hook: impl Fn(&str, String) -> Option<String> + Send + Sync + 'static) -> Self {
        self.redact = Some(Arc::new(hook));
        self
    }
    /// Install nothing: instrumented code runs as if uninstrumented.
    pub fn disabled(mut self, disabled: bool) -> Self {
        self.disabled = disabled;
        self
    }
    /// Read settings from this lookup instead of the process environment
    /// (tests, or configuration kept elsewhere).
    pub fn env_lookup(mut self, lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        self.env = Arc::new(lookup);
        self
    }
    /// Error-keeping sampling (`GENAI_TRACE_KEEP_ERROR_TRACES`, off): a trace the
    /// sampler drops at its local root is recorded all the same, held in memory
    /// until that root ends, and exported whole if any of its spans failed;
    /// otherwise dropped. Traces with a remote parent follow the parent's
    /// decision. Needs the pipeline genai-trace builds (not
    /// [`tracer_provider`](Self::tracer_provider)). See docs/sampling.md.
    ///
    /// ```
    /// use genai_trace_runtime::Telemetry;
    /// // 5 % of traces, and every trace in which something failed.
    /// let builder = Telemetry::builder().sampling_ratio(0.05).keep_error_traces(true);
    /// # drop(builder);
    /// ```
    pub fn keep_error_traces(mut self, on: bool) -> Self {
        self.keep_error_traces = Some(on);
        self
    }
    /// With [`keep_error_traces`](Self::keep_error_traces), also keep a held
    /// trace whose local root ran at least this long
    /// (`GENAI_TRACE_KEEP_SLOW_TRACES_MS`).
    pub fn keep_slow_traces(mut self, at_least: Duration) -> Self {
        self.keep_slow_traces = Some(at_least);
        self
    }
    /// Most traces error-keeping sampling holds at once
    /// (`GENAI_TRACE_MAX_HELD_TRACES`, 256); a sampled-out root beyond that is
    /// not held, and counted in [`Health`](crate::Health)`::held_traces`.
    pub fn max_held_traces(mut self, n: usize) -> Self {
        self.max_held_traces = Some(n);
        self
    }
    /// Most spans recorded per held trace (`GENAI_TRACE_MAX_SPANS_PER_HELD_TRACE`,
    /// 128); later spans of the trace are not recorded, and counted.
    pub fn max_spans_per_held_trace(mut self, n: usize) -> Self {
        self.max_spans_per_held_trace = Some(n);
        self
    }
    /// The price table that gives every call with token usage its
    /// `genai_trace.usage.cost` (else `GENAI_TRACE_PRICES`, a JSON file's path).
    ///
    /// ```
    /// use genai_trace_runtime::{ModelPrice, PriceTable, Telemetry};
    /// let prices = PriceTable::new().with_price("gpt-4o", ModelPrice::new(2.5, 10.0));
    /// let builder = Telemetry::builder().prices(prices);
    /// # drop(builder);
    /// ```
    pub fn prices(mut self, table: PriceTable) -> Self {
        self.prices = Some(table);
        self
    }

    /// The `gen_ai.provider.name` of GenAI calls that name no provider and are
    /// not inside a GenAI call that does (the conventions require one on every
    /// GenAI span and metric). Also `GENAI_TRACE_DEFAULT_PROVIDER`. Unset: such
    /// calls carry no provider.
    ///
    /// ```
    /// let guard = genai_trace_runtime::Telemetry::builder().default_provider("openai").install();
    /// # drop(guard);
    /// ```
    pub fn default_provider(mut self, provider: impl Into<String>) -> Self {
        self.default_provider = Some(provider.into());
        self
    }

    /// The pipeline's own metrics (`otel.sdk.span.started`, `otel.sdk.exporter.span.exported`
    /// and the other `otel.sdk.*` of the conventions; `GENAI_TRACE_SELF_METRICS`, on
    /// whenever metrics are). Read from the counters [`health`](crate::health)
    /// keeps, at each collection: the span path does no extra work for them.
    pub fn self_metrics(mut self, on: bool) -> Self {
        self.self_metrics = Some(on);
        self
    }
    /// Serve metrics in the Prometheus text format (feature `prometheus`; also
    /// `OTEL_METRICS_EXPORTER=prometheus`). They still go to OTLP exporters too,
    /// unless `OTEL_METRICS_EXPORTER` leaves `otlp` out.
    ///
    /// ```
    /// use genai_trace_runtime::{PrometheusExporter, Telemetry};
    /// let guard = Telemetry::builder()
    ///     .with_prometheus(PrometheusExporter::new().host("127.0.0.1").port(0))
    ///     .install()
    ///     .unwrap();
    /// let url = guard.prometheus_url().unwrap(); // http://127.0.0.1:<port>/metrics
    /// # assert!(url.ends_with("/metrics"));
    /// ```
    #[cfg(feature = "prometheus")]
    #[cfg_attr(docsrs, doc(cfg(feature = "prometheus")))]
    pub fn with_prometheus(mut self, prometheus: PrometheusExporter) -> Self {
        self.prometheus = Some(prometheus);
        self
    }
    /// Do not print configuration warnings on stderr (they stay in [`crate::health`]).
    pub fn quiet(mut self) -> Self {
        self.print_warnings = false;
        self
    }

    /// Adds the in-memory exporters of a `testing::TestTelemetry`.
    #[cfg(feature = "testing")]
    pub(crate) fn with_in_memory(mut self, exporters: InMemoryExporters) -> Self {
        self.exporters.push(ExporterSpec {
            name: "in-memory",
            kind: ExporterKind::InMemory(exporters),
        });
        self
    }
}
