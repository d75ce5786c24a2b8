//! The installed pipeline as the hot path and the health snapshot see it:
//! process-wide switches, the current installation, its counters, and the
//! traces error-keeping sampling holds.

pub(crate) mod health;
pub(crate) mod held;
pub(crate) mod state;
