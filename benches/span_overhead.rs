//! Cost of one instrumented call: uninstrumented vs `#[genai_span]` with
//! telemetry not installed vs recording to a discarding exporter, sync and async.
//! Each function computes `black_box(x) + 1` and sets 3 attributes (two static
//! strings, one int). Async cases are polled once inline with a no-op waker, the
//! same "executor" for every case.
//!
//! ```text
//! cargo bench --bench span_overhead --features testing
//! ```
// criterion_group! generates an undocumented function.
#![allow(missing_docs)]

use std::hint::black_box;

mod common;
use common::{Discard, poll_once};
use criterion::{Criterion, criterion_group, criterion_main};
use genai_trace::{Telemetry, genai_span};

#[inline(never)]
fn plain(x: u64) -> u64 {
    black_box(x) + 1
}

// The uninstrumented baseline of an async fn: nothing to await on purpose.
#[allow(clippy::unused_async)]
#[inline(never)]
async fn plain_async(x: u64) -> u64 {
    black_box(x) + 1
}

#[genai_span(kind = "chat", provider = "openai", model = "gpt-4o", attrs(gen_ai.request.max_tokens = 256))]
#[inline(never)]
fn traced(x: u64) -> u64 {
    black_box(x) + 1
}

#[genai_span(kind = "chat", provider = "openai", model = "gpt-4o", attrs(gen_ai.request.max_tokens = 256))]
#[inline(never)]
async fn traced_async(x: u64) -> u64 {
    black_box(x) + 1
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("sync");
    g.bench_function("uninstrumented", |b| b.iter(|| plain(black_box(1))));
    g.bench_function("genai_span/not_installed", |b| b.iter(|| traced(black_box(1))));
    g.finish();
    let mut g = c.benchmark_group("async");
    g.bench_function("uninstrumented", |b| b.iter(|| poll_once(plain_async(black_box(1)))));
    g.bench_function("genai_span/not_installed", |b| {
        b.iter(|| poll_once(traced_async(black_box(1))));
    });
    g.finish();

    let guard = Telemetry::builder()
        .env_lookup(|_| None)
        .with_exporter("discard", Discard)
        .install()
        .expect("install");
    let mut g = c.benchmark_group("sync");
    g.bench_function("genai_span/recording", |b| b.iter(|| traced(black_box(1))));
    g.finish();
    let mut g = c.benchmark_group("async");
    g.bench_function("genai_span/recording", |b| {
        b.iter(|| poll_once(traced_async(black_box(1))));
    });
    g.finish();
    let health = genai_trace::health();
    drop(guard);
    eprintln!(
        "recorded spans: started {}, exported {}, dropped {}",
        health.spans_started,
        health.spans_exported(),
        health.spans_dropped()
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
