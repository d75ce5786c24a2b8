//! Builder > environment > default, resolved in one place for every setting the
//! pipeline needs (the kill switch `OTEL_SDK_DISABLED` aside, which `install`
//! checks first). Install code reads the results, never the builder or the
//! environment directly.

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;

use crate::base::errors::{ConfigWarning, InstallError};
use crate::export::dialect::Dialects;
use crate::export::otlp::{OtlpProtocol, ResolvedOtlp, Signal};
use crate::export::processor::BatchSettings;
use crate::genai::content::{ContentPolicy, DEFAULT_MAX_CONTENT_BYTES};
use crate::genai::cost::PriceTable;
use crate::pipeline::held::{DEFAULT_MAX_HELD_TRACES, DEFAULT_MAX_SPANS_PER_HELD_TRACE, HoldSettings};
use crate::setup::backends::Backend;
use crate::setup::builder::{OtlpExporter, TelemetryBuilder};
use crate::setup::env::{EnvSettings, OtlpEnv, hide_passwords, validate_url};
use crate::setup::sampler::SamplerConfig;

/// How long dropping the guard may wait for the last export.
const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// How often metrics are exported.
#[cfg(feature = "metrics")]
const DEFAULT_METRIC_EXPORT_INTERVAL: Duration = Duration::from_secs(60);

/// The sampler: the builder's, `OTEL_TRACES_SAMPLER`'s, or parent-based always-on.
pub(crate) fn sampler(b: &TelemetryBuilder, env: &EnvSettings) -> SamplerConfig {
    b.sampler
        .or(env.sampler)
        .unwrap_or(SamplerConfig::ParentBasedRatio(1.0))
}

/// Error-keeping sampling's settings, or `None` when it is off or has nothing
/// to hold (a sampler that samples every root).
pub(crate) fn hold_settings(
    b: &TelemetryBuilder,
    env: &EnvSettings,
    sampler: SamplerConfig,
    warnings: &mut Vec<ConfigWarning>,
) -> Option<HoldSettings> {
    let keep_slow = b.keep_slow_traces.or(env.keep_slow_traces);
    if !b.keep_error_traces.or(env.keep_error_traces).unwrap_or(false) {
        if keep_slow.is_some() {
            warnings.push(ConfigWarning {
                variable: "GENAI_TRACE_KEEP_SLOW_TRACES_MS".into(),
                message: "has no effect without GENAI_TRACE_KEEP_ERROR_TRACES=true".into(),
            });
        }
        return None;
    }
    if b.tracer_provider.is_some() {
        warnings.push(ConfigWarning {
            variable: "GENAI_TRACE_KEEP_ERROR_TRACES".into(),
            message: "needs the pipeline genai-trace builds; ignored with a tracer provider you built \
                      (use a collector's tail sampling there)"
                .into(),
        });
        return None;
    }
    let samples_every_root = match sampler {
        SamplerConfig::AlwaysOn => true,
        SamplerConfig::AlwaysOff => false,
        SamplerConfig::Ratio(r) | SamplerConfig::ParentBasedRatio(r) => r >= 1.0,
    };
    if samples_every_root {
        return None;
    }
    Some(HoldSettings {
        keep_slow,
        max_traces: b
            .max_held_traces
            .or(env.max_held_traces)
            .unwrap_or(DEFAULT_MAX_HELD_TRACES)
            .max(1),
        max_spans: b
            .max_spans_per_held_trace
            .or(env.max_spans_per_held_trace)
            .unwrap_or(DEFAULT_MAX_SPANS_PER_HELD_TRACE)
            .max(1),
    })
}

/// The price table: the builder's, or the file `GENAI_TRACE_PRICES` names (a
/// file that cannot be read or parsed warns, and no call is priced).
pub(crate) fn prices(b: &TelemetryBuilder, env: &EnvSettings, warnings: &mut Vec<ConfigWarning>) -> Option<PriceTable> {
    if let Some(table) = &b.prices {
        return Some(table.clone());
    }
    let path = env.prices_path.as_ref()?;
    match PriceTable::from_file(path) {
        Ok(table) => Some(table),
        Err(e) => {
            warnings.push(ConfigWarning {
                variable: "GENAI_TRACE_PRICES".into(),
                message: format!("{e}; calls get no genai_trace.usage.cost"),
            });
            None
        }
    }
}

/// Where the Prometheus exposition is served, when it is wanted.
#[cfg(feature = "prometheus")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ResolvedPrometheus {
    pub host: String,
    pub port: u16,
    pub serve: bool,
}

