//! Backend dialects and what a trace's root shows: inputs and outputs of
//! sessions, agents and tools, span categories, the OpenInference / MLflow /
//! Langfuse attributes, and the content gate in every dialect.
#![cfg(feature = "testing")]
#![allow(clippy::float_cmp, reason = "exact values recorded and read back")]

use std::time::{Duration, SystemTime};

use genai_trace::opentelemetry::{StringValue, Value};
use genai_trace::opentelemetry_sdk::trace::SpanData;
use genai_trace::testing::{TestTelemetry, attribute};
use genai_trace::{
    ChunkRecorder, ContentCapture, Dialects, ModelPrice, PriceTable, RecordChunk, RecordResponse, Recorder, Session,
    Usage, genai_span,
};

struct Answer(&'static str);

impl RecordResponse for Answer {
    fn record_response(&self, r: &mut Recorder<'_>) {
        r.response_model("gpt-4o-2024-08-06");
        r.usage(Usage {
            input_tokens: Some(100),
            output_tokens: Some(20),
            cache_read_input_tokens: Some(30),
            reasoning_output_tokens: Some(5),
            ..Usage::default()
        });
        r.output_messages(&[genai_trace::Message::assistant(self.0).finish_reason("stop")]);
    }
}

#[genai_span(kind = "chat", provider = "openai", model = "gpt-4o", sensitive = ["prompt"])]
fn chat(prompt: &str) -> Answer {
    let _ = prompt;
    Answer("a plan")
}

struct Token(&'static str, bool);

impl RecordChunk for Token {
    fn record_chunk(&self, c: &mut ChunkRecorder<'_>) {
        c.text_delta(self.0);
        if self.1 {
            c.finish_reason("stop");
        }
    }
}

#[genai_span(kind = "chat", provider = "openai", model = "gpt-4o", sensitive = ["prompt"])]
fn stream(prompt: &str) -> impl Iterator<Item = Token> {
    let _ = prompt;
    [Token("Day 1. ", false), Token("Day 2.", true)]
        .into_iter()
        .inspect(|_| std::thread::sleep(Duration::from_millis(5)))
}

#[genai_span(kind = "execute_tool", attrs(gen_ai.tool.call.id = call_id), sensitive = ["city"])]
fn get_weather(call_id: &str, city: &str) -> Result<String, std::io::Error> {
    let _ = call_id;
    Ok(format!("sunny in {city}"))
}

#[genai_span(kind = "rag.rerank")]
fn rerank(docs: Vec<&'static str>) -> Vec<&'static str> {
    docs.into_iter().take(1).collect()
}

#[genai_span(kind = "check_pii", category = "guardrail")]
fn check(text: &str) -> bool {
    !text.is_empty()
}

#[genai_span(kind = "invoke_agent", provider = "openai", attrs(gen_ai.agent.name = "planner"), sensitive = ["task"])]
fn agent(task: &str) -> Result<String, std::io::Error> {
    let plan = chat(task);
    let weather = get_weather("call_1", "Lisbon")?;
    let _ = rerank(vec!["a.md", "b.md"]);
    let _ = check(plan.0);
    let streamed: String = stream("go").map(|t| t.0).collect();
    Ok(format!("{weather}; {streamed}"))
}

fn run_demo() {
    let mut session = Session::builder()
        .session_id("s-1")
        .user_id("ada")
        .tag("demo")
        .input("three days in Lisbon")
        .start();
    let answer = session.in_scope(|| agent("three days in Lisbon")).unwrap();
    session.record_output(&answer);
}

fn string(span: &SpanData, key: &str) -> Option<String> {
    attribute(span, key).map(Value::to_string)
}

fn by_name<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name}"))
}

fn prices() -> PriceTable {
    PriceTable::new().with_price("gpt-4o", ModelPrice::new(2.5, 10.0))
}

#[test]
fn default_output_is_pure_semconv_and_roots_carry_input_and_output() {
    let t = TestTelemetry::install_with(|b| b.content_capture(ContentCapture::SpanOnly));
    run_demo();
    let spans = t.finish();
    for s in &spans {
        for kv in &s.attributes {
            let k = kv.key.as_str();
            assert!(
                !(k.starts_with("openinference.")
                    || k.starts_with("mlflow.")
                    || k.starts_with("langfuse.")
                    || k.starts_with("input.")
                    || k.starts_with("output.")),
                "{} carries {k} without a dialect",
                s.name
            );
        }
    }
    let session = by_name(&spans, "session");
    let input = string(session, "gen_ai.input.messages").unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&input).unwrap(),
        serde_json::json!([{"role": "user", "parts": [{"type": "text", "content": "three days in Lisbon"}]}])
    );
    let output: serde_json::Value = serde_json::from_str(&string(session, "gen_ai.output.messages").unwrap()).unwrap();
    assert_eq!(output[0]["role"], "assistant");
    assert_eq!(output[0]["finish_reason"], "stop");
    assert_eq!(output[0]["parts"][0]["content"], "sunny in Lisbon; Day 1. Day 2.");
    assert_eq!(
        attribute(session, "genai_trace.session.tags"),
        Some(&Value::Array(vec![StringValue::from("demo")].into()))
    );
    // The agent: its `sensitive` task is its input, its return value its output.
    let agent = by_name(&spans, "invoke_agent planner");
    assert!(
        string(agent, "gen_ai.input.messages")
            .unwrap()
            .contains("three days in Lisbon")
    );
    assert!(
        string(agent, "gen_ai.output.messages")
            .unwrap()
            .contains("sunny in Lisbon; Day 1. Day 2.")
    );
    // The tool: arguments and result, and the call id it was given.
    let tool = by_name(&spans, "execute_tool get_weather");
    assert_eq!(
        string(tool, "gen_ai.tool.call.arguments").as_deref(),
        Some("\"Lisbon\"")
    );
    assert_eq!(
        string(tool, "gen_ai.tool.call.result").as_deref(),
        Some("\"sunny in Lisbon\"")
    );
    assert_eq!(string(tool, "gen_ai.tool.call.id").as_deref(), Some("call_1"));
    // The category option is on the span; a custom kind without it has none.
    assert_eq!(
        string(by_name(&spans, "check_pii"), "genai_trace.span.category").as_deref(),
        Some("guardrail")
    );
    assert_eq!(
        attribute(by_name(&spans, "rag.rerank"), "genai_trace.span.category"),
        None
    );
}

