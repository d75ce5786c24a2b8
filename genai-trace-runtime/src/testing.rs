//! Capturing telemetry in tests (feature `testing`).
//!
//! Telemetry is process-wide, and tests in one binary run in parallel; a
//! [`TestTelemetry`] holds a process-wide lock while it is alive, so tests that
//! use it run one at a time and each sees only its own spans.

use std::sync::{Mutex, MutexGuard};

use opentelemetry_sdk::trace::SpanData;

pub use crate::export::memory::{InMemoryExporters, MemoryExporter, memory_exporter};
use crate::setup::builder::{Telemetry, TelemetryBuilder};
use crate::setup::guard::TelemetryGuard;
use crate::setup::sampler::SamplerConfig;

static TEST_LOCK: Mutex<()> = Mutex::new(());

/// The process-wide test lock [`TestTelemetry`] holds. Take it in tests that
/// install telemetry themselves (with [`crate::Telemetry::builder`]) so they do
/// not run concurrently with other installing tests of the same binary.
pub fn exclusive() -> MutexGuard<'static, ()> {
    TEST_LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Telemetry installed into memory for one test.
///
/// ```
/// use genai_trace_runtime::{span, testing::TestTelemetry};
/// let t = TestTelemetry::install();
/// span("step").in_scope(|| ());
/// assert_eq!(t.spans()[0].name, "step");
/// ```
pub struct TestTelemetry {
    exporters: InMemoryExporters,
    guard: Option<TelemetryGuard>,
    _lock: MutexGuard<'static, ()>,
}

impl std::fmt::Debug for TestTelemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestTelemetry").finish_non_exhaustive()
    }
}

impl TestTelemetry {
    /// Installs with every span sampled, content capture off, and no env influence.
    pub fn install() -> Self {
        Self::install_with(|b| b)
    }

    /// Installs after `configure` adjusts the builder (capture mode, sampler, ...).
    /// The environment is not read unless `configure` sets an `env_lookup`.
    ///
    /// # Panics
    ///
    /// When the configured builder fails to install (a test setup error).
    pub fn install_with(configure: impl FnOnce(TelemetryBuilder) -> TelemetryBuilder) -> Self {
        let lock = exclusive();
        let exporters = InMemoryExporters {
            spans: memory_exporter(),
            #[cfg(feature = "metrics")]
            metrics: opentelemetry_sdk::metrics::InMemoryMetricExporter::default(),
        };
        let builder = Telemetry::builder()
            .env_lookup(|_| None)
            .service_name("genai-trace-test")
            .sampler(SamplerConfig::AlwaysOn);
        let guard = configure(builder.with_in_memory(exporters.clone()))
            .install()
            .unwrap_or_else(|e| panic!("test telemetry: {e}"));
        Self {
            exporters,
            guard: Some(guard),
            _lock: lock,
        }
    }

    /// Flushes and returns every span exported so far, in end order.
    pub fn spans(&self) -> Vec<SpanData> {
        if let Some(g) = &self.guard {
            let _ = g.flush();
        }
        self.exporters.spans.spans()
    }

    /// The span named `name`.
    ///
    /// # Panics
    ///
    /// With the list of names, when there is no span of that name or several.
    pub fn span(&self, name: &str) -> SpanData {
        let spans = self.spans();
        let mut found: Vec<SpanData> = spans.iter().filter(|s| s.name == name).cloned().collect();
        match found.len() {
            1 => found.remove(0),
            n => panic!(
                "expected one span named {name:?}, found {n}; spans: {:?}",
                spans.iter().map(|s| s.name.as_ref()).collect::<Vec<_>>()
            ),
        }
    }

    /// Flushes and returns the metrics exported so far (feature `metrics`).
    #[cfg(feature = "metrics")]
    #[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
    pub fn metrics(&self) -> Vec<opentelemetry_sdk::metrics::data::ResourceMetrics> {
        if let Some(g) = &self.guard {
            let _ = g.flush();
        }
        self.exporters.metrics.get_finished_metrics().unwrap_or_default()
    }

    /// The data points of histogram `name` in the latest metrics export
    /// (cumulative), with attributes as text. Empty when nothing was recorded.
    /// Needs the `metrics` feature.
    #[cfg(feature = "metrics")]
    #[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
    pub fn histogram(&self, name: &str) -> Vec<HistogramPoint> {
        use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
        let all = self.metrics();
        let Some(latest) = all
            .iter()
            .rev()
            .find(|rm| rm.scope_metrics().any(|s| s.metrics().any(|m| m.name() == name)))
        else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for m in latest
            .scope_metrics()
            .flat_map(opentelemetry_sdk::metrics::data::ScopeMetrics::metrics)
            .filter(|m| m.name() == name)
        {
            macro_rules! points {
                ($h:expr) => {
                    for p in $h.data_points() {
                        out.push(HistogramPoint {
                            unit: m.unit().to_owned(),
                            attributes: p
                                .attributes()
                                .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                                .collect(),
                            bounds: p.bounds().collect(),
                            count: p.count(),
                            sum: p.sum() as f64,
                        });
                    }
                };
            }
            match m.data() {
                AggregatedMetrics::F64(MetricData::Histogram(h)) => points!(h),
                AggregatedMetrics::U64(MetricData::Histogram(h)) => points!(h),
                AggregatedMetrics::I64(MetricData::Histogram(h)) => points!(h),
                _ => {}
            }
        }
        out
    }

    /// Shuts down (flushing everything) and returns the spans.
    pub fn finish(mut self) -> Vec<SpanData> {
        if let Some(g) = self.guard.take() {
            let _ = g.shutdown();
        }
        self.exporters.spans.spans()
    }
}

/// The value of attribute `key` on `span`, if set.
pub fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a opentelemetry::Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

/// One histogram data point, flattened for assertions (see [`TestTelemetry::histogram`]).
#[cfg(feature = "metrics")]
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramPoint {
    /// The instrument's unit.
    pub unit: String,
    /// Attributes, values as text.
    pub attributes: std::collections::BTreeMap<String, String>,
    /// Explicit bucket boundaries.
    pub bounds: Vec<f64>,
    /// Number of recordings.
    pub count: u64,
    /// Sum of recorded values.
    pub sum: f64,
}

/// A `Write` target shared between an exporter (or log layer) and a test:
/// clone it into the writer, read what was written with [`SharedBuffer::text`].
///
/// ```
/// use std::io::Write;
/// let buf = genai_trace_runtime::testing::SharedBuffer::default();
/// buf.clone().write_all(b"hello").unwrap();
/// assert_eq!(buf.text(), "hello");
/// ```
#[derive(Clone, Debug, Default)]
pub struct SharedBuffer(std::sync::Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    /// Everything written so far, as UTF-8 (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)).into_owned()
    }
}

impl std::io::Write for SharedBuffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
