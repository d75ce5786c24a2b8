//! The current call of this thread: how `set_attribute` and friends find the
//! span to write to, since our spans sit in the OpenTelemetry context only as a
//! span context.

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, ContextGuard};

use crate::span::call::CallState;

// --- the current call of this thread ---------------------------------------------

thread_local! {
    /// Own-span calls attached on this thread, innermost last. Our spans are in
    /// the OpenTelemetry context only as a span context (no recording span object:
    /// that would cost two more allocations per span), so `set_attribute` and
    /// friends find the span to write to here, checked against the context.
    pub(super) static CURRENT_CALLS: RefCell<Vec<Arc<CallState>>> = const { RefCell::new(Vec::new()) };
}

/// The call whose span is the current context's span, when it is an own span.
pub(super) fn current_call() -> Option<Arc<CallState>> {
    let current = Context::map_current(|cx| cx.span().span_context().span_id());
    CURRENT_CALLS
        .try_with(|c| c.borrow().last().filter(|call| call.span_id == current).cloned())
        .ok()
        .flatten()
}

/// A call made current on this thread by [`SpanGuard::attach`](crate::span::guard::SpanGuard::attach); detached on drop.
#[doc(hidden)]
pub struct Attached {
    pub(super) _cx: ContextGuard,
    /// Identifies this call's entry in the current-call stack (never dereferenced).
    pub(super) call: Option<*const CallState>,
}

impl fmt::Debug for Attached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attached").finish_non_exhaustive()
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        let Some(call) = self.call else { return };
        let removed = CURRENT_CALLS
            .try_with(|c| {
                let mut c = c.borrow_mut();
                let at = c.iter().rposition(|s| Arc::as_ptr(s) == call)?;
                Some(c.remove(at))
            })
            .ok()
            .flatten();
        drop(removed); // outside the borrow: it may be the call's last reference
    }
}
