//! The demo's own telemetry, as a real collector (rotel) received it, checked
//! against the GenAI conventions with the checks of `tests/conformance.rs`:
//! in every content-capture mode, with GenAI events on the logs signal and as
//! span events, and under `OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental`.
//! No Required (or conditionally required, condition holding) attribute may be
//! missing on any span, log record or metric point, and the demo's one
//! streamed chat (3 chunks) must give 2 time-per-chunk recordings.
//!
//! The demo is the `quickstart` example binary that `cargo test` builds beside
//! the tests (run `cargo build --example quickstart --all-features` first when
//! running this file alone).
#![cfg(all(feature = "testing", feature = "otlp-http", feature = "metrics", feature = "logs"))]

#[path = "conformance/check.rs"]
mod check;
#[cfg(feature = "async-openai")]
#[path = "../examples/common/model_server.rs"]
mod model_server;

use std::process::Command;

use check::{Facts, ObservedSpan, check_log_event, check_points, check_span, point_from_collector};
use genai_trace_test_support::{Rotel, example_binary};
use serde_json::Value;

/// The demo's spans per run: session, agent, 2 chats, 2 tools, embeddings,
/// retrieval, rerank.
const DEMO_SPANS: usize = 9;

/// The chunks of the demo's streamed chat (`Model::stream` in the quickstart).
const STREAMED_CHUNKS: u64 = 3;

/// What a program had is what it recorded: Required and conditionally
/// required attributes are checked whatever it supplied.
fn facts_of(span: &ObservedSpan, content: bool) -> Facts {
    Facts {
        available: span
            .attributes
            .iter()
            .map(|kv| &*Box::leak(kv.key.as_str().to_owned().into_boxed_str()))
            .collect(),
        streaming: span.attribute("gen_ai.request.stream").is_some(),
        content,
    }
}

/// One way of running the demo.
struct Run {
    capture: &'static str,
    logs: bool,
    switch: bool,
}

