//! GenAI semantic conventions per operation: the exact attribute set of each
//! exported span (names, types, values) for success, error and content capture
//! off / on span / in the event; metrics with the spec's buckets.
#![cfg(all(feature = "testing", feature = "metrics"))]

use std::collections::BTreeMap;

use genai_trace::opentelemetry::trace::{SpanKind, Status};
use genai_trace::opentelemetry::{StringValue, Value};
use genai_trace::opentelemetry_sdk::metrics::data::{ResourceMetrics, ScopeMetrics};
use genai_trace::opentelemetry_sdk::trace::SpanData;
use genai_trace::testing::TestTelemetry;
use genai_trace::{
    ContentCapture, Document, Message, RecordRequest, RecordResponse, Recorder, Usage, genai_span, semconv,
};
use serde_json::json;

/// Attribute values with their type: `s:text`, `i:12`, `f:0.5`, `b:true`, `[s]:a|b`.
fn typed(v: &Value) -> String {
    use genai_trace::opentelemetry::Array;
    match v {
        Value::String(s) => format!("s:{s}"),
        Value::I64(i) => format!("i:{i}"),
        Value::F64(f) => format!("f:{f}"),
        Value::Bool(b) => format!("b:{b}"),
        Value::Array(Array::String(a)) => {
            format!(
                "[s]:{}",
                a.iter().map(StringValue::as_str).collect::<Vec<_>>().join("|")
            )
        }
        other => format!("?:{other}"),
    }
}

fn attrs(span: &SpanData) -> BTreeMap<String, String> {
    span.attributes
        .iter()
        .map(|kv| (kv.key.to_string(), typed(&kv.value)))
        .collect()
}

fn expect(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

// ---- a small fake client ----------------------------------------------------

struct ChatRequest {
    model: String,
    messages: Vec<Message>,
    system: String,
}

impl RecordRequest for ChatRequest {
    fn record_request(&self, r: &mut Recorder<'_>) {
        r.request_model(&self.model);
        r.temperature(0.5);
        r.top_p(0.9);
        r.max_tokens(256);
        r.stop_sequences(&["END"]);
        r.seed(7);
        r.choice_count(1); // == 1: not recorded
        r.conversation_id("conv-1");
        r.server_address("api.openai.com");
        r.server_port(443);
        r.system_instructions(&self.system);
        r.input_messages(&self.messages);
    }
}

struct ChatResponse {
    text: String,
}

impl RecordResponse for ChatResponse {
    fn record_response(&self, r: &mut Recorder<'_>) {
        r.response_id("resp-1");
        r.response_model("gpt-4o-2024-08-06");
        r.finish_reasons(&["stop"]);
        r.usage(Usage {
            input_tokens: Some(120),
            output_tokens: Some(40),
            cache_read_input_tokens: Some(100),
            cache_creation_input_tokens: Some(20),
            reasoning_output_tokens: Some(8),
        });
        r.output_messages(&[Message::assistant(&self.text).finish_reason("stop")]);
    }
}

#[derive(Debug)]
struct ApiError(String);
impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "api error: {}", self.0)
    }
}

#[genai_span(kind = "chat", provider = "openai")]
fn chat(req: &ChatRequest, fail: bool) -> Result<ChatResponse, ApiError> {
    if fail {
        return Err(ApiError("overloaded".into()));
    }
    Ok(ChatResponse {
        text: format!("echo {}", req.messages.len()),
    })
}

fn request() -> ChatRequest {
    ChatRequest {
        model: "gpt-4o".into(),
        messages: vec![Message::user("What is the capital of France?")],
        system: "Be brief.".into(),
    }
}

const CHAT_BASE: &[(&str, &str)] = &[
    ("gen_ai.operation.name", "s:chat"),
    ("gen_ai.provider.name", "s:openai"),
    ("gen_ai.request.model", "s:gpt-4o"),
    ("gen_ai.request.temperature", "f:0.5"),
    ("gen_ai.request.top_p", "f:0.9"),
    ("gen_ai.request.max_tokens", "i:256"),
    ("gen_ai.request.stop_sequences", "[s]:END"),
    ("gen_ai.request.seed", "i:7"),
    ("gen_ai.conversation.id", "s:conv-1"),
    ("server.address", "s:api.openai.com"),
    ("server.port", "i:443"),
];

