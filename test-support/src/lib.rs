//! Real backends for genai-trace's tests, carried by the repository itself.
//!
//! A test that needs a collector asks for it and gets one: [`Rotel::require`]
//! installs rotel (once per machine, into `target/backends`, through
//! `scripts/backends/install-rotel.sh`), starts it on free loopback ports (once
//! per test binary, shared by its tests) and stops it when the test binary
//! exits, however it exits. What rotel received is read back as JSON values.
//! [`Prometheus::require`] does the same for a real Prometheus (Debian's
//! package, through `scripts/backends/install-prometheus.sh`) scraping the
//! `/metrics` endpoints a test names, queried through its HTTP API.
//!
//! No silent skips: when a backend cannot be had, the test fails with what is
//! missing and the command that fixes it. `GENAI_TRACE_SKIP_BACKENDS=1` is the
//! one explicit opt-out (for machines without Python); each test it skips says
//! so loudly on stderr and in `target/backends/skipped.txt`, which
//! `scripts/test.sh` prints at the end. CI never sets it.
//!
//! ```no_run
//! use genai_trace_test_support::Rotel;
//! let Some(rotel) = Rotel::require("my_test") else { return };
//! // ... export to rotel.http or rotel.grpc, then:
//! let spans = rotel.wait_spans(1, |s| s["name"] == "chat gpt-4o");
//! assert_eq!(spans[0]["kind"], "CLIENT");
//! ```

mod backend;
mod http;
mod prometheus;
mod pyapp;
mod rotel;

pub use backend::{BackendError, Supervised, backends_dir, example_binary, free_port, repo_root, skip_requested};
pub use http::{RecordedRequest, RecordingServer};
pub use prometheus::{Prometheus, promtool_check_metrics};
pub use pyapp::{Mlflow, Phoenix};
pub use rotel::{Rotel, RotelOptions};
