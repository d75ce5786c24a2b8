//! Error-keeping sampling (`GENAI_TRACE_KEEP_ERROR_TRACES`): traces the sampler
//! drops at their local root are held until the root ends, and exported whole
//! when a span failed (or the root ran too long); otherwise dropped. Bounded by
//! the caps, with remote parents deciding for their traces.
#![cfg(feature = "testing")]

use std::collections::HashMap;
use std::time::Duration;

use genai_trace::opentelemetry::trace::TraceContextExt;
use genai_trace::testing::{TestTelemetry, attribute};
use genai_trace::{HeldTraceHealth, SamplerConfig, genai_span, health};

#[derive(Debug)]
struct ToolFailed;

impl std::fmt::Display for ToolFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the tool failed")
    }
}

impl std::error::Error for ToolFailed {}

#[genai_span(kind = "invoke_agent", attrs(gen_ai.agent.name = "planner"))]
fn agent(fail: bool) -> Result<(), ToolFailed> {
    chat();
    // The agent recovers: only the tool's span fails.
    let _ = tool(fail);
    Ok(())
}

#[genai_span(kind = "chat", provider = "openai", model = "gpt-4o")]
fn chat() {}

#[genai_span(kind = "execute_tool", attrs(gen_ai.tool.name = "search"))]
fn tool(fail: bool) -> Result<(), ToolFailed> {
    if fail { Err(ToolFailed) } else { Ok(()) }
}

/// Installs with a sampler that samples no root, and error-keeping on.
fn keeping(configure: impl FnOnce(genai_trace::TelemetryBuilder) -> genai_trace::TelemetryBuilder) -> TestTelemetry {
    TestTelemetry::install_with(|b| configure(b.sampler(SamplerConfig::ParentBasedRatio(0.0)).keep_error_traces(true)))
}

fn names(t: &TestTelemetry) -> Vec<String> {
    let mut n: Vec<String> = t.spans().iter().map(|s| s.name.to_string()).collect();
    n.sort();
    n
}

#[test]
fn a_trace_with_a_failed_span_is_kept_whole() {
    let t = keeping(|b| b);
    agent(true).unwrap();
    let spans = t.spans();
    assert_eq!(
        names(&t),
        ["chat gpt-4o", "execute_tool search", "invoke_agent planner"],
        "the whole trace, though the sampler dropped it"
    );
    let root = spans.iter().find(|s| s.name == "invoke_agent planner").unwrap();
    for s in &spans {
        assert_eq!(s.span_context.trace_id(), root.span_context.trace_id());
        assert!(s.span_context.is_sampled(), "a kept span is exported as sampled");
    }
    let chat = spans.iter().find(|s| s.name == "chat gpt-4o").unwrap();
    let tool = spans.iter().find(|s| s.name == "execute_tool search").unwrap();
    assert_eq!(chat.parent_span_id, root.span_context.span_id());
    assert_eq!(tool.parent_span_id, root.span_context.span_id());
    assert_eq!(
        attribute(tool, "error.type").unwrap().as_str(),
        "keep_error_traces::ToolFailed"
    );
    let h = health();
    assert_eq!(
        h.held_traces,
        HeldTraceHealth {
            kept: 1,
            ..HeldTraceHealth::default()
        }
    );
    assert_eq!(h.spans_started, 3, "kept spans count as started");
}

#[test]
fn a_trace_without_failure_is_dropped_and_counted_but_its_metrics_stay() {
    let t = keeping(|b| b);
    agent(false).unwrap();
    agent(false).unwrap();
    assert!(t.spans().is_empty());
    let h = health();
    assert_eq!(h.held_traces.sampled_out, 2);
    assert_eq!(h.held_traces.held, 0);
    assert_eq!(h.spans_started, 0);
    // Every call is in the duration metric, sampled or not.
    let chats: u64 = t
        .histogram("gen_ai.client.operation.duration")
        .iter()
        .filter(|p| {
            p.attributes
                .iter()
                .any(|(k, v)| k == "gen_ai.operation.name" && v == "chat")
        })
        .map(|p| p.count)
        .sum();
    assert_eq!(chats, 2);
}