const CHAT_RESPONSE: &[(&str, &str)] = &[
    ("gen_ai.response.id", "s:resp-1"),
    ("gen_ai.response.model", "s:gpt-4o-2024-08-06"),
    ("gen_ai.response.finish_reasons", "[s]:stop"),
    ("gen_ai.usage.input_tokens", "i:120"),
    ("gen_ai.usage.output_tokens", "i:40"),
    ("gen_ai.usage.cache_read.input_tokens", "i:100"),
    ("gen_ai.usage.cache_creation.input_tokens", "i:20"),
    ("gen_ai.usage.reasoning.output_tokens", "i:8"),
];

#[test]
fn chat_success_without_content() {
    let t = TestTelemetry::install();
    chat(&request(), false).unwrap();
    let s = t.span("chat gpt-4o");
    assert_eq!(s.span_kind, SpanKind::Client);
    assert_eq!(s.status, Status::Unset);
    let mut want = expect(CHAT_BASE);
    want.extend(expect(CHAT_RESPONSE));
    assert_eq!(attrs(&s), want);
    assert!(s.events.is_empty());
}

#[test]
fn chat_error() {
    let t = TestTelemetry::install();
    let _ = chat(&request(), true);
    let s = t.span("chat gpt-4o");
    let mut want = expect(CHAT_BASE);
    want.insert("error.type".into(), "s:semconv::ApiError".into());
    assert_eq!(attrs(&s), want);
    assert_eq!(s.status, Status::error("api error: overloaded"));
}

#[test]
fn chat_content_on_span() {
    let t = TestTelemetry::install_with(|b| b.content_capture(ContentCapture::SpanOnly));
    chat(&request(), false).unwrap();
    let s = t.span("chat gpt-4o");
    let a = attrs(&s);
    let json = |k: &str| serde_json::from_str::<serde_json::Value>(&a[k][2..]).unwrap();
    assert_eq!(
        json("gen_ai.input.messages"),
        json!([{"role": "user", "parts": [{"type": "text", "content": "What is the capital of France?"}]}])
    );
    assert_eq!(
        json("gen_ai.system_instructions"),
        json!([{"type": "text", "content": "Be brief."}])
    );
    assert_eq!(
        json("gen_ai.output.messages"),
        json!([{"role": "assistant", "parts": [{"type": "text", "content": "echo 1"}], "finish_reason": "stop"}])
    );
    assert_eq!(a.len(), CHAT_BASE.len() + CHAT_RESPONSE.len() + 3);
    assert!(s.events.is_empty(), "SPAN_ONLY: no event");
}

#[test]
fn chat_content_in_event_only() {
    let t = TestTelemetry::install_with(|b| b.content_capture(ContentCapture::EventOnly));
    chat(&request(), false).unwrap();
    let s = t.span("chat gpt-4o");
    let mut want = expect(CHAT_BASE);
    want.extend(expect(CHAT_RESPONSE));
    assert_eq!(attrs(&s), want, "no content on the span");
    let ev = s
        .events
        .iter()
        .find(|e| e.name == semconv::INFERENCE_DETAILS_EVENT)
        .expect("details event");
    // The event stands on its own: the span's GenAI attributes (its group in
    // the conventions requires gen_ai.operation.name), then the content.
    let event = ev
        .attributes
        .iter()
        .map(|kv| (kv.key.to_string(), typed(&kv.value)))
        .collect::<BTreeMap<_, _>>();
    let content = [
        "gen_ai.system_instructions",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
    ];
    let mut without_content = event.clone();
    without_content.retain(|k, _| !content.contains(&k.as_str()));
    assert_eq!(without_content, want);
    let keys: Vec<_> = ev.attributes.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys[keys.len() - 3..], content, "content last");
}

#[test]
fn span_and_event_has_both() {
    let t = TestTelemetry::install_with(|b| b.content_capture(ContentCapture::SpanAndEvent));
    chat(&request(), false).unwrap();
    let s = t.span("chat gpt-4o");
    assert!(attrs(&s).contains_key("gen_ai.input.messages"));
    assert!(s.events.iter().any(|e| e.name == semconv::INFERENCE_DETAILS_EVENT));
}

// ---- sensitive arguments, per operation ----------------------------------

#[genai_span(kind = "text_completion", provider = "openai", model = "gpt-3.5-turbo-instruct", sensitive = ["prompt"])]
fn complete(prompt: &str) -> String {
    prompt.to_uppercase()
}

