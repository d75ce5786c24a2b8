//! A small agent run — plan with a chat model, call a tool, retrieve documents,
//! answer — printed as a span tree on stderr. No network or backend needed.
//!
//! ```sh
//! cargo run --example quickstart
//! # the same trace to a collector as well:
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 cargo run --example quickstart
//! # record prompts and completions too (off by default):
//! OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true cargo run --example quickstart
//! # into Phoenix, MLflow or Langfuse, with the attributes each UI reads:
//! GENAI_TRACE_DIALECTS=openinference,mlflow,langfuse PHOENIX_COLLECTOR_ENDPOINT=http://localhost:6006 \
//!     OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true cargo run --example quickstart
//! # flags, as the OpenTelemetry SDKs' examples take them (`--help` lists them):
//! cargo run --example quickstart -- --otlp-endpoint http://localhost:4318 --capture-content --console json
//! ```

#[path = "common/cli.rs"]
mod cli;

use std::time::Duration;

use genai_trace::{
    ChunkRecorder, Document, Message, Part, RecordChunk, RecordRequest, RecordResponse, Recorder, Session, Usage,
    genai_span,
};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

#[derive(Debug)]
struct ToolError(String);

impl std::fmt::Display for ToolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "tool failed: {}", self.0)
    }
}

impl std::error::Error for ToolError {}

/// A model client: where it sends requests is `server.address` / `server.port`.
struct Model {
    name: &'static str,
    host: &'static str,
    port: u16,
}

/// What a chat API is sent. Implementing `RecordRequest` records its parameters
/// (and, with content capture on, its system instructions) on the span.
struct ChatRequest<'a> {
    model: &'a Model,
    system: &'static str,
    temperature: f64,
    top_p: f64,
    max_tokens: i64,
    seed: i64,
    stop: &'static [&'static str],
}

impl RecordRequest for ChatRequest<'_> {
    fn record_request(&self, r: &mut Recorder<'_>) {
        r.server_address(self.model.host);
        r.server_port(self.model.port);
        r.temperature(self.temperature);
        r.top_p(self.top_p);
        r.max_tokens(self.max_tokens);
        r.seed(self.seed);
        r.stop_sequences(self.stop);
        r.output_type("text");
        r.system_instructions(self.system);
    }
}

/// What a chat API returns. Implementing `RecordResponse` is all it takes for
/// usage, finish reasons and (with content capture on) the output to be recorded.
struct Completion {
    id: String,
    text: String,
    /// Tools the model asked for: (call id, tool name, city).
    tool_calls: Vec<(String, &'static str, &'static str)>,
    input_tokens: i64,
    cached_tokens: i64,
    output_tokens: i64,
    reasoning_tokens: i64,
}

impl RecordResponse for Completion {
    fn record_response(&self, r: &mut Recorder<'_>) {
        r.response_id(&self.id);
        r.response_model("gpt-4o-2024-08-06");
        let finish = if self.tool_calls.is_empty() {
            "stop"
        } else {
            "tool_calls"
        };
        r.finish_reasons(&[finish]);
        r.usage(Usage {
            input_tokens: Some(self.input_tokens),
            output_tokens: Some(self.output_tokens),
            cache_read_input_tokens: Some(self.cached_tokens),
            reasoning_output_tokens: Some(self.reasoning_tokens),
            ..Usage::default()
        });
        let mut message = Message::assistant(&self.text).finish_reason(finish);
        for (id, name, city) in &self.tool_calls {
            message = message.part(Part::ToolCall {
                id: Some(id.clone()),
                name: (*name).to_owned(),
                arguments: serde_json::json!({ "city": city }),
            });
        }
        r.output_messages(&[message]);
    }
}

