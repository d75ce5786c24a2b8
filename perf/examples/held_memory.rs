//! What error-keeping sampling holds in memory: the live heap bytes per held
//! span (the benchmark's chat span: operation, provider, model, max tokens),
//! and the bound the default caps put on it. See docs/sampling.md.
//!
//! cargo run --release -p genai-trace-perf --example held_memory

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use genai_trace::{SamplerConfig, Telemetry};
use genai_trace_perf::{Discard, genai};

/// Live heap bytes of the process.
struct LiveBytes;
static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator, only counting.
unsafe impl GlobalAlloc for LiveBytes {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's layout, passed on.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: `p` came from `alloc` with this layout.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static ALLOC: LiveBytes = LiveBytes;

const SPANS: usize = 10_000;

fn main() {
    let guard = Telemetry::builder()
        .env_lookup(|_| None)
        .sampler(SamplerConfig::ParentBasedRatio(1e-12))
        .keep_error_traces(true)
        .max_spans_per_held_trace(SPANS + 2)
        .with_exporter("discard", Discard)
        .install()
        .expect("install");
    let root = genai_trace::span("request").enter();
    genai(0); // warm the per-thread pools
    let before = LIVE.load(Ordering::Relaxed);
    for i in 0..SPANS {
        std::hint::black_box(genai(i as u64));
    }
    let held = LIVE.load(Ordering::Relaxed) - before;
    drop(root);
    let after = LIVE.load(Ordering::Relaxed) - before;
    let per_span = held as f64 / SPANS as f64;
    println!("held {SPANS} spans in one trace: {held} bytes live, {per_span:.0} bytes per held span");
    println!("after the root ended (no failure, dropped): {after} bytes live");
    println!(
        "default caps (256 traces x 128 spans = 32,768 spans): at most {:.1} MiB of such spans",
        32_768.0 * per_span / (1024.0 * 1024.0)
    );
    println!("{:?}", genai_trace::health().held_traces);
    drop(guard);
}
