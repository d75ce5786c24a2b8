//! End to end: spans, metrics and logs over OTLP/HTTP and OTLP/gRPC to a real
//! collector (rotel), which the test binary starts itself on free loopback
//! ports (genai-trace-test-support): `cargo test` alone runs these, and fails
//! with the fix when rotel cannot be had.
#![cfg(all(feature = "testing", feature = "otlp-http"))]
// Token sums are whole numbers: exact in f64.
#![allow(clippy::float_cmp)]

use std::time::Duration;

use genai_trace::opentelemetry::KeyValue;
use genai_trace::{OtlpExporter, Telemetry, genai_span};
use genai_trace_test_support::Rotel;
use serde_json::Value;

/// A service name unique to this test process.
fn unique(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

fn in_trace(trace: &str) -> impl Fn(&Value) -> bool + '_ {
    move |r| r["trace_id"] == trace
}

fn of_service<'a>(name: &'a str, service: &'a str) -> impl Fn(&Value) -> bool + 'a {
    move |r| r["name"] == name && r["resource"]["service.name"] == service
}

#[genai_span(kind = "invoke_agent", attrs(gen_ai.agent.name = "planner", "app.user_tier" = "pro"))]
fn agent(n: i64) -> Result<String, std::io::Error> {
    chat(n);
    opentelemetry::global::meter("collector-test")
        .u64_counter("genai_trace.test.calls")
        .build()
        .add(3, &[KeyValue::new("route", "agent")]);
    let trace = genai_trace::current_trace_id().unwrap();
    Err(std::io::Error::other(format!("gave up in trace {trace}")))
}

#[genai_span(kind = "chat", provider = "openai", model = "gpt-4o", attrs(gen_ai.request.temperature = 0.25, gen_ai.request.max_tokens = n, gen_ai.request.stop_sequences = ["END", "STOP"]))]
fn chat(n: i64) {
    tool();
}

#[genai_span(kind = "execute_tool", attrs(gen_ai.tool.name = "search"))]
fn tool() {}

fn run_and_check(rotel: &Rotel, otlp: OtlpExporter, service: &str) {
    let guard = Telemetry::builder()
        .env_lookup(|_| None)
        .service_name(service)
        .service_version("9.9.9")
        .with_otlp(otlp)
        .install()
        .unwrap();
    let err = agent(64).unwrap_err().to_string();
    let trace_id = err.rsplit(' ').next().unwrap().to_owned();
    guard.shutdown().expect("a clean shutdown with the collector up");

    let spans = rotel.wait_spans(3, in_trace(&trace_id));
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let by_name = |n: &str| {
        spans
            .iter()
            .find(|s| s["name"] == n)
            .unwrap_or_else(|| panic!("no span {n}"))
    };
    let agent = by_name("invoke_agent planner");
    let chat = by_name("chat gpt-4o");
    let tool = by_name("execute_tool search");
    assert_eq!(agent["parent_span_id"], "");
    assert_eq!(chat["parent_span_id"], agent["span_id"]);
    assert_eq!(tool["parent_span_id"], chat["span_id"]);
    assert_eq!(agent["kind"], "INTERNAL");
    assert_eq!(chat["kind"], "CLIENT");
    assert_eq!(agent["status"]["code"], "ERROR");
    assert!(agent["status"]["message"].as_str().unwrap().starts_with("gave up"));
    assert_eq!(agent["attributes"]["error.type"], "std::io::error::Error");
    assert_eq!(agent["attributes"]["app.user_tier"], "pro");
    assert_eq!(chat["status"]["code"], "UNSET");
    // Typed values survive the trip.
    let a = &chat["attributes"];
    assert_eq!(a["gen_ai.operation.name"], "chat");
    assert_eq!(a["gen_ai.provider.name"], "openai");
    assert_eq!(a["gen_ai.request.temperature"], 0.25);
    assert_eq!(a["gen_ai.request.max_tokens"], 64);
    assert!(a["gen_ai.request.max_tokens"].is_i64());
    assert_eq!(a["gen_ai.request.stop_sequences"], serde_json::json!(["END", "STOP"]));
    assert_eq!(chat["resource"]["service.name"], service);
    assert_eq!(chat["resource"]["service.version"], "9.9.9");
    assert_eq!(chat["scope"]["name"], "genai-trace");

    let points = rotel.wait_metrics(1, of_service("genai_trace.test.calls", service));
    let point = &points[0];
    assert_eq!(point["value"], 3);
    assert_eq!(point["attributes"]["route"], "agent");
}

