//! OpenAI and every OpenAI-compatible API (vLLM, Ollama's `/v1`, LiteLLM, Groq,
//! Together...), recorded without hand-written recorders.
//!
//! - [`record_chat_request`] & co.: the wire format (JSON bodies) as GenAI
//!   semantic conventions, for any client (always available).
//! - With feature `async-openai`: async-openai 0.43's request, response and
//!   stream types implement [`RecordRequest`](crate::RecordRequest),
//!   [`RecordResponse`](crate::RecordResponse) and [`RecordChunk`](crate::RecordChunk),
//!   and its `Client` records `server.address` / `server.port` from its base
//!   URL, so an annotated function over them needs nothing else; and
//!   [`OpenAiLayer`] / [`traced_client`] record every call of a client with no
//!   annotation at all. docs/integrations.md compares the two paths.

mod wire;

pub use wire::{
    record_chat_chunk, record_chat_request, record_chat_response, record_embeddings_request,
    record_embeddings_response, record_responses_event, record_responses_request, record_responses_response,
};

#[cfg(feature = "async-openai")]
mod middleware;
#[cfg(feature = "async-openai")]
mod sse;
#[cfg(feature = "async-openai")]
mod types;

#[cfg(feature = "async-openai")]
pub use middleware::{OpenAiLayer, OpenAiService};

/// The async-openai crate this integration is built for (0.43), for code with
/// no dependency of its own on it, such as this repository's examples.
#[cfg(feature = "async-openai")]
#[cfg_attr(docsrs, doc(cfg(feature = "async-openai")))]
pub use async_openai;

/// An async-openai client whose every model call is a GenAI span: `config`'s
/// client over [`OpenAiLayer`], async-openai's own retry layer and a new
/// `reqwest::Client` (the stack async-openai builds by default, with the layer
/// on top: one span per logical call, retries inside it).
///
/// ```no_run
/// use async_openai::config::OpenAIConfig;
/// use async_openai::types::chat::CreateChatCompletionRequestArgs;
///
/// # async fn run() -> Result<(), async_openai::error::OpenAIError> {
/// let client = genai_trace_runtime::openai::traced_client(OpenAIConfig::new());
/// let request = CreateChatCompletionRequestArgs::default()
///     .model("gpt-4o-mini")
///     .messages([async_openai::types::chat::ChatCompletionRequestUserMessage::from("Hi").into()])
///     .build()?;
/// let response = client.chat().create(request).await?; // a `chat gpt-4o-mini` span
/// # Ok(()) }
/// ```
#[cfg(feature = "async-openai")]
#[cfg_attr(docsrs, doc(cfg(feature = "async-openai")))]
pub fn traced_client<C: async_openai::config::Config>(config: C) -> async_openai::Client<C> {
    traced_client_with(config, OpenAiLayer::new())
}

/// [`traced_client`] with a configured layer (another provider's name, say).
#[cfg(feature = "async-openai")]
#[cfg_attr(docsrs, doc(cfg(feature = "async-openai")))]
pub fn traced_client_with<C: async_openai::config::Config>(config: C, layer: OpenAiLayer) -> async_openai::Client<C> {
    use async_openai::middleware::ReqwestService;
    use async_openai::middleware::retry::OpenAIRetryLayer;
    let service = tower::ServiceBuilder::new()
        .layer(layer)
        .layer(OpenAIRetryLayer::default())
        .service(ReqwestService::new(reqwest::Client::new()));
    async_openai::Client::with_config(config).with_http_service(service)
}
