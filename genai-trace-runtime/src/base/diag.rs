//! The one place genai-trace writes its own diagnostics. With the `tracing`
//! feature they are `tracing` events (target `genai_trace`), printed on stderr
//! only while no subscriber is installed; without it, one line on stderr.
//! Telemetry problems are reported, never raised.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

pub(crate) fn warn(msg: fmt::Arguments<'_>) {
    #[cfg(feature = "tracing")]
    {
        if tracing::dispatcher::has_been_set() {
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