#[test]
fn otlp_http_protobuf_traces_and_metrics() {
    let Some(rotel) = Rotel::require("otlp_http_protobuf_traces_and_metrics") else {
        return;
    };
    let _l = genai_trace::testing::exclusive();
    run_and_check(
        rotel,
        OtlpExporter::http().endpoint(&rotel.http),
        &unique("collector-http"),
    );
}

#[cfg(feature = "otlp-grpc")]
#[test]
fn otlp_grpc_traces_and_metrics() {
    let Some(rotel) = Rotel::require("otlp_grpc_traces_and_metrics") else {
        return;
    };
    let _l = genai_trace::testing::exclusive();
    run_and_check(
        rotel,
        OtlpExporter::grpc().endpoint(&rotel.grpc),
        &unique("collector-grpc"),
    );
}

#[cfg(feature = "otlp-grpc")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
// The lock serialises installing tests of this binary; nothing else awaits it.
#[allow(clippy::await_holding_lock)]
async fn otlp_grpc_from_inside_a_tokio_runtime() {
    let Some(rotel) = Rotel::require("otlp_grpc_from_inside_a_tokio_runtime") else {
        return;
    };
    let _l = genai_trace::testing::exclusive();
    let guard = Telemetry::builder()
        .env_lookup(|_| None)
        .service_name("collector-grpc-tokio")
        .with_otlp(OtlpExporter::grpc().endpoint(&rotel.grpc).without_metrics())
        .install()
        .unwrap();
    let trace = genai_trace::span("in-tokio")
        .instrument(async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            genai_trace::current_trace_id().unwrap()
        })
        .await;
    // Dropping the guard inside the runtime must not panic (it owns its own runtime).
    drop(guard);
    let spans = rotel.wait_spans(1, in_trace(&trace));
    assert_eq!(spans[0]["name"], "in-tokio");
}

#[test]
fn ten_thousand_spans_arrive_after_guard_drop() {
    let Some(rotel) = Rotel::require("ten_thousand_spans_arrive_after_guard_drop") else {
        return;
    };
    let _l = genai_trace::testing::exclusive();
    let guard = Telemetry::builder()
        .env_lookup(|_| None)
        .service_name("collector-10k")
        .max_queue_size(16_384)
        .with_otlp(OtlpExporter::http().endpoint(&rotel.http).without_metrics())
        .install()
        .unwrap();
    let trace = genai_trace::span("root").in_scope(|| {
        for _ in 0..9_999 {
            tool();
        }
        genai_trace::current_trace_id().unwrap()
    });
    let health = genai_trace::health();
    drop(guard);
    assert_eq!(health.spans_dropped(), 0);
    let spans = rotel.wait_spans(10_000, in_trace(&trace));
    assert_eq!(spans.len(), 10_000);
}

struct Answer;

impl genai_trace::RecordResponse for Answer {
    fn record_response(&self, r: &mut genai_trace::Recorder<'_>) {
        r.response_model("gpt-4o-2024-08-06");
        r.finish_reasons(&["stop"]);
        r.usage(genai_trace::Usage {
            input_tokens: Some(42),
            output_tokens: Some(7),
            ..Default::default()
        });
        r.output_messages(&[genai_trace::Message::assistant("Paris.").finish_reason("stop")]);
    }
}

