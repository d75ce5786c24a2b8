//! The installed pipeline as the hot path and the health snapshot see it:
//! process-wide switches, the current installation, its counters, and the
//! traces error-keeping sampling holds.

pub(crate) mod health;
pub(crate) mod held;
#[cfg(feature = "metrics")]
pub(crate) mod self_metrics;
pub(crate) mod state;