#[test]
fn content_stays_gated_in_every_dialect() {
    let t = TestTelemetry::install_with(|b| b.dialects(Dialects::ALL));
    run_demo();
    let spans = t.finish();
    for s in &spans {
        for key in [
            "gen_ai.input.messages",
            "gen_ai.output.messages",
            "input.value",
            "output.value",
            "mlflow.spanInputs",
            "mlflow.spanOutputs",
            "langfuse.observation.input",
            "langfuse.observation.output",
            "langfuse.trace.input",
            "langfuse.trace.output",
        ] {
            assert_eq!(
                attribute(s, key),
                None,
                "{} carries {key} with content capture off",
                s.name
            );
        }
        // Kinds are not content: every span still has one in every dialect.
        assert!(attribute(s, "openinference.span.kind").is_some(), "{}", s.name);
        assert!(attribute(s, "mlflow.spanType").is_some(), "{}", s.name);
        assert!(attribute(s, "langfuse.observation.type").is_some(), "{}", s.name);
    }
}

#[test]
fn every_span_gets_a_kind_each_backend_knows() {
    let t = TestTelemetry::install_with(|b| b.dialects(Dialects::ALL).content_capture(ContentCapture::SpanOnly));
    run_demo();
    let spans = t.finish();
    let kinds: Vec<(String, String, String, String)> = spans
        .iter()
        .map(|s| {
            (
                s.name.to_string(),
                string(s, "openinference.span.kind").unwrap(),
                string(s, "mlflow.spanType").unwrap(),
                string(s, "langfuse.observation.type").unwrap(),
            )
        })
        .collect();
    let expect = |name: &str, oi: &str, ml: &str, lf: &str| {
        assert!(
            kinds.contains(&(name.into(), oi.into(), ml.into(), lf.into())),
            "{name}: {kinds:?}"
        );
    };
    expect("session", "CHAIN", "CHAIN", "chain");
    expect("invoke_agent planner", "AGENT", "AGENT", "agent");
    expect("chat gpt-4o", "LLM", "CHAT_MODEL", "generation");
    expect("execute_tool get_weather", "TOOL", "TOOL", "tool");
    expect("rag.rerank", "RERANKER", "RERANKER", "span");
    expect("check_pii", "GUARDRAIL", "GUARDRAIL", "guardrail");
}

