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

use std::collections::BTreeSet;
use std::sync::OnceLock;

use genai_trace::opentelemetry::trace::{SpanKind, Status};
use genai_trace::opentelemetry::{Array, KeyValue, Value};
use genai_trace::opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics, ScopeMetrics};
use genai_trace::opentelemetry_sdk::trace::SpanData;
use genai_trace::testing::TestTelemetry;
use genai_trace::{
    ChunkRecorder, ContentCapture, Document, Message, RecordChunk, RecordRequest, RecordResponse, Recorder, Session,
    Usage, genai_span,
};
use serde_json::Value as Json;

// --- the registry's facts ---------------------------------------------------------

fn registry() -> &'static Json {
    static R: OnceLock<Json> = OnceLock::new();
    R.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/conformance/semconv-v1.41.0.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    })
}

/// What a call had to give: the attributes whose information it supplied.
#[derive(Clone, Debug, Default)]
struct Facts {
    available: BTreeSet<&'static str>,
    streaming: bool,
    content: bool,
}

/// Names checked against the registry: ours go under `genai_trace.*`.
fn convention_key(k: &str) -> bool {
    k.starts_with("gen_ai.") || k.starts_with("openai.") || k.starts_with("server.") || k == "error.type"
}

/// The conventions' JSON schema of a content attribute (v1.41.0's
/// docs/gen-ai/gen-ai-*.json, copied into tests/conformance/schemas).
fn content_schema(key: &str) -> Option<&'static jsonschema::Validator> {
    static SCHEMAS: OnceLock<Vec<(&'static str, jsonschema::Validator)>> = OnceLock::new();
    let schemas = SCHEMAS.get_or_init(|| {
        [
            ("gen_ai.input.messages", "input-messages"),
            ("gen_ai.output.messages", "output-messages"),
            ("gen_ai.system_instructions", "system-instructions"),
            ("gen_ai.tool.definitions", "tool-definitions"),
            ("gen_ai.retrieval.documents", "retrieval-documents"),
        ]
        .into_iter()
        .map(|(key, file)| {
            let path = format!(
                "{}/tests/conformance/schemas/gen-ai-{file}.json",
                env!("CARGO_MANIFEST_DIR")
            );
            let schema: Json = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            (key, jsonschema::validator_for(&schema).unwrap())
        })
        .collect()
    });
    schemas.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
}

/// Content recorded as JSON text must be valid JSON that its schema accepts.
fn check_content(problems: &mut Vec<String>, what: &str, kv: &KeyValue) {
    let Some(schema) = content_schema(kv.key.as_str()) else {
        return;
    };
    let Value::String(text) = &kv.value else {
        return; // the type check reports it
    };
    match serde_json::from_str::<Json>(text.as_str()) {
        Err(e) => problems.push(format!("{what}: {} is not JSON ({e}): {text}", kv.key)),
        Ok(instance) => {
            for error in schema.iter_errors(&instance) {
                problems.push(format!(
                    "{what}: {} breaks its schema at {}: {error}",
                    kv.key, error.instance_path
                ));
            }
        }
    }
}

/// Type, enum spelling, known and not deprecated; content against its schema.
fn check_value(problems: &mut Vec<String>, what: &str, kv: &KeyValue) {
    let key = kv.key.as_str();
    if !convention_key(key) {
        return;
    }
    let reg = registry();
    if reg["deprecated"].as_array().unwrap().iter().any(|d| d == key) {
        problems.push(format!("{what}: deprecated attribute {key}"));
        return;
    }
    let Some(def) = reg["attributes"].get(key) else {
        problems.push(format!("{what}: {key} is not in the registry"));
        return;
    };
    let ok = matches!(
        (def["type"].as_str().unwrap(), &kv.value),
        ("string", Value::String(_))
            | ("int", Value::I64(_))
            | ("double", Value::F64(_))
            | ("boolean", Value::Bool(_))
            | ("string[]", Value::Array(Array::String(_)))
            | ("any", _)
    );
    if !ok {
        problems.push(format!(
            "{what}: {key} is {:?}, the registry says {}",
            kv.value, def["type"]
        ));
    }
    check_content(problems, what, kv);
    // Closed in practice for these: a value that is not a member is a misspelling.
    let closed = ["gen_ai.operation.name", "gen_ai.token.type", "gen_ai.output.type"];
    if let (Some(members), Value::String(v)) = (def.get("members"), &kv.value)
        && closed.contains(&key)
        && !members.as_array().unwrap().iter().any(|m| m == v.as_str())
    {
        problems.push(format!("{what}: {key}={v} is not one of {members}"));
    }
}

