//! Request and response types that record themselves: [`RecordRequest`],
//! [`RecordResponse`] and the typed [`Recorder`] they write to.
//!
//! `#[genai_span]` calls `RecordRequest` on every argument (at span start, so
//! samplers see the attributes) and `RecordResponse` on the return value (also
//! through `&T`, `Option<T>`, `Result<T, E>`, `Box<T>`, `Arc<T>`); types that do
//! not implement them are ignored, with no annotation and no compile error.

use opentelemetry::{Array, Key, KeyValue, StringValue, Value};
use serde_json::{Value as Json, json};

use crate::base::span_data::SpanAttributes;
use crate::genai::content::{ContentPolicy, Prepared};
use crate::genai::message::{Document, Message, Usage};
use crate::genai::semconv as sc;

/// A request type (chat request, tool call, query...) that records its attributes.
///
/// ```
/// use genai_trace_runtime::{RecordRequest, Recorder};
/// struct ChatRequest { model: String, temperature: f32, max_tokens: u32 }
/// impl RecordRequest for ChatRequest {
///     fn record_request(&self, r: &mut Recorder<'_>) {
///         r.request_model(&self.model);
///         r.temperature(f64::from(self.temperature));
///         r.max_tokens(i64::from(self.max_tokens));
///     }
/// }
/// ```
pub trait RecordRequest {
    /// Writes request attributes (and gated content) to `r`.
    fn record_request(&self, r: &mut Recorder<'_>);
}

/// A response type that records usage, finish reasons, ids and (gated) output.
///
/// ```
/// use genai_trace_runtime::{Message, RecordResponse, Recorder, Usage};
/// struct ChatResponse { id: String, text: String, input: i64, output: i64 }
/// impl RecordResponse for ChatResponse {
///     fn record_response(&self, r: &mut Recorder<'_>) {
///         r.response_id(&self.id);
///         r.finish_reasons(&["stop"]);
///         r.usage(Usage { input_tokens: Some(self.input), output_tokens: Some(self.output), ..Usage::default() });
///         if r.captures_content() {
///             r.output_messages(&[Message::assistant(&self.text).finish_reason("stop")]);
///         }
///     }
/// }
/// ```
pub trait RecordResponse {
    /// Writes response attributes (and gated content) to `r`.
    fn record_response(&self, r: &mut Recorder<'_>);
}

macro_rules! forward {
    ($trait:ident, $method:ident, $($ty:ty),*) => {$(
        impl<T: $trait + ?Sized> $trait for $ty {
            fn $method(&self, r: &mut Recorder<'_>) {
                (**self).$method(r)
            }
        }
    )*};
}
forward!(
    RecordRequest,
    record_request,
    &T,
    &mut T,
    Box<T>,
    std::sync::Arc<T>,
    std::rc::Rc<T>
);
forward!(
    RecordResponse,
    record_response,
    &T,
    &mut T,
    Box<T>,
    std::sync::Arc<T>,
    std::rc::Rc<T>
);

impl<T: RecordRequest> RecordRequest for Option<T> {
    fn record_request(&self, r: &mut Recorder<'_>) {
        if let Some(v) = self {
            v.record_request(r);
        }
    }
}
impl<T: RecordResponse> RecordResponse for Option<T> {
    fn record_response(&self, r: &mut Recorder<'_>) {
        if let Some(v) = self {
            v.record_response(r);
        }
    }
}
impl<T: RecordResponse, E> RecordResponse for Result<T, E> {
    /// Records the `Ok` value; errors are recorded by the span itself.
    fn record_response(&self, r: &mut Recorder<'_>) {
        if let Ok(v) = self {
            v.record_response(r);
        }
    }
}

/// Implements a recorder trait for client types through their JSON form:
/// `record_via_json!(Trait, method, RecorderType, Type => mapping_fn, ...)`.
/// The client integrations (openai/, ollama/) map each API's wire format once
/// and serve their typed recorders from it.
#[cfg(any(feature = "async-openai", feature = "ollama"))]
macro_rules! record_via_json {
    ($trait:ident, $method:ident, $recorder:ty, $($ty:ty => $f:path),* $(,)?) => {$(
        impl $trait for $ty {
            fn $method(&self, r: &mut $recorder) {
                if let Ok(json) = serde_json::to_value(self) {
                    $f(&json, r);
                }
            }
        }
    )*};
}
#[cfg(any(feature = "async-openai", feature = "ollama"))]
pub(crate) use record_via_json;

/// What a recorder collected; applied to the span by the runtime.
#[derive(Debug, Default)]
pub(crate) struct RecordBuffer {
    pub kvs: SpanAttributes,
    /// Content for the `gen_ai.client.inference.operation.details` event.
    pub event: Vec<KeyValue>,
    pub usage: Usage,
    pub response_model: Option<StringValue>,
    pub truncated: bool,
}

/// Where request and response types write: typed methods for every GenAI
/// attribute, content methods that go through the capture gate.
pub struct Recorder<'a> {
    pub(crate) buf: &'a mut RecordBuffer,
    pub(crate) policy: &'a ContentPolicy,
}

impl std::fmt::Debug for Recorder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("attributes", &self.buf.kvs.len())
            .finish()
    }
}

