//! The measured functions and the measuring tools of the peer comparison
//! (`benches/peers.rs`): every case wraps `black_box(x) + 1` and sets the same
//! three attributes (two static strings, one int).

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};

use genai_trace::genai_span;
use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer};
use opentelemetry::{Context as OtelContext, KeyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracer, SpanData, SpanExporter};

/// Counts every allocation of the process.
pub struct CountingAllocator;
/// Allocations so far.
pub static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) }
    }
}

/// CPU time of the whole process (all threads), in nanoseconds.
pub fn process_cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid pointer to a timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Polls a future that never waits, once: the one executor of every async case.
#[inline(always)]
pub fn poll_once<F: Future>(f: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!(),
    }
}

/// Exports into the void.
#[derive(Debug)]
pub struct Discard;

impl SpanExporter for Discard {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        black_box(batch);
        Ok(())
    }
}

/// Discards fastrace's span records.
pub struct DiscardReporter;

impl fastrace::collector::Reporter for DiscardReporter {
    fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
        black_box(spans);
    }
}

#[inline(never)]
pub fn plain(x: u64) -> u64 {
    black_box(x) + 1
}
#[inline(never)]
pub async fn plain_async(x: u64) -> u64 {
    black_box(x) + 1
}

#[genai_span(kind = "chat", provider = "openai", model = "gpt-4o", attrs(gen_ai.request.max_tokens = 256))]
#[inline(never)]
pub fn genai(x: u64) -> u64 {
    black_box(x) + 1
}
#[genai_span(kind = "chat", provider = "openai", model = "gpt-4o", attrs(gen_ai.request.max_tokens = 256))]
#[inline(never)]
pub async fn genai_async(x: u64) -> u64 {
    black_box(x) + 1
}

#[tracing::instrument(skip_all, name = "chat gpt-4o", fields(gen_ai.provider.name = "openai", gen_ai.request.model = "gpt-4o", gen_ai.request.max_tokens = 256u64))]
#[inline(never)]
pub fn traced(x: u64) -> u64 {
    black_box(x) + 1
}
#[tracing::instrument(skip_all, name = "chat gpt-4o", fields(gen_ai.provider.name = "openai", gen_ai.request.model = "gpt-4o", gen_ai.request.max_tokens = 256u64))]
#[inline(never)]
pub async fn traced_async(x: u64) -> u64 {
    black_box(x) + 1
}

#[fastrace::trace(name = "chat gpt-4o", properties = { "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.request.max_tokens": "256" })]
#[inline(never)]
pub fn fast(x: u64) -> u64 {
    black_box(x) + 1
}
#[fastrace::trace(name = "chat gpt-4o", properties = { "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.request.max_tokens": "256" })]
#[inline(never)]
pub async fn fast_async(x: u64) -> u64 {
    black_box(x) + 1
}

fn otel_attrs() -> [KeyValue; 3] {
    [
        KeyValue::new("gen_ai.provider.name", "openai"),
        KeyValue::new("gen_ai.request.model", "gpt-4o"),
        KeyValue::new("gen_ai.request.max_tokens", 256),
    ]
}

/// What a careful user writes by hand: a cached tracer, the attributes given to
/// the builder, the context attached while the body runs.
#[inline(never)]
pub fn otel_by_hand(tracer: &SdkTracer, x: u64) -> u64 {
    let span = tracer
        .span_builder("chat gpt-4o")
        .with_kind(SpanKind::Client)
        .with_attributes(otel_attrs())
        .start(tracer);
    let cx = OtelContext::current_with_span(span);
    let attached = cx.clone().attach();
    let r = black_box(x) + 1;
    drop(attached);
    cx.span().end();
    r
}

/// The async version: attached on every poll (OpenTelemetry's `FutureExt`).
#[inline(never)]
pub async fn otel_by_hand_async(tracer: &SdkTracer, x: u64) -> u64 {
    use opentelemetry::context::FutureExt as _;
    let span = tracer
        .span_builder("chat gpt-4o")
        .with_kind(SpanKind::Client)
        .with_attributes(otel_attrs())
        .start(tracer);
    let cx = OtelContext::current_with_span(span);
    let r = async { black_box(x) + 1 }.with_context(cx.clone()).await;
    cx.span().end();
    r
}
