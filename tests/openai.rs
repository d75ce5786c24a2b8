//! async-openai, recorded with no hand-written recorder, against a local
//! OpenAI-compatible server (`examples/common/model_server.rs`: real HTTP, real
//! SSE): every value asserted is taken from what the server really sent — ids,
//! models, usage, finish reasons, tool call ids — plus server address and
//! port, time to first chunk, and content only with capture on. Both paths: the
//! zero-annotation client (`openai::traced_client`) and `#[genai_span]`
//! functions over async-openai's own types. And the `openai` example at a real
//! collector, through the conformance checks.
#![cfg(all(feature = "testing", feature = "async-openai", feature = "metrics"))]
// Token counts and parameters are small whole numbers or exact binary fractions.
#![allow(clippy::float_cmp)]

#[path = "../examples/common/model_server.rs"]
mod model_server;

use std::pin::Pin;

use futures::{Stream, StreamExt};
use genai_trace::openai::async_openai::Client;
use genai_trace::openai::async_openai::config::OpenAIConfig;
use genai_trace::openai::async_openai::error::OpenAIError;
use genai_trace::openai::async_openai::types::chat::{
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
    ChatCompletionStreamOptions, ChatCompletionTool, ChatCompletionTools, CreateChatCompletionRequest,
    CreateChatCompletionRequestArgs, CreateChatCompletionResponse, CreateChatCompletionStreamResponse, FunctionObject,
};
use genai_trace::openai::async_openai::types::embeddings::{
    CreateEmbeddingRequest, CreateEmbeddingRequestArgs, CreateEmbeddingResponse,
};
use genai_trace::openai::async_openai::types::responses::{CreateResponse, CreateResponseArgs, Response};
use genai_trace::opentelemetry::trace::{SpanKind, Status};
use genai_trace::opentelemetry::{Array, Value};
use genai_trace::opentelemetry_sdk::trace::SpanData;
use genai_trace::testing::{TestTelemetry, attribute};
use genai_trace::{ContentCapture, Session, genai_span};
use model_server::{Exchange, ModelServer};
use serde_json::{Value as Json, json};

const KEY: &str = "sk-test-never-recorded";

fn config(server: &ModelServer) -> OpenAIConfig {
    OpenAIConfig::new().with_api_base(server.base_url()).with_api_key(KEY)
}

fn user(text: &str) -> ChatCompletionRequestMessage {
    ChatCompletionRequestUserMessage::from(text).into()
}

fn chat_request(stream: bool) -> CreateChatCompletionRequest {
    let mut b = CreateChatCompletionRequestArgs::default();
    b.model("gpt-4o-mini")
        .temperature(0.25)
        .top_p(0.5)
        .max_completion_tokens(64u32)
        .seed(7)
        .stop(vec!["END".to_owned()])
        .messages([
            ChatCompletionRequestSystemMessage::from("Be brief.").into(),
            user("Is Lisbon nice in spring?"),
        ]);
    if stream {
        b.stream(true).stream_options(ChatCompletionStreamOptions {
            include_usage: Some(true),
            include_obfuscation: None,
        });
    }
    b.build().unwrap()
}

fn tools() -> Vec<ChatCompletionTools> {
    vec![ChatCompletionTools::Function(ChatCompletionTool {
        function: FunctionObject {
            name: "get_weather".into(),
            description: Some("Current weather in a city".into()),
            parameters: Some(json!({"type": "object", "properties": {"city": {"type": "string"}}})),
            strict: None,
        },
    })]
}

fn embeddings_request() -> CreateEmbeddingRequest {
    CreateEmbeddingRequestArgs::default()
        .model("text-embedding-3-small")
        .input("things to do in Lisbon")
        .dimensions(8u32)
        .build()
        .unwrap()
}

fn responses_request(stream: bool) -> CreateResponse {
    let mut b = CreateResponseArgs::default();
    b.model("gpt-4o-mini")
        .instructions("Answer in one sentence.")
        .input("Is Lisbon nice in spring?")
        .max_output_tokens(50u32);
    if stream {
        b.stream(true);
    }
    b.build().unwrap()
}

// --- what each span must carry, from the exchange ---------------------------------------

fn text(span: &SpanData, key: &str) -> String {
    attribute(span, key).map(Value::to_string).unwrap_or_default()
}

