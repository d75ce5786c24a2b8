//! The sampler setting and the SDK sampler it becomes.

use opentelemetry_sdk::trace::Sampler;

/// Which traces are recorded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SamplerConfig {
    /// Every trace.
    AlwaysOn,
    /// No trace.
    AlwaysOff,
    /// A fraction of root traces by trace id, ignoring the parent's decision.
    Ratio(f64),
    /// Follow the parent's decision; roots are sampled with this ratio (the default, 1.0).
    ParentBasedRatio(f64),
}

impl SamplerConfig {
    /// `false` when every local root is sampled (ratios of 1 or more, always on).
    #[cfg_attr(not(feature = "console"), allow(dead_code))]
    pub(crate) fn may_leave_calls_out(self) -> bool {
        match self {
            SamplerConfig::AlwaysOn => false,
            SamplerConfig::AlwaysOff => true,
            SamplerConfig::Ratio(r) | SamplerConfig::ParentBasedRatio(r) => r < 1.0,
        }
    }
}

/// The SDK sampler for `cfg`: ratios of 1 or more sample everything, 0 or less nothing.
pub(crate) fn sampler(cfg: SamplerConfig) -> Sampler {
    let ratio = |r: f64| {
        if r >= 1.0 {
            Sampler::AlwaysOn
        } else if r <= 0.0 {
            Sampler::AlwaysOff
        } else {
            Sampler::TraceIdRatioBased(r)
        }
    };
    match cfg {
        SamplerConfig::AlwaysOn => Sampler::AlwaysOn,
        SamplerConfig::AlwaysOff => Sampler::AlwaysOff,
        SamplerConfig::Ratio(r) => ratio(r),
        SamplerConfig::ParentBasedRatio(r) => Sampler::ParentBased(Box::new(ratio(r))),
    }
}

/// `true` when `cfg` never samples a new root: calls without a sampled parent
/// can then be skipped before any work (`pipeline::state::ROOTS_UNSAMPLED`).
pub(crate) fn samples_no_root(cfg: SamplerConfig) -> bool {
    matches!(
        cfg,
        SamplerConfig::AlwaysOff | SamplerConfig::Ratio(0.0) | SamplerConfig::ParentBasedRatio(0.0)
    )
}
