//! A small assistant through the real async-openai client, recorded with no
//! hand-written recorder: a chat completion, a streamed chat (with
//! `stream_options.include_usage`), an embeddings call, a Responses API call,
//! and a tool round trip (the model asks for a tool → an `execute_tool` span
//! with the model's call id → a second chat with the result), all in one
//! session, one trace.
//!
//! ```sh
//! cargo run --example openai --features async-openai
//! # a real OpenAI-compatible server instead of the built-in local one:
//! OPENAI_BASE_URL=http://localhost:11434/v1 OPENAI_MODEL=llama3.2 cargo run --example openai --features async-openai
//! OPENAI_API_KEY=sk-... cargo run --example openai --features async-openai   # api.openai.com
//! # flags as in the quickstart (`--help`):
//! cargo run --example openai --features async-openai -- --capture-content --otlp-endpoint http://localhost:4318
//! ```
//!
//! With neither `OPENAI_BASE_URL` nor `OPENAI_API_KEY` set, it starts a local
//! OpenAI-compatible server on loopback (`examples/common/model_server.rs`: real
//! HTTP, real server-sent events, OpenAI's wire format), so it runs with no
//! network and no key. The API key is a header of the HTTP request only: it is
//! never recorded and never printed.
//!
//! The client comes from `genai_trace::openai::traced_client`: every call
//! through it is a GenAI span (the zero-annotation path). In your own code,
//! depend on `async-openai` yourself; here its re-export keeps the example
//! self-contained.

#[path = "common/cli.rs"]
mod cli;
#[path = "common/model_server.rs"]
mod model_server;

use futures::StreamExt;
use genai_trace::openai::async_openai::config::OpenAIConfig;
use genai_trace::openai::async_openai::types::chat::{
    ChatCompletionMessageToolCalls, ChatCompletionRequestAssistantMessage, ChatCompletionRequestMessage,
    ChatCompletionRequestToolMessage, ChatCompletionRequestUserMessage, ChatCompletionStreamOptions,
    ChatCompletionTool, ChatCompletionTools, CreateChatCompletionRequestArgs, FunctionObject,
};
use genai_trace::openai::async_openai::types::embeddings::CreateEmbeddingRequestArgs;
use genai_trace::openai::async_openai::types::responses::CreateResponseArgs;
use genai_trace::openai::async_openai::{Client, error::OpenAIError};
use genai_trace::{Session, genai_span};

/// The tool the model may call; its span carries the model's call id.
#[genai_span(kind = "execute_tool", attrs(gen_ai.tool.name = "get_weather", gen_ai.tool.call.id = call_id,
             gen_ai.tool.type = "function", gen_ai.tool.description = "Current weather in a city"),
             sensitive = ["arguments"])]
async fn get_weather(call_id: &str, arguments: &str) -> String {
    let city = serde_json::from_str::<serde_json::Value>(arguments)
        .ok()
        .and_then(|a| a["city"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "somewhere".into());
    format!("18°C and sunny in {city}")
}

fn user(text: &str) -> ChatCompletionRequestMessage {
    ChatCompletionRequestUserMessage::from(text).into()
}

async fn assistant(client: &Client<OpenAIConfig>, model: &str) -> Result<(), OpenAIError> {
    // 1. A chat completion.
    let request = CreateChatCompletionRequestArgs::default()
        .model(model)
        .temperature(0.2)
        .max_completion_tokens(64u32)
        .messages([user("Is Lisbon nice in spring?")])
        .build()?;
    let reply = client.chat().create(request).await?;
    println!("chat: {}", reply.choices[0].message.content.clone().unwrap_or_default());

    // 2. The same question, streamed; the usage comes in the last chunk.
    let request = CreateChatCompletionRequestArgs::default()
        .model(model)
        .messages([user("Is Lisbon nice in spring? Say it briefly.")])
        .stream(true)
        .stream_options(ChatCompletionStreamOptions {
            include_usage: Some(true),
            include_obfuscation: None,
        })
        .build()?;
    let mut stream = client.chat().create_stream(request).await?;
    let mut streamed = String::new();
    while let Some(chunk) = stream.next().await {
        for choice in chunk?.choices {
            streamed.push_str(&choice.delta.content.unwrap_or_default());
        }
    }
    println!("streamed: {streamed}");

    // 3. Embeddings.
    let request = CreateEmbeddingRequestArgs::default()
        .model("text-embedding-3-small")
        .input("things to do in Lisbon")
        .dimensions(8u32)
        .build()?;
    let embedding = client.embeddings().create(request).await?;
    println!("embedding: {} dimensions", embedding.data[0].embedding.len());

    // 4. The Responses API.
    let request = CreateResponseArgs::default()
        .model(model)
        .instructions("Answer in one sentence.")
        .input("Is Lisbon nice in spring?")
        .build()?;
    let response = client.responses().create(request).await?;
    println!("responses: {}", response.output_text().unwrap_or_default());

    // 5. A tool round trip.
    let tools = vec![ChatCompletionTools::Function(ChatCompletionTool {
        function: FunctionObject {
            name: "get_weather".into(),
            description: Some("Current weather in a city".into()),
            parameters: Some(serde_json::json!({
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            })),
            strict: None,
        },
    })];
    let mut messages = vec![user("What is the weather in Lisbon?")];
    let request = CreateChatCompletionRequestArgs::default()
        .model(model)
        .messages(messages.clone())
        .tools(tools.clone())
        .build()?;
    let first = client.chat().create(request).await?;
    let asked = first.choices[0].message.tool_calls.clone().unwrap_or_default();
    messages.push(
        ChatCompletionRequestAssistantMessage {
            tool_calls: Some(asked.clone()),
            ..Default::default()
        }
        .into(),
    );
    for call in &asked {
        if let ChatCompletionMessageToolCalls::Function(call) = call {
            let result = get_weather(&call.id, &call.function.arguments).await;
            messages.push(
                ChatCompletionRequestToolMessage {
                    content: result.into(),
                    tool_call_id: call.id.clone(),
                }
                .into(),
            );
        }
    }
    let request = CreateChatCompletionRequestArgs::default()
        .model(model)
        .messages(messages)
        .tools(tools)
        .build()?;
    let answer = client.chat().create(request).await?;
    println!(
        "tools: {}",
        answer.choices[0].message.content.clone().unwrap_or_default()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = cli::Flags::install("openai-example")?;

    let base_url = std::env::var("OPENAI_BASE_URL").ok();
    let api_key = std::env::var("OPENAI_API_KEY").ok();
    // No server and no key given: the local OpenAI-compatible server.
    let local = (base_url.is_none() && api_key.is_none()).then(model_server::ModelServer::start);
    let mut config = OpenAIConfig::new();
    if let Some(server) = &local {
        config = config.with_api_base(server.base_url()).with_api_key("local-key");
    } else if let Some(url) = base_url {
        config = config.with_api_base(url);
    }
    if let Some(key) = api_key {
        config = config.with_api_key(key);
    }
    let model = std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-4o-mini".into());
    let client = genai_trace::openai::traced_client(config);

    let session = Session::builder()
        .session_id(format!("openai-example-{}", std::process::id()))
        .tag("openai-example")
        .start();
    let result = session.run(assistant(&client, &model)).await;
    drop(session);
    drop(guard);
    result?;
    Ok(())
}
