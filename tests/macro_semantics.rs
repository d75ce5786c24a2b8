//! Errors, panics, cancellation, async context and the manual helpers.
#![cfg(feature = "testing")]

use std::borrow::Cow;
use std::time::Duration;

use genai_trace::opentelemetry::trace::Status;
use genai_trace::testing::{TestTelemetry, attribute};
use genai_trace::{ErrorType, genai_span};

#[derive(Debug)]
enum ApiError {
    RateLimited,
}
impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("rate limited, retry later")
    }
}
impl ErrorType for ApiError {
    fn error_type(&self) -> Cow<'static, str> {
        "rate_limited".into()
    }
}

#[genai_span(kind = "chat", model = "m")]
fn fails_with_class() -> Result<u32, ApiError> {
    Err(ApiError::RateLimited)
}

#[derive(Debug)]
struct DebugOnly(#[allow(dead_code)] u8);

#[genai_span]
fn fails_debug_only() -> Result<(), DebugOnly> {
    Err(DebugOnly(7))
}

struct Opaque;

#[genai_span]
fn fails_opaque() -> Result<(), Opaque> {
    Err(Opaque)
}

#[genai_span]
fn panics_sync() -> u32 {
    panic!("boom")
}

#[genai_span]
async fn panics_async() -> u32 {
    tokio::task::yield_now().await;
    panic!("async boom")
}

#[genai_span(kind = "rag.retrieve")]
async fn slow() -> u32 {
    tokio::time::sleep(Duration::from_secs(10)).await;
    1
}

#[genai_span(kind = "invoke_agent", attrs(gen_ai.agent.name = "root"))]
async fn parent() -> u32 {
    let (a, b) = tokio::join!(child(1), child(2));
    let c = tokio::select! {
        v = child(3) => v,
        () = tokio::time::sleep(Duration::from_secs(5)) => 0,
    };
    genai_trace::set_attribute("answer", i64::from(a + b + c));
    genai_trace::add_event("progress", vec![opentelemetry::KeyValue::new("step", 1)]);
    a + b + c
}

#[genai_span(attrs(n = n))]
async fn child(n: u32) -> u32 {
    tokio::task::yield_now().await;
    grandchild(n)
}

#[genai_span]
fn grandchild(n: u32) -> u32 {
    n
}

#[test]
fn error_status_type_and_exception_event() {
    let t = TestTelemetry::install();
    let _ = fails_with_class();
    let _ = fails_debug_only();
    let _ = fails_opaque();
    let s = t.span("chat m");
    assert_eq!(s.status, Status::error("rate limited, retry later"));
    assert_eq!(attribute(&s, "error.type").unwrap().as_str(), "rate_limited");
    let ev = s
        .events
        .iter()
        .find(|e| e.name == "exception")
        .expect("exception event");
    let ev_attr = |k: &str| {
        ev.attributes
            .iter()
            .find(|kv| kv.key.as_str() == k)
            .map(|kv| kv.value.as_str().to_string())
    };
    assert_eq!(ev_attr("exception.type").as_deref(), Some("macro_semantics::ApiError"));
    assert_eq!(
        ev_attr("exception.message").as_deref(),
        Some("rate limited, retry later")
    );

    let s = t.span("fails_debug_only");
    assert_eq!(s.status, Status::error("DebugOnly(7)"));
    assert_eq!(
        attribute(&s, "error.type").unwrap().as_str(),
        "macro_semantics::DebugOnly"
    );
    let s = t.span("fails_opaque");
    assert!(matches!(s.status, Status::Error { .. }));
    assert_eq!(attribute(&s, "error.type").unwrap().as_str(), "macro_semantics::Opaque");
}

#[test]
fn a_panic_ends_the_span_with_an_error_and_keeps_unwinding() {
    let t = TestTelemetry::install();
    let caught = std::panic::catch_unwind(panics_sync);
    assert!(caught.is_err(), "the panic must propagate");
    let s = t.span("panics_sync");
    assert_eq!(s.status, Status::error("panicked"));
    assert_eq!(attribute(&s, "error.type").unwrap().as_str(), "panic");
}

#[tokio::test]
async fn an_async_panic_is_recorded_as_a_panic_not_a_cancellation() {
    let t = TestTelemetry::install();
    let joined = tokio::spawn(panics_async()).await;
    assert!(joined.unwrap_err().is_panic());
    let s = t.span("panics_async");
    assert_eq!(attribute(&s, "error.type").unwrap().as_str(), "panic");
    assert!(attribute(&s, "genai_trace.cancelled").is_none());
}

#[tokio::test]
async fn a_dropped_future_ends_its_span_once_as_cancelled() {
    let t = TestTelemetry::install();
    let r = tokio::time::timeout(Duration::from_millis(20), slow()).await;
    assert!(r.is_err());
    let spans = t.spans();
    assert_eq!(spans.len(), 1, "exactly once");
    assert_eq!(spans[0].name, "rag.retrieve");
    assert_eq!(attribute(&spans[0], "genai_trace.cancelled").unwrap(), &true.into());
    assert_eq!(spans[0].status, Status::Unset);
    // Never polled: no span at all (an async fn's span starts at its first poll).
    drop(slow());
    assert_eq!(t.spans().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_in_join_select_and_nested_calls_get_the_right_parent() {
    let t = TestTelemetry::install();
    assert_eq!(parent().await, 6);
    let spans = t.spans();
    let root = spans.iter().find(|s| s.name == "invoke_agent root").unwrap();
    let children: Vec<_> = spans.iter().filter(|s| s.name == "child").collect();
    assert_eq!(children.len(), 3);
    for c in &children {
        assert_eq!(c.parent_span_id, root.span_context.span_id(), "child of the agent");
        assert_eq!(c.span_context.trace_id(), root.span_context.trace_id());
    }
    for g in spans.iter().filter(|s| s.name == "grandchild") {
        assert!(children.iter().any(|c| c.span_context.span_id() == g.parent_span_id));
    }
    assert_eq!(attribute(root, "answer").unwrap(), &6i64.into());
    assert!(root.events.iter().any(|e| e.name == "progress"));
    // Outside any span, no current ids.
    assert_eq!(genai_trace::current_trace_id(), None);
}

#[test]
fn manual_helpers() {
    let t = TestTelemetry::install();
    let (trace, span_id) = genai_trace::span("manual").attribute("k", "v").in_scope(|| {
        let inner = genai_trace::span("inner").enter();
        inner.set_attribute("x", 1);
        inner.record_error(&std::io::Error::other("disk full"));
        drop(inner);
        (
            genai_trace::current_trace_id().unwrap(),
            genai_trace::current_span_id().unwrap(),
        )
    });
    let outer = t.span("manual");
    assert_eq!(outer.span_context.trace_id().to_string(), trace);
    assert_eq!(outer.span_context.span_id().to_string(), span_id);
    let inner = t.span("inner");
    assert_eq!(inner.parent_span_id, outer.span_context.span_id());
    assert_eq!(inner.status, Status::error("disk full"));
    assert_eq!(
        attribute(&inner, "error.type").unwrap().as_str(),
        "std::io::error::Error"
    );
}

#[tokio::test]
async fn manual_future_instrumentation() {
    let t = TestTelemetry::install();
    let v = genai_trace::span("work").instrument(async { child(5).await }).await;
    assert_eq!(v, 5);
    let work = t.span("work");
    assert_eq!(t.span("child").parent_span_id, work.span_context.span_id());
}

#[test]
fn sampled_out_spans_are_not_recorded() {
    let t = TestTelemetry::install_with(|b| b.sampler(genai_trace::SamplerConfig::AlwaysOff));
    assert_eq!(grandchild(1), 1);
    assert!(t.spans().is_empty());
    assert_eq!(genai_trace::health().spans_started, 0);
}

#[genai_span(kind = "invoke_agent", attrs(gen_ai.agent.name = "sampled"))]
fn sampled_root(i: u64) -> u64 {
    sampled_child(i) + sampled_child(i + 1)
}

#[genai_span(kind = "execute_tool", attrs(gen_ai.tool.name = "lookup"))]
fn sampled_child(i: u64) -> u64 {
    i
}

#[test]
fn ratio_sampling_keeps_traces_whole() {
    // A child inherits its root's decision: no trace loses its root, and no
    // child of a dropped root is sampled again as a root of its own.
    let t = TestTelemetry::install_with(|b| b.sampler(genai_trace::SamplerConfig::ParentBasedRatio(0.5)));
    for i in 0..400 {
        sampled_root(i);
    }
    let spans = t.spans();
    let roots: Vec<_> = spans.iter().filter(|s| s.name == "invoke_agent sampled").collect();
    let children: Vec<_> = spans.iter().filter(|s| s.name == "execute_tool lookup").collect();
    assert!(
        (100..=300).contains(&roots.len()),
        "{} of 400 roots sampled",
        roots.len()
    );
    assert_eq!(children.len(), 2 * roots.len());
    for c in &children {
        assert!(
            roots.iter().any(|r| r.span_context.span_id() == c.parent_span_id
                && r.span_context.trace_id() == c.span_context.trace_id()),
            "a child without its root"
        );
    }
    assert_eq!(genai_trace::health().spans_started, spans.len() as u64);
}

#[genai_span]
fn writes_around_a_foreign_span() {
    use genai_trace::opentelemetry::trace::{Tracer, TracerProvider};
    genai_trace::set_attribute("where", "ours, before");
    // Code using the OpenTelemetry API directly (through the installed provider).
    let tracer = opentelemetry::global::tracer_provider().tracer("foreign");
    tracer.in_span("foreign", |_| genai_trace::set_attribute("where", "foreign"));
    genai_trace::add_event("after", vec![]);
}

#[test]
fn current_span_functions_reach_the_innermost_span() {
    let t = TestTelemetry::install();
    writes_around_a_foreign_span();
    let ours = t.span("writes_around_a_foreign_span");
    let foreign = t.span("foreign");
    assert_eq!(foreign.parent_span_id, ours.span_context.span_id());
    assert_eq!(attribute(&ours, "where").unwrap().as_str(), "ours, before");
    assert_eq!(attribute(&foreign, "where").unwrap().as_str(), "foreign");
    assert!(ours.events.iter().any(|e| e.name == "after"));

    // Entered spans dropped out of order: each ends once, nothing is written to
    // a span that has ended, nothing panics.
    let a = genai_trace::span("a").enter();
    let b = genai_trace::span("b").enter();
    drop(a);
    genai_trace::set_attribute("late", 1);
    drop(b);
    genai_trace::set_attribute("later", 2);
    let (a, b) = (t.span("a"), t.span("b"));
    assert_eq!(b.parent_span_id, a.span_context.span_id());
    assert!(attribute(&a, "late").is_none() && attribute(&a, "later").is_none());
    assert_eq!(attribute(&b, "late").unwrap(), &1i64.into());
}
