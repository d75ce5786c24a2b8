//! The GenAI vocabulary: semantic-convention names, the content gate, messages
//! and usage, prices, the recorder request and response types write to, and the client
//! metrics. Uses only `base`.

pub(crate) mod category;
pub(crate) mod content;
pub(crate) mod cost;
pub(crate) mod message;
#[cfg(feature = "metrics")]
pub(crate) mod metrics;
pub(crate) mod recorder;
pub mod semconv;
pub(crate) mod shrink;
