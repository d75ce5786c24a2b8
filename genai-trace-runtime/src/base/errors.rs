//! The crate's error and warning types: what `install()` and `shutdown()` return,
//! and the warning a bad configuration value produces. They sit at the bottom of
//! the layers, so every layer can report with them.

use std::fmt;
use std::time::Duration;

/// One bad environment value: which variable, what was wrong, what is used instead.
///
/// Printed as one line on stderr when telemetry is installed and kept in
/// [`crate::Health::warnings`]. A header value is never part of the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The environment variable (or builder setting) the value came from.
    pub variable: String,
    /// What was wrong and which fallback is used, in one sentence.
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "genai-trace: warning: {}: {}", self.variable, self.message)
    }
}

/// Why installing failed. Bad *environment* values never fail an install (they
/// warn and fall back); these are problems in the code's own configuration.
#[derive(Debug)]
#[non_exhaustive]
pub enum InstallError {
    /// Telemetry is already installed; drop the first guard before installing again.
    AlreadyInstalled,
    /// A builder value is invalid (the text says which and why).
    InvalidConfig(String),
    /// An exporter could not be built.
    Exporter(String),
    /// The configuration needs a cargo feature that is off.
    FeatureMissing(&'static str),
}

impl fmt::Display for InstallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlreadyInstalled => {
                f.write_str("genai-trace is already installed; drop the first TelemetryGuard first")
            }
            Self::InvalidConfig(why) => write!(f, "invalid genai-trace configuration: {why}"),
            Self::Exporter(why) => write!(f, "cannot build an exporter: {why}"),
            Self::FeatureMissing(feat) => write!(f, "this configuration needs the `{feat}` feature of genai-trace"),
        }
    }
}

impl std::error::Error for InstallError {}

/// Why a shutdown did not complete cleanly. Either way telemetry is off afterwards.
#[derive(Debug)]
#[non_exhaustive]
pub enum ShutdownError {
    /// Flushing did not finish within the shutdown timeout; what was left is lost.
    Timeout(Duration),
    /// An exporter reported an error while flushing.
    Failed(String),
}

impl fmt::Display for ShutdownError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout(d) => write!(f, "telemetry shutdown did not finish within {d:?}"),
            Self::Failed(why) => write!(f, "telemetry shutdown failed: {why}"),
        }
    }
}

impl std::error::Error for ShutdownError {}
