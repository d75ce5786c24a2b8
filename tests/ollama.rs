//! ollama-rs 0.3, recorded with no hand-written recorder: `#[genai_span]`
//! functions over its own types, against a local Ollama-compatible server
//! (`examples/common/model_server.rs`: real HTTP, newline-delimited JSON
//! streams, Ollama's native API). Every asserted value is what the server sent:
//! models, token counts (`prompt_eval_count`, `eval_count`), text, tool calls;
//! plus server address and port, request options, time to first chunk, one
//! time-per-chunk recording per chunk after the first, content only with capture
//! on. Ollama gives no response id, and ollama-rs 0.3 drops its `done_reason`:
//! no finish reasons are recorded (docs/integrations.md).
#![cfg(all(feature = "testing", feature = "ollama", feature = "metrics"))]
#![allow(clippy::float_cmp)]

#[path = "../examples/common/model_server.rs"]
mod model_server;

use std::pin::Pin;

use futures::{Stream, StreamExt};
use genai_trace::ollama::ollama_rs::Ollama;
use genai_trace::ollama::ollama_rs::error::OllamaError;
use genai_trace::ollama::ollama_rs::generation::chat::request::ChatMessageRequest;
use genai_trace::ollama::ollama_rs::generation::chat::{ChatMessage, ChatMessageResponse};
use genai_trace::ollama::ollama_rs::generation::completion::GenerationResponse;
use genai_trace::ollama::ollama_rs::generation::completion::request::GenerationRequest;
use genai_trace::ollama::ollama_rs::generation::embeddings::GenerateEmbeddingsResponse;
use genai_trace::ollama::ollama_rs::generation::embeddings::request::GenerateEmbeddingsRequest;
use genai_trace::ollama::ollama_rs::generation::tools::ToolInfo;
use genai_trace::ollama::ollama_rs::models::ModelOptions;
use genai_trace::opentelemetry::trace::SpanKind;
use genai_trace::opentelemetry::{Array, Value};
use genai_trace::opentelemetry_sdk::trace::SpanData;
use genai_trace::testing::{TestTelemetry, attribute};
use genai_trace::{ContentCapture, genai_span};
use model_server::{Exchange, ModelServer};
use serde_json::{Value as Json, json};

#[genai_span(kind = "chat")]
async fn chat(ollama: &Ollama, request: &ChatMessageRequest) -> Result<ChatMessageResponse, OllamaError> {
    ollama.send_chat_messages(request.clone()).await
}

#[genai_span(kind = "chat")]
// The stream type spelled out: an alias (`ChatMessageResponseStream`) is a
// named type the macro cannot see through (docs/streaming.md).
async fn chat_streamed(
    ollama: &Ollama,
    request: &ChatMessageRequest,
) -> Result<Pin<Box<dyn Stream<Item = Result<ChatMessageResponse, ()>> + Send>>, OllamaError> {
    ollama.send_chat_messages_stream(request.clone()).await
}

#[genai_span(kind = "text_completion")]
async fn generate(ollama: &Ollama, request: &GenerationRequest<'_>) -> Result<GenerationResponse, OllamaError> {
    ollama.generate(request.clone()).await
}

#[genai_span(kind = "text_completion")]
async fn generate_streamed(
    ollama: &Ollama,
    request: &GenerationRequest<'_>,
) -> Result<Pin<Box<dyn Stream<Item = Result<Vec<GenerationResponse>, OllamaError>> + Send>>, OllamaError> {
    ollama.generate_stream(request.clone()).await
}

#[genai_span(kind = "embeddings")]
async fn embed(ollama: &Ollama, request: GenerateEmbeddingsRequest) -> Result<GenerateEmbeddingsResponse, OllamaError> {
    ollama.generate_embeddings(request).await
}

fn options() -> ModelOptions {
    ModelOptions::default()
        .temperature(0.25)
        .top_p(0.5)
        .num_predict(64)
        .seed(7)
        .stop(vec!["END".into()])
}

