//! Runs the recording case of the peer bench in a loop, for a profiler:
//!
//! cargo build --release -p genai-trace-perf --example profile_recording
//! perf record -e cpu-clock -g target/release/examples/profile_recording sync
//!
//! Argument: `sync` (default) or `async`; second argument: calls (default 5,000,000).

use std::hint::black_box;

use genai_trace::{SamplerConfig, Telemetry};
use genai_trace_perf::{Discard, genai, genai_async, poll_once};

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "sync".to_owned());
    let calls: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5_000_000);
    let guard = Telemetry::builder()
        .env_lookup(|_| None)
        .sampler(SamplerConfig::ParentBasedRatio(1.0))
        .with_exporter("discard", Discard)
        .install()
        .expect("install");
    let start = std::time::Instant::now();
    for i in 0..calls {
        if mode == "async" {
            black_box(poll_once(genai_async(i)));
        } else {
            black_box(genai(i));
        }
    }
    let elapsed = start.elapsed();
    let _ = guard.flush();
    let health = genai_trace::health();
    println!(
        "{mode}: {:.0} ns per call; {} exported, {} dropped",
        elapsed.as_nanos() as f64 / calls as f64,
        health.spans_exported(),
        health.spans_dropped()
    );
}
