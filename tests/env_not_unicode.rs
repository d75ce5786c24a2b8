//! A value that is not valid UTF-8 is reported, not dropped without a word. Its
//! own test binary: it changes the process environment, which no other thread
//! may read at the same time.
#![cfg(all(feature = "testing", unix))]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;

use genai_trace::Telemetry;

#[test]
fn a_value_that_is_not_utf8_warns_and_is_ignored() {
    // SAFETY: the only test of this binary, run before any thread that reads the
    // environment exists (telemetry is installed after).
    unsafe {
        std::env::set_var("OTEL_SERVICE_NAME", OsStr::from_bytes(b"svc-\xff\xfe"));
        std::env::set_var("OTEL_TRACES_EXPORTER", "none");
    }
    let guard = Telemetry::from_env().quiet().install().unwrap();
    let warnings: Vec<String> = genai_trace::health().warnings.iter().map(ToString::to_string).collect();
    drop(guard);
    assert_eq!(
        warnings,
        ["genai-trace: warning: OTEL_SERVICE_NAME: the value is not valid UTF-8 and is ignored"]
    );
}