fn chat_request() -> ChatMessageRequest {
    ChatMessageRequest::new(
        "llama3.2".into(),
        vec![
            ChatMessage::system("Be brief.".into()),
            ChatMessage::user("Is Lisbon nice in spring?".into()),
        ],
    )
    .options(options())
}

fn generation_request() -> GenerationRequest<'static> {
    GenerationRequest::new("llama3.2".into(), "Is Lisbon nice in spring?")
        .system("Be brief.")
        .options(options())
}

fn int(span: &SpanData, key: &str) -> Option<i64> {
    match attribute(span, key)? {
        Value::I64(v) => Some(*v),
        _ => None,
    }
}

fn text(span: &SpanData, key: &str) -> String {
    attribute(span, key).map(Value::to_string).unwrap_or_default()
}

fn content(span: &SpanData, key: &str) -> Option<Json> {
    attribute(span, key).map(|v| serde_json::from_str(&v.as_str()).unwrap())
}

/// What every inference span carries, from its exchange: the final body's
/// model and counts, the request's options, the server.
fn check_inference(span: &SpanData, ex: &Exchange, server: &ModelServer, operation: &str, capture: bool) {
    assert_eq!(span.name, format!("{operation} llama3.2"));
    assert_eq!(span.span_kind, SpanKind::Client);
    assert_eq!(text(span, "gen_ai.provider.name"), "ollama");
    assert_eq!(text(span, "server.address"), "127.0.0.1");
    assert_eq!(int(span, "server.port"), Some(i64::from(server.port)));
    let last = ex.events.last().unwrap_or(&ex.response);
    assert_eq!(
        text(span, "gen_ai.response.model"),
        last["model"].as_str().unwrap(),
        "{} {:?}",
        span.name,
        span.attributes
    );
    assert_eq!(
        int(span, "gen_ai.usage.input_tokens"),
        last["prompt_eval_count"].as_i64()
    );
    assert_eq!(int(span, "gen_ai.usage.output_tokens"), last["eval_count"].as_i64());
    assert_eq!(attribute(span, "gen_ai.request.temperature"), Some(&Value::F64(0.25)));
    assert_eq!(attribute(span, "gen_ai.request.top_p"), Some(&Value::F64(0.5)));
    assert_eq!(int(span, "gen_ai.request.max_tokens"), Some(64));
    assert_eq!(int(span, "gen_ai.request.seed"), Some(7));
    assert_eq!(
        attribute(span, "gen_ai.request.stop_sequences"),
        Some(&Value::Array(Array::String(vec!["END".into()])))
    );
    assert!(
        attribute(span, "gen_ai.response.id").is_none(),
        "Ollama has no response id"
    );
    assert!(
        attribute(span, "gen_ai.response.finish_reasons").is_none(),
        "ollama-rs 0.3 drops done_reason: no made-up finish reason"
    );
    let streamed = !ex.events.is_empty();
    if streamed {
        let ttfc = attribute(span, "gen_ai.response.time_to_first_chunk").expect("time to first chunk");
        assert!(matches!(ttfc, Value::F64(s) if *s > 0.0), "{ttfc:?}");
    }
    if capture {
        let said: String = if streamed {
            ex.events
                .iter()
                .filter_map(|e| e["message"]["content"].as_str().or_else(|| e["response"].as_str()))
                .collect()
        } else {
            ex.response["message"]["content"]
                .as_str()
                .or_else(|| ex.response["response"].as_str())
                .unwrap()
                .to_owned()
        };
        let output = content(span, "gen_ai.output.messages").expect("output messages");
        assert_eq!(output[0]["parts"][0], json!({"type": "text", "content": said}));
        assert!(content(span, "gen_ai.input.messages").is_some());
    } else {
        assert!(
            attribute(span, "gen_ai.input.messages").is_none(),
            "content with capture off"
        );
        assert!(attribute(span, "gen_ai.output.messages").is_none());
    }
}