#[test]
fn without_the_switch_a_sampled_out_failure_is_gone() {
    let t = TestTelemetry::install_with(|b| b.sampler(SamplerConfig::ParentBasedRatio(0.0)));
    agent(true).unwrap();
    assert!(t.spans().is_empty());
    assert_eq!(health().held_traces, HeldTraceHealth::default());
}

#[test]
fn a_slow_trace_is_kept_when_asked() {
    let t = keeping(|b| b.keep_slow_traces(Duration::from_millis(30)));
    genai_trace::span("slow request").in_scope(|| {
        chat();
        std::thread::sleep(Duration::from_millis(40));
    });
    genai_trace::span("fast request").in_scope(chat);
    assert_eq!(names(&t), ["chat gpt-4o", "slow request"]);
    assert_eq!(health().held_traces.kept, 1);
    assert_eq!(health().held_traces.sampled_out, 1);
}

#[test]
fn a_panic_keeps_the_trace() {
    let t = keeping(|b| b);
    let result = std::panic::catch_unwind(|| {
        genai_trace::span("request").in_scope(|| {
            chat();
            panic!("boom");
        })
    });
    assert!(result.is_err());
    assert_eq!(names(&t), ["chat gpt-4o", "request"]);
}

#[test]
fn remote_parents_decide_for_their_traces() {
    let t = keeping(|b| b);
    let remote = |flags: &str| {
        let mut headers = HashMap::new();
        headers.insert(
            "traceparent".to_owned(),
            format!("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-{flags}"),
        );
        genai_trace::context::extract_map(&headers)
    };
    // The caller sampled its trace out: a failure here is not held.
    {
        let _cx = remote("00").attach();
        agent(true).unwrap();
    }
    assert!(t.spans().is_empty());
    assert_eq!(health().held_traces, HeldTraceHealth::default());
    // The caller sampled it in: recorded as always (parent-based), nothing held.
    {
        let _cx = remote("01").attach();
        agent(false).unwrap();
    }
    assert_eq!(t.spans().len(), 3);
    assert_eq!(health().held_traces, HeldTraceHealth::default());
}

#[test]
fn at_most_max_held_traces_are_held_and_the_rest_are_counted() {
    let t = keeping(|b| b.max_held_traces(2));
    // Three roots open at once on three threads; only two can be held.
    let barrier = std::sync::Barrier::new(3);
    std::thread::scope(|s| {
        for i in 0..3 {
            let barrier = &barrier;
            s.spawn(move || {
                genai_trace::span(format!("request {i}")).in_scope(|| {
                    barrier.wait();
                    genai_trace::record_error(&ToolFailed);
                    barrier.wait();
                });
            });
        }
    });
    let h = health().held_traces;
    assert_eq!(h.kept, 2);
    assert_eq!(h.not_held, 1, "{h:?}");
    assert_eq!(h.held, 0);
    assert_eq!(t.spans().len(), 2);
    // The slots are free again.
    genai_trace::span("later").in_scope(|| genai_trace::record_error(&ToolFailed));
    assert_eq!(t.spans().len(), 3);
}

#[test]
fn spans_over_the_cap_are_not_recorded_but_their_failure_keeps_the_trace() {
    let t = keeping(|b| b.max_spans_per_held_trace(3));
    genai_trace::span("request").in_scope(|| {
        chat();
        chat();
        chat(); // over the cap: the root and two chats are recorded
        chat();
        let _ = tool(true); // over the cap, and failing
    });
    let spans = t.spans();
    assert_eq!(spans.len(), 3, "{:?}", names(&t));
    let root = spans.iter().find(|s| s.name == "request").unwrap();
    assert_eq!(
        attribute(root, "genai_trace.tail.spans_dropped").unwrap(),
        &3_i64.into()
    );
    let h = health().held_traces;
    assert_eq!((h.kept, h.spans_not_recorded), (1, 3));
}

