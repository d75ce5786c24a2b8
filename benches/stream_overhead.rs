//! Per-chunk cost of the stream recorder: a bare stream vs the same stream
//! wrapped by `#[genai_span]` with telemetry off, and recording (a discarding
//! exporter). Each iteration consumes 1,000 ready chunks that record a text
//! delta (content capture off, as by default); the stream is created in the
//! untimed setup, so the figure is per chunk (plus 1/1000 of the end-of-stream
//! summary).
//!
//! ```text
//! cargo bench --bench stream_overhead --features testing
//! ```
// criterion_group! generates an undocumented function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

mod common;
use common::Discard;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use futures::{Stream, stream};
use genai_trace::{ChunkRecorder, RecordChunk, Telemetry, genai_span};

const CHUNKS: u64 = 1000;

#[derive(Clone, Copy)]
struct Delta(u64);

impl RecordChunk for Delta {
    #[inline]
    fn record_chunk(&self, c: &mut ChunkRecorder<'_>) {
        c.text_delta("tok");
    }
}

fn bare() -> impl Stream<Item = Delta> {
    stream::iter((0..CHUNKS).map(Delta))
}

#[genai_span(kind = "chat", provider = "openai", model = "gpt-4o")]
fn traced() -> impl Stream<Item = Delta> {
    stream::iter((0..CHUNKS).map(Delta))
}

fn drain<S: Stream<Item = Delta>>(s: S) -> u64 {
    let mut cx = Context::from_waker(Waker::noop());
    let mut s = std::pin::pin!(s);
    let mut sum = 0;
    while let Poll::Ready(Some(d)) = Pin::as_mut(&mut s).poll_next(&mut cx) {
        sum += black_box(d.0);
    }
    sum
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("stream_per_chunk");
    g.throughput(Throughput::Elements(CHUNKS));
    g.bench_function("bare", |b| b.iter_batched(bare, drain, BatchSize::SmallInput));
    g.bench_function("genai_span/not_installed", |b| {
        b.iter_batched(traced, drain, BatchSize::SmallInput);
    });
    let guard = Telemetry::builder()
        .env_lookup(|_| None)
        .with_exporter("discard", Discard)
        .install()
        .expect("install");
    g.bench_function("genai_span/recording", |b| {
        b.iter_batched(traced, drain, BatchSize::SmallInput);
    });
    drop(guard);
    // With GenAI metrics on: each chunk after the first is one
    // `time_per_output_chunk` recording (a clock read per chunk, the
    // histogram records at the stream's end).
    let meters = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
        .with_reader(
            opentelemetry_sdk::metrics::PeriodicReader::builder(
                opentelemetry_sdk::metrics::InMemoryMetricExporter::default(),
            )
            .build(),
        )
        .build();
    let guard = Telemetry::builder()
        .env_lookup(|_| None)
        .with_exporter("discard", Discard)
        .meter_provider(meters)
        .install()
        .expect("install");
    g.bench_function("genai_span/recording_with_metrics", |b| {
        b.iter_batched(traced, drain, BatchSize::SmallInput);
    });
    drop(guard);
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
