//! The content vocabulary of the conventions: messages and their parts,
//! retrieved documents, token usage, and [`ToContent`], which turns a
//! `sensitive` argument into content.

use std::borrow::Cow;

use serde_json::{Value as Json, json};

use crate::base::secret::{REDACTED, Secret};

/// Token usage of one operation. `input_tokens` includes cached tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// `gen_ai.usage.input_tokens`
    pub input_tokens: Option<i64>,
    /// `gen_ai.usage.output_tokens`
    pub output_tokens: Option<i64>,
    /// `gen_ai.usage.cache_read.input_tokens`
    pub cache_read_input_tokens: Option<i64>,
    /// `gen_ai.usage.cache_creation.input_tokens`
    pub cache_creation_input_tokens: Option<i64>,
    /// `gen_ai.usage.reasoning.output_tokens`
    pub reasoning_output_tokens: Option<i64>,
}

impl Usage {
    /// Takes the counts `newer` sets; keeps the others.
    pub(crate) fn update(&mut self, newer: &Usage) {
        self.input_tokens = newer.input_tokens.or(self.input_tokens);
        self.output_tokens = newer.output_tokens.or(self.output_tokens);
        self.cache_read_input_tokens = newer.cache_read_input_tokens.or(self.cache_read_input_tokens);
        self.cache_creation_input_tokens = newer.cache_creation_input_tokens.or(self.cache_creation_input_tokens);
        self.reasoning_output_tokens = newer.reasoning_output_tokens.or(self.reasoning_output_tokens);
    }
}

/// One part of a message, in the semconv message schema.
#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    /// `{"type": "text", "content": ...}`
    Text(String),
    /// `{"type": "tool_call", "id", "name", "arguments"}`
    ToolCall {
        /// Call id.
        id: Option<String>,
        /// Tool name.
        name: String,
        /// Arguments, as JSON.
        arguments: Json,
    },
    /// `{"type": "tool_call_response", "id", "response"}`
    ToolCallResponse {
        /// Call id.
        id: Option<String>,
        /// The tool's result, as JSON.
        response: Json,
    },
}

/// A chat message in the semconv schema: `{"role", "parts", "finish_reason"?}`.
///
/// ```
/// use genai_trace_runtime::Message;
/// let m = Message::user("Hi!");
/// assert_eq!(m.to_json(), serde_json::json!({"role": "user", "parts": [{"type": "text", "content": "Hi!"}]}));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// `system`, `user`, `assistant`, `tool`.
    pub role: Cow<'static, str>,
    /// The parts.
    pub parts: Vec<Part>,
    /// For output messages: why generation stopped.
    pub finish_reason: Option<String>,
}

impl Message {
    /// A message with one text part.
    pub fn text(role: impl Into<Cow<'static, str>>, text: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            parts: vec![Part::Text(text.into())],
            finish_reason: None,
        }
    }
    /// A user message.
    pub fn user(text: impl Into<String>) -> Self {
        Self::text("user", text)
    }
    /// An assistant message.
    pub fn assistant(text: impl Into<String>) -> Self {
        Self::text("assistant", text)
    }
    /// A system message.
    pub fn system(text: impl Into<String>) -> Self {
        Self::text("system", text)
    }
    /// A tool result message.
    pub fn tool_result(id: impl Into<String>, response: Json) -> Self {
        Self {
            role: "tool".into(),
            parts: vec![Part::ToolCallResponse {
                id: Some(id.into()),
                response,
            }],
            finish_reason: None,
        }
    }
    /// Sets the finish reason.
    pub fn finish_reason(mut self, reason: impl Into<String>) -> Self {
        self.finish_reason = Some(reason.into());
        self
    }
    /// Adds a part.
    pub fn part(mut self, part: Part) -> Self {
        self.parts.push(part);
        self
    }
    /// The semconv JSON form.
    pub fn to_json(&self) -> Json {
        let parts: Vec<Json> = self.parts.iter().map(part_json).collect();
        let mut m = json!({"role": self.role, "parts": parts});
        if let Some(f) = &self.finish_reason {
            m["finish_reason"] = Json::String(f.clone());
        }
        m
    }
}

fn part_json(p: &Part) -> Json {
    match p {
        Part::Text(t) => json!({"type": "text", "content": t}),
        Part::ToolCall { id, name, arguments } => {
            json!({"type": "tool_call", "id": id, "name": name, "arguments": arguments})
        }
        Part::ToolCallResponse { id, response } => {
            json!({"type": "tool_call_response", "id": id, "response": response})
        }
    }
}

/// A retrieved document: `{"id", "score"}` in `gen_ai.retrieval.documents`.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// Document id.
    pub id: String,
    /// Relevance score.
    pub score: Option<f64>,
}

/// Converts a `sensitive` argument into content. Implemented for strings,
/// [`Message`]s, JSON values and sequences of these; other `Debug` types are
/// recorded as their `Debug` text (still only with capture on).
pub trait ToContent {
    /// The content as JSON.
    fn to_content(&self) -> Json;
}

impl ToContent for str {
    fn to_content(&self) -> Json {
        Json::String(self.to_owned())
    }
}
impl ToContent for String {
    fn to_content(&self) -> Json {
        Json::String(self.clone())
    }
}
impl ToContent for Cow<'_, str> {
    fn to_content(&self) -> Json {
        Json::String(self.to_string())
    }
}
impl ToContent for Json {
    fn to_content(&self) -> Json {
        self.clone()
    }
}
impl ToContent for Message {
    fn to_content(&self) -> Json {
        Json::Array(vec![self.to_json()])
    }
}
impl<T: ToContent> ToContent for [T] {
    fn to_content(&self) -> Json {
        let items: Vec<Json> = self.iter().map(ToContent::to_content).collect();
        // A list of single messages flattens into one message list.
        if items
            .iter()
            .all(|i| matches!(i, Json::Array(a) if a.len() == 1 && a[0].get("role").is_some()))
        {
            Json::Array(
                items
                    .into_iter()
                    .filter_map(|i| if let Json::Array(mut a) = i { a.pop() } else { None })
                    .collect(),
            )
        } else {
            Json::Array(items)
        }
    }
}
impl<T: ToContent> ToContent for Vec<T> {
    fn to_content(&self) -> Json {
        self.as_slice().to_content()
    }
}
impl<T: ToContent + ?Sized> ToContent for &T {
    fn to_content(&self) -> Json {
        (**self).to_content()
    }
}
impl<T: ToContent + ?Sized> ToContent for Box<T> {
    fn to_content(&self) -> Json {
        (**self).to_content()
    }
}
impl<T: ToContent + ?Sized> ToContent for std::sync::Arc<T> {
    fn to_content(&self) -> Json {
        (**self).to_content()
    }
}
impl<T: ToContent> ToContent for Option<T> {
    fn to_content(&self) -> Json {
        self.as_ref().map_or(Json::Null, ToContent::to_content)
    }
}

impl<T> ToContent for Secret<T> {
    fn to_content(&self) -> serde_json::Value {
        Json::String(REDACTED.to_owned())
    }
}
