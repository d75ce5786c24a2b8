//! The README demo, capture and dialects on, into real Arize Phoenix and MLflow
//! servers started by the test, read back through their own APIs: what a user
//! opening either UI sees first — roots with input and output, no span of
//! unknown kind, tools with arguments and results, runs grouped by session,
//! token counts and time to first token. And the same demo at a real
//! collector (rotel), for the Langfuse dialect's attributes.
//!
//! The demo is the `quickstart` example binary that `cargo test` builds beside
//! the tests (run `cargo build --example quickstart --all-features` first when
//! running this file alone with `--test llm_backends`).
#![cfg(all(feature = "testing", feature = "otlp-http"))]

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

use genai_trace_test_support::{Mlflow, Phoenix, Rotel, example_binary};
use serde_json::Value;

/// The demo's spans per run: session, agent, 2 chats, 2 tools, embeddings,
/// retrieval, rerank.
const DEMO_SPANS: usize = 9;

/// Runs the demo with capture on, every dialect, and `env`.
fn run_demo(env: &[(&str, String)]) {
    let out = Command::new(example_binary("quickstart"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
        .env("GENAI_TRACE_DIALECTS", "openinference,mlflow,langfuse")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the demo failed:\n{stderr}");
    assert!(!stderr.contains("genai-trace: "), "the demo warned:\n{stderr}");
}

fn attr<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
    // Phoenix nests attributes by their dots; MLflow keeps them flat.
    span["attributes"]
        .get(key)
        .or_else(|| key.split('.').try_fold(&span["attributes"], |v, k| v.get(k)))
}

fn text<'a>(span: &'a Value, key: &str) -> &'a str {
    attr(span, key).and_then(Value::as_str).unwrap_or("")
}

#[test]
fn phoenix_shows_roots_kinds_tools_and_sessions() {
    let Some(phoenix) = Phoenix::require("phoenix_shows_roots_kinds_tools_and_sessions") else {
        return;
    };
    for _ in 0..2 {
        // The Phoenix preset from Phoenix's own variables: one variable.
        run_demo(&[
            ("PHOENIX_COLLECTOR_ENDPOINT", phoenix.url()),
            ("PHOENIX_PROJECT_NAME", "genai-trace-demo".into()),
        ]);
    }
    let spans = phoenix.wait_spans("genai-trace-demo", 2 * DEMO_SPANS);
    assert_eq!(spans.len(), 2 * DEMO_SPANS, "{spans:#?}");

    let mut sessions: HashMap<String, BTreeSet<String>> = HashMap::new();
    for s in &spans {
        let kind = s["span_kind"].as_str().unwrap_or("");
        assert!(!kind.is_empty() && kind != "UNKNOWN", "{} has kind {kind:?}", s["name"]);
        sessions
            .entry(s["context"]["trace_id"].as_str().unwrap().to_owned())
            .or_default()
            .insert(text(s, "session.id").to_owned());
    }
    // One session per run, every span of a run in it, and two runs apart.
    assert_eq!(sessions.len(), 2);
    let ids: BTreeSet<&String> = sessions.values().flatten().collect();
    assert_eq!(ids.len(), 2, "{sessions:?}");
    assert!(
        sessions
            .values()
            .all(|s| s.len() == 1 && s.iter().all(|id| id.starts_with("demo-")))
    );

    let roots: Vec<&Value> = spans.iter().filter(|s| s["parent_id"].is_null()).collect();
    assert_eq!(roots.len(), 2);
    for root in roots {
        assert_eq!(root["span_kind"], "CHAIN");
        assert_eq!(text(root, "input.value"), "three days in Lisbon");
        assert_eq!(
            text(root, "output.value"),
            "Day 1: Alfama. Day 2: Belém. Day 3: Sintra."
        );
    }
    let tools: Vec<&Value> = spans.iter().filter(|s| s["span_kind"] == "TOOL").collect();
    assert_eq!(tools.len(), 4);
    let call_ids: BTreeSet<&str> = tools.iter().map(|t| text(t, "gen_ai.tool.call.id")).collect();
    assert_eq!(
        call_ids.len(),
        4,
        "every tool call has the model's own id: {call_ids:?}"
    );
    let ok = tools.iter().find(|t| t["status_code"] != "ERROR").unwrap();
    assert_eq!(text(ok, "input.value"), "Lisbon");
    assert_eq!(text(ok, "output.value"), "sunny in Lisbon");

    let llm: Vec<&Value> = spans.iter().filter(|s| s["span_kind"] == "LLM").collect();
    assert_eq!(llm.len(), 4);
    for s in &llm {
        assert!(attr(s, "llm.token_count.prompt").is_some(), "{s:#}");
        assert!(!text(s, "output.value").is_empty(), "{s:#}");
        assert!(!text(s, "output.value").starts_with('{'), "raw JSON output: {s:#}");
    }
    assert!(
        llm.iter()
            .any(|s| attr(s, "gen_ai.response.time_to_first_chunk").is_some()),
        "the streamed chat's time to first token"
    );
    for (kind, n) in [("AGENT", 2), ("RETRIEVER", 2), ("EMBEDDING", 2), ("RERANKER", 2)] {
        assert_eq!(spans.iter().filter(|s| s["span_kind"] == kind).count(), n, "{kind}");
    }
}

