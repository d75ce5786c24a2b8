//! Getting finished spans out of the process: the counting batch processor and
//! its queue, and the exporters it feeds (OTLP over HTTP and gRPC, the console
//! and its end-of-run summary, the in-memory exporters of the tests), and the
//! Prometheus exposition. Uses `base` and `genai`.

#[cfg(feature = "console")]
pub(crate) mod console;
pub(crate) mod dialect;
#[cfg(feature = "testing")]
pub(crate) mod memory;
pub(crate) mod otlp;
pub(crate) mod processor;
#[cfg(feature = "prometheus")]
pub(crate) mod prometheus;
#[cfg(feature = "console")]
pub(crate) mod summary;
