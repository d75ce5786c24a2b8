//! Conformance with the official GenAI semantic conventions, checked against the
//! registry's own facts (`tests/conformance/semconv-v1.41.0.json`, extracted by
//! `scripts/semconv/extract.py` from open-telemetry/semantic-conventions at
//! v1.41.0): every span, event and metric point the calls below export is
//! checked for required and conditionally required attributes (whose condition
//! holds), recommended ones wherever the call had the information, opt-in ones
//! only with content capture, types, enum spelling, no unknown or deprecated
//! names, span names and kinds, units and bucket boundaries. Over every
//! operation, success and error, every capture mode, streaming, and the
//! `gen_ai_latest_experimental` switch. A planted fault must be caught.
#![cfg(all(feature = "testing", feature = "metrics"))]

use genai_trace::opentelemetry::KeyValue;
use genai_trace::testing::TestTelemetry;
use genai_trace::{
    ChunkRecorder, ContentCapture, Document, Message, RecordChunk, RecordRequest, RecordResponse, Recorder, Session,
    Usage, genai_span,
};

#[path = "conformance/check.rs"]
mod check;

use check::{Facts, ObservedSpan, check_content, check_points, check_span, points_from_sdk};

// --- the calls ------------------------------------------------------------------

const INFERENCE_REQUEST: &[&str] = &[
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "server.address",
    "server.port",
    "gen_ai.request.temperature",
    "gen_ai.request.top_p",
    "gen_ai.request.max_tokens",
    "gen_ai.request.stop_sequences",
    "gen_ai.request.seed",
    "gen_ai.request.frequency_penalty",
    "gen_ai.request.presence_penalty",
    "gen_ai.request.choice.count",
    "gen_ai.output.type",
    "gen_ai.conversation.id",
    "gen_ai.system_instructions",
    "gen_ai.tool.definitions",
    "gen_ai.input.messages",
];
/// What every agent call here names.
const AGENT: &[&str] = &[
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.agent.name",
    "gen_ai.agent.id",
    "gen_ai.agent.description",
    "gen_ai.agent.version",
];
const OPENAI_REQUEST: &[&str] = &["openai.api.type", "openai.request.service_tier"];
const OPENAI_RESPONSE: &[&str] = &["openai.response.service_tier", "openai.response.system_fingerprint"];
const INFERENCE_RESPONSE: &[&str] = &[
    "gen_ai.response.id",
    "gen_ai.response.model",
    "gen_ai.response.finish_reasons",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.output.messages",
];

/// A request; `Request(true)` goes to `OpenAI` and records its `openai.*` attributes.
struct Request(bool);

impl RecordRequest for Request {
    fn record_request(&self, r: &mut Recorder<'_>) {
        if self.0 {
            r.openai_api_type("chat_completions");
            r.openai_request_service_tier("default");
        }
        r.server_address("api.example.com");
        r.server_port(8443);
        r.temperature(0.2);
        r.top_p(0.9);
        r.max_tokens(256);
        r.stop_sequences(&["END"]);
        r.seed(7);
        r.frequency_penalty(0.1);
        r.presence_penalty(0.2);
        r.choice_count(2);
        r.output_type("text");
        r.system_instructions("Be brief.");
        r.tool_definitions(&serde_json::json!([
            {"type": "function", "name": "get_weather", "parameters": {"type": "object"}}
        ]));
    }
}

struct Response;

impl RecordResponse for Response {
    fn record_response(&self, r: &mut Recorder<'_>) {
        r.openai_response_service_tier("default");
        r.openai_system_fingerprint("fp_1");
        r.response_id("resp-1");
        r.response_model("model-2026-01-01");
        r.finish_reasons(&["stop"]);
        r.usage(Usage {
            input_tokens: Some(30),
            output_tokens: Some(12),
            cache_read_input_tokens: Some(10),
            cache_creation_input_tokens: Some(5),
            reasoning_output_tokens: Some(4),
        });
        r.output_messages(&[Message::assistant("done").finish_reason("stop")]);
    }
}

#[derive(Debug)]
struct ApiError;

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("rate limited")
    }
}

impl std::error::Error for ApiError {}

fn reply(fail: bool) -> Result<Response, ApiError> {
    if fail { Err(ApiError) } else { Ok(Response) }
}

#[genai_span(kind = "chat", provider = "openai", model = "gpt-4o", sensitive = ["prompt"])]
fn chat(request: &Request, prompt: &str, fail: bool) -> Result<Response, ApiError> {
    let _ = (request, prompt);
    reply(fail)
}

#[genai_span(kind = "text_completion", provider = "openai", model = "gpt-3.5-turbo-instruct", sensitive = ["prompt"])]
fn complete(request: &Request, prompt: &str, fail: bool) -> Result<Response, ApiError> {
    let _ = (request, prompt);
    reply(fail)
}

