//! genai-trace vs its peers, one run: time per call (criterion), then
//! allocations and process CPU per call (all threads, export included) for
//! every case. See docs/performance.md for the results.
//!
//! cargo bench -p genai-trace-perf --bench peers

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use genai_trace::{SamplerConfig, Telemetry};
use genai_trace_perf::*;
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider as _,
};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

/// Allocations and CPU per call, measured outside criterion over `N` calls
/// (after `flush`, so background export work is counted).
const N: u64 = 200_000;

struct Row {
    case: String,
    allocs: f64,
    cpu_ns: f64,
}

fn measure(rows: &mut Vec<Row>, case: &str, f: &mut dyn FnMut() -> u64, flush: &dyn Fn()) {
    for _ in 0..1000 {
        black_box(f());
    }
    flush();
    let (a0, c0) = (ALLOCATIONS.load(std::sync::atomic::Ordering::Relaxed), process_cpu_ns());
    for _ in 0..N {
        black_box(f());
    }
    flush();
    let (a1, c1) = (ALLOCATIONS.load(std::sync::atomic::Ordering::Relaxed), process_cpu_ns());
    rows.push(Row {
        case: case.to_owned(),
        allocs: (a1 - a0) as f64 / N as f64,
        cpu_ns: (c1 - c0) as f64 / N as f64,
    });
}

fn case(c: &mut Criterion, rows: &mut Vec<Row>, name: &str, f: &mut dyn FnMut() -> u64, flush: &dyn Fn()) {
    c.bench_function(name, |b| b.iter(&mut *f));
    measure(rows, name, f, flush);
}

fn nothing() {}

fn unsampled_parent() -> opentelemetry::Context {
    let sc = SpanContext::new(
        TraceId::from(7u128),
        SpanId::from(7u64),
        TraceFlags::default(),
        false,
        TraceState::default(),
    );
    opentelemetry::Context::current().with_remote_span_context(sc)
}

fn genai_install(sampler: SamplerConfig) -> genai_trace::TelemetryGuard {
    Telemetry::builder()
        .env_lookup(|_| None)
        .sampler(sampler)
        .with_exporter("discard", Discard)
        .install()
        .expect("install")
}

fn genai_install_keeping_errors(sampler: SamplerConfig) -> genai_trace::TelemetryGuard {
    Telemetry::builder()
        .env_lookup(|_| None)
        .sampler(sampler)
        .keep_error_traces(true)
        .with_exporter("discard", Discard)
        .install()
        .expect("install")
}

