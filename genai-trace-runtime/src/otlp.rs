//! OTLP exporters (traces and metrics) through `opentelemetry-otlp`.
//!
//! genai-trace resolves every setting itself (builder > env > default) and hands
//! explicit values to `opentelemetry-otlp`, so one precedence rule holds for all
//! of them and bad env values get our one-line warning instead of a build error.

// Without an OTLP feature only `resolve` runs (and reports the missing feature).
#![cfg_attr(
    not(any(feature = "otlp-http", feature = "otlp-grpc")),
    allow(dead_code, unused_variables)
)]

use std::time::Duration;

use crate::config::{OtlpExporter, OtlpProtocol};
use crate::env::{ConfigWarning, EnvSettings, OtlpEnv, validate_url};
use crate::install::InstallError;
use crate::secret::SecretHeaders;

/// Which signal an endpoint is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signal {
    Traces,
    #[cfg_attr(
        not(all(feature = "metrics", any(feature = "otlp-http", feature = "otlp-grpc"))),
        allow(dead_code)
    )]
    Metrics,
    #[cfg_attr(
        not(all(feature = "logs", any(feature = "otlp-http", feature = "otlp-grpc"))),
        allow(dead_code)
    )]
    Logs,
}

impl Signal {
    fn path(self) -> &'static str {
        match self {
            Self::Traces => "/v1/traces",
            Self::Metrics => "/v1/metrics",
            Self::Logs => "/v1/logs",
        }
    }
}

/// Everything an OTLP exporter of one signal needs, resolved.
#[derive(Clone, Debug)]
pub(crate) struct ResolvedOtlp {
    pub protocol: OtlpProtocol,
    pub endpoint: String,
    pub headers: SecretHeaders,
    pub timeout: Duration,
    pub gzip: bool,
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn resolve(
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
        validate_url(base).map_err(|why| InstallError::InvalidConfig(format!("OTLP endpoint {base:?}: {why}")))?;
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
        timeout: cfg.timeout.or(senv.timeout).unwrap_or(DEFAULT_TIMEOUT),
        gzip: cfg.gzip.or(senv.gzip).unwrap_or(false),
    })
}

fn build_error(e: impl std::fmt::Display) -> InstallError {
    InstallError::Exporter(e.to_string())
}

/// A Tokio runtime genai-trace owns. It is shut down in the background, so dropping
/// it (the guard, an exporter) inside an async context cannot panic.
#[cfg(any(feature = "otlp-http", feature = "otlp-grpc"))]
#[derive(Debug)]
pub(crate) struct OwnedRuntime {
    handle: tokio::runtime::Handle,
    runtime: Option<tokio::runtime::Runtime>,
}

/// The runtime for tonic: the gRPC exporter must be built inside a runtime that
/// stays alive while exporting. Owning it (rather than using the caller's) makes
/// gRPC work from a plain `fn main` and from `#[tokio::main]` alike.
#[cfg(feature = "otlp-grpc")]
pub(crate) type GrpcRuntime = OwnedRuntime;

#[cfg(any(feature = "otlp-http", feature = "otlp-grpc"))]
impl OwnedRuntime {
    fn build(builder: &mut tokio::runtime::Builder, what: &str) -> Result<Self, InstallError> {
        let runtime = builder
            .build()
            .map_err(|e| InstallError::Exporter(format!("cannot start the {what}: {e}")))?;
        Ok(Self {
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
        })
    }

    /// Two worker threads: the span export converts and encodes on the runtime (see
    /// [`ExportRunner::GrpcRuntime`]), and with one thread every batch in flight
    /// waited for that one thread. Interleaved runs of the throughput bench:
    /// unthrottled received 941k / 932k / 885k / 835k / 739k spans against 803k /
    /// 747k / 834k / 870k / 766k with one thread; at 200k spans/s with a 768-span
    /// queue, dropped 350 / 334 / 56 / 361 / 69 against 1,052 / 2,555 / 3,645 / 230 / 9.
    #[cfg(feature = "otlp-grpc")]
    pub(crate) fn start() -> Result<Self, InstallError> {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(2).thread_name("genai-trace-grpc").enable_all();
        Self::build(&mut builder, "gRPC runtime")
    }

