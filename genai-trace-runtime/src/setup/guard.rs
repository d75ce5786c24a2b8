//! The guard `install()` returns: it keeps the pipeline installed, and flushes
//! and shuts it down when dropped, within the shutdown timeout.

use std::fmt;
use std::time::{Duration, Instant};

use opentelemetry_sdk::trace::SdkTracerProvider;

use crate::base::diag;
use crate::base::errors::ShutdownError;
#[cfg(feature = "otlp-grpc")]
use crate::export::otlp::GrpcRuntime;
use crate::pipeline::{health, state};

/// Keeps telemetry installed. Dropping it (or [`TelemetryGuard::shutdown`])
/// flushes every span and metric and shuts the providers down, waiting at most
/// the shutdown timeout (default 5 s) even when the backend is unreachable.
#[must_use = "telemetry is shut down as soon as the guard is dropped"]
pub struct TelemetryGuard {
    owned: Option<Owned>,
}

/// How much before the deadline the providers must answer, so their answer (and
/// not a bare timeout) reaches the caller.
const ANSWER_MARGIN: Duration = Duration::from_millis(20);

impl TelemetryGuard {
    /// A guard holding nothing: telemetry disabled.
    pub(crate) fn disabled() -> Self {
        Self { owned: None }
    }

    /// A guard holding an installed pipeline.
    pub(crate) fn installed(owned: Owned) -> Self {
        Self { owned: Some(owned) }
    }
}

/// What an installed pipeline owns: its providers and the runtime gRPC runs on.
pub(crate) struct Owned {
    pub(crate) tracer_provider: SdkTracerProvider,
    #[cfg(feature = "metrics")]
    pub(crate) meter_provider: Option<opentelemetry_sdk::metrics::SdkMeterProvider>,
    #[cfg(feature = "logs")]
    pub(crate) logger_provider: Option<opentelemetry_sdk::logs::SdkLoggerProvider>,
    /// Kept alive while exporting; dropped (stopped) after the providers shut down.
    #[cfg(feature = "otlp-grpc")]
    pub(crate) _grpc: Option<GrpcRuntime>,
    pub(crate) shutdown_timeout: Duration,
    /// Where OTLP metrics and logs go, by signal, to name in shutdown errors.
    pub(crate) otlp_endpoints: Vec<(&'static str, String)>,
    /// The `/metrics` server, stopped with the guard.
    #[cfg(feature = "prometheus")]
    pub(crate) metrics_server: Option<crate::export::prometheus::MetricsServer>,
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

    /// The URL of the Prometheus `/metrics` endpoint this guard serves
    /// (`http://127.0.0.1:9464/metrics`), with the port actually bound.
    #[cfg(feature = "prometheus")]
    #[cfg_attr(docsrs, doc(cfg(feature = "prometheus")))]
    pub fn prometheus_url(&self) -> Option<String> {
        let addr = self.owned.as_ref()?.metrics_server.as_ref()?.addr();
        Some(format!("http://{addr}/metrics"))
    }

    /// Exports everything ended so far without shutting down.
    ///
    /// # Errors
    ///
    /// [`ShutdownError::Failed`] when an exporter reports an error while flushing.
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
    ///
    /// # Errors
    ///
    /// [`ShutdownError::Timeout`] when flushing did not finish within the shutdown
    /// timeout, [`ShutdownError::Failed`] when an exporter reported an error.
    /// Telemetry is off afterwards either way.
    pub fn shutdown(mut self) -> Result<(), ShutdownError> {
        self.shutdown_inner()
    }

    fn shutdown_inner(&mut self) -> Result<(), ShutdownError> {
        let Some(owned) = self.owned.take() else { return Ok(()) };
        let _lock = state::install_lock();
        // New spans stop here; the ones already ended are flushed below.
        let retired = state::retire();
        opentelemetry::global::set_tracer_provider(opentelemetry::trace::noop::NoopTracerProvider::new());

        // The timeout bounds the whole drop: the providers share what is left of it,
        // and their answer comes a little before the deadline the caller waits for.
        let timeout = owned.shutdown_timeout;
        let deadline = Instant::now() + timeout;
        let budget = move || {
            deadline
                .saturating_duration_since(Instant::now())
                .saturating_sub(ANSWER_MARGIN)
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let tp = owned.tracer_provider.clone();
        let endpoints = owned.otlp_endpoints.clone();
        // A failure names its signal, and its OTLP endpoint when it has one: the SDK's
        // own text ("Failed to shutdown") says neither.
        let failed = move |signal: &str, e: opentelemetry_sdk::error::OTelSdkError| match endpoints
            .iter()
            .find(|(s, _)| *s == signal)
        {
            Some((_, url)) => format!(
                "{signal} (OTLP to {url}): {e} (a backend that takes traces only answers {signal} with \
                     HTTP 405 or UNIMPLEMENTED: turn them off for it with OtlpExporter::without_metrics() \
                     or OTEL_{}_EXPORTER=none)",
                signal.to_ascii_uppercase()
            ),
            None => format!("{signal}: {e}"),
        };
        #[cfg(feature = "metrics")]
        let mp = owned.meter_provider.clone();
        #[cfg(feature = "logs")]
        let lp = owned.logger_provider.clone();
        // On a helper thread so a stuck exporter cannot hold the caller past the timeout.
        let spawned = std::thread::Builder::new()
            .name("genai-trace-shutdown".into())
            .spawn(move || {
                #[cfg_attr(not(any(feature = "metrics", feature = "logs")), allow(unused_mut))]
                let mut result = tp.shutdown_with_timeout(budget()).map_err(|e| failed("traces", e));
                #[cfg(feature = "metrics")]
                if let Some(mp) = mp {
                    result = result.and(mp.shutdown_with_timeout(budget()).map_err(|e| failed("metrics", e)));
                }
                #[cfg(feature = "logs")]
                if let Some(lp) = lp {
                    result = result.and(lp.shutdown_with_timeout(budget()).map_err(|e| failed("logs", e)));
                }
                let _ = tx.send(result);
            });
        let result = match spawned {
            Err(e) => Err(ShutdownError::Failed(format!("cannot start the shutdown thread: {e}"))),
            Ok(_) => match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) if e.contains("Timeout") || e.contains("timed out") => Err(ShutdownError::Timeout(timeout)),
                Ok(Err(e)) => Err(ShutdownError::Failed(e)),
                Err(_) => Err(ShutdownError::Timeout(timeout)),
            },
        };
        if let Some(active) = retired {
            health::keep_final_totals(&active);
        }
        drop(owned);
        match &result {
            Ok(()) => diag::info(format_args!("telemetry shut down; every span was flushed")),
            Err(e) => diag::warn(format_args!("{e}")),
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
