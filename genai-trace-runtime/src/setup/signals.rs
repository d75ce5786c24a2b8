//! Metrics and logs: the readers and exporters the span exporters' settings ask
//! for (an OTLP exporter also exports metrics and logs unless told otherwise; the
//! in-memory exporters of the tests keep metrics), collected while the span
//! exporters are built, then turned into providers.

#[cfg(feature = "metrics")]
use std::time::Duration;

use opentelemetry_sdk::Resource;

use crate::base::errors::{ConfigWarning, InstallError};
#[cfg(feature = "otlp-grpc")]
use crate::export::otlp::GrpcRuntime;
use crate::export::otlp::ResolvedOtlp;
#[cfg(all(
    any(feature = "metrics", feature = "logs"),
    any(feature = "otlp-http", feature = "otlp-grpc")
))]
use crate::export::otlp::Signal;
use crate::export::processor::DynSpanExporter;
use crate::setup::builder::OtlpExporter;
use crate::setup::builder::TelemetryBuilder;
use crate::setup::env::EnvSettings;
#[cfg(all(
    any(feature = "metrics", feature = "logs"),
    any(feature = "otlp-http", feature = "otlp-grpc")
))]
use crate::setup::env::{ExporterChoice, hide_passwords};
#[cfg(any(
    feature = "metrics",
    all(feature = "logs", any(feature = "otlp-http", feature = "otlp-grpc"))
))]
use crate::setup::resolve;

/// The metric and log pipelines being put together, and the gRPC runtime every
/// gRPC exporter of the installation shares.
pub(crate) struct SignalBuilders {
    #[cfg(feature = "metrics")]
    meter: opentelemetry_sdk::metrics::MeterProviderBuilder,
    #[cfg(feature = "metrics")]
    has_readers: bool,
    /// A meter provider the user built: the GenAI metrics go there, and the
    /// exporters add no metric readers of their own.
    #[cfg(feature = "metrics")]
    user_meter: Option<opentelemetry_sdk::metrics::SdkMeterProvider>,
    #[cfg(feature = "metrics")]
    #[cfg_attr(
        not(any(feature = "testing", feature = "otlp-http", feature = "otlp-grpc")),
        allow(dead_code)
    )]
    interval: Duration,
    /// `OTEL_METRICS_EXPORTER` unset or naming `otlp`.
    #[cfg(all(feature = "metrics", any(feature = "otlp-http", feature = "otlp-grpc")))]
    otlp_metrics_wanted: bool,
    #[cfg(feature = "logs")]
    logger: Option<opentelemetry_sdk::logs::LoggerProviderBuilder>,
    /// `OTEL_LOGS_EXPORTER` unset or naming `otlp`.
    #[cfg(all(feature = "logs", any(feature = "otlp-http", feature = "otlp-grpc")))]
    otlp_logs_wanted: bool,
    #[cfg(feature = "otlp-grpc")]
    grpc: Option<GrpcRuntime>,
    otlp_endpoints: Vec<(&'static str, String)>,
}

/// The providers [`SignalBuilders::build`] made, and the gRPC runtime to keep.
pub(crate) struct SignalProviders {
    /// Where OTLP metrics and logs go (passwords hidden), to name in shutdown errors.
    pub(crate) otlp_endpoints: Vec<(&'static str, String)>,
    #[cfg(feature = "metrics")]
    pub(crate) meter: Option<opentelemetry_sdk::metrics::SdkMeterProvider>,
    #[cfg(feature = "logs")]
    pub(crate) logger: Option<opentelemetry_sdk::logs::SdkLoggerProvider>,
    #[cfg(feature = "otlp-grpc")]
    pub(crate) grpc: Option<GrpcRuntime>,
}

impl SignalBuilders {
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn new(b: &TelemetryBuilder, env: &EnvSettings) -> Self {
        Self {
            #[cfg(feature = "metrics")]
            meter: opentelemetry_sdk::metrics::SdkMeterProvider::builder(),
            #[cfg(feature = "metrics")]
            has_readers: false,
            #[cfg(feature = "metrics")]
            user_meter: b.meter_provider.clone(),
            #[cfg(feature = "metrics")]
            interval: resolve::metric_export_interval(b, env),
            #[cfg(all(feature = "metrics", any(feature = "otlp-http", feature = "otlp-grpc")))]
            otlp_metrics_wanted: env
                .metrics_exporter
                .as_ref()
                .is_none_or(|m| m.contains(&ExporterChoice::Otlp)),
            #[cfg(feature = "logs")]
            logger: None,
            #[cfg(all(feature = "logs", any(feature = "otlp-http", feature = "otlp-grpc")))]
            otlp_logs_wanted: env
                .logs_exporter
                .as_ref()
                .is_none_or(|m| m.contains(&ExporterChoice::Otlp)),
            #[cfg(feature = "otlp-grpc")]
            grpc: None,
            otlp_endpoints: Vec::new(),
        }
    }