#[genai_span(kind = "generate_content", provider = "gcp.gemini", model = "gemini-2.5-pro", sensitive = ["prompt"])]
fn generate(request: &Request, prompt: &str, fail: bool) -> Result<Response, ApiError> {
    let _ = (request, prompt);
    reply(fail)
}

struct Delta(&'static str, bool);

impl RecordChunk for Delta {
    fn record_chunk(&self, c: &mut ChunkRecorder<'_>) {
        c.response_id("resp-stream");
        c.response_model("model-2026-01-01");
        c.text_delta(self.0);
        if self.1 {
            c.finish_reason("stop");
            c.usage(Usage {
                input_tokens: Some(9),
                output_tokens: Some(3),
                cache_read_input_tokens: Some(0),
                cache_creation_input_tokens: Some(0),
                reasoning_output_tokens: Some(0),
            });
        }
    }
}

#[genai_span(kind = "chat", provider = "openai", model = "gpt-4o", sensitive = ["prompt"])]
fn chat_stream(request: &Request, prompt: &str) -> impl Iterator<Item = Delta> {
    let _ = (request, prompt);
    [Delta("a", false), Delta("b", false), Delta("c", true)].into_iter()
}

struct EmbeddingsRequest;

impl RecordRequest for EmbeddingsRequest {
    fn record_request(&self, r: &mut Recorder<'_>) {
        r.server_address("api.example.com");
        r.server_port(8443);
        r.encoding_formats(&["float"]);
    }
}

struct Vector;

impl RecordResponse for Vector {
    fn record_response(&self, r: &mut Recorder<'_>) {
        r.response_model("text-embedding-3-small");
        r.embeddings_dimension_count(1536);
        r.usage(Usage {
            input_tokens: Some(4),
            ..Usage::default()
        });
    }
}

#[genai_span(kind = "embeddings", provider = "openai", model = "text-embedding-3-small", sensitive = ["text"])]
fn embed(request: &EmbeddingsRequest, text: &str, fail: bool) -> Result<Vector, ApiError> {
    let _ = (request, text);
    if fail { Err(ApiError) } else { Ok(Vector) }
}

struct Hits;

impl RecordResponse for Hits {
    fn record_response(&self, r: &mut Recorder<'_>) {
        r.retrieval_documents(&[Document {
            id: "doc-1".into(),
            score: Some(0.9),
        }]);
    }
}

#[genai_span(kind = "retrieval", provider = "openai", sensitive = ["query"],
             attrs(gen_ai.data_source.id = "kb", gen_ai.request.top_k = 3.0,
                   server.address = "search.example.com", server.port = 443))]
fn retrieve(query: &str, fail: bool) -> Result<Hits, ApiError> {
    let _ = query;
    if fail { Err(ApiError) } else { Ok(Hits) }
}

#[genai_span(kind = "execute_tool", sensitive = ["args"],
             attrs(gen_ai.tool.call.id = "call_1", gen_ai.tool.type = "function", gen_ai.tool.description = "Weather"))]
fn get_weather(args: &str, fail: bool) -> Result<String, ApiError> {
    if fail {
        Err(ApiError)
    } else {
        Ok(format!("sunny in {args}"))
    }
}

#[genai_span(kind = "create_agent", provider = "openai", model = "gpt-4o",
             attrs(gen_ai.agent.name = "helper", gen_ai.agent.id = "asst_1", gen_ai.agent.description = "Helps",
                   gen_ai.agent.version = "1", server.address = "api.example.com", server.port = 8443))]
fn create_agent(fail: bool) -> Result<(), ApiError> {
    if fail { Err(ApiError) } else { Ok(()) }
}

#[genai_span(kind = "invoke_agent", provider = "openai", model = "gpt-4o", sensitive = ["task"],
             attrs(gen_ai.agent.name = "planner", gen_ai.agent.id = "agent-1", gen_ai.agent.description = "Plans",
                   gen_ai.agent.version = "2"))]
fn invoke_agent(task: &str, fail: bool) -> Result<Response, ApiError> {
    let _ = task;
    reply(fail)
}

#[genai_span(kind = "invoke_agent", span_kind = "client", provider = "aws.bedrock", model = "claude",
             sensitive = ["task"],
             attrs(gen_ai.agent.name = "remote", gen_ai.agent.id = "AGENT1", gen_ai.agent.description = "Remote",
                   gen_ai.agent.version = "3", server.address = "bedrock.example.com", server.port = 443))]
fn invoke_remote_agent(task: &str, fail: bool) -> Result<Response, ApiError> {
    let _ = task;
    reply(fail)
}

#[genai_span(kind = "invoke_workflow", attrs(gen_ai.workflow.name = "nightly"))]
fn workflow(fail: bool) -> Result<(), ApiError> {
    if fail { Err(ApiError) } else { Ok(()) }
}

