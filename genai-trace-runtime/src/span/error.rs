//! How an error names its class: [`ErrorType`], else its type path.

use std::borrow::Cow;

/// Lets an error type choose its `error.type` (a low-cardinality class).
///
/// Without an implementation, `error.type` is the error's type path (e.g.
/// `my_app::ApiError`).
///
/// ```
/// use std::borrow::Cow;
/// use genai_trace_runtime::ErrorType;
/// #[derive(Debug)]
/// enum ApiError { RateLimited, Timeout }
/// impl std::fmt::Display for ApiError {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "{self:?}") }
/// }
/// impl ErrorType for ApiError {
///     fn error_type(&self) -> Cow<'static, str> {
///         match self { ApiError::RateLimited => "rate_limited".into(), ApiError::Timeout => "timeout".into() }
///     }
/// }
/// assert_eq!(ApiError::Timeout.error_type(), "timeout");
/// ```
pub trait ErrorType {
    /// The `error.type` value for this error.
    fn error_type(&self) -> Cow<'static, str>;
}

/// The type path without generic arguments: stable and low-cardinality.
pub(crate) fn type_path<E: ?Sized>() -> &'static str {
    let full = std::any::type_name::<E>();
    full.split('<').next().unwrap_or(full)
}