    /// Tokio's blocking pool (tokio is in the tree through reqwest): its threads are
    /// kept between exports. A new thread per batch measured a drop now and then at
    /// 200k spans/s (2 runs of 32), likely the process-wide memory-map lock that
    /// creating and ending a thread (its stack) takes, 400 times a second there.
    /// A current-thread runtime nobody drives: only its blocking pool is used.
    #[cfg(feature = "otlp-http")]
    fn blocking_pool() -> Result<Self, InstallError> {
        let mut builder = tokio::runtime::Builder::new_current_thread();
        builder.thread_name("genai-trace-http-export");
        Self::build(&mut builder, "HTTP export threads")
    }
}

#[cfg(any(feature = "otlp-http", feature = "otlp-grpc"))]
impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// opentelemetry-otlp's span exporter, each export run off the processor's export
/// thread, so that the processor's concurrent batches overlap.
#[cfg(any(feature = "otlp-http", feature = "otlp-grpc"))]
#[derive(Debug)]
struct OffThreadSpanExporter {
    inner: std::sync::Arc<opentelemetry_otlp::SpanExporter>,
    runs_on: ExportRunner,
}

/// Where [`OffThreadSpanExporter`] runs an export.
#[cfg(any(feature = "otlp-http", feature = "otlp-grpc"))]
#[derive(Debug)]
enum ExportRunner {
    /// gRPC: a task of the gRPC runtime. The conversion of a batch to protobuf types
    /// (a string per key and value, three id vectors per span) then happens on the
    /// thread where tonic encodes the request and frees it: allocated on the export
    /// thread, those were freed on the runtime's, and crossing threads cost more than
    /// the conversion saves by running beside the encoding. Interleaved A/B runs of
    /// the throughput bench: 9–23 % more spans/s unthrottled (docs/performance.md).
    #[cfg(feature = "otlp-grpc")]
    GrpcRuntime(tokio::runtime::Handle),
    /// HTTP: a thread of a blocking pool per batch. opentelemetry-otlp's HTTP client
    /// here is reqwest's blocking one: an export blocks the thread that polls it for
    /// the whole round trip. Polled on the export thread, one batch was in flight at
    /// a time, and a collector 20 ms away capped the export at ~23k spans/s.
    #[cfg(feature = "otlp-http")]
    BlockingPool(OwnedRuntime),
}

#[cfg(any(feature = "otlp-http", feature = "otlp-grpc"))]
impl opentelemetry_sdk::trace::SpanExporter for OffThreadSpanExporter {
    async fn export(&self, batch: Vec<opentelemetry_sdk::trace::SpanData>) -> opentelemetry_sdk::error::OTelSdkResult {
        use opentelemetry_sdk::error::OTelSdkError;
        let inner = std::sync::Arc::clone(&self.inner);
        match &self.runs_on {
            // A task that panics, or a runtime already stopped, is a failed export.
            #[cfg(feature = "otlp-grpc")]
            ExportRunner::GrpcRuntime(runtime) => runtime
                .spawn(async move { inner.export(batch).await })
                .await
                .unwrap_or_else(|e| {
                    Err(OTelSdkError::InternalFailure(format!(
                        "the gRPC export task did not finish: {e}"
                    )))
                }),
            // An export that panics is a failed export too.
            #[cfg(feature = "otlp-http")]
            ExportRunner::BlockingPool(pool) => pool
                .handle
                .spawn_blocking(move || futures_executor::block_on(inner.export(batch)))
                .await
                .unwrap_or_else(|e| {
                    Err(OTelSdkError::InternalFailure(format!(
                        "the HTTP export did not finish: {e}"
                    )))
                }),
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        // Set while the pipeline is built, before any export holds a clone.
        if let Some(inner) = std::sync::Arc::get_mut(&mut self.inner) {
            inner.set_resource(resource);
        }
    }
}

#[cfg(feature = "otlp-grpc")]
fn metadata(headers: &SecretHeaders) -> Result<opentelemetry_otlp::tonic_types::metadata::MetadataMap, InstallError> {
    let mut map = http::HeaderMap::new();
    for (k, v) in headers.expose() {
        let name = http::HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes())
            .map_err(|_| InstallError::InvalidConfig(format!("OTLP header name {k:?} is not valid")))?;
        // Never echo the value: it is a credential.
        let value = http::HeaderValue::from_str(v)
            .map_err(|_| InstallError::InvalidConfig(format!("OTLP header {k:?} has a value that is not valid")))?;
        map.insert(name, value);
    }
    Ok(opentelemetry_otlp::tonic_types::metadata::MetadataMap::from_headers(
        map,
    ))
}