/// Every operation once, successful or failed, inside a session.
fn call_every_operation(fail: bool) {
    let session = Session::builder().session_id("conv-1").input(&"plan my week").start();
    session.in_scope(|| {
        let _ = chat(&Request(true), "hi", fail);
        let _ = complete(&Request(true), "hi", fail);
        let _ = generate(&Request(false), "hi", fail);
        if !fail {
            assert_eq!(chat_stream(&Request(true), "hi").count(), 3);
        }
        let _ = embed(&EmbeddingsRequest, "hi", fail);
        let _ = retrieve("what", fail);
        let _ = get_weather("Lisbon", fail);
        let _ = create_agent(fail);
        let _ = invoke_agent("plan", fail);
        let _ = invoke_remote_agent("plan", fail);
        let _ = workflow(fail);
    });
    drop(session);
}

/// Every operation once, successful or failed, inside a session; with each
/// span's facts by name (and whether it is the streamed call).
fn run_every_operation(fail: bool) -> Vec<(&'static str, Vec<&'static str>, bool)> {
    call_every_operation(fail);
    let inference: Vec<&str> = [INFERENCE_REQUEST, if fail { &[] } else { INFERENCE_RESPONSE }].concat();
    let openai: Vec<&str> = [&inference[..], OPENAI_REQUEST, if fail { &[] } else { OPENAI_RESPONSE }].concat();
    let agent = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut v = AGENT.to_vec();
        v.extend(["gen_ai.conversation.id", "gen_ai.input.messages"]);
        v.extend_from_slice(extra);
        if !fail {
            v.extend_from_slice(INFERENCE_RESPONSE);
        }
        v
    };
    let mut embeddings = vec![
        "gen_ai.provider.name",
        "gen_ai.request.model",
        "server.address",
        "server.port",
        "gen_ai.request.encoding_formats",
    ];
    if !fail {
        embeddings.extend([
            "gen_ai.response.model",
            "gen_ai.embeddings.dimension.count",
            "gen_ai.usage.input_tokens",
        ]);
    }
    let mut cases = vec![
        ("chat gpt-4o", openai.clone(), false),
        ("text_completion gpt-3.5-turbo-instruct", openai.clone(), false),
        ("generate_content gemini-2.5-pro", inference.clone(), false),
        ("embeddings text-embedding-3-small", embeddings, false),
        (
            "retrieval kb",
            vec![
                "gen_ai.provider.name",
                "gen_ai.data_source.id",
                "gen_ai.request.top_k",
                "server.address",
                "server.port",
                "gen_ai.retrieval.query.text",
            ],
            false,
        ),
        (
            "execute_tool get_weather",
            [
                &[
                    "gen_ai.tool.name",
                    "gen_ai.tool.call.id",
                    "gen_ai.tool.type",
                    "gen_ai.tool.description",
                    "gen_ai.tool.call.arguments",
                ][..],
                // Its `Ok` value, with content capture on.
                if fail {
                    &[][..]
                } else {
                    &["gen_ai.tool.call.result"][..]
                },
            ]
            .concat(),
            false,
        ),
        (
            "create_agent helper",
            [AGENT, &["server.address", "server.port"]].concat(),
            false,
        ),
        ("invoke_agent planner", agent(&[]), false),
        ("invoke_agent remote", agent(&["server.address", "server.port"]), false),
        ("invoke_workflow nightly", vec!["gen_ai.workflow.name"], false),
    ];
    if !fail {
        let mut stream = INFERENCE_REQUEST.to_vec();
        stream.extend(INFERENCE_RESPONSE);
        stream.extend(OPENAI_REQUEST);
        stream.push("gen_ai.response.time_to_first_chunk");
        cases.push(("chat gpt-4o", stream, true));
    }
    cases
}

fn check_run(mode: ContentCapture, switch: bool, fail: bool) -> Vec<String> {
    let t = TestTelemetry::install_with(|b| {
        // Tools and workflows run outside any agent here: the documented default
        // gives their metric points the Required provider.
        b.content_capture(mode).default_provider("openai").env_lookup(move |k| {
            (switch && k == "OTEL_SEMCONV_STABILITY_OPT_IN").then(|| "gen_ai_latest_experimental".to_owned())
        })
    });
    let cases = run_every_operation(fail);
    let content = !matches!(mode, ContentCapture::NoContent);
    let mut problems = Vec::new();
    let spans = t.spans();
    for span in &spans {
        let streaming = span
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == "gen_ai.request.stream");
        let Some((_, available, _)) = cases.iter().find(|(name, _, s)| *name == span.name && *s == streaming) else {
            if span.name == "session" {
                problems.extend(check_span(&ObservedSpan::from_sdk(span), &Facts::default()));
            } else {
                problems.push(format!("unexpected span {:?}", span.name));
            }
            continue;
        };
        let facts = Facts {
            available: available.iter().copied().collect(),
            streaming,
            content: content && !matches!(mode, ContentCapture::EventOnly),
        };
        problems.extend(check_span(&ObservedSpan::from_sdk(span), &facts));
    }
    let genai = spans.iter().filter(|s| s.name != "session").count();
    assert_eq!(genai, cases.len(), "every call exported a span");
    problems.extend(check_points(&points_from_sdk(&t.metrics())));
    problems
}

