//! A recorded span costs two allocations, counted over every thread of the
//! process (the export thread included): the OpenTelemetry `Context` that
//! carries the span to its children, and the attribute vector of the exported
//! `SpanData`, built on the export thread. (A separate test binary: it installs
//! a counting global allocator and must be alone while counting.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};

use genai_trace::genai_span;
use genai_trace::opentelemetry_sdk::error::OTelSdkResult;
use genai_trace::opentelemetry_sdk::trace::{SpanData, SpanExporter};

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

/// Counts what it receives and checks the spans are whole, then drops them.
#[derive(Debug, Default, Clone)]
struct Checking(std::sync::Arc<AtomicU64>);

impl SpanExporter for Checking {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        for span in &batch {
            assert_eq!(span.name, "chat gpt-4o");
            assert_eq!(span.attributes.len(), 4, "{:?}", span.attributes);
            assert!(span.end_time >= span.start_time);
        }
        self.0.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

#[genai_span(kind = "chat", provider = "openai", model = "gpt-4o", attrs(gen_ai.request.max_tokens = 256))]
fn chat(x: u64) -> u64 {
    x + 1
}

#[genai_span(kind = "chat", provider = "openai", model = "gpt-4o", attrs(gen_ai.request.max_tokens = 256))]
async fn chat_async(x: u64) -> u64 {
    x + 1
}

fn poll_once<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!(),
    }
}

fn count(guard: &genai_trace::TelemetryGuard, exported: &Checking, calls: u64, call: fn(u64) -> u64) -> f64 {
    let run = |calls: u64| {
        let mut sum = 0;
        for i in 0..calls {
            sum += call(i);
            // Flushing now and then keeps the queue from overflowing (a drop
            // would skip the export thread's allocation and flatter the count).
            if i % 1000 == 999 {
                guard.flush().expect("flush");
            }
        }
        guard.flush().expect("flush");
        sum
    };
    run(2_000); // warm-up: thread-local pools, queue capacity, lazy statics
    let spans_before = exported.0.load(Ordering::Relaxed);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    std::hint::black_box(run(calls));
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    let spans = exported.0.load(Ordering::Relaxed) - spans_before;
    assert_eq!(spans, calls, "every span exported");
    allocations as f64 / spans as f64
}

#[test]
fn a_recorded_span_costs_two_allocations() {
    let exported = Checking::default();
    let guard = genai_trace::Telemetry::builder()
        .env_lookup(|_| None)
        .with_exporter("checking", exported.clone())
        .install()
        .expect("install");
    let sync = count(&guard, &exported, 20_000, chat);
    let async_ = count(&guard, &exported, 20_000, |i| poll_once(chat_async(i)));
    assert_eq!(genai_trace::health().spans_dropped(), 0);
    println!("allocations per span: {sync:.3} sync, {async_:.3} async");
    // Two per span, plus a few per export batch and per flush.
    assert!(sync <= 2.05, "{sync:.3} allocations per recorded sync span");
    assert!(async_ <= 2.05, "{async_:.3} allocations per recorded async span");
    drop(guard);
}