fn strings<S: AsRef<str>>(items: &[S]) -> Value {
    Value::Array(Array::String(
        items.iter().map(|s| StringValue::from(s.as_ref().to_owned())).collect(),
    ))
}

impl Recorder<'_> {
    fn put(&mut self, key: &'static str, value: impl Into<Value>) {
        self.buf.kvs.push(KeyValue::new(Key::from_static_str(key), value));
    }

    /// Any attribute.
    pub fn attribute(&mut self, key: impl Into<Key>, value: impl Into<Value>) {
        self.buf.kvs.push(KeyValue::new(key, value));
    }

    /// `true` when content is captured: build messages only then.
    pub fn captures_content(&self) -> bool {
        self.policy.captures()
    }

    // --- request -------------------------------------------------------------
    /// `gen_ai.request.model`
    pub fn request_model(&mut self, model: &str) {
        self.put(sc::GEN_AI_REQUEST_MODEL, model.to_owned());
    }
    /// `gen_ai.provider.name`
    pub fn provider(&mut self, provider: &str) {
        self.put(sc::GEN_AI_PROVIDER_NAME, provider.to_owned());
    }
    /// `gen_ai.request.temperature`
    pub fn temperature(&mut self, v: f64) {
        self.put(sc::GEN_AI_REQUEST_TEMPERATURE, v);
    }
    /// `gen_ai.request.top_p`
    pub fn top_p(&mut self, v: f64) {
        self.put(sc::GEN_AI_REQUEST_TOP_P, v);
    }
    /// `gen_ai.request.top_k` (a double in the conventions)
    pub fn top_k(&mut self, v: f64) {
        self.put(sc::GEN_AI_REQUEST_TOP_K, v);
    }
    /// `gen_ai.request.frequency_penalty`
    pub fn frequency_penalty(&mut self, v: f64) {
        self.put(sc::GEN_AI_REQUEST_FREQUENCY_PENALTY, v);
    }
    /// `gen_ai.request.presence_penalty`
    pub fn presence_penalty(&mut self, v: f64) {
        self.put(sc::GEN_AI_REQUEST_PRESENCE_PENALTY, v);
    }
    /// `gen_ai.request.max_tokens`
    pub fn max_tokens(&mut self, v: i64) {
        self.put(sc::GEN_AI_REQUEST_MAX_TOKENS, v);
    }
    /// `gen_ai.request.stop_sequences`
    pub fn stop_sequences<S: AsRef<str>>(&mut self, v: &[S]) {
        self.put(sc::GEN_AI_REQUEST_STOP_SEQUENCES, strings(v));
    }
    /// `gen_ai.request.seed`
    pub fn seed(&mut self, v: i64) {
        self.put(sc::GEN_AI_REQUEST_SEED, v);
    }
    /// `gen_ai.request.choice.count`, recorded only when it is not 1 (as the conventions ask).
    pub fn choice_count(&mut self, v: i64) {
        if v != 1 {
            self.put(sc::GEN_AI_REQUEST_CHOICE_COUNT, v);
        }
    }
    /// `gen_ai.request.stream`, recorded only when streaming.
    pub fn stream(&mut self, streaming: bool) {
        if streaming {
            self.put(sc::GEN_AI_REQUEST_STREAM, true);
        }
    }
    /// `gen_ai.output.type` (`text`, `json`, `image`, `speech`)
    pub fn output_type(&mut self, v: &str) {
        self.put(sc::GEN_AI_OUTPUT_TYPE, v.to_owned());
    }
    /// `gen_ai.request.encoding_formats`
    pub fn encoding_formats<S: AsRef<str>>(&mut self, v: &[S]) {
        self.put(sc::GEN_AI_REQUEST_ENCODING_FORMATS, strings(v));
    }
    /// `gen_ai.conversation.id`
    pub fn conversation_id(&mut self, v: &str) {
        self.put(sc::GEN_AI_CONVERSATION_ID, v.to_owned());
    }
    /// `server.address`
    pub fn server_address(&mut self, v: &str) {
        self.put(sc::SERVER_ADDRESS, v.to_owned());
    }
    /// `server.port`
    pub fn server_port(&mut self, v: u16) {
        self.put(sc::SERVER_PORT, i64::from(v));
    }

    // --- response ------------------------------------------------------------
    /// `gen_ai.response.id`
    pub fn response_id(&mut self, v: &str) {
        self.put(sc::GEN_AI_RESPONSE_ID, v.to_owned());
    }
    /// `gen_ai.response.model`
    pub fn response_model(&mut self, v: &str) {
        self.buf.response_model = Some(StringValue::from(v.to_owned()));
        self.put(sc::GEN_AI_RESPONSE_MODEL, v.to_owned());
    }
    /// `gen_ai.response.finish_reasons`
    pub fn finish_reasons<S: AsRef<str>>(&mut self, v: &[S]) {
        self.put(sc::GEN_AI_RESPONSE_FINISH_REASONS, strings(v));
    }
    /// The `gen_ai.usage.*` counts that are set; also feeds `gen_ai.client.token.usage`.
    pub fn usage(&mut self, u: Usage) {
        for (key, v) in [
            (sc::GEN_AI_USAGE_INPUT_TOKENS, u.input_tokens),
            (sc::GEN_AI_USAGE_OUTPUT_TOKENS, u.output_tokens),
            (sc::GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, u.cache_read_input_tokens),
            (
                sc::GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
                u.cache_creation_input_tokens,
            ),
            (sc::GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, u.reasoning_output_tokens),
        ] {
            if let Some(v) = v {
                self.put(key, v);
            }
        }
        self.buf.usage.update(&u);
    }
    /// `openai.api.type` (`chat_completions`, `responses`), for provider `openai`
    pub fn openai_api_type(&mut self, v: &str) {
        self.put(sc::OPENAI_API_TYPE, v.to_owned());
    }
    /// `openai.request.service_tier`; `auto` is not recorded (the conventions
    /// require it only for other values)
    pub fn openai_request_service_tier(&mut self, v: &str) {
        if v != "auto" {
            self.put(sc::OPENAI_REQUEST_SERVICE_TIER, v.to_owned());
        }
    }
    /// `openai.response.service_tier`
    pub fn openai_response_service_tier(&mut self, v: &str) {
        self.put(sc::OPENAI_RESPONSE_SERVICE_TIER, v.to_owned());
    }
    /// `openai.response.system_fingerprint`
    pub fn openai_system_fingerprint(&mut self, v: &str) {
        self.put(sc::OPENAI_RESPONSE_SYSTEM_FINGERPRINT, v.to_owned());
    }
    /// `gen_ai.embeddings.dimension.count`
    pub fn embeddings_dimension_count(&mut self, v: i64) {
        self.put(sc::GEN_AI_EMBEDDINGS_DIMENSION_COUNT, v);
    }

    // --- tools, agents, retrieval -------------------------------------------
    /// `gen_ai.tool.name`
    pub fn tool_name(&mut self, v: &str) {
        self.put(sc::GEN_AI_TOOL_NAME, v.to_owned());
    }
    /// `gen_ai.tool.call.id`
    pub fn tool_call_id(&mut self, v: &str) {
        self.put(sc::GEN_AI_TOOL_CALL_ID, v.to_owned());
    }
    /// `gen_ai.tool.type` (`function`, `extension`, `datastore`)
    pub fn tool_type(&mut self, v: &str) {
        self.put(sc::GEN_AI_TOOL_TYPE, v.to_owned());
    }
    /// `gen_ai.tool.description`
    pub fn tool_description(&mut self, v: &str) {
        self.put(sc::GEN_AI_TOOL_DESCRIPTION, v.to_owned());
    }
    /// `gen_ai.agent.id`
    pub fn agent_id(&mut self, v: &str) {
        self.put(sc::GEN_AI_AGENT_ID, v.to_owned());
    }
    /// `gen_ai.agent.name`
    pub fn agent_name(&mut self, v: &str) {
        self.put(sc::GEN_AI_AGENT_NAME, v.to_owned());
    }
    /// `gen_ai.agent.description`
    pub fn agent_description(&mut self, v: &str) {
        self.put(sc::GEN_AI_AGENT_DESCRIPTION, v.to_owned());
    }
    /// `gen_ai.agent.version`
    pub fn agent_version(&mut self, v: &str) {
        self.put(sc::GEN_AI_AGENT_VERSION, v.to_owned());
    }
    /// `gen_ai.data_source.id`
    pub fn data_source_id(&mut self, v: &str) {
        self.put(sc::GEN_AI_DATA_SOURCE_ID, v.to_owned());
    }

    // --- content (gated) -----------------------------------------------------
    fn content_json(&mut self, key: &'static str, json: &Json) {
        let Some(p) = self.policy.prepare_json(key, json) else {
            return;
        };
        self.content(key, p);
    }

    fn content(&mut self, key: &'static str, p: Prepared) {
        self.buf.truncated |= p.truncated;
        let kv = KeyValue::new(Key::from_static_str(key), p.text);
        if self.policy.mode.in_event() {
            self.buf.event.push(kv.clone());
        }
        if self.policy.mode.on_span() {
            self.buf.kvs.push(kv);
        }
    }

    /// `gen_ai.input.messages` (content: only when captured)
    pub fn input_messages(&mut self, messages: &[Message]) {
        if self.captures_content() {
            let json = Json::Array(messages.iter().map(Message::to_json).collect());
            self.content_json(sc::GEN_AI_INPUT_MESSAGES, &json);
        }
    }
    /// `gen_ai.output.messages` (content: only when captured)
    pub fn output_messages(&mut self, messages: &[Message]) {
        if self.captures_content() {
            let json = Json::Array(messages.iter().map(Message::to_json).collect());
            self.content_json(sc::GEN_AI_OUTPUT_MESSAGES, &json);
        }
    }
    /// What a step that is not a model call took in — a session's request, an
    /// agent's task — as `gen_ai.input.messages` (content: only when captured).
    /// A string (or any non-message value) becomes one user message; a list of
    /// messages is kept as it is.
    pub fn input_value(&mut self, value: &Json) {
        if self.captures_content() {
            self.content_json(sc::GEN_AI_INPUT_MESSAGES, &as_messages(value.clone(), "user"));
        }
    }
    /// What such a step gave back — a session's answer, an agent's result — as
    /// `gen_ai.output.messages`: one assistant message with finish reason `stop`
    /// unless it is a list of messages already (content: only when captured).
    pub fn output_value(&mut self, value: &Json) {
        if self.captures_content() {
            self.content_json(sc::GEN_AI_OUTPUT_MESSAGES, &as_messages(value.clone(), "assistant"));
        }
    }
    /// `gen_ai.system_instructions` (content: only when captured)
    pub fn system_instructions(&mut self, text: &str) {
        if self.captures_content() {
            self.content_json(
                sc::GEN_AI_SYSTEM_INSTRUCTIONS,
                &json!([{"type": "text", "content": text}]),
            );
        }
    }
    /// `gen_ai.tool.definitions`: the tools the model was offered, as the
    /// conventions' schema has them (`[{"type": "function", "name": ..., "parameters": ...}]`)
    /// (content: only when captured)
    pub fn tool_definitions(&mut self, definitions: &Json) {
        if self.captures_content() {
            self.content_json(sc::GEN_AI_TOOL_DEFINITIONS, definitions);
        }
    }
    /// `gen_ai.tool.call.arguments` (content: only when captured)
    pub fn tool_call_arguments(&mut self, arguments: &Json) {
        if self.captures_content() {
            self.content_json(sc::GEN_AI_TOOL_CALL_ARGUMENTS, arguments);
        }
    }
    /// `gen_ai.tool.call.result` (content: only when captured)
    pub fn tool_call_result(&mut self, result: &Json) {
        if self.captures_content() {
            self.content_json(sc::GEN_AI_TOOL_CALL_RESULT, result);
        }
    }
    /// `gen_ai.retrieval.query.text` (content: only when captured)
    pub fn retrieval_query(&mut self, text: &str) {
        if let Some(p) = self.policy.prepare_text(sc::GEN_AI_RETRIEVAL_QUERY_TEXT, text) {
            self.content(sc::GEN_AI_RETRIEVAL_QUERY_TEXT, p);
        }
    }
    /// `gen_ai.retrieval.documents` as `[{"id", "score"}]` (content: only when captured)
    pub fn retrieval_documents(&mut self, docs: &[Document]) {
        if self.captures_content() {
            let json = Json::Array(docs.iter().map(|d| json!({"id": d.id, "score": d.score})).collect());
            self.content_json(sc::GEN_AI_RETRIEVAL_DOCUMENTS, &json);
        }
    }

    /// Records a `sensitive` argument into the attribute that fits the operation.
    pub(crate) fn sensitive(&mut self, slot: ContentSlot, value: Json) {
        match slot {
            ContentSlot::ToolArguments => self.content_json(sc::GEN_AI_TOOL_CALL_ARGUMENTS, &value),
            ContentSlot::RetrievalQuery => match &value {
                Json::String(s) => self.retrieval_query(s),
                other => self.retrieval_query(&other.to_string()),
            },
            ContentSlot::InputMessages => self.content_json(sc::GEN_AI_INPUT_MESSAGES, &as_messages(value, "user")),
        }
    }
}

/// `value` as a message list: kept when it is one, else one message of `role`
/// holding it as text (output messages also get the required finish reason).
fn as_messages(value: Json, role: &str) -> Json {
    let text = match value {
        Json::Array(items) if !items.is_empty() && items.iter().all(|m| m.get("role").is_some()) => {
            return Json::Array(items);
        }
        Json::String(s) => s,
        other => other.to_string(),
    };
    let mut message = json!({"role": role, "parts": [{"type": "text", "content": text}]});
    if role == "assistant" {
        message["finish_reason"] = json!("stop");
    }
    Json::Array(vec![message])
}

/// Where a `sensitive` argument's content goes, by operation.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentSlot {
    /// `gen_ai.input.messages` (chat, completion, agents, custom kinds)
    InputMessages,
    /// `gen_ai.tool.call.arguments` (`execute_tool`)
    ToolArguments,
    /// `gen_ai.retrieval.query.text` (retrieval)
    RetrievalQuery,
}
