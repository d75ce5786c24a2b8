//! Setup: the builder, the `OTEL_*` environment, the resolution of builder >
//! environment > default, the installation of each signal, and the guard.
//!
//! Above `export`, `genai` and `pipeline`: setup builds exporters, content
//! policy and metric instruments from settings, then publishes the result to
//! `pipeline::state` for the hot path.

pub(crate) mod backends;
pub(crate) mod builder;
pub(crate) mod env;
pub(crate) mod guard;
mod install;
pub(crate) mod resolve;
pub(crate) mod sampler;
mod signals;