/// Whether the registry's condition on `key` holds for this call.
fn condition_holds(condition: &str, key: &str, present: &dyn Fn(&str) -> bool, failed: bool, facts: &Facts) -> bool {
    match condition.trim() {
        "if the operation ended in an error" => failed,
        "If `server.address` is set." => present("server.address"),
        c if c.starts_with("If and only if the request is streaming") => facts.streaming,
        "If available."
        | "when available"
        | "if available"
        | "if applicable."
        | "if applicable"
        | "when applicable"
        | "If provided by the application."
        | "if available, in the request, and !=1"
        | "if applicable and if the request includes a seed"
        | "when applicable and if the request includes an output format."
        | "if the request was a streaming request"
        | "if the request includes a service_tier and the value is not 'auto'"
        | "if the response was received and includes a service_tier" => facts.available.contains(key),
        other => panic!(
            "the registry has a condition this test cannot evaluate yet: {other:?} (on {key}); teach condition_holds"
        ),
    }
}

/// Checks `attrs` against a group's attributes and levels.
fn check_levels(problems: &mut Vec<String>, what: &str, group: &Json, attrs: &[KeyValue], failed: bool, facts: &Facts) {
    let present = |k: &str| attrs.iter().any(|kv| kv.key.as_str() == k);
    for (key, level) in group["attributes"].as_object().unwrap() {
        let key = key.as_str();
        let has = present(key);
        let missing = match level {
            Json::String(l) if l == "required" => !has,
            Json::String(l) if l == "opt_in" => {
                if has && !facts.content {
                    problems.push(format!("{what}: opt-in {key} recorded with content capture off"));
                }
                facts.content && facts.available.contains(key) && !has
            }
            Json::String(_) => facts.available.contains(key) && !has,
            Json::Object(o) => {
                let (kind, condition) = o.iter().next().unwrap();
                let holds = condition_holds(condition.as_str().unwrap(), key, &present, failed, facts);
                if kind == "conditionally_required" && key == "error.type" && has && !failed {
                    problems.push(format!("{what}: error.type on a call that did not fail"));
                }
                holds && !has
            }
            other => panic!("unknown level {other}"),
        };
        if missing {
            problems.push(format!("{what}: {key} ({level}) is missing"));
        }
    }
}

/// The span group of a GenAI span, by operation and kind.
fn span_group(operation: &str, kind: &SpanKind) -> Option<&'static str> {
    Some(match (operation, kind) {
        ("chat" | "text_completion" | "generate_content", _) => "span.gen_ai.inference.client",
        ("embeddings", _) => "span.gen_ai.embeddings.client",
        ("retrieval", _) => "span.gen_ai.retrieval.client",
        ("execute_tool", _) => "span.gen_ai.execute_tool.internal",
        ("create_agent", _) => "span.gen_ai.create_agent.client",
        ("invoke_agent", SpanKind::Client) => "span.gen_ai.invoke_agent.client",
        ("invoke_agent", _) => "span.gen_ai.invoke_agent.internal",
        ("invoke_workflow", _) => "span.gen_ai.invoke_workflow.internal",
        _ => return None,
    })
}

/// Every problem of one exported span (empty when it conforms).
fn check_span(span: &SpanData, facts: &Facts) -> Vec<String> {
    let mut problems = Vec::new();
    let what = format!("span {:?}", span.name);
    let attrs: Vec<KeyValue> = span.attributes.clone();
    for kv in &attrs {
        check_value(&mut problems, &what, kv);
    }
    let Some(op) = attrs.iter().find(|kv| kv.key.as_str() == "gen_ai.operation.name") else {
        return problems; // not a GenAI span: names only
    };
    let op = op.value.as_str().into_owned();
    let Some(group) = span_group(&op, &span.span_kind) else {
        problems.push(format!("{what}: no span of the conventions has operation {op:?}"));
        return problems;
    };
    let group = &registry()["spans"][group];
    let failed = matches!(span.status, Status::Error { .. });
    check_levels(&mut problems, &what, group, &attrs, failed, facts);
    // OpenAI's inference spans extend the generic ones with `openai.*`.
    let openai = attrs
        .iter()
        .any(|kv| kv.key.as_str() == "gen_ai.provider.name" && kv.value.as_str() == "openai");
    if openai && ["chat", "text_completion", "generate_content"].contains(&op.as_str()) {
        let openai_group = &registry()["spans"]["span.openai.inference.client"];
        check_levels(
            &mut problems,
            &format!("{what} (openai)"),
            openai_group,
            &attrs,
            failed,
            facts,
        );
    }
    let kind = format!("{:?}", span.span_kind).to_lowercase();
    if group["kind"] != kind.as_str() {
        problems.push(format!("{what}: kind {kind}, the conventions say {}", group["kind"]));
    }
    if let Some(pattern) = group["name"].as_str() {
        let mut name = pattern.to_owned();
        for kv in &attrs {
            name = name.replace(&format!("{{{}}}", kv.key.as_str()), &kv.value.as_str());
        }
        // A placeholder whose attribute is not available falls away.
        let name = name
            .split(' ')
            .filter(|p| !p.starts_with('{'))
            .collect::<Vec<_>>()
            .join(" ");
        if span.name != name {
            problems.push(format!("{what}: the conventions name it {name:?}"));
        }
    }
    for event in &span.events.events {
        let ewhat = format!("{what} event {}", event.name);
        for kv in &event.attributes {
            check_value(&mut problems, &ewhat, kv);
        }
        if let Some(group) = registry()["events"].get(event.name.as_ref()) {
            // Events carry the call's attributes and its content (always on when emitted).
            let efacts = Facts {
                content: true,
                ..facts.clone()
            };
            check_levels(&mut problems, &ewhat, group, &event.attributes, failed, &efacts);
        } else if event.name != "exception" {
            problems.push(format!("{ewhat}: not an event of the conventions"));
        }
    }
    problems
}