/// The builder's Prometheus exporter, else one when `OTEL_METRICS_EXPORTER` names
/// `prometheus`; host and port: builder > `OTEL_EXPORTER_PROMETHEUS_*` > `localhost:9464`.
#[cfg(feature = "prometheus")]
pub(crate) fn prometheus(b: &TelemetryBuilder, env: &EnvSettings) -> Option<ResolvedPrometheus> {
    let wanted_by_env = env
        .metrics_exporter
        .as_ref()
        .is_some_and(|m| m.contains(&crate::setup::env::ExporterChoice::Prometheus));
    let p = match &b.prometheus {
        Some(p) => p.clone(),
        None if wanted_by_env => crate::setup::builder::PrometheusExporter::new(),
        None => return None,
    };
    Some(ResolvedPrometheus {
        host: p
            .host
            .or_else(|| env.prometheus_host.clone())
            .unwrap_or_else(|| "localhost".to_owned()),
        port: p.port.or(env.prometheus_port).unwrap_or(9464),
        serve: p.serve,
    })
}

/// `OTEL_METRICS_EXPORTER=prometheus` in a build without the feature: a warning.
#[cfg(not(feature = "prometheus"))]
pub(crate) fn prometheus_unavailable(env: &EnvSettings, warnings: &mut Vec<ConfigWarning>) {
    if env
        .metrics_exporter
        .as_ref()
        .is_some_and(|m| m.contains(&crate::setup::env::ExporterChoice::Prometheus))
    {
        warnings.push(ConfigWarning {
            variable: "OTEL_METRICS_EXPORTER".into(),
            message: "prometheus needs the prometheus feature of genai-trace; ignored".into(),
        });
    }
}

/// The content gate: capture mode, byte limit, redaction hook, semconv version.
pub(crate) fn content_policy(b: &TelemetryBuilder, env: &EnvSettings) -> ContentPolicy {
    ContentPolicy {
        mode: b.content_capture.or(env.content_capture).unwrap_or_default(),
        max_bytes: b.max_content_bytes.unwrap_or(DEFAULT_MAX_CONTENT_BYTES),
        redact: b.redact.clone(),
        semconv_latest: env.semconv_latest_experimental,
    }
}

/// The provider of GenAI calls that name none and have no enclosing one that does.
pub(crate) fn default_provider(b: &TelemetryBuilder, env: &EnvSettings) -> Option<opentelemetry::Value> {
    b.default_provider
        .clone()
        .or_else(|| env.default_provider.clone())
        .map(opentelemetry::Value::from)
}

/// The longest a shutdown waits.
pub(crate) fn shutdown_timeout(b: &TelemetryBuilder) -> Duration {
    b.shutdown_timeout.unwrap_or(DEFAULT_SHUTDOWN_TIMEOUT)
}

/// The interval of the periodic metric readers.
#[cfg(feature = "metrics")]
pub(crate) fn metric_export_interval(b: &TelemetryBuilder, env: &EnvSettings) -> Duration {
    b.metric_export_interval
        .or(env.metric_export_interval)
        .unwrap_or(DEFAULT_METRIC_EXPORT_INTERVAL)
}

/// The batch processor's settings.
pub(crate) fn batch_settings(b: &TelemetryBuilder, env: &EnvSettings) -> BatchSettings {
    let d = BatchSettings::default();
    BatchSettings {
        max_queue_size: b.max_queue_size.or(env.bsp_max_queue_size).unwrap_or(d.max_queue_size),
        max_export_batch_size: b
            .max_export_batch_size
            .or(env.bsp_max_export_batch_size)
            .unwrap_or(d.max_export_batch_size),
        scheduled_delay: b
            .scheduled_delay
            .or(env.bsp_schedule_delay)
            .unwrap_or(d.scheduled_delay),
        export_timeout: b.export_timeout.or(env.bsp_export_timeout).unwrap_or(d.export_timeout),
        max_concurrent_exports: b
            .max_concurrent_exports
            .or(env.bsp_max_concurrent_exports)
            .unwrap_or(d.max_concurrent_exports),
    }
}

/// The dialects of every exporter but the console: builder, else `GENAI_TRACE_DIALECTS`.
pub(crate) fn dialects(b: &TelemetryBuilder, env: &EnvSettings) -> Dialects {
    b.dialects.or(env.dialects).unwrap_or_default()
}

/// The backend presets in use: the builder's `with_*` calls, plus, for
/// `with_otlp_if_configured` without an OTLP endpoint, the backends whose
/// variables are set.
pub(crate) fn backends(b: &TelemetryBuilder, env: &EnvSettings) -> Vec<Backend> {
    let mut out = b.backends.clone();
    if b.otlp_if_configured && env.otlp_traces.endpoint.is_none() {
        for found in Backend::detect(&env.backends) {
            if !out.contains(&found) {
                out.push(found);
            }
        }
    }
    out
}

