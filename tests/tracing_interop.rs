//! genai-trace beside crates that trace through `tracing` with
//! `tracing-opentelemetry` (rig-core's `chat` spans, target `rig::completions`,
//! with `gen_ai.*` fields): both kinds of span land in one trace, nested either
//! way, and a per-layer filter keeps one span per model call when both would
//! record it. The tracing spans here are shaped like rig-core 0.44's
//! (`telemetry/mod.rs`), without compiling rig itself.
#![cfg(all(feature = "testing", feature = "instrument"))]

use genai_trace::opentelemetry::global;
use genai_trace::opentelemetry_sdk::trace::SpanData;
use genai_trace::testing::{TestTelemetry, attribute};
use genai_trace::{Session, genai_span};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;

/// A model call as rig-core records it: a `tracing` span named `chat` with the
/// conventions' fields, filled in after the call.
fn rig_style_chat() {
    let span = tracing::info_span!(
        target: "rig::completions",
        "chat",
        gen_ai.operation.name = "chat",
        gen_ai.provider.name = "openai",
        gen_ai.request.model = "gpt-4o-mini",
        gen_ai.usage.input_tokens = tracing::field::Empty,
    );
    let _entered = span.enter();
    span.record("gen_ai.usage.input_tokens", 12);
}

#[genai_span(kind = "execute_tool", attrs(gen_ai.tool.name = "lookup"))]
fn lookup() -> u32 {
    7
}

#[genai_span(kind = "invoke_agent", attrs(gen_ai.agent.name = "helper"))]
fn agent() -> u32 {
    rig_style_chat();
    lookup()
}

/// The subscriber users set up: tracing-opentelemetry over the provider
/// genai-trace installed (the global one), optionally without rig's
/// completion spans.
fn subscriber(drop_rig_completions: bool) -> impl tracing::Subscriber + Send + Sync {
    let otel = tracing_opentelemetry::layer().with_tracer(global::tracer("tracing"));
    let filter = if drop_rig_completions {
        Targets::new()
            .with_default(tracing::Level::TRACE)
            .with_target("rig::completions", tracing::level_filters::LevelFilter::OFF)
    } else {
        Targets::new().with_default(tracing::Level::TRACE)
    };
    tracing_subscriber::registry().with(otel.with_filter(filter))
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| {
        panic!(
            "no span {name}: {:?}",
            spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        )
    })
}

#[test]
fn tracing_spans_nest_under_genai_spans_and_the_other_way_round() {
    let t = TestTelemetry::install();
    tracing::subscriber::with_default(subscriber(false), || {
        // genai-trace outside, tracing inside: rig's chat is the agent's child.
        agent();
        // tracing outside, genai-trace inside: tracing-opentelemetry activates
        // the OpenTelemetry context of an entered span (its default), so the
        // tool span is the tracing span's child.
        let outer = tracing::info_span!("request");
        let _entered = outer.enter();
        lookup();
    });
    let spans = t.spans();
    let agent_span = named(&spans, "invoke_agent helper");
    let chat = named(&spans, "chat");
    assert_eq!(chat.parent_span_id, agent_span.span_context.span_id());
    assert_eq!(chat.span_context.trace_id(), agent_span.span_context.trace_id());
    assert_eq!(
        attribute(chat, "gen_ai.usage.input_tokens").map(ToString::to_string),
        Some("12".into())
    );
    let request = named(&spans, "request");
    let inner_tool = spans
        .iter()
        .find(|s| s.name == "execute_tool lookup" && s.parent_span_id == request.span_context.span_id())
        .expect("the tool inside the tracing span is its child");
    assert_eq!(inner_tool.span_context.trace_id(), request.span_context.trace_id());
}

#[test]
fn a_session_is_the_root_of_both_kinds_of_span() {
    let t = TestTelemetry::install();
    tracing::subscriber::with_default(subscriber(false), || {
        let session = Session::builder().session_id("s-interop").start();
        session.in_scope(|| {
            rig_style_chat();
            lookup();
        });
    });
    let spans = t.spans();
    let session = named(&spans, "session");
    for name in ["chat", "execute_tool lookup"] {
        assert_eq!(
            named(&spans, name).parent_span_id,
            session.span_context.span_id(),
            "{name} in the session"
        );
    }
}

/// One span per model call: when your own annotated function wraps rig's call,
/// filter rig's completion spans out of the OpenTelemetry layer (its other
/// spans stay).
#[test]
fn a_per_layer_filter_keeps_one_span_per_model_call() {
    #[genai_span(kind = "chat", provider = "openai", model = "gpt-4o-mini")]
    fn my_chat() {
        rig_style_chat();
    }
    let t = TestTelemetry::install();
    tracing::subscriber::with_default(subscriber(true), || {
        my_chat();
        let other = tracing::info_span!(target: "rig::agent", "plan");
        let _entered = other.enter();
    });
    let spans = t.spans();
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    assert!(names.contains(&"chat gpt-4o-mini"), "{names:?}");
    assert!(!names.contains(&"chat"), "rig's duplicate is filtered out: {names:?}");
    assert!(names.contains(&"plan"), "rig's other spans stay: {names:?}");
}