#[test]
fn a_span_ending_after_its_root_follows_the_decision() {
    let t = keeping(|b| b);
    let inside = genai_trace::span("request").in_scope(|| {
        genai_trace::record_error(&ToolFailed);
        opentelemetry::Context::current()
    });
    assert!(!inside.span().span_context().is_sampled());
    // Work the request left behind, ending after it: exported with the kept trace.
    {
        let _cx = inside.attach();
        chat();
    }
    assert_eq!(names(&t), ["chat gpt-4o", "request"]);
    let spans = t.spans();
    assert_eq!(spans[0].span_context.trace_id(), spans[1].span_context.trace_id());
    // The same after a dropped trace: nothing.
    let t2_inside = genai_trace::span("quiet").in_scope(opentelemetry::Context::current);
    {
        let _cx = t2_inside.attach();
        chat();
    }
    assert_eq!(t.spans().len(), 2);
}

#[test]
fn the_environment_turns_it_on_with_a_ratio_sampler() {
    let vars: HashMap<&str, &str> = [
        ("OTEL_TRACES_SAMPLER", "traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "0"),
        ("GENAI_TRACE_KEEP_ERROR_TRACES", "true"),
        ("GENAI_TRACE_MAX_HELD_TRACES", "7"),
    ]
    .into_iter()
    .collect();
    let _l = genai_trace::testing::exclusive();
    let memory = genai_trace::testing::memory_exporter();
    let guard = genai_trace::Telemetry::builder()
        .env_lookup(move |k| vars.get(k).map(|v| (*v).to_owned()))
        .with_exporter("memory", memory.clone())
        .install()
        .unwrap();
    agent(true).unwrap();
    agent(false).unwrap();
    let h = health();
    guard.shutdown().unwrap();
    assert_eq!(memory.spans().len(), 3);
    assert_eq!(h.held_traces.sampled_out, 1);
    assert_eq!(h.held_traces.kept, 1);
    assert!(h.warnings.is_empty(), "{:?}", h.warnings);
}

#[test]
fn bad_settings_warn_and_never_fail_the_install() {
    let vars: HashMap<&str, &str> = [
        ("GENAI_TRACE_KEEP_ERROR_TRACES", "yes"),
        ("GENAI_TRACE_KEEP_SLOW_TRACES_MS", "soon"),
        ("GENAI_TRACE_MAX_HELD_TRACES", "0"),
    ]
    .into_iter()
    .collect();
    let t = TestTelemetry::install_with(move |b| b.env_lookup(move |k| vars.get(k).map(|v| (*v).to_owned())).quiet());
    let warned: Vec<String> = health().warnings.iter().map(|w| w.variable.clone()).collect();
    assert_eq!(
        warned,
        [
            "GENAI_TRACE_KEEP_ERROR_TRACES",
            "GENAI_TRACE_KEEP_SLOW_TRACES_MS",
            "GENAI_TRACE_MAX_HELD_TRACES"
        ]
    );
    agent(true).unwrap();
    assert_eq!(t.spans().len(), 3, "always-on sampling, untouched");
    drop(t);
    let t = TestTelemetry::install_with(|b| b.keep_slow_traces(Duration::from_secs(1)).quiet());
    assert_eq!(health().warnings[0].variable, "GENAI_TRACE_KEEP_SLOW_TRACES_MS");
    assert!(
        health().warnings[0]
            .message
            .contains("GENAI_TRACE_KEEP_ERROR_TRACES=true")
    );
    drop(t);
}

#[test]
fn traces_still_held_at_shutdown_are_counted_unfinished() {
    // Installed by hand: the lock must outlive the shutdown, to read its totals.
    let _l = genai_trace::testing::exclusive();
    let memory = genai_trace::testing::memory_exporter();
    let guard = genai_trace::Telemetry::builder()
        .env_lookup(|_| None)
        .sampler(SamplerConfig::ParentBasedRatio(0.0))
        .keep_error_traces(true)
        .with_exporter("memory", memory.clone())
        .install()
        .unwrap();
    let open = genai_trace::span("never ends before shutdown").enter();
    chat();
    assert_eq!(health().held_traces.held, 1);
    guard.shutdown().unwrap();
    drop(open);
    assert!(memory.spans().is_empty());
    let h = health().held_traces;
    assert_eq!((h.held, h.unfinished), (0, 1), "{h:?}");
}
