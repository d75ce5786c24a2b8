//! In-memory exporters (feature `testing`): what `testing::TestTelemetry`
//! installs, and a span exporter that keeps its spans after shutdown.

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData, SpanExporter};

/// An in-memory span exporter that keeps its spans after shutdown (the SDK's
/// clears them), so a test can read what a guard drop delivered.
///
/// ```
/// use genai_trace_runtime::{span, testing, Telemetry};
/// let _lock = testing::exclusive();
/// let mem = testing::memory_exporter();
/// let guard = Telemetry::builder().env_lookup(|_| None).with_exporter("memory", mem.clone()).install().unwrap();
/// span("work").in_scope(|| ());
/// drop(guard);
/// assert_eq!(mem.spans().len(), 1);
/// ```
pub fn memory_exporter() -> MemoryExporter {
    MemoryExporter::default()
}

/// See [`memory_exporter`].
#[derive(Clone, Debug, Default)]
pub struct MemoryExporter {
    inner: InMemorySpanExporter,
}

impl MemoryExporter {
    /// Every span exported so far.
    pub fn spans(&self) -> Vec<SpanData> {
        self.inner.get_finished_spans().unwrap_or_default()
    }
}

impl SpanExporter for MemoryExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.inner.export(batch).await
    }
    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

/// The in-memory exporters a [`TestTelemetry`](crate::testing::TestTelemetry) installs.
#[derive(Clone, Debug)]
pub struct InMemoryExporters {
    /// Exported spans.
    pub spans: MemoryExporter,
    /// Exported metrics.
    #[cfg(feature = "metrics")]
    pub metrics: opentelemetry_sdk::metrics::InMemoryMetricExporter,
}