#[test]
fn mlflow_shows_previews_types_tools_and_sessions() {
    let Some(mlflow) = Mlflow::require("mlflow_shows_previews_types_tools_and_sessions") else {
        return;
    };
    for _ in 0..2 {
        run_demo(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", mlflow.url()),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-mlflow-experiment-id=0".into()),
            // MLflow takes traces only.
            ("OTEL_METRICS_EXPORTER", "none".into()),
            ("OTEL_LOGS_EXPORTER", "none".into()),
        ]);
    }
    let traces = mlflow.wait_traces(2, DEMO_SPANS);
    assert_eq!(traces.len(), 2);
    let mut sessions = BTreeSet::new();
    for t in &traces {
        assert_eq!(
            t["request_preview"]
                .as_str()
                .map(|p| p.contains("three days in Lisbon")),
            Some(true),
            "{t:#}"
        );
        assert_eq!(
            t["response_preview"].as_str().map(|p| p.contains("Day 3: Sintra.")),
            Some(true),
            "{t:#}"
        );
        let session = t["metadata"]["mlflow.trace.session"].as_str().unwrap_or("");
        assert!(session.starts_with("demo-"), "{t:#}");
        sessions.insert(session.to_owned());
        let spans = t["spans"].as_array().unwrap();
        for s in spans {
            let ty = s["span_type"].as_str().unwrap_or("");
            assert!(!ty.is_empty() && ty != "UNKNOWN", "{} has type {ty:?}", s["name"]);
        }
        let types: BTreeSet<&str> = spans.iter().filter_map(|s| s["span_type"].as_str()).collect();
        for ty in [
            "CHAIN",
            "AGENT",
            "CHAT_MODEL",
            "TOOL",
            "EMBEDDING",
            "RETRIEVER",
            "RERANKER",
        ] {
            assert!(types.contains(ty), "{ty} missing: {types:?}");
        }
        let tool = spans
            .iter()
            .find(|s| s["span_type"] == "TOOL" && !s["outputs"].is_null())
            .expect("a tool with its result");
        assert!(tool["inputs"].to_string().contains("Lisbon"), "{tool:#}");
        assert!(tool["outputs"].to_string().contains("sunny in Lisbon"), "{tool:#}");
        let retrieval = spans.iter().find(|s| s["span_type"] == "RETRIEVER").unwrap();
        assert!(retrieval["outputs"].to_string().contains("lisbon.md"), "{retrieval:#}");
        assert!(
            spans.iter().any(|s| attr(s, "mlflow.chat.tokenUsage").is_some()),
            "token usage"
        );
    }
    assert_eq!(sessions.len(), 2, "each run is its own session");
}

/// Langfuse is not runnable here; its dialect is checked on what a real
/// collector received from the demo.
#[test]
fn langfuse_dialect_at_a_real_collector() {
    let Some(rotel) = Rotel::require("langfuse_dialect_at_a_real_collector") else {
        return;
    };
    run_demo(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", rotel.http.clone()),
        ("OTEL_METRICS_EXPORTER", "none".into()),
        ("OTEL_LOGS_EXPORTER", "none".into()),
        ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=staging".into()),
    ]);
    let spans = rotel.wait_spans(DEMO_SPANS, |s| {
        s["resource"]["deployment.environment.name"] == "staging"
    });
    assert_eq!(spans.len(), DEMO_SPANS);
    for s in &spans {
        let ty = s["attributes"]["langfuse.observation.type"].as_str().unwrap_or("");
        assert!(
            ["generation", "embedding", "retriever", "span", "tool", "agent", "chain"].contains(&ty),
            "{} has observation type {ty:?}",
            s["name"]
        );
        assert_eq!(s["attributes"]["langfuse.environment"], "staging", "{}", s["name"]);
    }
    let streamed = spans
        .iter()
        .find(|s| s["attributes"]["gen_ai.request.stream"] == true)
        .expect("the streamed chat");
    let iso = streamed["attributes"]["langfuse.observation.completion_start_time"]
        .as_str()
        .expect("completion_start_time");
    let at_ms = iso8601_ms(iso);
    let ns = |k: &str| {
        streamed[k]
            .as_u64()
            .or_else(|| streamed[k].as_str()?.parse().ok())
            .unwrap()
    };
    let (start, end) = (
        u128::from(ns("start_time_unix_nano")) / 1_000_000,
        u128::from(ns("end_time_unix_nano")) / 1_000_000,
    );
    assert!(
        start <= at_ms && at_ms <= end,
        "{iso} outside the span [{start}, {end}] ms"
    );
    let root = spans.iter().find(|s| s["parent_span_id"] == "").unwrap();
    assert_eq!(root["attributes"]["langfuse.trace.input"], "three days in Lisbon");
    assert_eq!(
        root["attributes"]["langfuse.trace.output"],
        "Day 1: Alfama. Day 2: Belém. Day 3: Sintra."
    );
    assert_eq!(
        root["attributes"]["langfuse.trace.tags"],
        serde_json::json!(["quickstart"])
    );
    let failed = spans
        .iter()
        .find(|s| s["status"]["code"] == "ERROR")
        .expect("the failed tool");
    assert_eq!(failed["attributes"]["langfuse.observation.level"], "ERROR");
}

/// Milliseconds since the epoch of `YYYY-MM-DDTHH:MM:SS.mmmZ` (through the
/// system's `date`, independent of the runtime's formatter).
fn iso8601_ms(iso: &str) -> u128 {
    let out = Command::new("date").args(["-u", "-d", iso, "+%s%3N"]).output().unwrap();
    assert!(out.status.success(), "date cannot read {iso}");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}