#[genai_span(kind = "generate_content", provider = "gcp.gemini", model = "gemini-2.0", sensitive = ["parts"])]
fn generate(parts: &[Message]) -> usize {
    parts.len()
}

struct EmbedResult(usize);
impl RecordResponse for EmbedResult {
    fn record_response(&self, r: &mut Recorder<'_>) {
        r.embeddings_dimension_count(self.0 as i64);
        r.usage(Usage {
            input_tokens: Some(5),
            ..Usage::default()
        });
    }
}

#[genai_span(kind = "embeddings", provider = "openai", model = "text-embedding-3-small",
             attrs(gen_ai.request.encoding_formats = ["float"]))]
fn embed(text: &str) -> EmbedResult {
    let _ = text;
    EmbedResult(1536)
}

struct Hits(Vec<Document>);
impl RecordResponse for Hits {
    fn record_response(&self, r: &mut Recorder<'_>) {
        r.retrieval_documents(&self.0);
    }
}

#[genai_span(kind = "retrieval", attrs(gen_ai.data_source.id = "kb-main", gen_ai.request.top_k = 2.0), sensitive = ["query"])]
fn search(query: &str) -> Hits {
    let _ = query;
    Hits(vec![
        Document {
            id: "doc-1".into(),
            score: Some(0.9),
        },
        Document {
            id: "doc-2".into(),
            score: Some(0.5),
        },
    ])
}

struct ToolCall<'a> {
    id: &'a str,
}
impl RecordRequest for ToolCall<'_> {
    fn record_request(&self, r: &mut Recorder<'_>) {
        r.tool_call_id(self.id);
        r.tool_type("function");
        r.tool_description("Looks up the weather");
    }
}
struct ToolOutput(serde_json::Value);
impl RecordResponse for ToolOutput {
    fn record_response(&self, r: &mut Recorder<'_>) {
        r.tool_call_result(&self.0);
    }
}

#[genai_span(kind = "execute_tool", sensitive = ["args"])]
fn get_weather(call: &ToolCall<'_>, args: &serde_json::Value) -> ToolOutput {
    let _ = call;
    ToolOutput(json!({"city": args["city"], "temp_c": 21}))
}

struct AgentInfo;
impl RecordRequest for AgentInfo {
    fn record_request(&self, r: &mut Recorder<'_>) {
        r.agent_id("agt-1");
        r.agent_name("planner");
        r.agent_version("2");
        r.agent_description("Plans trips");
    }
}

#[genai_span(kind = "create_agent", provider = "openai")]
fn create_agent(info: &AgentInfo) -> u32 {
    let _ = info;
    1
}

#[genai_span(kind = "invoke_agent", sensitive = ["task"])]
fn invoke_agent(info: &AgentInfo, task: &str) -> usize {
    let _ = info;
    task.len()
}

#[genai_span(kind = "invoke_workflow", attrs(gen_ai.workflow.name = "nightly"))]
fn workflow() {}

fn run_all_operations() {
    complete("Say hello to Ada");
    generate(&[Message::user("Draw a cat")]);
    embed("hello");
    search("weather in Lisbon");
    get_weather(&ToolCall { id: "call_9" }, &json!({"city": "Lisbon"}));
    create_agent(&AgentInfo);
    invoke_agent(&AgentInfo, "Plan 3 days in Lisbon");
    workflow();
}