impl Model {
    /// A fake chat completion: sleeps like a network call would, and asks for
    /// the weather in two cities (the second call will fail), as a model's
    /// tool calls do, each with its own call id.
    #[genai_span(kind = "chat", provider = "openai", model = self.name, sensitive = ["prompt"])]
    fn complete(&self, request: &ChatRequest<'_>, prompt: &str) -> Completion {
        std::thread::sleep(Duration::from_millis(40));
        let _ = request;
        let text = format!("plan for: {}", prompt.len());
        let run = unique_suffix();
        Completion {
            id: format!("chatcmpl-{run}"),
            tool_calls: vec![
                (format!("call_{run}_1"), "get_weather", "Lisbon"),
                (format!("call_{run}_2"), "get_weather", ""),
            ],
            input_tokens: prompt.len() as i64 / 4 + 12,
            cached_tokens: 8,
            output_tokens: text.len() as i64 / 4 + 1,
            reasoning_tokens: 2,
            text,
        }
    }
}

/// An embeddings request: the model, the encoding and where it goes.
struct EmbeddingsRequest<'a> {
    model: &'a Model,
    dimensions: i64,
}

impl RecordRequest for EmbeddingsRequest<'_> {
    fn record_request(&self, r: &mut Recorder<'_>) {
        r.server_address(self.model.host);
        r.server_port(self.model.port);
        r.encoding_formats(&["float"]);
    }
}

struct Embedding(Vec<f32>);

impl RecordResponse for Embedding {
    fn record_response(&self, r: &mut Recorder<'_>) {
        r.embeddings_dimension_count(self.0.len() as i64);
        r.usage(Usage {
            input_tokens: Some(6),
            ..Usage::default()
        });
    }
}

/// A fake embeddings call (the query vector for retrieval).
#[genai_span(kind = "embeddings", provider = "openai", model = "text-embedding-3-small", sensitive = ["text"])]
fn embed(request: &EmbeddingsRequest<'_>, text: &str) -> Embedding {
    std::thread::sleep(Duration::from_millis(6));
    let _ = text;
    Embedding(vec![0.1; request.dimensions as usize])
}

/// One streamed token of the fake model; the last one carries the finish
/// reason and usage, as OpenAI-style streams do.
struct Token {
    text: &'static str,
    finish: Option<&'static str>,
    usage: Option<(i64, i64)>,
}

impl RecordChunk for Token {
    fn record_chunk(&self, c: &mut ChunkRecorder<'_>) {
        c.text_delta(self.text);
        if let Some(f) = self.finish {
            c.finish_reason(f);
        }
        if let Some((input, output)) = self.usage {
            c.usage(Usage {
                input_tokens: Some(input),
                output_tokens: Some(output),
                ..Usage::default()
            });
        }
    }
}

impl Model {
    /// A streamed completion (blocking style): the span stays open until the
    /// caller has read the last token, and records the time to the first one.
    #[genai_span(kind = "chat", provider = "openai", model = self.name, sensitive = ["prompt"])]
    fn stream(&self, prompt: &str) -> impl Iterator<Item = Token> {
        let words = ["Day 1: Alfama. ", "Day 2: Belém. ", "Day 3: Sintra."];
        let input = prompt.len() as i64 / 4;
        words.into_iter().enumerate().map(move |(i, text)| {
            std::thread::sleep(Duration::from_millis(if i == 0 { 30 } else { 8 }));
            let last = i == words.len() - 1;
            Token {
                text,
                finish: last.then_some("stop"),
                usage: last.then_some((input, 9)),
            }
        })
    }
}

struct Hits(Vec<&'static str>);

impl RecordResponse for Hits {
    fn record_response(&self, r: &mut Recorder<'_>) {
        let docs: Vec<Document> = self
            .0
            .iter()
            .enumerate()
            .map(|(i, id)| Document {
                id: (*id).into(),
                score: Some(1.0 / (i + 1) as f64),
            })
            .collect();
        r.retrieval_documents(&docs);
    }
}

/// A tool the model asked for; `call_id` is the id of the model's tool call.
/// With content capture on, `city` is the call's arguments and the returned
/// text its result.
#[genai_span(kind = "execute_tool", attrs(gen_ai.tool.name = "get_weather", gen_ai.tool.call.id = call_id,
             gen_ai.tool.type = "function", gen_ai.tool.description = "Current weather in a city"),
             sensitive = ["city"])]