#[test]
fn every_operation_conforms_in_every_mode() {
    let mut problems = Vec::new();
    for mode in [
        ContentCapture::NoContent,
        ContentCapture::SpanOnly,
        ContentCapture::EventOnly,
        ContentCapture::SpanAndEvent,
    ] {
        for switch in [false, true] {
            for fail in [false, true] {
                for p in check_run(mode, switch, fail) {
                    problems.push(format!("[{mode:?}, switch {switch}, fail {fail}] {p}"));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[genai_span(kind = "chat", model = "m")]
fn chat_without_provider() {}

#[test]
fn a_planted_fault_is_caught() {
    let t = TestTelemetry::install_with(|b| b.content_capture(ContentCapture::NoContent));
    let _ = chat(&Request(true), "hi", false);
    let good = ObservedSpan::from_sdk(&t.span("chat gpt-4o"));
    let facts = Facts {
        available: INFERENCE_REQUEST
            .iter()
            .chain(INFERENCE_RESPONSE)
            .copied()
            .filter(|k| *k != "gen_ai.conversation.id")
            .collect(),
        ..Facts::default()
    };
    assert_eq!(check_span(&good, &facts), Vec::<String>::new());
    let plant = |f: &dyn Fn(&mut ObservedSpan)| {
        let mut s = good.clone();
        f(&mut s);
        check_span(&s, &facts)
    };
    let without = |key: &'static str| move |s: &mut ObservedSpan| s.attributes.retain(|kv| kv.key.as_str() != key);
    let set = |kv: KeyValue| {
        move |s: &mut ObservedSpan| {
            s.attributes.retain(|a| a.key != kv.key);
            s.attributes.push(kv.clone());
        }
    };
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("a missing Required provider", plant(&without("gen_ai.provider.name"))),
        (
            "a missing Recommended value the call had",
            plant(&without("gen_ai.usage.input_tokens")),
        ),
        (
            "server.port without server.address's pair",
            plant(&without("server.port")),
        ),
        (
            "a misspelt operation",
            plant(&set(KeyValue::new("gen_ai.operation.name", "Chat"))),
        ),
        (
            "a wrong type",
            plant(&set(KeyValue::new("gen_ai.request.max_tokens", "256"))),
        ),
        (
            "an unknown name",
            plant(&set(KeyValue::new("gen_ai.usage.cache_write.input_tokens", 3))),
        ),
        (
            "a deprecated name",
            plant(&set(KeyValue::new("gen_ai.system", "openai"))),
        ),
    ];
    for (fault, problems) in cases {
        assert!(!problems.is_empty(), "{fault} was not caught");
    }
    // Content against the conventions' schemas: a good message passes, each
    // planted fault is reported as a schema violation.
    let content = |key: &'static str, json: &'static str| {
        let mut problems = Vec::new();
        check_content(&mut problems, "planted", &KeyValue::new(key, json));
        problems
    };
    assert_eq!(
        content(
            "gen_ai.output.messages",
            r#"[{"role":"assistant","parts":[{"type":"text","content":"hi"}],"finish_reason":"stop"}]"#
        ),
        Vec::<String>::new()
    );
    for (fault, key, json) in [
        (
            "an output message without its required finish reason",
            "gen_ai.output.messages",
            r#"[{"role":"assistant","parts":[{"type":"text","content":"hi"}]}]"#,
        ),
        (
            "a message part of no known shape",
            "gen_ai.input.messages",
            r#"[{"role":"user","parts":[{"content":"hi"}]}]"#,
        ),
        ("content that is not JSON", "gen_ai.input.messages", "[{"),
    ] {
        let problems = content(key, json);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("breaks its schema") || p.contains("is not JSON")),
            "{fault} was not caught: {problems:?}"
        );
    }
    // Metrics: a point without its Required provider.
    let mut metrics = t.metrics();
    assert_eq!(check_points(&points_from_sdk(&metrics)), Vec::<String>::new());
    drop(t);
    let t = TestTelemetry::install();
    chat_without_provider();
    metrics = t.metrics();
    let problems = check_points(&points_from_sdk(&metrics));
    assert!(
        problems.iter().any(|p| p.contains("gen_ai.provider.name")),
        "{problems:?}"
    );
}