#[genai_span(kind = "chat", provider = "openai", model = "gpt-4o", sensitive = ["question"])]
fn ask(question: &str) -> Answer {
    let _ = question;
    Answer
}

#[test]
fn genai_chat_span_and_metrics_at_the_collector() {
    let Some(rotel) = Rotel::require("genai_chat_span_and_metrics_at_the_collector") else {
        return;
    };
    let _l = genai_trace::testing::exclusive();
    let service = unique("collector-semconv");
    let guard = Telemetry::builder()
        .env_lookup(|_| None)
        .service_name(service.clone())
        .content_capture(genai_trace::ContentCapture::SpanOnly)
        .with_otlp(OtlpExporter::http().endpoint(&rotel.http))
        .install()
        .unwrap();
    let trace = genai_trace::span("request").in_scope(|| {
        ask("What is the capital of France?");
        genai_trace::current_trace_id().unwrap()
    });
    guard.shutdown().unwrap();
    let spans = rotel.wait_spans(1, |s| s["trace_id"] == trace.as_str() && s["name"] == "chat gpt-4o");
    let a = &spans[0]["attributes"];
    assert_eq!(spans[0]["kind"], "CLIENT");
    assert_eq!(a["gen_ai.operation.name"], "chat");
    assert_eq!(a["gen_ai.provider.name"], "openai");
    assert_eq!(a["gen_ai.request.model"], "gpt-4o");
    assert_eq!(a["gen_ai.response.model"], "gpt-4o-2024-08-06");
    assert_eq!(a["gen_ai.response.finish_reasons"], serde_json::json!(["stop"]));
    assert_eq!(a["gen_ai.usage.input_tokens"], 42);
    assert_eq!(a["gen_ai.usage.output_tokens"], 7);
    let input: Value = serde_json::from_str(a["gen_ai.input.messages"].as_str().unwrap()).unwrap();
    assert_eq!(input[0]["parts"][0]["content"], "What is the capital of France?");
    let output: Value = serde_json::from_str(a["gen_ai.output.messages"].as_str().unwrap()).unwrap();
    assert_eq!(output[0]["finish_reason"], "stop");

    let ours = rotel.wait_metrics(2, of_service("gen_ai.client.token.usage", &service));
    assert_eq!(ours.len(), 2, "{ours:#?}");
    for p in &ours {
        assert_eq!(p["unit"], "{token}");
        assert_eq!(p["attributes"]["gen_ai.request.model"], "gpt-4o");
        let sum = p["sum"].as_f64().unwrap();
        match p["attributes"]["gen_ai.token.type"].as_str().unwrap() {
            "input" => assert_eq!(sum, 42.0),
            "output" => assert_eq!(sum, 7.0),
            other => panic!("token type {other}"),
        }
        let bounds: Vec<f64> = serde_json::from_value(p["explicit_bounds"].clone()).expect("explicit_bounds");
        assert_eq!(bounds, genai_trace::semconv::metric::TOKEN_BUCKETS, "{p:#?}");
    }
    let durations = rotel.wait_metrics(1, of_service("gen_ai.client.operation.duration", &service));
    let d = &durations[0];
    assert_eq!(d["unit"], "s");
    assert_eq!(d["attributes"]["gen_ai.operation.name"], "chat");
}

