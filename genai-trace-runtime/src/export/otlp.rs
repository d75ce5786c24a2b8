//! OTLP exporters (traces, metrics and logs) through `opentelemetry-otlp`, built
//! from settings already resolved ([`ResolvedOtlp`]: `setup` applies builder >
//! env > default), and the runtimes their exports run on.

// Without an OTLP feature nothing here is built (`setup` reports the missing feature).
#![cfg_attr(
    not(any(feature = "otlp-http", feature = "otlp-grpc")),
    allow(dead_code, unused_variables)
)]

use std::time::Duration;

use crate::base::errors::InstallError;
use crate::base::secret::SecretHeaders;

/// Where OTLP data is sent, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// OTLP over HTTP with protobuf bodies (`http/protobuf`, the default; port 4318).
    HttpProtobuf,
    /// OTLP over gRPC (`grpc`, port 4317; needs the `otlp-grpc` feature).
    Grpc,
}

impl OtlpProtocol {
    /// The exporter's name in health snapshots, which is also the cargo feature
    /// that provides it (`otlp-http`, `otlp-grpc`).
    pub fn exporter_name(self) -> &'static str {
        match self {
            Self::HttpProtobuf => "otlp-http",
            Self::Grpc => "otlp-grpc",
        }
    }

    /// The `OTEL_EXPORTER_OTLP_PROTOCOL` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HttpProtobuf => "http/protobuf",
            Self::Grpc => "grpc",
        }
    }
}

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
    pub(crate) fn path(self) -> &'static str {
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
    ///
    /// With timers, driven by one worker thread: opentelemetry-otlp's retry sleeps
    /// with `tokio::time::sleep` whenever a Tokio context is current (as on these
    /// threads). Without timers every retryable failure (HTTP 429, 502, 503, 504)
    /// panicked instead of retrying; a current-thread runtime nobody drives would
    /// never wake the sleep.
    #[cfg(feature = "otlp-http")]
    fn blocking_pool() -> Result<Self, InstallError> {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder
            .worker_threads(1)
            .enable_time()
            .thread_name("genai-trace-http-export");
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
) -> Result<Box<dyn crate::export::processor::DynSpanExporter>, InstallError> {
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