fn get_weather(call_id: &str, city: &str) -> Result<String, ToolError> {
    std::thread::sleep(Duration::from_millis(5));
    tracing::info!(city, "calling the weather service");
    if city.is_empty() {
        return Err(ToolError("no city".into()));
    }
    Ok(format!("sunny in {city}"))
}

#[genai_span(kind = "retrieval", attrs(gen_ai.data_source.id = "travel-guides", gen_ai.request.top_k = 3.0),
             sensitive = ["query"])]
fn retrieve(query: &str, vector: &Embedding) -> Hits {
    std::thread::sleep(Duration::from_millis(12));
    let _ = (query, vector);
    Hits(vec!["lisbon.md", "porto.md", "faro.md"])
}

/// A custom kind: its category (reranker) comes from its name; `category = "..."`
/// would say it explicitly.
#[genai_span(kind = "rag.rerank")]
fn rerank(docs: Hits) -> Vec<&'static str> {
    docs.0.into_iter().take(2).collect()
}

/// The agent: its provider is that of the model it runs on, and the tool,
/// retrieval and embeddings calls inside it are recorded with it too. With
/// content capture on, `request` is its input and its answer its output.
#[genai_span(kind = "invoke_agent", provider = "openai", sensitive = ["request"],
             attrs(gen_ai.agent.name = "trip-planner", gen_ai.agent.id = "agent-trip-1", gen_ai.agent.version = "1.2"))]
fn plan_trip(model: &Model, request: &str) -> Result<String, ToolError> {
    let chat = ChatRequest {
        model,
        system: "You plan short trips.",
        temperature: 0.2,
        top_p: 0.9,
        max_tokens: 512,
        seed: 42,
        stop: &["END"],
    };
    let completion = model.complete(&chat, request);
    let plan = completion.text;
    // Each tool call the model asked for, with the model's call id; the second
    // fails and is recorded as an error span; the agent recovers.
    let (first, second) = (&completion.tool_calls[0], &completion.tool_calls[1]);
    let weather = get_weather(&first.0, first.2)?;
    let _ = get_weather(&second.0, second.2);
    let query = "things to do in Lisbon";
    let vector = embed(&EmbeddingsRequest { model, dimensions: 8 }, query);
    let docs = rerank(retrieve(query, &vector));
    let answer: String = model
        .stream(&format!("{plan}; {weather}; {docs:?}"))
        .map(|t| t.text)
        .collect();
    Ok(answer)
}

/// Hex milliseconds since the epoch: fresh ids per run.
fn unique_suffix() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    format!("{ms:x}")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = cli::Flags::install("quickstart")?;
    // Log lines carry the trace, span and session ids; with an OTLP endpoint the
    // same events are exported as OTLP logs.
    tracing_subscriber::registry()
        .with(genai_trace::logging::JsonLogLayer::stderr())
        .with(genai_trace::logging::otlp_logs_layer())
        .init();

    // A fresh session id per run: each run is its own conversation.
    let request = "three days in Lisbon";
    let mut session = Session::builder()
        .session_id(format!("demo-{}", unique_suffix()))
        .user_id("ada")
        .tag("quickstart")
        .input(request)
        .start();
    let model = Model {
        name: "gpt-4o",
        host: "api.openai.com",
        port: 443,
    };
    let answer = session.in_scope(|| plan_trip(&model, request))?;
    // The session's answer is the trace's output in Phoenix, MLflow and Langfuse.
    session.record_output(&answer);
    println!("{answer}");
    drop(session);

    // Dropping the guard flushes: the tree is printed before the program exits.
    drop(guard);
    Ok(())
}