/// Runs the demo into `rotel` and returns every problem of what arrived.
fn check_run(rotel: &Rotel, run: &Run) -> Vec<String> {
    let id = format!("{}-{}-{}-{}", std::process::id(), run.capture, run.logs, run.switch);
    let mut cmd = Command::new(example_binary("quickstart"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &rotel.http)
        .env("OTEL_RESOURCE_ATTRIBUTES", format!("genai_trace.test.run={id}"))
        .env("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", run.capture)
        .env("OTEL_LOGS_EXPORTER", if run.logs { "otlp" } else { "none" });
    if run.switch {
        cmd.env("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental");
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the demo failed:\n{stderr}");
    assert!(!stderr.contains("genai-trace: "), "the demo warned:\n{stderr}");

    let of_run = |r: &Value| r["resource"]["genai_trace.test.run"] == id.as_str();
    let spans = rotel.wait_spans(DEMO_SPANS, of_run);
    let content = matches!(run.capture, "SPAN_ONLY" | "SPAN_AND_EVENT");
    let events_on = matches!(run.capture, "EVENT_ONLY" | "SPAN_AND_EVENT");
    let mut problems = Vec::new();
    for s in &spans {
        let span = ObservedSpan::from_collector(s);
        problems.extend(check_span(&span, &facts_of(&span, content)));
    }
    let inferences = spans
        .iter()
        .filter(|s| ["chat", "embeddings"].contains(&s["attributes"]["gen_ai.operation.name"].as_str().unwrap_or("")))
        .count();
    if events_on && run.logs {
        // The details event of each inference is a log record, not a span event.
        let genai_event = |r: &Value| of_run(r) && r["event_name"].as_str().unwrap_or("").starts_with("gen_ai.");
        for log in rotel.wait_logs(inferences, genai_event) {
            problems.extend(check_log_event(&log, &Facts::default()));
        }
        if spans
            .iter()
            .any(|s| !s["events"].as_array().unwrap().is_empty() && s["status"]["code"] != "ERROR")
        {
            problems.push("details event both a log record and a span event".into());
        }
    } else if events_on {
        let with_event = spans
            .iter()
            .filter(|s| {
                s["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["name"] == "gen_ai.client.inference.operation.details")
            })
            .count();
        if with_event < inferences {
            problems.push(format!(
                "{with_event} of {inferences} inference spans carry the details event"
            ));
        }
    }

    let duration = rotel.wait_metrics(1, |m| of_run(m) && m["name"] == "gen_ai.client.operation.duration");
    assert!(!duration.is_empty());
    let points: Vec<_> = rotel
        .metrics()
        .iter()
        .filter(|m| of_run(m))
        .map(point_from_collector)
        .collect();
    problems.extend(check_points(&points));
    let per_chunk: u64 = points
        .iter()
        .filter(|p| p.name == "gen_ai.client.operation.time_per_output_chunk")
        .map(|p| p.count)
        .max()
        .unwrap_or(0);
    if per_chunk != STREAMED_CHUNKS - 1 {
        problems.push(format!(
            "{STREAMED_CHUNKS} streamed chunks gave {per_chunk} time-per-chunk recordings"
        ));
    }
    problems
}

#[test]
fn the_demo_conforms_at_a_real_collector_in_every_mode() {
    let Some(rotel) = Rotel::require("the_demo_conforms_at_a_real_collector_in_every_mode") else {
        return;
    };
    let runs = [
        Run {
            capture: "NO_CONTENT",
            logs: true,
            switch: false,
        },
        Run {
            capture: "SPAN_ONLY",
            logs: true,
            switch: false,
        },
        Run {
            capture: "EVENT_ONLY",
            logs: true,
            switch: false,
        },
        Run {
            capture: "SPAN_AND_EVENT",
            logs: true,
            switch: false,
        },
        Run {
            capture: "SPAN_AND_EVENT",
            logs: false,
            switch: false,
        },
        Run {
            capture: "NO_CONTENT",
            logs: true,
            switch: true,
        },
        Run {
            capture: "SPAN_AND_EVENT",
            logs: true,
            switch: true,
        },
    ];
    let mut problems = Vec::new();
    for run in &runs {
        for p in check_run(rotel, run) {
            problems.push(format!(
                "[{}, logs {}, switch {}] {p}",
                run.capture, run.logs, run.switch
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// A test of the test: what the collector received, with a Required attribute
/// taken away, fails the check.
#[test]
fn a_fault_in_what_the_collector_received_is_caught() {
    let Some(rotel) = Rotel::require("a_fault_in_what_the_collector_received_is_caught") else {
        return;
    };
    let run = Run {
        capture: "NO_CONTENT",
        logs: false,
        switch: false,
    };
    assert_eq!(check_run(rotel, &run), Vec::<String>::new());
    let id = format!("{}-NO_CONTENT-false-false", std::process::id());
    let spans = rotel.wait_spans(DEMO_SPANS, |r| r["resource"]["genai_trace.test.run"] == id.as_str());
    let mut chat = spans
        .iter()
        .find(|s| s["attributes"]["gen_ai.operation.name"] == "chat")
        .cloned()
        .unwrap();
    chat["attributes"]
        .as_object_mut()
        .unwrap()
        .remove("gen_ai.provider.name");
    let problems = check_span(&ObservedSpan::from_collector(&chat), &Facts::default());
    assert!(
        problems.iter().any(|p| p.contains("gen_ai.provider.name")),
        "{problems:?}"
    );
}

/// The `openai` example (the real async-openai client through
/// `openai::traced_client`) pointed by `OPENAI_BASE_URL` at a model server
/// this test runs, into the collector, capture off and on: every span
/// conforms, and what the collector received matches what the server sent —
/// response ids, models, usage, finish reasons, server port, time to first
/// chunk on the streamed chat, the tool call id. The API key reaches the server
/// as a header and nothing else.
#[cfg(feature = "async-openai")]
#[test]
fn the_openai_example_at_a_real_collector_records_what_the_server_sent() {
    let Some(rotel) = Rotel::require("the_openai_example_at_a_real_collector_records_what_the_server_sent") else {
        return;
    };
    let exe = example_binary("openai");
    let key = "sk-demo-conformance-never-recorded";
    let mut problems = Vec::new();
    for capture in ["NO_CONTENT", "SPAN_ONLY"] {
        let server = model_server::ModelServer::start();
        let id = format!("{}-openai-{capture}", std::process::id());
        let out = Command::new(&exe)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", &rotel.http)
            .env("OTEL_RESOURCE_ATTRIBUTES", format!("genai_trace.test.run={id}"))
            .env("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", capture)
            .env("OPENAI_BASE_URL", server.base_url())
            .env("OPENAI_API_KEY", key)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "the example failed:\n{stderr}");
        assert!(!stderr.contains("genai-trace: "), "the example warned:\n{stderr}");
        assert!(!stderr.contains(key) && !stdout.contains(key), "the key was printed");
        // chat, streamed chat, embeddings, Responses API, tool-asking chat, answer.
        let ex = server.exchanges();
        assert_eq!(ex.len(), 6, "the example talked to OPENAI_BASE_URL: {ex:#?}");
        assert!(
            ex.iter()
                .all(|e| e.authorization.as_deref() == Some(&*format!("Bearer {key}")))
        );
        // session, 5 chats (one streamed, one Responses API), embeddings, a tool.
        let spans = rotel.wait_spans(8, |r| r["resource"]["genai_trace.test.run"] == id.as_str());
        assert_eq!(spans.len(), 8, "{spans:#?}");
        assert!(
            !spans.iter().any(|s| s.to_string().contains(key)),
            "the API key reached the collector"
        );
        for s in &spans {
            let span = ObservedSpan::from_collector(s);
            for p in check_span(&span, &facts_of(&span, capture == "SPAN_ONLY")) {
                problems.push(format!("[openai example, {capture}] {p}"));
            }
        }
        let mut calls: Vec<&Value> = spans.iter().filter(|s| s["kind"] == "CLIENT").collect();
        calls.sort_by_key(|s| nanos(s, "start_time_unix_nano"));
        assert_eq!(calls.len(), ex.len());
        for (span, e) in calls.iter().zip(&ex) {
            let a = &span["attributes"];
            assert_eq!(a["server.address"], "127.0.0.1", "{}", span["name"]);
            assert_eq!(a["server.port"], i64::from(server.port), "{}", span["name"]);
            // The body the numbers came in: the response, or a stream's last event.
            let body = if e.events.is_empty() {
                e.response.clone()
            } else if e.path.ends_with("/responses") {
                e.events.last().unwrap()["response"].clone()
            } else {
                let mut b = e.events[0].clone();
                b["usage"] = e.events.iter().rev().find(|v| v["usage"].is_object()).unwrap()["usage"].clone();
                b
            };
            assert_eq!(a["gen_ai.response.model"], body["model"], "{}", span["name"]);
            if !e.path.ends_with("/embeddings") {
                assert_eq!(a["gen_ai.response.id"], body["id"], "{}", span["name"]);
            }
            let input = body["usage"]["prompt_tokens"]
                .as_i64()
                .or_else(|| body["usage"]["input_tokens"].as_i64());
            assert_eq!(a["gen_ai.usage.input_tokens"].as_i64(), input, "{}", span["name"]);
            if let Some(reason) = body["choices"][0]["finish_reason"].as_str() {
                assert_eq!(a["gen_ai.response.finish_reasons"], serde_json::json!([reason]));
            }
            if !e.events.is_empty() && e.path.ends_with("/chat/completions") {
                let reason = e
                    .events
                    .iter()
                    .find_map(|v| v["choices"][0]["finish_reason"].as_str())
                    .unwrap();
                assert_eq!(a["gen_ai.response.finish_reasons"], serde_json::json!([reason]));
                assert!(
                    a["gen_ai.response.time_to_first_chunk"]
                        .as_f64()
                        .is_some_and(|t| t > 0.0)
                );
            }
        }
        let asked_exchange = ex
            .iter()
            .find(|e| e.response["choices"][0]["finish_reason"] == "tool_calls")
            .unwrap();
        let call_id = &asked_exchange.response["choices"][0]["message"]["tool_calls"][0]["id"];
        let tool = spans.iter().find(|s| s["name"] == "execute_tool get_weather").unwrap();
        assert_eq!(
            &tool["attributes"]["gen_ai.tool.call.id"], call_id,
            "the model's call id"
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Runs example `name` into `rotel` with capture on; its console tree must be
/// printed, and every span it exported conforms. Returns the spans.
#[cfg(feature = "console")]
fn run_example(rotel: &Rotel, name: &str, spans: usize) -> Vec<Value> {
    let exe = example_binary(name);
    let id = format!("{}-{name}", std::process::id());
    let out = Command::new(&exe)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &rotel.http)
        .env("OTEL_RESOURCE_ATTRIBUTES", format!("genai_trace.test.run={id}"))
        .args(["--capture-content"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{name} failed:\n{stderr}");
    assert!(!stderr.contains("genai-trace: "), "{name} warned:\n{stderr}");
    assert!(
        stderr.contains("trace ") && stderr.contains("genai-trace summary"),
        "{name} printed no tree:\n{stderr}"
    );
    let received = rotel.wait_spans(spans, |r| r["resource"]["genai_trace.test.run"] == id.as_str());
    assert_eq!(received.len(), spans, "{received:#?}");
    let problems: Vec<String> = received
        .iter()
        .flat_map(|s| {
            let span = ObservedSpan::from_collector(s);
            check_span(&span, &facts_of(&span, true))
        })
        .collect();
    assert!(problems.is_empty(), "{name}:\n{}", problems.join("\n"));
    received
}

fn nanos(span: &Value, key: &str) -> u64 {
    span[key].as_u64().or_else(|| span[key].as_str()?.parse().ok()).unwrap()
}

/// The async agent: three tools run concurrently in their own Tokio tasks, each
/// the agent's child, overlapping in time, each with the call id the model gave.
#[cfg(all(feature = "console", feature = "tokio"))]
#[test]
fn the_async_agent_example_runs_its_tools_concurrently_under_the_agent() {
    let Some(rotel) = Rotel::require("the_async_agent_example_runs_its_tools_concurrently_under_the_agent") else {
        return;
    };
    // session, agent, 2 chats, 3 tools
    let spans = run_example(rotel, "agent", 7);
    let agent = spans
        .iter()
        .find(|s| s["name"] == "invoke_agent weather-scout")
        .unwrap();
    let tools: Vec<&Value> = spans
        .iter()
        .filter(|s| s["name"] == "execute_tool get_weather")
        .collect();
    assert_eq!(tools.len(), 3);
    for t in &tools {
        assert_eq!(
            t["parent_span_id"], agent["span_id"],
            "a tool task is the agent's child"
        );
        assert_eq!(t["trace_id"], agent["trace_id"]);
    }
    let latest_start = tools.iter().map(|t| nanos(t, "start_time_unix_nano")).max().unwrap();
    let earliest_end = tools.iter().map(|t| nanos(t, "end_time_unix_nano")).min().unwrap();
    assert!(latest_start < earliest_end, "the three tools overlap in time");
    let plan = spans
        .iter()
        .find(|s| s["attributes"]["gen_ai.response.finish_reasons"] == serde_json::json!(["tool_calls"]))
        .unwrap();
    let output: Value = serde_json::from_str(plan["attributes"]["gen_ai.output.messages"].as_str().unwrap()).unwrap();
    let mut asked: Vec<&str> = output[0]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    let mut ran: Vec<&str> = tools
        .iter()
        .map(|t| t["attributes"]["gen_ai.tool.call.id"].as_str().unwrap())
        .collect();
    asked.sort_unstable();
    ran.sort_unstable();
    assert_eq!(asked, ran, "each tool span carries a call id the model gave");
}

/// The RAG pipeline: every step a child of the workflow, in pipeline order.
#[cfg(feature = "console")]
#[test]
fn the_rag_example_records_every_step_under_its_workflow() {
    let Some(rotel) = Rotel::require("the_rag_example_records_every_step_under_its_workflow") else {
        return;
    };
    let spans = run_example(rotel, "rag", 6);
    let workflow = spans
        .iter()
        .find(|s| s["name"] == "invoke_workflow rag-answer")
        .unwrap();
    let mut steps: Vec<&Value> = spans.iter().filter(|s| s["span_id"] != workflow["span_id"]).collect();
    steps.sort_by_key(|s| nanos(s, "start_time_unix_nano"));
    let names: Vec<&str> = steps.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "chat gpt-4o-mini",
            "embeddings text-embedding-3-small",
            "retrieval travel-guides",
            "rag.rerank",
            "chat gpt-4o-mini"
        ]
    );
    for s in &steps {
        assert_eq!(
            s["parent_span_id"], workflow["span_id"],
            "{} in the workflow",
            s["name"]
        );
    }
    let retrieval = steps[2];
    let documents: Value =
        serde_json::from_str(retrieval["attributes"]["gen_ai.retrieval.documents"].as_str().unwrap()).unwrap();
    assert_eq!(
        documents[0],
        serde_json::json!({"id": "lisbon-spring.md", "score": 0.91})
    );
    assert_eq!(steps[3]["attributes"]["genai_trace.span.category"], "reranker");
}