/// The resource: `service.name` from the builder, `OTEL_SERVICE_NAME`,
/// `OTEL_RESOURCE_ATTRIBUTES`, or `unknown_service:<executable>`.
pub(crate) fn resource(b: &TelemetryBuilder, env: &EnvSettings) -> Resource {
    let mut attrs: Vec<(String, String)> = env.resource_attributes.clone();
    // Phoenix files spans under the project its resource attribute names.
    if let Some(project) = &env.backends.phoenix_project
        && backends(b, env).contains(&Backend::Phoenix)
    {
        attrs.push(("openinference.project.name".to_owned(), project.clone()));
    }
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

/// The OTLP export timeout when nothing sets one.
const DEFAULT_OTLP_TIMEOUT: Duration = Duration::from_secs(10);

/// The settings of one signal's OTLP exporter: builder > signal env > generic env > default.
pub(crate) fn otlp(
    cfg: &OtlpExporter,
    env: &EnvSettings,
    signal: Signal,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<ResolvedOtlp, InstallError> {
    let senv: &OtlpEnv = match signal {
        Signal::Traces => &env.otlp_traces,
        Signal::Metrics => &env.otlp_metrics,
        Signal::Logs => &env.otlp_logs,
    };
    let mut protocol = cfg.protocol.or(senv.protocol).unwrap_or(OtlpProtocol::HttpProtobuf);
    if protocol == OtlpProtocol::Grpc && !cfg!(feature = "otlp-grpc") {
        if cfg.protocol == Some(OtlpProtocol::Grpc) {
            return Err(InstallError::FeatureMissing("otlp-grpc"));
        }
        warnings.push(ConfigWarning {
            variable: "OTEL_EXPORTER_OTLP_PROTOCOL".into(),
            message: "\"grpc\" needs the otlp-grpc feature of genai-trace; using http/protobuf".into(),
        });
        protocol = OtlpProtocol::HttpProtobuf;
    }
    if protocol == OtlpProtocol::HttpProtobuf && !cfg!(feature = "otlp-http") {
        return Err(InstallError::FeatureMissing("otlp-http"));
    }
    let join = |base: &str| match protocol {
        OtlpProtocol::HttpProtobuf => format!("{}{}", base.trim_end_matches('/'), signal.path()),
        OtlpProtocol::Grpc => base.to_owned(),
    };
    let endpoint = if let Some(base) = &cfg.endpoint {
        validate_url(base)
            .map_err(|why| InstallError::InvalidConfig(format!("OTLP endpoint {:?}: {why}", hide_passwords(base))))?;
        join(base)
    } else if let Some(e) = &senv.endpoint {
        if e.signal_specific { e.url.clone() } else { join(&e.url) }
    } else {
        match protocol {
            OtlpProtocol::HttpProtobuf => join("http://localhost:4318"),
            OtlpProtocol::Grpc => "http://localhost:4317".to_owned(),
        }
    };
    let mut headers = senv.headers.clone();
    headers.extend(&cfg.headers);
    Ok(ResolvedOtlp {
        protocol,
        endpoint,
        headers,
        timeout: cfg.timeout.or(senv.timeout).unwrap_or(DEFAULT_OTLP_TIMEOUT),
        gzip: cfg.gzip.or(senv.gzip).unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setup::env::read_env;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> EnvSettings {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        read_env(&move |k| map.get(k).cloned())
    }

    #[test]
    fn endpoint_precedence() {
        let mut w = vec![];
        let e = env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318/")]);
        let r = otlp(&OtlpExporter::http(), &e, Signal::Traces, &mut w).unwrap();
        assert_eq!(r.endpoint, "http://env:4318/v1/traces");
        let r = otlp(
            &OtlpExporter::http().endpoint("http://code:1"),
            &e,
            Signal::Metrics,
            &mut w,
        )
        .unwrap();
        assert_eq!(r.endpoint, "http://code:1/v1/metrics");
        let e = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:9/custom"),
        ]);
        let r = otlp(&OtlpExporter::http(), &e, Signal::Traces, &mut w).unwrap();
        assert_eq!(r.endpoint, "http://traces:9/custom");
        let r = otlp(&OtlpExporter::http(), &env(&[]), Signal::Traces, &mut w).unwrap();
        assert_eq!(r.endpoint, "http://localhost:4318/v1/traces");
        assert!(w.is_empty());
    }

    #[test]
    fn headers_timeout_and_compression() {
        let mut w = vec![];
        let e = env(&[
            ("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20env,x-a=1"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "250"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ]);
        let r = otlp(&OtlpExporter::http().header("x-a", "2"), &e, Signal::Traces, &mut w).unwrap();
        let h: HashMap<_, _> = r.headers.expose().collect();
        assert_eq!(h["authorization"], "Bearer env");
        assert_eq!(h["x-a"], "2", "the builder wins over the env");
        assert_eq!(r.timeout, Duration::from_millis(250));
        assert!(r.gzip);
        assert!(!format!("{r:?}").contains("Bearer"));
    }

    #[test]
    fn invalid_builder_endpoint_is_an_error() {
        let err = otlp(
            &OtlpExporter::http().endpoint("localhost:4318"),
            &env(&[]),
            Signal::Traces,
            &mut vec![],
        )
        .unwrap_err();
        assert!(err.to_string().contains("http://"), "{err}");
    }
}
