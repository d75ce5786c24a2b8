//! Values that must never be printed: OTLP headers carry API keys and tokens.

use std::fmt;

use crate::base::attr_value::ToAttributeValue;

/// Exporter headers (for example `Authorization` or `x-api-key`).
///
/// `Debug` shows the header names only; values are never formatted anywhere in
/// genai-trace (logs, warnings, health snapshots or telemetry).
///
/// ```
/// use genai_trace_runtime::SecretHeaders;
/// let mut h = SecretHeaders::default();
/// h.insert("authorization", "Bearer sk-very-secret");
/// let shown = format!("{h:?}");
/// assert!(shown.contains("authorization") && !shown.contains("sk-very-secret"));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretHeaders(Vec<(String, String)>);

impl SecretHeaders {
    /// Sets a header, replacing an earlier value of the same (case-insensitive) name.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        self.0.retain(|(k, _)| !k.eq_ignore_ascii_case(&name));
        self.0.push((name, value.into()));
    }

    /// Adds every header of `other`, its values winning on the same name.
    pub fn extend(&mut self, other: &SecretHeaders) {
        for (k, v) in &other.0 {
            self.insert(k.clone(), v.clone());
        }
    }

    /// Header names, for diagnostics.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// `true` when no header is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    #[cfg_attr(not(any(feature = "otlp-http", feature = "otlp-grpc")), allow(dead_code))]
    pub(crate) fn expose(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl fmt::Debug for SecretHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, _)| (k, "<redacted>")))
            .finish()
    }
}

/// A value that must never be recorded or printed: API keys, tokens, passwords.
///
/// `Debug` and `Display` print `<redacted>`; as an attribute value (in `attrs(...)`)
/// it records `<redacted>`; as a `sensitive` argument it records `<redacted>` even
/// with content capture on. [`Secret::expose`] is the only way to the value.
///
/// ```
/// use genai_trace_runtime::Secret;
/// let key = Secret::new("sk-live-123".to_owned());
/// assert_eq!(format!("{key:?} {key}"), "<redacted> <redacted>");
/// assert_eq!(key.expose(), "sk-live-123");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Self(value)
    }
    /// The value, for the one place that needs it (the HTTP client).
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

pub(crate) const REDACTED: &str = "<redacted>";

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T> ToAttributeValue for Secret<T> {
    fn to_attribute_value(&self) -> Option<opentelemetry::Value> {
        Some(opentelemetry::Value::from(REDACTED))
    }
}
