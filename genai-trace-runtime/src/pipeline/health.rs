//! The health snapshot: what the pipeline started, queued, exported, dropped
//! and failed, per exporter, and the warnings of the last install.

use std::sync::Mutex;
use std::sync::atomic::Ordering;

use crate::base::diag;
use crate::base::errors::ConfigWarning;
use crate::pipeline::held::HeldTraceHealth;
use crate::pipeline::state::{Active, active, is_enabled};

/// Warnings of the most recent install attempt, also when it ended disabled.
static LAST_WARNINGS: Mutex<Vec<ConfigWarning>> = Mutex::new(Vec::new());
/// The final counters of the last installation (spans started, per exporter),
/// kept when it shut down so a program can read them after the guard is gone.
static FINAL_TOTALS: Mutex<Option<(u64, Vec<ExporterHealth>, HeldTraceHealth)>> = Mutex::new(None);

/// Keeps the warnings of an install attempt for [`health`]; a new attempt also
/// forgets the totals of the installation before.
pub(crate) fn set_last_warnings(warnings: Vec<ConfigWarning>) {
    *LAST_WARNINGS.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = warnings;
    *FINAL_TOTALS.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
}

/// Keeps `active`'s counters as the final totals, once its shutdown has returned
/// (or given up): what is neither exported, failed nor dropped by then is lost.
pub(crate) fn keep_final_totals(active: &Active) {
    let mut held = held_traces(active);
    // Still held at shutdown: their roots never ended, and they are dropped.
    held.unfinished += std::mem::take(&mut held.held);
    let totals = (active.started.load(Ordering::Relaxed), exporters(active, true), held);
    *FINAL_TOTALS.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(totals);
}

fn held_traces(a: &Active) -> HeldTraceHealth {
    a.spans
        .as_ref()
        .and_then(|p| p.held.as_ref())
        .map(|h| h.health())
        .unwrap_or_default()
}

fn exporters(a: &Active, finished: bool) -> Vec<ExporterHealth> {
    a.exporters
        .iter()
        .map(|(name, c)| {
            let queued = c.accepted.load(Ordering::Relaxed);
            let exported = c.exported.load(Ordering::Relaxed);
            let failed = c.failed.load(Ordering::Relaxed);
            ExporterHealth {
                name,
                spans_queued: queued,
                spans_exported: exported,
                spans_dropped: c.dropped.load(Ordering::Relaxed),
                spans_failed: failed,
                spans_lost: if finished {
                    queued.saturating_sub(exported + failed)
                } else {
                    0
                },
            }
        })
        .collect()
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
    /// Spans still queued or being exported when shutdown returned: the shutdown
    /// timeout ran out before they were delivered. Counted in the totals
    /// [`health`] keeps after shutdown; 0 while installed.
    pub spans_lost: u64,
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
    /// Panics of user code run for telemetry (a `RecordRequest` or
    /// `RecordResponse`, a chunk recorder, the redaction hook, an error's
    /// `Display`, an `attrs(...)` expression), caught since the process started:
    /// the call went on as without telemetry, that piece of telemetry was dropped.
    pub telemetry_panics: u64,
    /// What error-keeping sampling held, kept and dropped.
    pub held_traces: HeldTraceHealth,
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
    /// Spans lost at shutdown (still queued or in flight when it gave up),
    /// summed over exporters.
    pub fn spans_lost(&self) -> u64 {
        self.exporters.iter().map(|e| e.spans_lost).sum()
    }
}

/// The state of the telemetry pipeline right now; after a shutdown, the final
/// totals of the installation that shut down (with `installed: false`), until
/// the next install.
///
/// Every span an exporter was handed is exported, failed, dropped (queue full or
/// shut down) or, in the final totals, lost: for each exporter,
/// `spans_queued + spans_dropped` spans arrived and `spans_queued =
/// spans_exported + spans_failed + spans_lost`.
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
    if let Some(a) = active() {
        return Health {
            installed: is_enabled(),
            spans_started: a.started.load(Ordering::Relaxed),
            exporters: exporters(&a, false),
            warnings,
            telemetry_panics: diag::caught_panics(),
            held_traces: held_traces(&a),
        };
    }
    let totals = FINAL_TOTALS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    match totals {
        Some((spans_started, exporters, held_traces)) => Health {
            installed: false,
            spans_started,
            exporters,
            warnings,
            telemetry_panics: diag::caught_panics(),
            held_traces,
        },
        None => Health {
            warnings,
            telemetry_panics: diag::caught_panics(),
            ..Health::default()
        },
    }
}
