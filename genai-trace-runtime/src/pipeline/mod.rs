//! The installed pipeline as the hot path and the health snapshot see it:
//! process-wide switches, the current installation, and its counters.

pub(crate) mod health;
pub(crate) mod state;
