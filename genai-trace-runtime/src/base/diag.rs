//! The one place genai-trace writes its own diagnostics. With the `tracing`
//! feature a warning is a `tracing` event (target `genai_trace`) when the
//! current subscriber records it, and one line on stderr otherwise (no
//! subscriber, a scoped one that is gone, or one that filters it out); without
//! the feature, one line on stderr. Telemetry problems are reported, never raised.

use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Panics of user code run for telemetry, caught since the process started.
static CAUGHT_PANICS: AtomicU64 = AtomicU64::new(0);
static WARNED_PANIC: AtomicBool = AtomicBool::new(false);

/// Runs user code that telemetry calls on the program's behalf (a recorder, a
/// redaction hook, an error's `Display`, a start attribute's expression). A panic
/// in it must not change what the program does: it is caught, counted, warned
/// about once, and that piece of telemetry is dropped (`None`).
#[inline(always)]
pub(crate) fn guarded<R>(what: &str, f: impl FnOnce() -> R) -> Option<R> {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => Some(r),
        Err(_) => {
            caught_panic(what);
            None
        }
    }
}

/// The cold half of [`guarded`]: count the panic, warn the first time.
#[cold]
#[inline(never)]
fn caught_panic(what: &str) {
    CAUGHT_PANICS.fetch_add(1, Ordering::Relaxed);
    warn_limited(
        &WARNED_PANIC,
        format_args!(
            "{what} panicked while recording telemetry; the panic was caught, that piece of \
             telemetry is dropped and the program goes on"
        ),
    );
}

/// Panics caught by [`guarded`] since the process started.
pub(crate) fn caught_panics() -> u64 {
    CAUGHT_PANICS.load(Ordering::Relaxed)
}

pub(crate) fn warn(msg: fmt::Arguments<'_>) {
    #[cfg(feature = "tracing")]
    {
        // Not `dispatcher::has_been_set()`: it stays true once any scoped
        // subscriber has ever been set, and the warnings then went nowhere.
        if tracing::event_enabled!(target: "genai_trace", tracing::Level::WARN) {
            tracing::warn!(target: "genai_trace", "{msg}");
            return;
        }
    }
    eprintln!("genai-trace: warning: {msg}");
}

/// Warns the first time `flag` is seen unset; later occurrences are only counted
/// (in [`crate::health`]), so a dead backend cannot flood the program's logs.
pub(crate) fn warn_limited(flag: &AtomicBool, msg: fmt::Arguments<'_>) {
    if !flag.swap(true, Ordering::Relaxed) {
        warn(format_args!(
            "{msg} (further occurrences are counted in genai_trace::health())"
        ));
    }
}

/// A lifecycle message (installed, shut down): a `tracing` info event with the
/// `tracing` feature, otherwise nothing (stderr is for problems only).
pub(crate) fn info(msg: fmt::Arguments<'_>) {
    #[cfg(feature = "tracing")]
    tracing::info!(target: "genai_trace", "{msg}");
    #[cfg(not(feature = "tracing"))]
    let _ = msg;
}
