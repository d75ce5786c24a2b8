//! Langfuse and Phoenix presets on the wire: one variable set (their own), and
//! what reaches a real HTTP receiver is the endpoint, headers and protocol
//! their documentation requires, traces only, with the backend's dialect.
//! (Datadog's intake is HTTPS-only; its preset is pinned in setup/backends.rs.)
#![cfg(all(feature = "testing", feature = "otlp-http"))]

use genai_trace::{Session, Telemetry, genai_span, health};
use genai_trace_test_support::{RecordedRequest, RecordingServer};

#[genai_span(kind = "chat", provider = "openai", model = "gpt-4o")]
fn chat() -> u32 {
    1
}

fn run_with(
    vars: Vec<(&'static str, String)>,
    configure: impl FnOnce(genai_trace::TelemetryBuilder) -> genai_trace::TelemetryBuilder,
) -> Vec<String> {
    let _lock = genai_trace::testing::exclusive();
    let guard = configure(
        Telemetry::builder()
            .service_name("presets")
            .env_lookup(move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .quiet(),
    )
    .install()
    .unwrap();
    let names = health().exporters.iter().map(|e| e.name.to_owned()).collect();
    Session::builder().session_id("s-1").start().in_scope(chat);
    drop(guard);
    names
}

fn body_has(r: &RecordedRequest, text: &str) -> bool {
    r.body.windows(text.len()).any(|w| w == text.as_bytes())
}

#[test]
fn langfuse_from_its_own_variables() {
    let server = RecordingServer::start();
    let names = run_with(
        vec![
            ("LANGFUSE_BASE_URL", server.url()),
            ("LANGFUSE_PUBLIC_KEY", "pk-lf-test".into()),
            ("LANGFUSE_SECRET_KEY", "sk-lf-test".into()),
        ],
        genai_trace::TelemetryBuilder::with_otlp_if_configured,
    );
    assert_eq!(names, ["langfuse"]);
    let requests = server.wait_requests(1);
    assert!(!requests.is_empty(), "nothing reached the receiver");
    for r in &requests {
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("POST", "/api/public/otel/v1/traces")
        );
        assert_eq!(r.header("authorization"), Some("Basic cGstbGYtdGVzdDpzay1sZi10ZXN0"));
        assert_eq!(r.header("x-langfuse-ingestion-version"), Some("4"));
        assert_eq!(r.header("content-type"), Some("application/x-protobuf"));
    }
    let body = &requests[0];
    for attr in [
        "langfuse.observation.type",
        "generation",
        "chain",
        "langfuse.session.id",
    ] {
        assert!(body_has(body, attr), "the export carries no {attr}");
    }
}

#[test]
fn phoenix_from_its_own_variables() {
    let server = RecordingServer::start();
    let names = run_with(
        vec![
            ("PHOENIX_COLLECTOR_ENDPOINT", server.url()),
            ("PHOENIX_API_KEY", "px-key".into()),
            ("PHOENIX_PROJECT_NAME", "trip-planner".into()),
        ],
        genai_trace::TelemetryBuilder::with_phoenix,
    );
    assert_eq!(names, ["phoenix"]);
    let requests = server.wait_requests(1);
    assert!(!requests.is_empty(), "nothing reached the receiver");
    for r in &requests {
        // Traces only: Phoenix answers 405 to OTLP metrics and logs.
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/v1/traces"));
        assert_eq!(r.header("authorization"), Some("Bearer px-key"));
    }
    for text in [
        "openinference.project.name",
        "trip-planner",
        "openinference.span.kind",
        "CHAIN",
        "LLM",
    ] {
        assert!(body_has(&requests[0], text), "the export carries no {text}");
    }
}

#[test]
fn a_preset_without_its_keys_warns_and_sends_nothing() {
    let _lock = genai_trace::testing::exclusive();
    let guard = Telemetry::builder()
        .env_lookup(|k| (k == "LANGFUSE_PUBLIC_KEY").then(|| "pk".to_owned()))
        .quiet()
        .with_langfuse()
        .install()
        .unwrap();
    let h = health();
    assert!(h.exporters.is_empty(), "{:?}", h.exporters);
    assert!(
        h.warnings.iter().any(|w| w.message.contains("LANGFUSE_SECRET_KEY")),
        "{:?}",
        h.warnings
    );
    drop(guard);
}
