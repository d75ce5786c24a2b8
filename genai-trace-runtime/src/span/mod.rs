//! The hot path: a call's span from start to end.
//!
//! The macro expansion is thin: a `static CallSite`, a call to
//! [`SpanGuard::start`](guard::SpanGuard::start), the user's body (in a closure
//! or an [`Instrumented`](future::Instrumented) future), then
//! [`SpanGuard::end`](guard::SpanGuard::end). Everything else lives here, one
//! idea a file, dependencies one way:
//!
//! ```text
//! error, callsite   (leaves: error classes; the call site and start attributes)
//! call              (the pooled call state and its writes)      → callsite
//! details           (the inference details event: span event or log record)
//! current, open, finish                                         → call, details
//! guard             (SpanGuard: start, attach, record, end)      → all above
//! future, stream    (bodies, futures, streams inside a span)    → guard
//! manual            (hand-written spans, current-span writes)   → guard, future, stream
//! ```
//!
//! Exactly-once ending: a guard ends its span in `end`, or else in `Drop` —
//! marked as a panic when the thread is unwinding, as cancelled otherwise (a
//! future dropped before completion).

pub(crate) mod call;
pub(crate) mod callsite;
pub(crate) mod current;
pub(crate) mod details;
pub(crate) mod error;
pub(crate) mod finish;
pub(crate) mod future;
pub(crate) mod guard;
pub(crate) mod manual;
pub(crate) mod open;
pub(crate) mod stream;
