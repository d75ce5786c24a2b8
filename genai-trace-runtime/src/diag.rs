//! The one place genai-trace writes its own diagnostics: one line each on stderr,
//! prefixed `genai-trace:`. Telemetry problems are reported, never raised.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

pub(crate) fn warn(msg: fmt::Arguments<'_>) {
    eprintln!("genai-trace: warning: {msg}");
}

/// Warns the first time `flag` is seen unset; later occurrences are only counted
/// (in [`crate::health`]), so a dead backend cannot flood the program's stderr.
pub(crate) fn warn_limited(flag: &AtomicBool, msg: fmt::Arguments<'_>) {
    if !flag.swap(true, Ordering::Relaxed) {
        eprintln!("genai-trace: warning: {msg} (further failures are counted in genai_trace::health())");
    }
}