#[test]
fn every_operation_without_content() {
    type Case<'a> = (&'a str, SpanKind, &'a [(&'a str, &'a str)]);
    let t = TestTelemetry::install();
    run_all_operations();
    let cases: &[Case<'_>] = &[
        (
            "text_completion gpt-3.5-turbo-instruct",
            SpanKind::Client,
            &[
                ("gen_ai.operation.name", "s:text_completion"),
                ("gen_ai.provider.name", "s:openai"),
                ("gen_ai.request.model", "s:gpt-3.5-turbo-instruct"),
            ],
        ),
        (
            "generate_content gemini-2.0",
            SpanKind::Client,
            &[
                ("gen_ai.operation.name", "s:generate_content"),
                ("gen_ai.provider.name", "s:gcp.gemini"),
                ("gen_ai.request.model", "s:gemini-2.0"),
            ],
        ),
        (
            "embeddings text-embedding-3-small",
            SpanKind::Client,
            &[
                ("gen_ai.operation.name", "s:embeddings"),
                ("gen_ai.provider.name", "s:openai"),
                ("gen_ai.request.model", "s:text-embedding-3-small"),
                ("gen_ai.request.encoding_formats", "[s]:float"),
                ("gen_ai.embeddings.dimension.count", "i:1536"),
                ("gen_ai.usage.input_tokens", "i:5"),
            ],
        ),
        (
            "retrieval kb-main",
            SpanKind::Client,
            &[
                ("gen_ai.operation.name", "s:retrieval"),
                ("gen_ai.data_source.id", "s:kb-main"),
                ("gen_ai.request.top_k", "f:2"),
            ],
        ),
        (
            "execute_tool get_weather",
            SpanKind::Internal,
            &[
                ("gen_ai.operation.name", "s:execute_tool"),
                ("gen_ai.tool.name", "s:get_weather"),
                ("gen_ai.tool.call.id", "s:call_9"),
                ("gen_ai.tool.type", "s:function"),
                ("gen_ai.tool.description", "s:Looks up the weather"),
            ],
        ),
        (
            "create_agent planner",
            SpanKind::Client,
            &[
                ("gen_ai.operation.name", "s:create_agent"),
                ("gen_ai.provider.name", "s:openai"),
                ("gen_ai.agent.id", "s:agt-1"),
                ("gen_ai.agent.name", "s:planner"),
                ("gen_ai.agent.version", "s:2"),
                ("gen_ai.agent.description", "s:Plans trips"),
            ],
        ),
        (
            "invoke_agent planner",
            SpanKind::Internal,
            &[
                ("gen_ai.operation.name", "s:invoke_agent"),
                ("gen_ai.agent.id", "s:agt-1"),
                ("gen_ai.agent.name", "s:planner"),
                ("gen_ai.agent.version", "s:2"),
                ("gen_ai.agent.description", "s:Plans trips"),
            ],
        ),
        (
            "invoke_workflow nightly",
            SpanKind::Internal,
            &[
                ("gen_ai.operation.name", "s:invoke_workflow"),
                ("gen_ai.workflow.name", "s:nightly"),
            ],
        ),
    ];
    for (name, kind, want) in cases {
        let s = t.span(name);
        assert_eq!(&s.span_kind, kind, "{name}");
        assert_eq!(attrs(&s), expect(want), "{name}");
    }
}