#[cfg(feature = "logs")]
#[test]
fn otlp_logs_carry_the_trace_ids_of_their_spans() {
    use tracing_subscriber::layer::SubscriberExt;
    let Some(rotel) = Rotel::require("otlp_logs_carry_the_trace_ids_of_their_spans") else {
        return;
    };
    let _l = genai_trace::testing::exclusive();
    let service = unique("collector-logs");
    let guard = Telemetry::builder()
        .env_lookup(|_| None)
        .service_name(service.clone())
        .with_otlp(OtlpExporter::http().endpoint(&rotel.http))
        .install()
        .unwrap();
    let layer = genai_trace::logging::otlp_logs_layer().expect("an OTLP logs layer while installed");
    let subscriber = tracing_subscriber::registry().with(layer);
    let (trace, span) = tracing::subscriber::with_default(subscriber, || {
        genai_trace::span("with-logs").in_scope(|| {
            tracing::info!(answer = 42, "inside the span");
            (
                genai_trace::current_trace_id().unwrap(),
                genai_trace::current_span_id().unwrap(),
            )
        })
    });
    guard.shutdown().unwrap();
    let logs = rotel.wait_logs(1, in_trace(&trace));
    assert_eq!(logs.len(), 1, "{logs:#?}");
    let log = &logs[0];
    assert_eq!(log["body"], "inside the span");
    assert_eq!(log["span_id"], span.as_str());
    assert_eq!(log["severity_text"], "INFO");
    assert_eq!(log["attributes"]["answer"], 42);
    assert_eq!(log["resource"]["service.name"], service.as_str());
    let spans = rotel.wait_spans(1, |s| s["trace_id"] == trace.as_str() && s["name"] == "with-logs");
    assert_eq!(spans[0]["span_id"], log["span_id"], "the log points at its span");
}

/// With OTLP logs on, the inference details event is a log record (as GenAI
/// events are in the conventions): its event name, the span's trace context,
/// the call's attributes, and content as structured values, not JSON text.
#[cfg(feature = "logs")]
#[test]
fn the_details_event_is_a_structured_log_record_when_logs_are_on() {
    #[genai_span(kind = "chat", provider = "openai", model = "gpt-4o", sensitive = ["question"])]
    fn ask(question: &str) -> usize {
        question.len()
    }
    let Some(rotel) = Rotel::require("the_details_event_is_a_structured_log_record_when_logs_are_on") else {
        return;
    };
    let _l = genai_trace::testing::exclusive();
    let guard = Telemetry::builder()
        .env_lookup(|_| None)
        .service_name(unique("details-log"))
        .content_capture(genai_trace::ContentCapture::EventOnly)
        .with_otlp(OtlpExporter::http().endpoint(&rotel.http))
        .install()
        .unwrap();
    let trace = genai_trace::span("turn").in_scope(|| {
        ask("weather in Lisbon?");
        genai_trace::current_trace_id().unwrap()
    });
    guard.shutdown().unwrap();
    let logs = rotel.wait_logs(1, in_trace(&trace));
    assert_eq!(logs.len(), 1, "{logs:#?}");
    let log = &logs[0];
    assert_eq!(log["event_name"], "gen_ai.client.inference.operation.details");
    assert_eq!(log["attributes"]["gen_ai.operation.name"], "chat");
    assert_eq!(log["attributes"]["gen_ai.request.model"], "gpt-4o");
    assert_eq!(
        log["attributes"]["gen_ai.input.messages"],
        serde_json::json!([{"role": "user", "parts": [{"type": "text", "content": "weather in Lisbon?"}]}]),
        "structured, not a JSON string"
    );
    let spans = rotel.wait_spans(1, |s| s["trace_id"] == trace.as_str() && s["name"] == "chat gpt-4o");
    assert_eq!(log["span_id"], spans[0]["span_id"], "the record points at its span");
    assert_eq!(spans[0]["events"], serde_json::json!([]), "not also a span event");
    assert!(
        spans[0]["attributes"].get("gen_ai.input.messages").is_none(),
        "event only"
    );
}