fn int(span: &SpanData, key: &str) -> Option<i64> {
    match attribute(span, key)? {
        Value::I64(v) => Some(*v),
        _ => None,
    }
}

fn content(span: &SpanData, key: &str) -> Option<Json> {
    attribute(span, key).map(|v| serde_json::from_str(&v.as_str()).unwrap())
}

fn server_and_kind(span: &SpanData, server: &ModelServer) {
    assert_eq!(span.span_kind, SpanKind::Client, "{}", span.name);
    assert_eq!(text(span, "gen_ai.provider.name"), "openai");
    assert_eq!(text(span, "server.address"), "127.0.0.1");
    assert_eq!(int(span, "server.port"), Some(i64::from(server.port)));
}

/// A chat completion's span against the exchange it made.
fn check_chat(span: &SpanData, ex: &Exchange, server: &ModelServer, capture: bool) {
    assert_eq!(span.name, "chat gpt-4o-mini");
    server_and_kind(span, server);
    let streamed = !ex.events.is_empty();
    let (id, model, usage, finish) = if streamed {
        let last = ex.events.iter().rev().find(|e| e["usage"].is_object()).unwrap();
        let finish = ex
            .events
            .iter()
            .find_map(|e| e["choices"][0]["finish_reason"].as_str())
            .unwrap();
        (&ex.events[0]["id"], &ex.events[0]["model"], &last["usage"], finish)
    } else {
        let r = &ex.response;
        (
            &r["id"],
            &r["model"],
            &r["usage"],
            r["choices"][0]["finish_reason"].as_str().unwrap(),
        )
    };
    assert_eq!(text(span, "gen_ai.operation.name"), "chat");
    assert_eq!(text(span, "openai.api.type"), "chat_completions");
    assert_eq!(text(span, "gen_ai.request.model"), "gpt-4o-mini");
    assert_eq!(text(span, "gen_ai.response.id"), id.as_str().unwrap());
    assert_eq!(text(span, "gen_ai.response.model"), model.as_str().unwrap());
    assert_eq!(text(span, "openai.response.system_fingerprint"), "fp_local");
    assert_eq!(int(span, "gen_ai.usage.input_tokens"), usage["prompt_tokens"].as_i64());
    assert_eq!(
        int(span, "gen_ai.usage.output_tokens"),
        usage["completion_tokens"].as_i64()
    );
    assert_eq!(
        int(span, "gen_ai.usage.cache_read.input_tokens"),
        usage["prompt_tokens_details"]["cached_tokens"].as_i64()
    );
    assert_eq!(
        attribute(span, "gen_ai.response.finish_reasons"),
        Some(&Value::Array(Array::String(vec![finish.to_owned().into()])))
    );
    let request = &ex.request;
    if let Some(t) = request["temperature"].as_f64() {
        assert_eq!(attribute(span, "gen_ai.request.temperature"), Some(&Value::F64(t)));
    }
    if streamed {
        assert_eq!(attribute(span, "gen_ai.request.stream"), Some(&Value::Bool(true)));
        let ttfc = attribute(span, "gen_ai.response.time_to_first_chunk").expect("time to first chunk");
        assert!(matches!(ttfc, Value::F64(s) if *s > 0.0 && *s < 5.0), "{ttfc:?}");
    }
    let key_leaked = span.attributes.iter().any(|kv| kv.value.as_str().contains(KEY));
    assert!(!key_leaked, "the API key is in {}", span.name);
    if capture {
        let input = content(span, "gen_ai.input.messages").expect("input messages");
        let sent = request["messages"].as_array().unwrap();
        assert_eq!(input.as_array().unwrap().len(), sent.len());
        let output = content(span, "gen_ai.output.messages").expect("output messages");
        assert_eq!(output[0]["finish_reason"], finish);
        let said = if streamed {
            ex.events
                .iter()
                .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
                .collect::<String>()
        } else {
            ex.response["choices"][0]["message"]["content"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        };
        if !said.is_empty() {
            assert_eq!(output[0]["parts"][0], json!({"type": "text", "content": said}));
        }
    } else {
        assert!(
            attribute(span, "gen_ai.input.messages").is_none(),
            "content with capture off"
        );
        assert!(attribute(span, "gen_ai.output.messages").is_none());
    }
}

fn check_embeddings(span: &SpanData, ex: &Exchange, server: &ModelServer) {
    assert_eq!(span.name, "embeddings text-embedding-3-small");
    server_and_kind(span, server);
    assert_eq!(
        text(span, "gen_ai.response.model"),
        ex.response["model"].as_str().unwrap()
    );
    assert_eq!(
        int(span, "gen_ai.usage.input_tokens"),
        ex.response["usage"]["prompt_tokens"].as_i64()
    );
    assert_eq!(int(span, "gen_ai.embeddings.dimension.count"), Some(8));
}

fn check_responses(span: &SpanData, ex: &Exchange, server: &ModelServer, capture: bool) {
    assert_eq!(span.name, "chat gpt-4o-mini");
    server_and_kind(span, server);
    let r = if ex.events.is_empty() {
        &ex.response
    } else {
        &ex.events.last().unwrap()["response"]
    };
    assert_eq!(text(span, "openai.api.type"), "responses");
    assert_eq!(text(span, "gen_ai.response.id"), r["id"].as_str().unwrap());
    assert_eq!(text(span, "gen_ai.response.model"), r["model"].as_str().unwrap());
    assert_eq!(int(span, "gen_ai.request.max_tokens"), Some(50));
    assert_eq!(
        int(span, "gen_ai.usage.input_tokens"),
        r["usage"]["input_tokens"].as_i64()
    );
    assert_eq!(
        int(span, "gen_ai.usage.output_tokens"),
        r["usage"]["output_tokens"].as_i64()
    );
    assert_eq!(
        int(span, "gen_ai.usage.reasoning.output_tokens"),
        r["usage"]["output_tokens_details"]["reasoning_tokens"].as_i64()
    );
    if !ex.events.is_empty() {
        assert!(attribute(span, "gen_ai.response.time_to_first_chunk").is_some());
    }
    if capture {
        assert_eq!(
            content(span, "gen_ai.system_instructions"),
            Some(json!([{"type": "text", "content": "Answer in one sentence."}]))
        );
        let said = r["output"][0]["content"][0]["text"].as_str().unwrap();
        assert_eq!(
            content(span, "gen_ai.output.messages"),
            Some(json!([{"role": "assistant", "parts": [{"type": "text", "content": said}], "finish_reason": "stop"}]))
        );
    } else {
        assert!(attribute(span, "gen_ai.system_instructions").is_none());
    }
}

fn install(capture: bool) -> TestTelemetry {
    TestTelemetry::install_with(|b| {
        b.content_capture(if capture {
            ContentCapture::SpanOnly
        } else {
            ContentCapture::NoContent
        })
    })
}

// --- the zero-annotation path ---------------------------------------------------------------

async fn every_call(client: &Client<OpenAIConfig>) -> Result<(), OpenAIError> {
    client.chat().create(chat_request(false)).await?;
    let mut stream = client.chat().create_stream(chat_request(true)).await?;
    while let Some(chunk) = stream.next().await {
        chunk?;
    }
    drop(stream);
    client.embeddings().create(embeddings_request()).await?;
    client.responses().create(responses_request(false)).await?;
    let mut events = client.responses().create_stream(responses_request(true)).await?;
    while let Some(event) = events.next().await {
        event?;
    }
    Ok(())
}

fn run_zero_annotation(capture: bool) {
    let server = ModelServer::start();
    let t = install(capture);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = genai_trace::openai::traced_client(config(&server));
    let session = Session::builder().session_id("s-1").start();
    rt.block_on(session.run(every_call(&client))).unwrap();
    drop(session);
    let ex = server.exchanges();
    assert_eq!(ex.len(), 5);
    assert!(
        ex.iter()
            .all(|e| e.authorization.as_deref() == Some(&*format!("Bearer {KEY}")))
    );
    let spans = t.spans();
    let session_span = spans.iter().find(|s| s.name == "session").unwrap();
    let calls: Vec<&SpanData> = spans.iter().filter(|s| s.name != "session").collect();
    assert_eq!(
        calls.len(),
        5,
        "{:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    for c in &calls {
        assert_eq!(
            c.parent_span_id,
            session_span.span_context.span_id(),
            "{} in the session",
            c.name
        );
        assert_eq!(c.status, Status::Unset, "{}", c.name);
    }
    // Spans end in order of completion: the exchanges' order.
    check_chat(calls[0], &ex[0], &server, capture);
    check_chat(calls[1], &ex[1], &server, capture);
    check_embeddings(calls[2], &ex[2], &server);
    check_responses(calls[3], &ex[3], &server, capture);
    check_responses(calls[4], &ex[4], &server, capture);
    // The stream's chunks: role, 3 text pieces, finish, usage → 6 chunks, 5 gaps.
    let per_chunk = t.histogram("gen_ai.client.operation.time_per_output_chunk");
    let chat_chunks = ex[1].events.len() as u64;
    let response_deltas = ex[4]
        .events
        .iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .count() as u64;
    assert_eq!(
        per_chunk.iter().map(|p| p.count).sum::<u64>(),
        (chat_chunks - 1) + (response_deltas - 1),
        "one recording per chunk after the first: {per_chunk:?}"
    );
}

#[test]
fn zero_annotation_calls_record_what_the_server_sent_capture_off() {
    run_zero_annotation(false);
}

#[test]
fn zero_annotation_calls_record_what_the_server_sent_capture_on() {
    run_zero_annotation(true);
}

#[test]
fn a_streamed_tool_call_and_the_round_trip_keep_the_models_call_id() {
    let server = ModelServer::start();
    let t = TestTelemetry::install_with(|b| b.content_capture(ContentCapture::SpanOnly));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = genai_trace::openai::traced_client(config(&server));
    rt.block_on(async {
        let request = CreateChatCompletionRequestArgs::default()
            .model("gpt-4o-mini")
            .messages([user("Weather in Lisbon?")])
            .tools(tools())
            .stream(true)
            .build()
            .unwrap();
        let mut stream = client.chat().create_stream(request).await.unwrap();
        while let Some(chunk) = stream.next().await {
            chunk.unwrap();
        }
    });
    let ex = server.exchanges();
    let call_id = ex[0].events[1]["choices"][0]["delta"]["tool_calls"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let span = t.span("chat gpt-4o-mini");
    assert_eq!(
        attribute(&span, "gen_ai.response.finish_reasons"),
        Some(&Value::Array(Array::String(vec!["tool_calls".into()])))
    );
    assert_eq!(
        content(&span, "gen_ai.output.messages"),
        Some(json!([{"role": "assistant", "finish_reason": "tool_calls", "parts": [
            {"type": "tool_call", "id": call_id, "name": "get_weather", "arguments": {"city": "Lisbon"}}
        ]}])),
        "the tool call assembled from its deltas"
    );
    assert_eq!(
        content(&span, "gen_ai.tool.definitions"),
        Some(
            json!([{"type": "function", "name": "get_weather", "description": "Current weather in a city",
                     "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}])
        )
    );
}

#[test]
fn an_api_error_ends_the_span_with_the_status_and_message() {
    let server = ModelServer::start();
    let t = TestTelemetry::install();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = genai_trace::openai::traced_client(config(&server));
    let mut request = chat_request(false);
    request.model = "missing-model".into();
    let err = rt.block_on(client.chat().create(request)).unwrap_err();
    assert!(
        err.to_string().contains("does not exist"),
        "the client still sees the API error: {err}"
    );
    let span = t.span("chat missing-model");
    assert_eq!(text(&span, "error.type"), "404");
    assert!(matches!(&span.status, Status::Error { description } if description.contains("does not exist")));
}

#[test]
fn other_endpoints_pass_through_and_telemetry_off_records_nothing() {
    let server = ModelServer::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = genai_trace::openai::traced_client(config(&server));
    {
        // Not installed: the layer passes every call through untouched.
        let _l = genai_trace::testing::exclusive();
        let reply = rt.block_on(client.chat().create(chat_request(false))).unwrap();
        assert_eq!(reply.id, server.exchanges()[0].response["id"].as_str().unwrap());
    }
    let t = TestTelemetry::install();
    let fetched = rt.block_on(client.responses().retrieve("resp_0001"));
    assert!(fetched.is_err(), "the local server cannot fetch stored responses");
    assert!(t.spans().is_empty(), "no GenAI span for GET /responses/{{id}}");
}

// --- the typed path: #[genai_span] over async-openai's types ---------------------------------

#[genai_span(kind = "chat")]
async fn ask(
    client: &Client<OpenAIConfig>,
    request: &CreateChatCompletionRequest,
) -> Result<CreateChatCompletionResponse, OpenAIError> {
    client.chat().create(request.clone()).await
}

#[genai_span(kind = "chat")]
async fn ask_streamed(
    client: &Client<OpenAIConfig>,
    request: &CreateChatCompletionRequest,
) -> Result<Pin<Box<dyn Stream<Item = Result<CreateChatCompletionStreamResponse, OpenAIError>> + Send>>, OpenAIError> {
    client.chat().create_stream(request.clone()).await
}

#[genai_span(kind = "embeddings")]
async fn embed(
    client: &Client<OpenAIConfig>,
    request: &CreateEmbeddingRequest,
) -> Result<CreateEmbeddingResponse, OpenAIError> {
    client.embeddings().create(request.clone()).await
}

#[genai_span(kind = "chat")]
async fn respond(client: &Client<OpenAIConfig>, request: &CreateResponse) -> Result<Response, OpenAIError> {
    client.responses().create(request.clone()).await
}

fn run_typed(capture: bool) {
    let server = ModelServer::start();
    let t = install(capture);
    let rt = tokio::runtime::Runtime::new().unwrap();
    // A plain client: the annotated functions record it all.
    let client = Client::with_config(config(&server));
    rt.block_on(async {
        ask(&client, &chat_request(false)).await.unwrap();
        let mut stream = ask_streamed(&client, &chat_request(true)).await.unwrap();
        while let Some(chunk) = stream.next().await {
            chunk.unwrap();
        }
        drop(stream);
        embed(&client, &embeddings_request()).await.unwrap();
        respond(&client, &responses_request(false)).await.unwrap();
    });
    let ex = server.exchanges();
    let spans = t.spans();
    assert_eq!(
        spans.len(),
        4,
        "{:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    check_chat(&spans[0], &ex[0], &server, capture);
    check_chat(&spans[1], &ex[1], &server, capture);
    check_embeddings(&spans[2], &ex[2], &server);
    check_responses(&spans[3], &ex[3], &server, capture);
}

#[test]
fn annotated_functions_over_async_openai_types_record_the_same_capture_off() {
    run_typed(false);
}

#[test]
fn annotated_functions_over_async_openai_types_record_the_same_capture_on() {
    run_typed(true);
}

// --- the wire format for any client -------------------------------------------------------

/// OpenAI JSON bodies as a client without typed recorders has them.
struct Sent(Json);
struct Received(Json);

impl genai_trace::RecordRequest for Sent {
    fn record_request(&self, r: &mut genai_trace::Recorder<'_>) {
        genai_trace::openai::record_chat_request(&self.0, r);
    }
}
impl genai_trace::RecordResponse for Received {
    fn record_response(&self, r: &mut genai_trace::Recorder<'_>) {
        genai_trace::openai::record_chat_response(&self.0, r);
    }
}

#[genai_span(kind = "text_completion", provider = "openai")]
fn legacy_complete(body: &Sent) -> Received {
    let _ = body;
    Received(json!({
        "id": "cmpl-1", "object": "text_completion", "model": "gpt-3.5-turbo-instruct-0914",
        "choices": [{"index": 0, "text": "Lisbon.", "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
    }))
}

/// The legacy Completions API through the wire mapping: its `prompt` is the
/// input, each choice's `text` the output.
#[test]
fn the_wire_mapping_reads_legacy_completions() {
    let t = install(true);
    legacy_complete(&Sent(
        json!({"model": "gpt-3.5-turbo-instruct", "prompt": "Capital of Portugal?", "max_tokens": 5}),
    ));
    let span = t.span("text_completion gpt-3.5-turbo-instruct");
    assert_eq!(int(&span, "gen_ai.request.max_tokens"), Some(5));
    assert!(
        attribute(&span, "openai.api.type").is_none(),
        "no api type value for legacy completions"
    );
    assert_eq!(text(&span, "gen_ai.response.id"), "cmpl-1");
    assert_eq!(int(&span, "gen_ai.usage.output_tokens"), Some(2));
    assert_eq!(
        content(&span, "gen_ai.input.messages"),
        Some(json!([{"role": "user", "parts": [{"type": "text", "content": "Capital of Portugal?"}]}]))
    );
    assert_eq!(
        content(&span, "gen_ai.output.messages"),
        Some(
            json!([{"role": "assistant", "parts": [{"type": "text", "content": "Lisbon."}], "finish_reason": "stop"}])
        )
    );
}
