//! Error-keeping sampling: a trace whose local root the sampler drops is still
//! recorded, held here until that root ends, and then exported whole if any of
//! its spans failed (or, optionally, if it ran too long); otherwise dropped.
//!
//! Bounded twice, each bound decided when a span starts: at most
//! `max_traces` traces are held at once (a root beyond that is sampled out as
//! without the switch), and at most `max_spans` spans are recorded per held
//! trace (later ones are not recorded; a failure in them still keeps the trace).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::trace::SpanId;

use crate::base::span_data::{FinishedSpan, SpanAttributes};
use crate::genai::semconv as sc;

/// Traces held at once when nothing sets it.
pub(crate) const DEFAULT_MAX_HELD_TRACES: usize = 256;
/// Spans recorded per held trace when nothing sets it.
pub(crate) const DEFAULT_MAX_SPANS_PER_HELD_TRACE: usize = 128;

/// The settings of error-keeping sampling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HoldSettings {
    /// Also keep a trace whose local root ran at least this long.
    pub keep_slow: Option<Duration>,
    pub max_traces: usize,
    pub max_spans: usize,
}

/// The held traces of one installation: their bounds and counters.
#[derive(Debug)]
pub(crate) struct HeldTraces {
    settings: HoldSettings,
    held_now: AtomicUsize,
    kept: AtomicU64,
    sampled_out: AtomicU64,
    not_held: AtomicU64,
    spans_not_recorded: AtomicU64,
    unfinished: AtomicU64,
}

/// What error-keeping sampling did, in a [`Health`](crate::Health) snapshot.
/// All zero unless `GENAI_TRACE_KEEP_ERROR_TRACES` (or
/// [`TelemetryBuilder::keep_error_traces`](crate::TelemetryBuilder::keep_error_traces)) is on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeldTraceHealth {
    /// Traces held right now, waiting for their local root to end.
    pub held: u64,
    /// Held traces exported when their root ended: a span failed, or the root ran
    /// longer than `GENAI_TRACE_KEEP_SLOW_TRACES_MS`.
    pub kept: u64,
    /// Held traces dropped when their root ended: nothing failed.
    pub sampled_out: u64,
    /// Sampled-out roots not held because the most traces were held already
    /// (`GENAI_TRACE_MAX_HELD_TRACES`): their failures are not seen.
    pub not_held: u64,
    /// Spans not recorded because their held trace had the most spans already
    /// (`GENAI_TRACE_MAX_SPANS_PER_HELD_TRACE`).
    pub spans_not_recorded: u64,
    /// Held traces whose root had not ended when telemetry shut down: dropped.
    pub unfinished: u64,
}

impl HeldTraces {
    pub(crate) fn new(settings: HoldSettings) -> Self {
        HeldTraces {
            settings,
            held_now: AtomicUsize::new(0),
            kept: AtomicU64::new(0),
            sampled_out: AtomicU64::new(0),
            not_held: AtomicU64::new(0),
            spans_not_recorded: AtomicU64::new(0),
            unfinished: AtomicU64::new(0),
        }
    }