/// A collector stopped mid-run and started again on the same ports: no span
/// vanishes uncounted (exported, failed, dropped or lost), and the export
/// resumes once it is back.
#[test]
fn a_collector_restarted_mid_run_loses_nothing_uncounted() {
    use genai_trace_test_support::RotelOptions;
    if Rotel::require("a_collector_restarted_mid_run_loses_nothing_uncounted").is_none() {
        return;
    }
    let _l = genai_trace::testing::exclusive();
    for grpc in [false, true] {
        let first = Rotel::start(&RotelOptions::default()).expect("rotel");
        let ports = first.ports();
        let service = unique(if grpc {
            "collector-restart-grpc"
        } else {
            "collector-restart-http"
        });
        let otlp = if grpc {
            OtlpExporter::grpc().endpoint(&first.grpc)
        } else {
            OtlpExporter::http().endpoint(&first.http)
        };
        let guard = Telemetry::builder()
            .env_lookup(|_| None)
            .quiet()
            .service_name(service.clone())
            .max_export_batch_size(50)
            .scheduled_delay(Duration::from_millis(20))
            .with_otlp(otlp.timeout(Duration::from_secs(2)).without_metrics())
            .install()
            .unwrap();
        let produced = 1_500;
        let mut first = Some(first);
        let mut second = None;
        for i in 0..produced {
            tool();
            if i % 50 == 49 {
                std::thread::sleep(Duration::from_millis(5));
            }
            if i == 500 {
                first.take().unwrap().stop();
                // Down for longer than an export's timeout and its retries' first waits.
                std::thread::sleep(Duration::from_millis(2_500));
            }
            if i == 1_000 {
                second = Some(
                    Rotel::start(&RotelOptions {
                        ports: Some(ports),
                        ..RotelOptions::default()
                    })
                    .expect("rotel again, on the same ports"),
                );
            }
        }
        drop(guard);
        let h = genai_trace::health();
        assert_eq!(
            h.spans_exported() + h.spans_failed() + h.spans_dropped() + h.spans_lost(),
            produced,
            "every span counted once: {h:?}"
        );
        // Whether the outage shows as failures depends on opentelemetry-otlp's retries
        // (a short outage is bridged by them): only the accounting is exact.
        eprintln!("restart over {}: {h:?}", if grpc { "gRPC" } else { "HTTP" });
        let second = second.unwrap();
        let after = second
            .spans()
            .into_iter()
            .filter(|s| s["resource"]["service.name"] == service.as_str())
            .count() as u64;
        assert!(after > 0, "the export resumed after the restart: {h:?}");
        assert!(after <= h.spans_exported(), "{after} received after the restart, {h:?}");
        second.stop();
    }
}

struct PricedAnswer;

impl genai_trace::RecordResponse for PricedAnswer {
    fn record_response(&self, r: &mut genai_trace::Recorder<'_>) {
        r.response_model("gpt-4o-2024-08-06");
        r.usage(genai_trace::Usage {
            input_tokens: Some(12_000),
            output_tokens: Some(3_000),
            cache_read_input_tokens: Some(4_000),
            ..Default::default()
        });
    }
}

#[genai_span(kind = "invoke_agent", attrs(gen_ai.agent.name = "support"))]
fn support_agent(fail: bool) -> String {
    priced_chat();
    // The agent recovers from the tool's failure: only the tool span fails.
    let _ = flaky_tool(fail);
    genai_trace::current_trace_id().unwrap()
}

#[genai_span(kind = "chat", provider = "openai", model = "gpt-4o")]
fn priced_chat() -> PricedAnswer {
    PricedAnswer
}

#[genai_span(kind = "execute_tool", attrs(gen_ai.tool.name = "lookup"))]
fn flaky_tool(fail: bool) -> Result<(), std::io::Error> {
    if fail {
        Err(std::io::Error::other("lookup timed out"))
    } else {
        Ok(())
    }
}

