//! Not installed, or sampled out, an instrumented call does no OpenTelemetry
//! work: no allocation, no span, for sync and async functions alike. (A
//! separate test binary: it installs a counting global allocator.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::task::{Context, Poll, Waker};

use genai_trace::genai_span;

struct Counting;

thread_local! {
    // Per thread: tests of this binary run in parallel; export threads are not the caller.
    static ALLOCS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn allocations() -> usize {
    ALLOCS.with(std::cell::Cell::get)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

#[genai_span(kind = "chat", provider = "openai", model = model, attrs(gen_ai.request.max_tokens = 256))]
fn chat(model: &str, x: u64) -> Result<u64, std::io::Error> {
    Ok(x + 1)
}

#[genai_span(kind = "execute_tool")]
async fn tool(x: u64) -> u64 {
    x + 1
}

#[test]
fn not_installed_means_no_allocation_and_no_span() {
    #[cfg(feature = "testing")]
    let _l = genai_trace::testing::exclusive(); // no other test of this binary installs meanwhile
    assert!(!genai_trace::is_enabled());
    let mut cx = Context::from_waker(Waker::noop());
    let before = allocations();
    let mut sum = 0;
    for i in 0..10_000 {
        sum += chat("gpt-4o", i).unwrap();
        let mut fut = std::pin::pin!(tool(i));
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(v) => sum += v,
            Poll::Pending => unreachable!(),
        }
        sum += genai_trace::span("manual").attribute("k", 1).in_scope(|| 1);
    }
    let after = allocations();
    assert!(sum > 0);
    assert_eq!(after - before, 0, "allocations while telemetry is off");
    assert_eq!(genai_trace::current_trace_id(), None);
}

#[genai_span(kind = "rag.step", attrs(n = x))]
fn step(x: u64) -> u64 {
    x + 1
}

#[cfg(feature = "testing")]
#[test]
fn sampled_out_means_no_allocation_and_no_span() {
    use genai_trace::{SamplerConfig, Telemetry};
    let _l = genai_trace::testing::exclusive();
    let mem = genai_trace::testing::memory_exporter();
    let guard = Telemetry::builder()
        .env_lookup(|_| None)
        .sampler(SamplerConfig::AlwaysOff)
        .with_exporter("memory", mem.clone())
        .install()
        .unwrap();
    let mut cx = Context::from_waker(Waker::noop());
    step(0); // warm the per-thread cache
    let before = allocations();
    for i in 0..10_000 {
        step(i);
        let mut fut = std::pin::pin!(tool(i));
        assert!(fut.as_mut().poll(&mut cx).is_ready());
        genai_trace::span("manual").in_scope(|| ());
    }
    assert_eq!(allocations() - before, 0, "allocations while sampled out");
    drop(guard);
    assert!(mem.spans().is_empty());
}