    /// Starts holding the trace of a new local root the sampler dropped, if
    /// fewer than `max_traces` are held.
    pub(crate) fn hold(self: &Arc<Self>, root: SpanId) -> Option<HeldTrace> {
        let held = self.held_now.fetch_add(1, Ordering::Relaxed);
        if held >= self.settings.max_traces {
            self.held_now.fetch_sub(1, Ordering::Relaxed);
            self.not_held.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(HeldTrace {
            owner: Arc::clone(self),
            root,
            admitted: AtomicUsize::new(1),
            state: Mutex::new(HeldState {
                verdict: Verdict::Pending,
                spans: Vec::new(),
                failed: false,
                not_recorded: 0,
            }),
        })
    }

    pub(crate) fn health(&self) -> HeldTraceHealth {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        HeldTraceHealth {
            held: self.held_now.load(Ordering::Relaxed) as u64,
            kept: load(&self.kept),
            sampled_out: load(&self.sampled_out),
            not_held: load(&self.not_held),
            spans_not_recorded: load(&self.spans_not_recorded),
            unfinished: load(&self.unfinished),
        }
    }
}

/// One held trace. It is a value of the contexts of its spans: a child of a
/// sampled-out local parent whose context holds one is recorded into it, and a
/// span finds its trace there when it ends. (A context value, rather than a
/// field of each call, costs the root one allocation less and its children none.)
#[derive(Debug)]
pub(crate) struct HeldTrace {
    owner: Arc<HeldTraces>,
    root: SpanId,
    /// Spans admitted for recording, the root included.
    admitted: AtomicUsize,
    state: Mutex<HeldState>,
}

#[derive(Debug)]
struct HeldState {
    verdict: Verdict,
    /// Ended spans with their attributes, in the order they ended.
    spans: Vec<(FinishedSpan, Vec<KeyValue>)>,
    failed: bool,
    not_recorded: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Pending,
    Kept,
    Dropped,
}

impl HeldTrace {
    fn lock(&self) -> MutexGuard<'_, HeldState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A span of this trace starts: `false` when the trace has its most spans
    /// already (the span is then not recorded, and counted).
    pub(crate) fn admit(&self) -> bool {
        if self.admitted.fetch_add(1, Ordering::Relaxed) < self.owner.settings.max_spans {
            return true;
        }
        self.owner.spans_not_recorded.fetch_add(1, Ordering::Relaxed);
        self.lock().not_recorded += 1;
        false
    }

    /// A span of this trace that was not recorded (over the cap) failed: the
    /// trace is kept all the same.
    pub(crate) fn note_failure(&self) {
        self.lock().failed = true;
    }

    /// A recorded span of this trace ended. The root's end decides the trace;
    /// a span ending after that follows the decision. `export` hands a kept span
    /// to the export queues (and counts it started).
    pub(crate) fn span_ended(
        &self,
        span: FinishedSpan,
        attributes: &mut SpanAttributes,
        export: &dyn Fn(FinishedSpan, &mut SpanAttributes),
    ) {
        let is_root = span.span_id() == self.root;
        let mut st = self.lock();
        st.failed |= span.failed();
        match st.verdict {
            Verdict::Kept => {
                drop(st);
                export_kept(span, attributes, export);
            }
            Verdict::Dropped => attributes.clear(),
            Verdict::Pending if !is_root => st.spans.push((span, attributes.drain(..).collect())),
            Verdict::Pending => {
                let slow = self.owner.settings.keep_slow.is_some_and(|min| span.duration() >= min);
                let keep = st.failed || slow;
                st.verdict = if keep { Verdict::Kept } else { Verdict::Dropped };
                let held = std::mem::take(&mut st.spans);
                let not_recorded = st.not_recorded;
                drop(st);
                self.owner.held_now.fetch_sub(1, Ordering::Relaxed);
                if !keep {
                    self.owner.sampled_out.fetch_add(1, Ordering::Relaxed);
                    attributes.clear();
                    return;
                }
                self.owner.kept.fetch_add(1, Ordering::Relaxed);
                for (span, attrs) in held {
                    export_kept(span, &mut SpanAttributes::from_vec(attrs), export);
                }
                if not_recorded > 0 {
                    attributes.push(KeyValue::new(sc::GENAI_TRACE_TAIL_SPANS_DROPPED, not_recorded as i64));
                }
                export_kept(span, attributes, export);
            }
        }
    }
}

/// A kept span is exported as sampled: it is part of a recorded trace now.
fn export_kept(
    mut span: FinishedSpan,
    attributes: &mut SpanAttributes,
    export: &dyn Fn(FinishedSpan, &mut SpanAttributes),
) {
    span.mark_sampled();
    export(span, attributes);
}

impl Drop for HeldTrace {
    fn drop(&mut self) {
        // The last context holding the trace went without the root ending (its
        // state was lost). Free the slot, count the trace.
        let st = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if st.verdict == Verdict::Pending {
            self.owner.held_now.fetch_sub(1, Ordering::Relaxed);
            self.owner.unfinished.fetch_add(1, Ordering::Relaxed);
        }
    }
}