    /// Metrics go to `exporter` too (the in-memory exporter of the tests).
    #[cfg(all(feature = "metrics", feature = "testing"))]
    pub(crate) fn add_metric_exporter(&mut self, exporter: opentelemetry_sdk::metrics::InMemoryMetricExporter) {
        if self.user_meter.is_none() {
            self.add_metric_reader(exporter);
        }
    }

    #[cfg(feature = "metrics")]
    #[cfg_attr(
        not(any(feature = "testing", feature = "otlp-http", feature = "otlp-grpc")),
        allow(dead_code)
    )]
    fn add_metric_reader<E: opentelemetry_sdk::metrics::exporter::PushMetricExporter>(&mut self, exporter: E) {
        let reader = opentelemetry_sdk::metrics::PeriodicReader::builder(exporter)
            .with_interval(self.interval)
            .build();
        let meter = std::mem::take(&mut self.meter);
        self.meter = meter.with_reader(reader);
        self.has_readers = true;
    }

    /// The Prometheus pull reader joins the meter provider; its registry is returned.
    #[cfg(feature = "prometheus")]
    pub(crate) fn add_prometheus(&mut self) -> Result<crate::export::prometheus::PrometheusRegistry, String> {
        if self.user_meter.is_some() {
            return Err("ignored with a meter provider you built: add opentelemetry-prometheus's reader to it".into());
        }
        let (registry, reader) = crate::export::prometheus::PrometheusRegistry::new()?;
        let meter = std::mem::take(&mut self.meter);
        self.meter = meter.with_reader(reader);
        self.has_readers = true;
        Ok(registry)
    }

    /// The OTLP exporter's span exporter; its metric and log exporters (to the
    /// same collector, unless turned off) join the other signals.
    #[cfg_attr(
        not(all(
            any(feature = "metrics", feature = "logs"),
            any(feature = "otlp-http", feature = "otlp-grpc")
        )),
        allow(unused_variables, clippy::ptr_arg)
    )]
    #[allow(clippy::unused_self, reason = "self is used only with metrics, logs or gRPC")]
    pub(crate) fn otlp_span_exporter(
        &mut self,
        o: &OtlpExporter,
        traces: &ResolvedOtlp,
        env: &EnvSettings,
        warnings: &mut Vec<ConfigWarning>,
    ) -> Result<Box<dyn DynSpanExporter>, InstallError> {
        #[cfg(all(feature = "metrics", any(feature = "otlp-http", feature = "otlp-grpc")))]
        if o.metrics && self.otlp_metrics_wanted {
            self.otlp_metrics(o, env, warnings)?;
        }
        #[cfg(all(feature = "logs", any(feature = "otlp-http", feature = "otlp-grpc")))]
        if o.metrics && self.otlp_logs_wanted {
            self.otlp_logs(o, env, warnings)?;
        }
        crate::export::otlp::span_exporter(
            traces,
            #[cfg(feature = "otlp-grpc")]
            &mut self.grpc,
        )
    }

    /// OTLP metrics and logs that `OTEL_METRICS_EXPORTER` / `OTEL_LOGS_EXPORTER`
    /// name explicitly when no OTLP span exporter brought them
    /// (`OTEL_TRACES_EXPORTER=none` or `console`): each signal's variable
    /// chooses on its own, to the endpoint the `OTEL_EXPORTER_OTLP_*` variables give.
    #[cfg(any(feature = "otlp-http", feature = "otlp-grpc"))]
    #[cfg_attr(
        not(any(feature = "metrics", feature = "logs")),
        allow(unused_variables, clippy::unused_self, clippy::unnecessary_wraps, clippy::ptr_arg)
    )]
    pub(crate) fn otlp_without_traces(
        &mut self,
        env: &EnvSettings,
        warnings: &mut Vec<ConfigWarning>,
    ) -> Result<(), InstallError> {
        let o = OtlpExporter::from_env();
        #[cfg(feature = "metrics")]
        if self.otlp_named_alone(env.metrics_exporter.as_deref(), "metrics") {
            self.otlp_metrics(&o, env, warnings)?;
        }
        #[cfg(feature = "logs")]
        if self.otlp_named_alone(env.logs_exporter.as_deref(), "logs") {
            self.otlp_logs(&o, env, warnings)?;
        }
        Ok(())
    }

    /// `otlp` is named in the signal's variable, and no OTLP exporter of the
    /// signal was added with the spans.
    #[cfg(all(
        any(feature = "metrics", feature = "logs"),
        any(feature = "otlp-http", feature = "otlp-grpc")
    ))]
    fn otlp_named_alone(&self, choices: Option<&[ExporterChoice]>, signal: &str) -> bool {
        choices.is_some_and(|c| c.contains(&ExporterChoice::Otlp))
            && !self.otlp_endpoints.iter().any(|(s, _)| *s == signal)
    }

    #[cfg(all(feature = "metrics", any(feature = "otlp-http", feature = "otlp-grpc")))]
    fn otlp_metrics(
        &mut self,
        o: &OtlpExporter,
        env: &EnvSettings,
        warnings: &mut Vec<ConfigWarning>,
    ) -> Result<(), InstallError> {
        if self.user_meter.is_some() {
            return Ok(());
        }
        let m = resolve::otlp(o, env, Signal::Metrics, warnings)?;
        self.otlp_endpoints.push(("metrics", hide_passwords(&m.endpoint)));
        let exporter = crate::export::otlp::metric_exporter(
            &m,
            #[cfg(feature = "otlp-grpc")]
            &mut self.grpc,
        )?;
        self.add_metric_reader(exporter);
        Ok(())
    }

    #[cfg(all(feature = "logs", any(feature = "otlp-http", feature = "otlp-grpc")))]
    fn otlp_logs(
        &mut self,
        o: &OtlpExporter,
        env: &EnvSettings,
        warnings: &mut Vec<ConfigWarning>,
    ) -> Result<(), InstallError> {
        let l = resolve::otlp(o, env, Signal::Logs, warnings)?;
        self.otlp_endpoints.push(("logs", hide_passwords(&l.endpoint)));
        let exporter = crate::export::otlp::log_exporter(
            &l,
            #[cfg(feature = "otlp-grpc")]
            &mut self.grpc,
        )?;
        let b = self
            .logger
            .take()
            .unwrap_or_else(opentelemetry_sdk::logs::SdkLoggerProvider::builder);
        self.logger = Some(b.with_batch_exporter(exporter));
        Ok(())
    }

    /// The meter provider (when anything reads metrics; it becomes the global
    /// one) and the logger provider (when logs are exported).
    #[cfg_attr(not(any(feature = "metrics", feature = "logs")), allow(unused_variables))]
    #[cfg_attr(
        not(any(feature = "metrics", feature = "logs", feature = "otlp-grpc")),
        allow(clippy::unused_self)
    )]
    pub(crate) fn build(self, resource: &Resource) -> SignalProviders {
        #[cfg(feature = "metrics")]
        let meter = self.user_meter.or_else(|| {
            self.has_readers.then(|| {
                let mp = self.meter.with_resource(resource.clone()).build();
                opentelemetry::global::set_meter_provider(mp.clone());
                mp
            })
        });
        SignalProviders {
            otlp_endpoints: self.otlp_endpoints,
            #[cfg(feature = "metrics")]
            meter,
            #[cfg(feature = "logs")]
            logger: self.logger.map(|b| b.with_resource(resource.clone()).build()),
            #[cfg(feature = "otlp-grpc")]
            grpc: self.grpc,
        }
    }
}