fn bench(c: &mut Criterion) {
    let mut rows = Vec::new();
    let rows = &mut rows;

    // --- nothing installed ------------------------------------------------------
    case(c, rows, "sync/uninstrumented", &mut || plain(1), &nothing);
    case(
        c,
        rows,
        "async/uninstrumented",
        &mut || poll_once(plain_async(1)),
        &nothing,
    );
    case(c, rows, "sync/genai_span/not_installed", &mut || genai(1), &nothing);
    case(
        c,
        rows,
        "async/genai_span/not_installed",
        &mut || poll_once(genai_async(1)),
        &nothing,
    );
    case(c, rows, "sync/tracing/no_subscriber", &mut || traced(1), &nothing);
    case(
        c,
        rows,
        "async/tracing/no_subscriber",
        &mut || poll_once(traced_async(1)),
        &nothing,
    );
    case(c, rows, "sync/fastrace/no_root", &mut || fast(1), &nothing);
    case(
        c,
        rows,
        "async/fastrace/no_root",
        &mut || poll_once(fast_async(1)),
        &nothing,
    );

    // --- genai-trace installed, sampled out -------------------------------------
    let guard = genai_install(SamplerConfig::AlwaysOff);
    case(c, rows, "sync/genai_span/always_off", &mut || genai(1), &nothing);
    case(
        c,
        rows,
        "async/genai_span/always_off",
        &mut || poll_once(genai_async(1)),
        &nothing,
    );
    drop(guard);
    let guard = genai_install(SamplerConfig::ParentBasedRatio(1.0));
    {
        let _parent = unsampled_parent().attach();
        case(c, rows, "sync/genai_span/unsampled_parent", &mut || genai(1), &nothing);
        case(
            c,
            rows,
            "async/genai_span/unsampled_parent",
            &mut || poll_once(genai_async(1)),
            &nothing,
        );
    }
    drop(guard);
    // --- error-keeping sampling: a sampled-out root, switch off vs on -----------------
    // A ratio so small no root is sampled, but not 0 (which skips before any work).
    let ratio = SamplerConfig::ParentBasedRatio(1e-12);
    let guard = genai_install(ratio);
    case(c, rows, "sync/genai_span/ratio_sampled_out", &mut || genai(1), &nothing);
    drop(guard);
    let guard = genai_install_keeping_errors(ratio);
    // Each call is a local root: held, then dropped at its end (it did not fail).
    case(
        c,
        rows,
        "sync/genai_span/ratio_sampled_out/keep_errors",
        &mut || genai(1),
        &nothing,
    );
    {
        let _parent = unsampled_parent().attach();
        case(
            c,
            rows,
            "sync/genai_span/unsampled_parent/keep_errors",
            &mut || genai(1),
            &nothing,
        );
    }
    let held = genai_trace::health().held_traces;
    drop(guard);
    let guard = genai_install(SamplerConfig::ParentBasedRatio(1.0));
    // --- genai-trace recording -----------------------------------------------------
    let flush = || {
        let _ = guard.flush();
    };
    case(c, rows, "sync/genai_span/recording", &mut || genai(1), &flush);
    case(
        c,
        rows,
        "async/genai_span/recording",
        &mut || poll_once(genai_async(1)),
        &flush,
    );
    let health = genai_trace::health();
    drop(guard);

    // --- hand-written OpenTelemetry SDK code, batch processor, discarding exporter --
    let provider = SdkTracerProvider::builder().with_batch_exporter(Discard).build();
    let tracer = provider.tracer("bench");
    let flush = || {
        let _ = provider.force_flush();
    };
    case(
        c,
        rows,
        "sync/otel_sdk/by_hand",
        &mut || otel_by_hand(&tracer, 1),
        &flush,
    );
    case(
        c,
        rows,
        "async/otel_sdk/by_hand",
        &mut || poll_once(otel_by_hand_async(&tracer, 1)),
        &flush,
    );

    // --- tracing + tracing-opentelemetry to the same kind of pipeline -----------------
    let layer_tracer = provider.tracer("tracing-opentelemetry");
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(layer_tracer)),
    );
    tracing::dispatcher::with_default(&dispatch, || {
        case(c, rows, "sync/tracing/tracing_opentelemetry", &mut || traced(1), &flush);
        case(
            c,
            rows,
            "async/tracing/tracing_opentelemetry",
            &mut || poll_once(traced_async(1)),
            &flush,
        );
    });
    let _ = provider.shutdown();

    // --- fastrace with a discarding reporter (spans under a root per 10,000 calls) -----
    fastrace::set_reporter(DiscardReporter, fastrace::collector::Config::default());
    let chunked = |f: fn() -> u64| {
        move |iters: u64| {
            let start = Instant::now();
            let mut left = iters;
            while left > 0 {
                let n = left.min(10_000);
                let root = fastrace::Span::root("root", fastrace::collector::SpanContext::random());
                {
                    let _g = root.set_local_parent();
                    for _ in 0..n {
                        black_box(f());
                    }
                }
                drop(root);
                left -= n;
            }
            start.elapsed()
        }
    };
    let flush_fastrace = || fastrace::flush();
    for (name, f) in [
        ("sync/fastrace/reporter", (|| fast(1)) as fn() -> u64),
        ("async/fastrace/reporter", || poll_once(fast_async(1))),
    ] {
        c.bench_function(name, |b| b.iter_custom(chunked(f)));
        let root = fastrace::Span::root("root", fastrace::collector::SpanContext::random());
        let g = root.set_local_parent();
        measure(rows, name, &mut || f(), &nothing);
        drop(g);
        drop(root);
        flush_fastrace();
    }

    // --- allocations and CPU per call ------------------------------------------------------
    println!("\n| case | allocations per call | process CPU per call (ns, all threads) |");
    println!("|---|---|---|");
    for r in rows.iter() {
        println!("| {} | {:.2} | {:.0} |", r.case, r.allocs, r.cpu_ns);
    }
    println!(
        "\ngenai-trace recording: {} spans started, {} exported, {} dropped (counted)",
        health.spans_started,
        health.spans_exported(),
        health.spans_dropped()
    );
    println!(
        "error-keeping sampling: {} traces held and dropped, {} kept, {} not held (cap)",
        held.sampled_out, held.kept, held.not_held
    );
    std::thread::sleep(Duration::from_millis(100));
}

criterion_group!(benches, bench);
criterion_main!(benches);