#[test]
fn sensitive_arguments_go_to_the_attribute_that_fits() {
    let t = TestTelemetry::install_with(|b| b.content_capture(ContentCapture::SpanOnly));
    run_all_operations();
    let content = |span: &str, key: &str| attrs(&t.span(span)).get(key).map(|v| v[2..].to_string());
    // Compared as JSON: key order depends on serde_json's `preserve_order`,
    // which another crate in the build may turn on.
    let json =
        |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap_or_else(|_| serde_json::Value::String(s.into()));
    assert_eq!(
        content("text_completion gpt-3.5-turbo-instruct", "gen_ai.input.messages")
            .as_deref()
            .map(json),
        Some(json(
            r#"[{"parts":[{"content":"Say hello to Ada","type":"text"}],"role":"user"}]"#
        ))
    );
    assert_eq!(
        content("generate_content gemini-2.0", "gen_ai.input.messages")
            .as_deref()
            .map(json),
        Some(json(
            r#"[{"parts":[{"content":"Draw a cat","type":"text"}],"role":"user"}]"#
        ))
    );
    assert_eq!(
        content("retrieval kb-main", "gen_ai.retrieval.query.text")
            .as_deref()
            .map(json),
        Some(json("weather in Lisbon"))
    );
    assert_eq!(
        content("retrieval kb-main", "gen_ai.retrieval.documents")
            .as_deref()
            .map(json),
        Some(json(r#"[{"id":"doc-1","score":0.9},{"id":"doc-2","score":0.5}]"#))
    );
    assert_eq!(
        content("execute_tool get_weather", "gen_ai.tool.call.arguments")
            .as_deref()
            .map(json),
        Some(json(r#"{"city":"Lisbon"}"#))
    );
    assert_eq!(
        content("execute_tool get_weather", "gen_ai.tool.call.result")
            .as_deref()
            .map(json),
        Some(json(r#"{"city":"Lisbon","temp_c":21}"#))
    );
    assert_eq!(
        content("invoke_agent planner", "gen_ai.input.messages")
            .as_deref()
            .map(json),
        Some(json(
            r#"[{"parts":[{"content":"Plan 3 days in Lisbon","type":"text"}],"role":"user"}]"#
        ))
    );
}

// ---- privacy mechanics -------------------------------------------------------

#[genai_span(kind = "chat", model = "m", sensitive = ["prompt"])]
fn echo_fails(prompt: &str) -> Result<(), ApiError> {
    Err(ApiError(format!("invalid request: {prompt}")))
}

#[test]
fn error_messages_of_sensitive_functions_are_content() {
    let t = TestTelemetry::install();
    let _ = echo_fails("my secret prompt");
    let s = t.span("chat m");
    assert_eq!(s.status, Status::error("semconv::ApiError"), "the type, not the text");
    assert!(!format!("{s:?}").contains("my secret prompt"));
    drop(t);
    let t = TestTelemetry::install_with(|b| b.content_capture(ContentCapture::SpanOnly));
    let _ = echo_fails("my secret prompt");
    assert_eq!(
        t.span("chat m").status,
        Status::error("api error: invalid request: my secret prompt")
    );
}

#[test]
fn redaction_hook_rewrites_and_drops() {
    let t = TestTelemetry::install_with(|b| {
        b.content_capture(ContentCapture::SpanOnly).redact(|key, text| {
            (key != semconv::GEN_AI_SYSTEM_INSTRUCTIONS).then(|| text.replace("France", "<country>"))
        })
    });
    chat(&request(), false).unwrap();
    let a = attrs(&t.span("chat gpt-4o"));
    assert!(a["gen_ai.input.messages"].contains("capital of <country>?"));
    assert!(!a.contains_key("gen_ai.system_instructions"), "dropped by the hook");
}

#[test]
fn long_content_is_truncated_to_valid_json_and_flagged() {
    let t = TestTelemetry::install_with(|b| b.content_capture(ContentCapture::SpanOnly).max_content_bytes(100));
    let long = "x".repeat(10_000);
    complete(&long);
    let a = attrs(&t.span("text_completion gpt-3.5-turbo-instruct"));
    let msgs = &a["gen_ai.input.messages"][2..];
    assert!(msgs.len() <= 100, "{}", msgs.len());
    let parsed: serde_json::Value = serde_json::from_str(msgs).unwrap();
    assert!(parsed[0]["parts"][0]["content"].as_str().unwrap().ends_with('…'));
    assert_eq!(a["genai_trace.content.truncated"], "b:true");
}

#[genai_span(kind = "chat", model = "m", attrs(a0 = 0, a1 = 1, a2 = 2, a3 = 3, a4 = 4, a5 = 5, a6 = 6, a7 = 7, a8 = 8, a9 = 9,
    b0 = 0, b1 = 1, b2 = 2, b3 = 3, b4 = 4, b5 = 5, b6 = 6, b7 = 7, b8 = 8, b9 = 9, c0 = 0, c1 = 1, c2 = 2, c3 = 3,
    c4 = 4, c5 = 5, c6 = 6, c7 = 7, c8 = 8, c9 = 9, d0 = 0, d1 = 1, d2 = 2, d3 = 3, d4 = 4, d5 = 5, d6 = 6, d7 = 7,
    d8 = 8, d9 = 9, e0 = 0, e1 = 1, e2 = 2, e3 = 3, e4 = 4, e5 = 5, e6 = 6, e7 = 7, e8 = 8, e9 = 9, f0 = 0, f1 = 1,
    f2 = 2, f3 = 3, f4 = 4, f5 = 5, f6 = 6, f7 = 7, f8 = 8, f9 = 9, g0 = 0, g1 = 1, g2 = 2, g3 = 3, g4 = 4, g5 = 5,
    g6 = 6, g7 = 7, g8 = 8, g9 = 9, gen_ai.provider.name = "openai"))]
fn many_attributes() -> ChatResponse {
    ChatResponse { text: String::new() }
}

#[test]
fn custom_attributes_never_crowd_out_genai_ones() {
    let t = TestTelemetry::install();
    many_attributes();
    let a = attrs(&t.span("chat m"));
    let custom = a
        .keys()
        .filter(|k| !k.starts_with("gen_ai.") && !k.starts_with("genai_trace."))
        .count();
    assert_eq!(custom, genai_trace::MAX_CUSTOM_ATTRIBUTES);
    assert_eq!(a["genai_trace.dropped_attributes"], "i:6");
    assert_eq!(a["gen_ai.provider.name"], "s:openai");
    assert_eq!(a["gen_ai.usage.input_tokens"], "i:120", "response attributes still fit");
}

// ---- metrics -------------------------------------------------------------------

#[test]
fn duration_and_token_usage_metrics() {
    let t = TestTelemetry::install();
    chat(&request(), false).unwrap();
    let _ = chat(&request(), true);
    let durations = t.histogram(semconv::metric::OPERATION_DURATION);
    assert_eq!(durations.len(), 2, "{durations:#?}");
    for p in &durations {
        assert_eq!(p.unit, "s");
        assert_eq!(p.bounds, semconv::metric::DURATION_BUCKETS);
        assert_eq!(p.count, 1);
        assert_eq!(p.attributes["gen_ai.operation.name"], "chat");
        assert_eq!(p.attributes["gen_ai.provider.name"], "openai");
        assert_eq!(p.attributes["gen_ai.request.model"], "gpt-4o");
        assert_eq!(p.attributes["server.address"], "api.openai.com");
        assert_eq!(p.attributes["server.port"], "443");
    }
    let failed = durations
        .iter()
        .find(|p| p.attributes.contains_key("error.type"))
        .unwrap();
    assert_eq!(failed.attributes["error.type"], "semconv::ApiError");
    let ok = durations
        .iter()
        .find(|p| !p.attributes.contains_key("error.type"))
        .unwrap();
    assert_eq!(ok.attributes["gen_ai.response.model"], "gpt-4o-2024-08-06");

    let tokens = t.histogram(semconv::metric::TOKEN_USAGE);
    assert_eq!(tokens.len(), 2, "{tokens:#?}");
    for p in &tokens {
        assert_eq!(p.unit, "{token}");
        assert_eq!(p.bounds, semconv::metric::TOKEN_BUCKETS);
    }
    let input = tokens
        .iter()
        .find(|p| p.attributes["gen_ai.token.type"] == "input")
        .unwrap();
    let output = tokens
        .iter()
        .find(|p| p.attributes["gen_ai.token.type"] == "output")
        .unwrap();
    assert_eq!((input.sum, output.sum), (120.0, 40.0));
    assert!(!input.attributes.contains_key("error.type"));
}

#[test]
fn metrics_are_recorded_for_sampled_out_calls_too() {
    let t = TestTelemetry::install_with(|b| b.sampler(genai_trace::SamplerConfig::AlwaysOff));
    chat(&request(), false).unwrap();
    assert!(t.spans().is_empty());
    let tokens = t.histogram(semconv::metric::TOKEN_USAGE);
    assert_eq!(tokens.len(), 2, "usage counted although the span was not sampled");
}

#[test]
fn latest_semconv_opt_in() {
    let t = TestTelemetry::install_with(|b| {
        b.env_lookup(|k| (k == "OTEL_SEMCONV_STABILITY_OPT_IN").then(|| "http,gen_ai_latest_experimental".to_owned()))
    });
    assert!(genai_trace::semconv_latest_experimental());
    chat(&request(), false).unwrap();
    let latest = attrs(&t.span("chat gpt-4o"));
    let latest_metrics = metric_names(&t);
    drop(t);
    // v1.41.0 is the latest release: the switch changes nothing emitted.
    let t = TestTelemetry::install();
    assert!(!genai_trace::semconv_latest_experimental());
    chat(&request(), false).unwrap();
    let default = attrs(&t.span("chat gpt-4o"));
    assert_eq!(latest.keys().collect::<Vec<_>>(), default.keys().collect::<Vec<_>>());
    assert_eq!(latest["gen_ai.usage.cache_creation.input_tokens"], "i:20");
    assert_eq!(latest_metrics, metric_names(&t));
    assert!(
        latest_metrics.contains(semconv::metric::OPERATION_DURATION),
        "{latest_metrics:?}"
    );
}

fn metric_names(t: &TestTelemetry) -> std::collections::BTreeSet<String> {
    t.metrics()
        .iter()
        .flat_map(ResourceMetrics::scope_metrics)
        .flat_map(ScopeMetrics::metrics)
        .map(|m| m.name().to_owned())
        .collect()
}

#[test]
fn no_metrics_for_plain_application_spans() {
    let t = TestTelemetry::install();
    workflow_step();
    assert_eq!(t.spans().len(), 1);
    assert!(t.histogram(semconv::metric::OPERATION_DURATION).is_empty());
}

#[genai_span(kind = "rag.rewrite")]
fn workflow_step() {}
