//! async-openai's request, response and stream types record themselves
//! (feature `async-openai`): pass them to a `#[genai_span]` function, or return
//! them from one, and their attributes are on its span with no hand-written code.
//! Each type goes through its JSON form into the wire mapping ([`super::wire`]),
//! so the typed path and the middleware record exactly the same attributes.

use async_openai::Client;
use async_openai::config::Config;
use async_openai::types::chat::{
    CreateChatCompletionRequest, CreateChatCompletionResponse, CreateChatCompletionStreamResponse,
};
use async_openai::types::embeddings::{CreateEmbeddingRequest, CreateEmbeddingResponse};
use async_openai::types::responses::{CreateResponse, Response, ResponseStreamEvent};

use crate::genai::recorder::{RecordRequest, RecordResponse, Recorder, record_via_json};
use crate::openai::wire;
use crate::span::stream::{ChunkRecorder, RecordChunk};

record_via_json!(RecordRequest, record_request, Recorder<'_>,
    CreateChatCompletionRequest => wire::record_chat_request,
    CreateEmbeddingRequest => wire::record_embeddings_request,
    CreateResponse => wire::record_responses_request,
);
record_via_json!(RecordResponse, record_response, Recorder<'_>,
    CreateChatCompletionResponse => wire::record_chat_response,
    CreateEmbeddingResponse => wire::record_embeddings_response,
    Response => wire::record_responses_response,
);
record_via_json!(RecordChunk, record_chunk, ChunkRecorder<'_>,
    CreateChatCompletionStreamResponse => wire::record_chat_chunk,
    ResponseStreamEvent => wire::record_responses_event,
);

/// The client as an argument records where its calls go: `server.address` and
/// `server.port` from its configured base URL, and `gen_ai.provider.name`
/// `openai` (give `provider = "..."` in the attribute for another provider's
/// OpenAI-compatible server; the attribute's value comes last and wins).
impl<C: Config> RecordRequest for Client<C> {
    fn record_request(&self, r: &mut Recorder<'_>) {
        record_server(self.config().api_base(), r);
    }
}

/// `server.address` / `server.port` of a base URL such as `https://api.openai.com/v1`.
pub(crate) fn record_server(base_url: &str, r: &mut Recorder<'_>) {
    r.provider("openai");
    if let Ok(url) = reqwest::Url::parse(base_url)
        && let Some(host) = url.host_str()
    {
        r.server_address(host);
        if let Some(port) = url.port_or_known_default() {
            r.server_port(port);
        }
    }
}