/// The issue's acceptance run: 5 % head sampling with error-keeping and a price
/// table, all from the environment, 400 traces of which every 20th fails.
#[test]
fn failed_traces_arrive_whole_the_rest_at_the_ratio_each_chat_priced() {
    use opentelemetry_sdk::trace::{Sampler, SamplingDecision, ShouldSample};
    let Some(rotel) = Rotel::require("failed_traces_arrive_whole_the_rest_at_the_ratio_each_chat_priced") else {
        return;
    };
    let _l = genai_trace::testing::exclusive();
    let service = unique("collector-keep-errors");
    let prices = std::env::temp_dir().join(format!("{service}-prices.json"));
    std::fs::write(
        &prices,
        r#"{"gpt-4o": {"input": 2.5, "output": 10.0, "cache_read": 1.25}}"#,
    )
    .unwrap();
    let env: std::collections::HashMap<&str, String> = [
        ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio".to_owned()),
        ("OTEL_TRACES_SAMPLER_ARG", "0.05".to_owned()),
        ("GENAI_TRACE_KEEP_ERROR_TRACES", "true".to_owned()),
        ("GENAI_TRACE_PRICES", prices.display().to_string()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", rotel.http.clone()),
        ("OTEL_SERVICE_NAME", service.clone()),
        ("OTEL_METRICS_EXPORTER", "none".to_owned()),
    ]
    .into_iter()
    .collect();
    let guard = Telemetry::from_env()
        .env_lookup(move |k| env.get(k).cloned())
        .install()
        .unwrap();
    let traces: Vec<(String, bool)> = (0..400)
        .map(|i| {
            let fail = i % 20 == 19;
            (support_agent(fail), fail)
        })
        .collect();
    let health = genai_trace::health();
    guard.shutdown().unwrap();
    std::fs::remove_file(&prices).unwrap();
    assert!(health.warnings.is_empty(), "{:?}", health.warnings);

    // What the head sampler alone keeps, asked of the SDK's own sampler.
    let head = Sampler::TraceIdRatioBased(0.05);
    let head_sampled = |trace: &str| {
        let id = opentelemetry::trace::TraceId::from_hex(trace).unwrap();
        let d = head.should_sample(None, id, "", &opentelemetry::trace::SpanKind::Internal, &[], &[]);
        d.decision == SamplingDecision::RecordAndSample
    };
    let expected: Vec<&str> = traces
        .iter()
        .filter(|(t, fail)| *fail || head_sampled(t))
        .map(|(t, _)| t.as_str())
        .collect();
    let ok_sampled = traces.iter().filter(|(t, fail)| !fail && head_sampled(t)).count();
    // 380 traces without failure at 5 %: 19 expected; 3..=45 is beyond 5 σ.
    assert!((3..=45).contains(&ok_sampled), "{ok_sampled} of 380 head-sampled");
    let failed_not_head_sampled = traces.iter().filter(|(t, fail)| *fail && !head_sampled(t)).count() as u64;
    assert_eq!(health.held_traces.kept, failed_not_head_sampled);
    assert_eq!(health.held_traces.sampled_out, 380 - ok_sampled as u64);

    let spans = rotel.wait_spans(expected.len() * 3, |s| {
        s["resource"]["service.name"] == service.as_str()
    });
    assert_eq!(spans.len(), expected.len() * 3);
    for trace in &expected {
        let of_trace: Vec<&Value> = spans.iter().filter(|s| s["trace_id"] == *trace).collect();
        let mut names: Vec<&str> = of_trace.iter().map(|s| s["name"].as_str().unwrap()).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            ["chat gpt-4o", "execute_tool lookup", "invoke_agent support"],
            "trace {trace} arrives whole"
        );
        // 8,000 uncached in at $2.50/M + 4,000 cached at $1.25/M + 3,000 out at $10/M.
        let chat = of_trace.iter().find(|s| s["name"] == "chat gpt-4o").unwrap();
        let usd = chat["attributes"]["genai_trace.usage.cost"].as_f64().unwrap();
        assert!((usd - 0.055).abs() < 1e-12, "{usd}");
    }
    let failed_arrived = spans
        .iter()
        .filter(|s| s["name"] == "execute_tool lookup" && s["status"]["code"] == "ERROR")
        .count();
    assert_eq!(failed_arrived, 20, "every failed trace");
}