#[test]
fn openinference_and_langfuse_show_inputs_and_outputs() {
    let t = TestTelemetry::install_with(|b| {
        b.dialects("openinference,langfuse".parse().unwrap())
            .content_capture(ContentCapture::SpanOnly)
            .prices(prices())
    });
    run_demo();
    let spans = t.finish();
    let session = by_name(&spans, "session");
    assert_eq!(string(session, "input.value").as_deref(), Some("three days in Lisbon"));
    assert_eq!(string(session, "input.mime_type").as_deref(), Some("text/plain"));
    assert_eq!(
        string(session, "output.value").as_deref(),
        Some("sunny in Lisbon; Day 1. Day 2.")
    );
    assert_eq!(
        string(session, "langfuse.trace.input").as_deref(),
        Some("three days in Lisbon")
    );
    assert_eq!(
        string(session, "langfuse.trace.output").as_deref(),
        Some("sunny in Lisbon; Day 1. Day 2.")
    );
    assert_eq!(string(session, "langfuse.trace.name").as_deref(), Some("session"));
    assert_eq!(
        attribute(session, "langfuse.trace.tags"),
        Some(&Value::Array(vec![StringValue::from("demo")].into()))
    );
    // No trace-level attributes below the root.
    let agent = by_name(&spans, "invoke_agent planner");
    assert_eq!(attribute(agent, "langfuse.trace.input"), None);
    assert_eq!(string(agent, "langfuse.session.id").as_deref(), Some("s-1"));
    assert_eq!(string(agent, "langfuse.user.id").as_deref(), Some("ada"));

    // The non-streamed chat shows its answer, not a JSON object.
    let chat = spans
        .iter()
        .find(|s| s.name == "chat gpt-4o" && attribute(s, "gen_ai.request.stream").is_none())
        .unwrap();
    assert_eq!(string(chat, "output.value").as_deref(), Some("a plan"));
    assert_eq!(string(chat, "input.value").as_deref(), Some("three days in Lisbon"));
    // Langfuse's usage: input without cache reads, output without reasoning.
    let usage: serde_json::Value =
        serde_json::from_str(&string(chat, "langfuse.observation.usage_details").unwrap()).unwrap();
    assert_eq!(
        usage,
        serde_json::json!({"input": 70, "input_cached_tokens": 30, "output": 15, "output_reasoning_tokens": 5, "total": 120})
    );
    let cost: serde_json::Value =
        serde_json::from_str(&string(chat, "langfuse.observation.cost_details").unwrap()).unwrap();
    let recorded = match attribute(chat, "genai_trace.usage.cost") {
        Some(Value::F64(c)) => *c,
        other => panic!("no cost: {other:?}"),
    };
    assert_eq!(cost, serde_json::json!({ "total": recorded }));
    assert_eq!(
        string(chat, "langfuse.observation.model.name").as_deref(),
        Some("gpt-4o-2024-08-06")
    );

    // The tool's arguments and result.
    let tool = by_name(&spans, "execute_tool get_weather");
    assert_eq!(string(tool, "input.value").as_deref(), Some("Lisbon"));
    assert_eq!(string(tool, "output.value").as_deref(), Some("sunny in Lisbon"));
    assert_eq!(
        string(tool, "langfuse.observation.output").as_deref(),
        Some("sunny in Lisbon")
    );
}

#[test]
fn langfuse_completion_start_time_lies_inside_the_streamed_span() {
    let t = TestTelemetry::install_with(|b| b.dialects(Dialects::LANGFUSE));
    run_demo();
    let spans = t.finish();
    let streamed = spans
        .iter()
        .find(|s| attribute(s, "gen_ai.request.stream").is_some())
        .expect("the streamed chat");
    let iso = string(streamed, "langfuse.observation.completion_start_time").unwrap();
    let at = parse_iso8601(&iso);
    let ms = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_millis();
    assert!(
        ms(streamed.start_time) <= at && at <= ms(streamed.end_time),
        "{iso} outside [{:?}, {:?}]",
        streamed.start_time,
        streamed.end_time
    );
    // Only spans with a time to first chunk get one.
    let plain = spans
        .iter()
        .find(|s| s.name == "chat gpt-4o" && attribute(s, "gen_ai.request.stream").is_none())
        .unwrap();
    assert_eq!(attribute(plain, "langfuse.observation.completion_start_time"), None);
}

