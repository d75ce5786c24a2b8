//! Not installed, an instrumented call does no OpenTelemetry work: no allocation,
//! no span, for sync and async functions alike. (A separate test binary: the
//! counting allocator is process-wide.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use genai_trace::genai_span;

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
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
    assert!(!genai_trace::is_enabled());
    let mut cx = Context::from_waker(Waker::noop());
    let before = ALLOCS.load(Ordering::Relaxed);
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
    let after = ALLOCS.load(Ordering::Relaxed);
    assert!(sum > 0);
    assert_eq!(after - before, 0, "allocations while telemetry is off");
    assert_eq!(genai_trace::current_trace_id(), None);
}