fn run(capture: bool) {
    let server = ModelServer::start();
    let t = TestTelemetry::install_with(|b| {
        b.content_capture(if capture {
            ContentCapture::SpanOnly
        } else {
            ContentCapture::NoContent
        })
    });
    let ollama = Ollama::builder().host("http://127.0.0.1").port(server.port).build();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        chat(&ollama, &chat_request()).await.unwrap();
        let mut stream = chat_streamed(&ollama, &chat_request()).await.unwrap();
        while let Some(chunk) = stream.next().await {
            chunk.unwrap();
        }
        drop(stream);
        generate(&ollama, &generation_request()).await.unwrap();
        let mut stream = generate_streamed(&ollama, &generation_request()).await.unwrap();
        while let Some(chunk) = stream.next().await {
            chunk.unwrap();
        }
        drop(stream);
        embed(
            &ollama,
            GenerateEmbeddingsRequest::new("all-minilm".into(), "Lisbon".into()),
        )
        .await
        .unwrap();
    });
    let ex = server.exchanges();
    let spans = t.spans();
    assert_eq!(
        spans.len(),
        5,
        "{:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    check_inference(&spans[0], &ex[0], &server, "chat", capture);
    check_inference(&spans[1], &ex[1], &server, "chat", capture);
    check_inference(&spans[2], &ex[2], &server, "text_completion", capture);
    check_inference(&spans[3], &ex[3], &server, "text_completion", capture);
    let embeddings = &spans[4];
    assert_eq!(embeddings.name, "embeddings all-minilm");
    let vector_len = ex[4].response["embeddings"][0].as_array().unwrap().len() as i64;
    assert_eq!(int(embeddings, "gen_ai.embeddings.dimension.count"), Some(vector_len));
    if capture {
        // `system` of /api/generate is the system instructions.
        assert_eq!(
            content(&spans[2], "gen_ai.system_instructions"),
            Some(json!([{"type": "text", "content": "Be brief."}]))
        );
    }
    // Each NDJSON line of the two streams is a chunk: N lines, N-1 recordings.
    let per_chunk = t.histogram("gen_ai.client.operation.time_per_output_chunk");
    let lines = (ex[1].events.len() + ex[3].events.len()) as u64;
    assert_eq!(
        per_chunk.iter().map(|p| p.count).sum::<u64>(),
        lines - 2,
        "{per_chunk:?}"
    );
}

#[test]
fn ollama_rs_types_record_what_the_server_sent_capture_off() {
    run(false);
}

#[test]
fn ollama_rs_types_record_what_the_server_sent_capture_on() {
    run(true);
}

#[test]
fn an_ollama_tool_call_is_recorded_with_its_arguments_and_definition() {
    let server = ModelServer::start();
    let t = TestTelemetry::install_with(|b| b.content_capture(ContentCapture::SpanOnly));
    let ollama = Ollama::builder().host("http://127.0.0.1").port(server.port).build();
    let tool: ToolInfo = serde_json::from_value(json!({"type": "function", "function": {
        "name": "get_weather", "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}
    }}))
    .unwrap();
    let request = ChatMessageRequest::new("llama3.2".into(), vec![ChatMessage::user("Weather in Lisbon?".into())])
        .tools(vec![tool]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let reply = rt.block_on(chat(&ollama, &request)).unwrap();
    assert_eq!(reply.message.tool_calls[0].function.name, "get_weather");
    let span = t.span("chat llama3.2");
    assert_eq!(
        content(&span, "gen_ai.output.messages"),
        Some(json!([{"role": "assistant", "finish_reason": "unknown", "parts": [
            {"type": "tool_call", "name": "get_weather", "arguments": {"city": "Lisbon"}}
        ]}]))
    );
    assert_eq!(
        content(&span, "gen_ai.tool.definitions"),
        Some(
            json!([{"type": "function", "name": "get_weather", "description": "Current weather in a city",
                     "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}])
        )
    );
}
