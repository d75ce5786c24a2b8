//! Futures and bodies run inside a span: the span's context attached for every
//! poll (or for the sync body), the outcome recorded, the span ended once.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use crate::base::diag;
use crate::span::guard::SpanGuard;

pin_project_lite::pin_project! {
    /// A future run inside a span: the span's context is attached for every poll
    /// and detached after it. On completion `record` sees the output (the macro
    /// passes a function that records `Err`s), then the span ends; dropped
    /// early, the span ends as cancelled.
    #[doc(hidden)]
    pub struct Instrumented<F>
    where
        F: Future,
    {
        #[pin]
        inner: F,
        guard: SpanGuard,
        record: fn(&F::Output, &mut SpanGuard),
    }
}

impl<F: Future> Instrumented<F> {
    /// Wraps `inner` in the span of `guard`; `record` runs on the output before the span ends.
    #[inline]
    pub fn new(inner: F, guard: SpanGuard, record: fn(&F::Output, &mut SpanGuard)) -> Self {
        Self { inner, guard, record }
    }
}

/// Ends the span as a panic if the inner poll unwinds. Executors such as Tokio
/// catch the panic and drop the future later, when `panicking()` is false again:
/// without this the span would be recorded as cancelled.
struct PanicSentinel<'a>(&'a mut SpanGuard);

impl Drop for PanicSentinel<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.end_abnormally();
        }
    }
}

impl<F: Future> Future for Instrumented<F> {
    type Output = F::Output;

    // Out of line: only recorded calls get here (the expansion awaits the bare
    // body otherwise), and inlined it made the caller's state machine too large
    // to be inlined where it is polled.
    #[inline(never)]
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if !this.guard.is_active() {
            // Not recording: nothing to attach, record or end.
            return this.inner.poll(cx);
        }
        poll_recording(this.inner, this.guard, *this.record, cx)
    }
}

fn poll_recording<F: Future>(
    inner: Pin<&mut F>,
    guard: &mut SpanGuard,
    record: fn(&F::Output, &mut SpanGuard),
    cx: &mut TaskContext<'_>,
) -> Poll<F::Output> {
    let attached = guard.attach();
    let sentinel = PanicSentinel(guard);
    let polled = inner.poll(cx);
    // Detached before ending: the guard then holds the call's only reference,
    // and its state goes back to the pool.
    drop(attached);
    match polled {
        Poll::Ready(out) => {
            diag::guarded("the recording of a call's outcome", || record(&out, &mut *sentinel.0));
            sentinel.0.end_recording();
            Poll::Ready(out)
        }
        Poll::Pending => Poll::Pending,
    }
}

pin_project_lite::pin_project! {
    /// Like [`Instrumented`], but hands the still-open guard back with the output:
    /// for `async fn`s that return a stream, whose span lasts as long as the stream.
    #[doc(hidden)]
    pub struct InstrumentedThen<F> {
        #[pin]
        inner: F,
        guard: SpanGuard,
    }
}

impl<F: Future> InstrumentedThen<F> {
    /// Wraps `inner` in the span of `guard`.
    pub fn new(inner: F, guard: SpanGuard) -> Self {
        Self { inner, guard }
    }
}

impl<F: Future> Future for InstrumentedThen<F> {
    type Output = (F::Output, SpanGuard);

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _attached = this.guard.attach();
        let sentinel = PanicSentinel(this.guard);
        match this.inner.poll(cx) {
            Poll::Ready(out) => Poll::Ready((out, std::mem::replace(sentinel.0, SpanGuard::NONE))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The `record` of futures whose output is not inspected.
#[doc(hidden)]
pub fn record_nothing<T>(_: &T, _: &mut SpanGuard) {}

/// The recording path of a sync function: attach, run the body, record its
/// outcome, end. Out of line, so that the path through an instrumented function
/// when nothing is recorded stays as small as the function itself.
#[doc(hidden)]
#[inline(never)]
pub fn run_recorded<R>(mut guard: SpanGuard, body: impl FnOnce() -> R, record: impl FnOnce(&R, &mut SpanGuard)) -> R {
    let ret = {
        // Detached before ending: the guard then holds the call's only reference,
        // and its state goes back to the pool.
        let _attached = guard.attach();
        body()
    };
    diag::guarded("the recording of a call's outcome", || record(&ret, &mut guard));
    guard.end();
    ret
}

/// Returns `f`: bound through it, the body closure is inferred as `FnOnce`, so
/// bodies may return borrows of moved-in references.
#[doc(hidden)]
#[inline(always)]
pub fn body_once<R, F: FnOnce() -> R>(f: F) -> F {
    f
}

/// Calls `f` once. Passing the body as an `FnOnce` makes rustc infer the
/// closure as `FnOnce`, so bodies may return borrows of moved-in references.
#[doc(hidden)]
#[inline(always)]
pub fn call_once<R>(f: impl FnOnce() -> R) -> R {
    f()
}
