//! The health snapshot: what the pipeline started, queued, exported, dropped
//! and failed, per exporter, and the warnings of the last install.

use std::sync::Mutex;
use std::sync::atomic::Ordering;

use crate::base::errors::ConfigWarning;
use crate::pipeline::state::{active, is_enabled};

/// Warnings of the most recent install attempt, also when it ended disabled.
static LAST_WARNINGS: Mutex<Vec<ConfigWarning>> = Mutex::new(Vec::new());

/// Keeps the warnings of an install attempt for [`health`].
pub(crate) fn set_last_warnings(warnings: Vec<ConfigWarning>) {
    *LAST_WARNINGS.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = warnings;
}

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
    let warnings = LAST_WARNINGS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
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
