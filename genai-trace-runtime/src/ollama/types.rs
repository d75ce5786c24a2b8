//! ollama-rs 0.3's request, response and stream types record themselves
//! (feature `ollama`), through their JSON form into the wire mapping
//! ([`super::wire`]); the `Ollama` client as an argument records the provider
//! and where its calls go.

use ollama_rs::Ollama;
use ollama_rs::generation::chat::ChatMessageResponse;
use ollama_rs::generation::chat::request::ChatMessageRequest;
use ollama_rs::generation::completion::GenerationResponse;
use ollama_rs::generation::completion::request::GenerationRequest;
use ollama_rs::generation::embeddings::GenerateEmbeddingsResponse;
use ollama_rs::generation::embeddings::request::GenerateEmbeddingsRequest;

use crate::genai::recorder::{RecordRequest, RecordResponse, Recorder, record_via_json};
use crate::ollama::wire;
use crate::span::stream::{ChunkRecorder, RecordChunk};

record_via_json!(RecordRequest, record_request, Recorder<'_>,
    ChatMessageRequest => wire::record_chat_request,
    GenerationRequest<'_> => wire::record_generate_request,
    GenerateEmbeddingsRequest => wire::record_embed_request,
);
record_via_json!(RecordResponse, record_response, Recorder<'_>,
    ChatMessageResponse => wire::record_chat_response,
    GenerationResponse => wire::record_generate_response,
    GenerateEmbeddingsResponse => wire::record_embed_response,
);
record_via_json!(RecordChunk, record_chunk, ChunkRecorder<'_>,
    ChatMessageResponse => wire::record_chat_chunk,
    GenerationResponse => wire::record_generate_chunk,
);

/// An item of ollama-rs's chat stream (`ChatMessageResponseStream`): its error
/// type is `()`, so a failed item ends the span with a generic stream error.
impl RecordChunk for Result<ChatMessageResponse, ()> {
    fn record_chunk(&self, c: &mut ChunkRecorder<'_>) {
        match self {
            Ok(chunk) => chunk.record_chunk(c),
            Err(()) => c.error("_OTHER", "ollama_rs stream error", "the Ollama stream yielded an error"),
        }
    }
}

/// A chunk of ollama-rs's generation stream: a batch of bodies.
impl RecordChunk for Vec<GenerationResponse> {
    fn record_chunk(&self, c: &mut ChunkRecorder<'_>) {
        for body in self {
            body.record_chunk(c);
        }
    }
}

/// The client as an argument: `gen_ai.provider.name` `ollama`, and
/// `server.address` / `server.port` from its URL.
impl RecordRequest for Ollama {
    fn record_request(&self, r: &mut Recorder<'_>) {
        r.provider("ollama");
        let url = self.url();
        if let Some(host) = url.host_str() {
            r.server_address(host);
            if let Some(port) = url.port_or_known_default() {
                r.server_port(port);
            }
        }
    }
}
