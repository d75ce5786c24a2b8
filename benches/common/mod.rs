//! Shared by the benches: one inline "executor" and one discarding exporter,
//! so every case is measured the same way.

use std::future::Future;
use std::hint::black_box;
use std::task::{Context, Poll, Waker};

use genai_trace::opentelemetry_sdk::error::OTelSdkResult;
use genai_trace::opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// Polls a future that never waits, once, with a no-op waker.
#[inline(always)]
#[allow(dead_code)]
pub(crate) fn poll_once<F: Future>(f: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("the benchmarked futures never wait"),
    }
}

/// Exports into the void (the batch still crosses the export thread).
#[derive(Debug)]
pub(crate) struct Discard;

impl SpanExporter for Discard {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        black_box(batch);
        Ok(())
    }
}