/// Every problem of the exported metric points.
fn check_metrics(metrics: &[ResourceMetrics]) -> Vec<String> {
    let mut problems = Vec::new();
    let reg = registry();
    for m in metrics
        .iter()
        .flat_map(ResourceMetrics::scope_metrics)
        .flat_map(ScopeMetrics::metrics)
    {
        let name = m.name();
        if !name.starts_with("gen_ai.") {
            continue;
        }
        let Some(def) = reg["metrics"].get(name) else {
            problems.push(format!("metric {name} is not in the registry"));
            continue;
        };
        if def["unit"] != m.unit() {
            problems.push(format!(
                "metric {name}: unit {:?}, the conventions say {}",
                m.unit(),
                def["unit"]
            ));
        }
        let points: Vec<(Vec<KeyValue>, Vec<f64>)> = match m.data() {
            AggregatedMetrics::F64(MetricData::Histogram(h)) => h
                .data_points()
                .map(|p| (p.attributes().cloned().collect(), p.bounds().collect()))
                .collect(),
            AggregatedMetrics::U64(MetricData::Histogram(h)) => h
                .data_points()
                .map(|p| (p.attributes().cloned().collect(), p.bounds().collect()))
                .collect(),
            _ => {
                problems.push(format!("metric {name} is not a histogram"));
                continue;
            }
        };
        let buckets: Vec<f64> = def["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_f64().unwrap())
            .collect();
        for (attrs, bounds) in points {
            let what = format!("metric {name} point {attrs:?}");
            if bounds != buckets {
                problems.push(format!("{what}: buckets {bounds:?}, the conventions say {buckets:?}"));
            }
            for kv in &attrs {
                check_value(&mut problems, &what, kv);
            }
            let failed = attrs.iter().any(|kv| kv.key.as_str() == "error.type");
            // Metric points carry what the call had; "available" is what is there.
            let facts = Facts {
                available: attrs
                    .iter()
                    .map(|kv| &*Box::leak(kv.key.as_str().to_owned().into_boxed_str()))
                    .collect(),
                ..Facts::default()
            };
            check_levels(&mut problems, &what, def, &attrs, failed, &facts);
        }
    }
    problems
}

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
    let session = Session::builder().session_id("conv-1").start();
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
            if span.name != "session" {
                problems.push(format!("unexpected span {:?}", span.name));
            }
            continue;
        };
        let facts = Facts {
            available: available.iter().copied().collect(),
            streaming,
            content: content && !matches!(mode, ContentCapture::EventOnly),
        };
        problems.extend(check_span(span, &facts));
    }
    let genai = spans.iter().filter(|s| s.name != "session").count();
    assert_eq!(genai, cases.len(), "every call exported a span");
    problems.extend(check_metrics(&t.metrics()));
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
    let good = t.span("chat gpt-4o");
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
    let plant = |f: &dyn Fn(&mut SpanData)| {
        let mut s = good.clone();
        f(&mut s);
        check_span(&s, &facts)
    };
    let without = |key: &'static str| move |s: &mut SpanData| s.attributes.retain(|kv| kv.key.as_str() != key);
    let set = |kv: KeyValue| {
        move |s: &mut SpanData| {
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
    assert_eq!(check_metrics(&metrics), Vec::<String>::new());
    drop(t);
    let t = TestTelemetry::install();
    chat_without_provider();
    metrics = t.metrics();
    let problems = check_metrics(&metrics);
    assert!(
        problems.iter().any(|p| p.contains("gen_ai.provider.name")),
        "{problems:?}"
    );
}
