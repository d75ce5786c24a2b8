//! Runs the recording case of the peer bench in a loop, for a profiler, and
//! prints the time per call next to the hand-written SDK code's (same process):
//!
//! cargo build --release -p genai-trace-perf --example profile_recording
//! perf record -e cpu-clock -g target/release/examples/profile_recording sync
//!
//! Argument: `sync` (default), `async`, or `both` (each, then the SDK's, three
//! rounds); second argument: calls per round (default 1,000,000).

use std::hint::black_box;
use std::time::Instant;

use genai_trace::{SamplerConfig, Telemetry};
use genai_trace_perf::{Discard, genai, genai_async, otel_by_hand, poll_once};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;

fn per_call(calls: u64, mut f: impl FnMut(u64) -> u64, flush: &dyn Fn()) -> f64 {
    // Time on the calling thread only: flushing now and then keeps the queues from
    // overflowing (a drop is cheaper than a queued span) and is not timed.
    let mut timed = std::time::Duration::ZERO;
    let mut done = 0;
    while done < calls {
        let n = (calls - done).min(1024);
        let start = Instant::now();
        for i in done..done + n {
            black_box(f(i));
        }
        timed += start.elapsed();
        done += n;
        flush();
    }
    timed.as_nanos() as f64 / calls as f64
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "sync".to_owned());
    let calls: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let rounds = if mode == "both" { 3 } else { 1 };
    for _ in 0..rounds {
        let guard = Telemetry::builder()
            .env_lookup(|_| None)
            .sampler(SamplerConfig::ParentBasedRatio(1.0))
            .with_exporter("discard", Discard)
            .install()
            .expect("install");
        let flush = || {
            let _ = guard.flush();
        };
        let ours = match mode.as_str() {
            "async" => per_call(calls, |i| poll_once(genai_async(i)), &flush),
            _ => per_call(calls, genai, &flush),
        };
        let health = genai_trace::health();
        drop(guard);
        print!(
            "{mode}: genai-trace {ours:.0} ns per call ({} exported, {} dropped)",
            health.spans_exported(),
            health.spans_dropped()
        );
        if mode == "both" {
            let provider = SdkTracerProvider::builder().with_batch_exporter(Discard).build();
            let tracer = provider.tracer("bench");
            let sdk = per_call(calls, |i| otel_by_hand(&tracer, i), &|| {
                let _ = provider.force_flush();
            });
            let _ = provider.shutdown();
            print!("; SDK by hand {sdk:.0} ns; ratio {:.2}", ours / sdk);
        }
        println!();
    }
}