#[cfg(feature = "otlp-http")]
fn header_map(headers: &SecretHeaders) -> std::collections::HashMap<String, String> {
    headers.expose().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

/// Builds an OTLP exporter of one signal (`$exporter` is opentelemetry-otlp's
/// `SpanExporter`, `MetricExporter` or `LogExporter`: their builders differ only
/// in type), entering the gRPC runtime when needed.
#[cfg(any(feature = "otlp-http", feature = "otlp-grpc"))]
macro_rules! build_exporter {
    ($exporter:path, $r:expr, $grpc:expr) => {{
        #[allow(unused_imports)]
        use opentelemetry_otlp::{Compression, WithExportConfig};
        let r: &ResolvedOtlp = $r;
        match r.protocol {
            #[cfg(feature = "otlp-http")]
            OtlpProtocol::HttpProtobuf => {
                use opentelemetry_otlp::WithHttpConfig;
                let mut b = <$exporter>::builder()
                    .with_http()
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                    .with_endpoint(r.endpoint.clone())
                    .with_timeout(r.timeout)
                    .with_headers(header_map(&r.headers));
                if r.gzip {
                    b = b.with_compression(Compression::Gzip);
                }
                b.build().map_err(build_error)
            }
            #[cfg(feature = "otlp-grpc")]
            OtlpProtocol::Grpc => {
                use opentelemetry_otlp::WithTonicConfig;
                let grpc: &mut Option<GrpcRuntime> = $grpc;
                if grpc.is_none() {
                    *grpc = Some(GrpcRuntime::start()?);
                }
                let _entered = grpc.as_ref().map(|g| g.handle.enter());
                let mut b = <$exporter>::builder()
                    .with_tonic()
                    .with_protocol(opentelemetry_otlp::Protocol::Grpc)
                    .with_endpoint(r.endpoint.clone())
                    .with_timeout(r.timeout)
                    .with_metadata(metadata(&r.headers)?);
                if r.gzip {
                    b = b.with_compression(Compression::Gzip);
                }
                b.build().map_err(build_error)
            }
            #[allow(unreachable_patterns)]
            _ => Err(InstallError::FeatureMissing(r.protocol.exporter_name())),
        }
    }};
}

/// Builds the span exporter for `r`.
#[allow(unused_variables, unreachable_code)]
pub(crate) fn span_exporter(
    r: &ResolvedOtlp,
    #[cfg(feature = "otlp-grpc")] grpc: &mut Option<GrpcRuntime>,
) -> Result<Box<dyn crate::processor::DynSpanExporter>, InstallError> {
    #[cfg(any(feature = "otlp-http", feature = "otlp-grpc"))]
    {
        #[cfg(feature = "otlp-grpc")]
        let built = build_exporter!(opentelemetry_otlp::SpanExporter, r, grpc)?;
        #[cfg(not(feature = "otlp-grpc"))]
        let built = build_exporter!(opentelemetry_otlp::SpanExporter, r, &mut None)?;
        #[cfg(feature = "otlp-grpc")]
        if r.protocol == OtlpProtocol::Grpc
            && let Some(runtime) = grpc.as_ref()
        {
            return Ok(Box::new(OffThreadSpanExporter {
                inner: std::sync::Arc::new(built),
                runs_on: ExportRunner::GrpcRuntime(runtime.handle.clone()),
            }));
        }
        #[cfg(feature = "otlp-http")]
        if r.protocol == OtlpProtocol::HttpProtobuf {
            return Ok(Box::new(OffThreadSpanExporter {
                inner: std::sync::Arc::new(built),
                runs_on: ExportRunner::BlockingPool(OwnedRuntime::blocking_pool()?),
            }));
        }
        return Ok(Box::new(built));
    }
    #[allow(unreachable_code)]
    Err(InstallError::FeatureMissing("otlp-http"))
}

/// Builds the metric exporter for `r`.
#[cfg(all(feature = "metrics", any(feature = "otlp-http", feature = "otlp-grpc")))]
pub(crate) fn metric_exporter(
    r: &ResolvedOtlp,
    #[cfg(feature = "otlp-grpc")] grpc: &mut Option<GrpcRuntime>,
) -> Result<opentelemetry_otlp::MetricExporter, InstallError> {
    #[cfg(feature = "otlp-grpc")]
    return build_exporter!(opentelemetry_otlp::MetricExporter, r, grpc);
    #[cfg(not(feature = "otlp-grpc"))]
    build_exporter!(opentelemetry_otlp::MetricExporter, r, &mut None)
}

/// Builds the log exporter for `r`.
#[cfg(all(feature = "logs", any(feature = "otlp-http", feature = "otlp-grpc")))]
pub(crate) fn log_exporter(
    r: &ResolvedOtlp,
    #[cfg(feature = "otlp-grpc")] grpc: &mut Option<GrpcRuntime>,
) -> Result<opentelemetry_otlp::LogExporter, InstallError> {
    #[cfg(feature = "otlp-grpc")]
    return build_exporter!(opentelemetry_otlp::LogExporter, r, grpc);
    #[cfg(not(feature = "otlp-grpc"))]
    build_exporter!(opentelemetry_otlp::LogExporter, r, &mut None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::read_env;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> EnvSettings {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        read_env(&move |k| map.get(k).cloned())
    }

    #[test]
    fn endpoint_precedence() {
        let mut w = vec![];
        let e = env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318/")]);
        let r = resolve(&OtlpExporter::http(), &e, Signal::Traces, &mut w).unwrap();
        assert_eq!(r.endpoint, "http://env:4318/v1/traces");
        let r = resolve(
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
        let r = resolve(&OtlpExporter::http(), &e, Signal::Traces, &mut w).unwrap();
        assert_eq!(r.endpoint, "http://traces:9/custom");
        let r = resolve(&OtlpExporter::http(), &env(&[]), Signal::Traces, &mut w).unwrap();
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
        let r = resolve(&OtlpExporter::http().header("x-a", "2"), &e, Signal::Traces, &mut w).unwrap();
        let h: HashMap<_, _> = r.headers.expose().collect();
        assert_eq!(h["authorization"], "Bearer env");
        assert_eq!(h["x-a"], "2", "the builder wins over the env");
        assert_eq!(r.timeout, Duration::from_millis(250));
        assert!(r.gzip);
        assert!(!format!("{r:?}").contains("Bearer"));
    }

    #[test]
    fn invalid_builder_endpoint_is_an_error() {
        let err = resolve(
            &OtlpExporter::http().endpoint("localhost:4318"),
            &env(&[]),
            Signal::Traces,
            &mut vec![],
        )
        .unwrap_err();
        assert!(err.to_string().contains("http://"), "{err}");
    }
}