/// Milliseconds since the epoch of `YYYY-MM-DDTHH:MM:SS.mmmZ`, computed
/// independently of the runtime's formatter (days from a civil date).
fn parse_iso8601(iso: &str) -> u128 {
    let s = iso;
    let n = |r: std::ops::Range<usize>| s[r].parse::<i64>().unwrap();
    let (year, month, day) = (n(0..4), n(5..7), n(8..10));
    assert_eq!(
        (&s[4..5], &s[10..11], &s[19..20], &s[23..]),
        ("-", "T", ".", "Z"),
        "{s}"
    );
    let days_before_year: i64 = (1970..year)
        .map(|yr| {
            if (yr % 4 == 0 && yr % 100 != 0) || yr % 400 == 0 {
                366
            } else {
                365
            }
        })
        .sum();
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let days = days_before_year + month_days[..usize::try_from(month - 1).unwrap()].iter().sum::<i64>() + day - 1;
    let ms = ((days * 24 + n(11..13)) * 60 + n(14..16)) * 60 * 1000 + n(17..19) * 1000 + n(20..23);
    u128::try_from(ms).unwrap()
}

#[test]
fn user_attributes_win_over_dialect_ones() {
    #[genai_span(kind = "rag.rerank", attrs(openinference.span.kind = "LLM"))]
    fn odd() {}
    let t = TestTelemetry::install_with(|b| b.dialects(Dialects::OPENINFERENCE));
    odd();
    let spans = t.finish();
    let values: Vec<_> = spans[0]
        .attributes
        .iter()
        .filter(|kv| kv.key.as_str() == "openinference.span.kind")
        .collect();
    assert_eq!(values.len(), 1);
    assert_eq!(values[0].value.to_string(), "LLM");
}

#[test]
fn genai_trace_dialects_from_the_environment() {
    let t = TestTelemetry::install_with(|b| {
        b.env_lookup(|k| (k == "GENAI_TRACE_DIALECTS").then(|| "MLflow, langfuse".to_owned()))
    });
    rerank(vec!["a"]);
    let spans = t.finish();
    assert_eq!(string(&spans[0], "mlflow.spanType").as_deref(), Some("RERANKER"));
    assert_eq!(string(&spans[0], "langfuse.observation.type").as_deref(), Some("span"));
    assert_eq!(attribute(&spans[0], "openinference.span.kind"), None);

    let t =
        TestTelemetry::install_with(|b| b.env_lookup(|k| (k == "GENAI_TRACE_DIALECTS").then(|| "jaeger".to_owned())));
    rerank(vec!["a"]);
    let warnings = genai_trace::health().warnings;
    assert!(
        warnings
            .iter()
            .any(|w| w.variable == "GENAI_TRACE_DIALECTS" && w.message.contains("jaeger")),
        "{warnings:?}"
    );
    assert!(
        t.finish()[0]
            .attributes
            .iter()
            .all(|kv| !kv.key.as_str().starts_with("mlflow."))
    );
}

#[test]
fn every_category_option_is_a_span_category() {
    #[genai_span(kind = "a", category = "llm")]
    fn a() {}
    #[genai_span(kind = "b", category = "embedding")]
    fn b() {}
    #[genai_span(kind = "c", category = "retriever")]
    fn c() {}
    #[genai_span(kind = "d", category = "reranker")]
    fn d() {}
    #[genai_span(kind = "e", category = "tool")]
    fn e() {}
    #[genai_span(kind = "f", category = "agent")]
    fn f() {}
    #[genai_span(kind = "g", category = "chain")]
    fn g() {}
    #[genai_span(kind = "h", category = "guardrail")]
    fn h() {}
    #[genai_span(kind = "i", category = "evaluator")]
    fn i() {}
    let t = TestTelemetry::install();
    for run in [a, b, c, d, e, f, g, h, i] {
        run();
    }
    let spans = t.finish();
    let categories: Vec<genai_trace::SpanCategory> = spans
        .iter()
        .map(|s| genai_trace::SpanCategory::parse(&string(s, "genai_trace.span.category").unwrap()).unwrap())
        .collect();
    assert_eq!(categories, genai_trace::SpanCategory::ALL);
}
