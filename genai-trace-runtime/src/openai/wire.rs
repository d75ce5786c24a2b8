//! OpenAI's wire format — Chat Completions, Responses and Embeddings bodies as
//! JSON — recorded as GenAI semantic conventions. One mapping serves every path:
//! the async-openai types (serialized), the zero-annotation middleware (the
//! HTTP bodies themselves), and any other client of an OpenAI-compatible API.
//!
//! Content (messages, system instructions, tool definitions) is converted only
//! when the recorder captures content.

use serde_json::{Map, Value as Json, json};

use crate::genai::message::Usage;
use crate::genai::recorder::Recorder;
use crate::genai::semconv as sc;
use crate::span::stream::ChunkRecorder;

fn text<'a>(v: &'a Json, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Json::as_str)
}

fn int(v: &Json, key: &str) -> Option<i64> {
    v.get(key).and_then(Json::as_i64)
}

fn float(v: &Json, key: &str) -> Option<f64> {
    v.get(key).and_then(Json::as_f64)
}

/// The request parameters every OpenAI API shares.
fn record_parameters(body: &Json, r: &mut Recorder<'_>) {
    if let Some(model) = text(body, "model") {
        r.request_model(model);
    }
    if let Some(v) = float(body, "temperature") {
        r.temperature(v);
    }
    if let Some(v) = float(body, "top_p") {
        r.top_p(v);
    }
    if let Some(v) = float(body, "frequency_penalty") {
        r.frequency_penalty(v);
    }
    if let Some(v) = float(body, "presence_penalty") {
        r.presence_penalty(v);
    }
    if let Some(v) = int(body, "seed") {
        r.seed(v);
    }
    if body.get("stream").and_then(Json::as_bool) == Some(true) {
        r.stream(true);
    }
    // "auto" is the default: the conventions record the tier only when asked for.
    if let Some(tier) = text(body, "service_tier").filter(|t| *t != "auto") {
        r.openai_request_service_tier(tier);
    }
}

/// `gen_ai.output.type` from a response format's `type`.
fn output_type(format: Option<&str>) -> Option<&'static str> {
    match format? {
        "text" => Some("text"),
        "json_object" | "json_schema" => Some("json"),
        _ => None,
    }
}

// --- Chat Completions ---------------------------------------------------------------

/// Records a Chat Completions request body (`POST /chat/completions`), or a
/// legacy Completions one (`POST /completions`: its `prompt` is the input).
///
/// ```
/// use genai_trace_runtime::openai;
/// use genai_trace_runtime::{RecordRequest, Recorder};
///
/// struct RawChat(serde_json::Value);
/// impl RecordRequest for RawChat {
///     fn record_request(&self, r: &mut Recorder<'_>) {
///         openai::record_chat_request(&self.0, r);
///     }
/// }
/// ```
pub fn record_chat_request(body: &Json, r: &mut Recorder<'_>) {
    // The legacy Completions API (a `prompt`, no `messages`) has no `openai.api.type` value.
    if body.get("messages").is_some() {
        r.openai_api_type("chat_completions");
    }
    record_parameters(body, r);
    if let Some(v) = int(body, "max_completion_tokens").or_else(|| int(body, "max_tokens")) {
        r.max_tokens(v);
    }
    if let Some(n) = int(body, "n").filter(|n| *n != 1) {
        r.choice_count(n);
    }
    match body.get("stop") {
        Some(Json::String(s)) => r.stop_sequences(&[s.as_str()]),
        Some(Json::Array(items)) => {
            let stops: Vec<&str> = items.iter().filter_map(Json::as_str).collect();
            r.stop_sequences(&stops);
        }
        _ => {}
    }
    let format = body.get("response_format").and_then(|f| text(f, "type"));
    if let Some(t) = output_type(format) {
        r.output_type(t);
    }
    if !r.captures_content() {
        return;
    }
    if let Some(messages) = body.get("messages").and_then(Json::as_array) {
        let converted: Vec<Json> = messages.iter().map(chat_message).collect();
        if !converted.is_empty() {
            r.input_value(&Json::Array(converted));
        }
    } else if let Some(prompt) = text(body, "prompt") {
        // The legacy Completions API (`text_completion`): one prompt.
        r.input_value(&json!([{"role": "user", "parts": [{"type": "text", "content": prompt}]}]));
    }
    if let Some(tools) = body.get("tools").and_then(Json::as_array) {
        let definitions: Vec<Json> = tools
            .iter()
            .filter_map(|t| {
                let f = t.get("function")?;
                Some(tool_definition(f))
            })
            .collect();
        if !definitions.is_empty() {
            r.tool_definitions(&Json::Array(definitions));
        }
    }
}

/// `{"type": "function", "name", "description"?, "parameters"?}`
fn tool_definition(f: &Json) -> Json {
    let mut d = Map::new();
    d.insert("type".into(), json!("function"));
    for key in ["name", "description", "parameters"] {
        if let Some(v) = f.get(key) {
            d.insert(key.into(), v.clone());
        }
    }
    Json::Object(d)
}

/// Tool-call arguments arrive as JSON text; kept as JSON when they parse.
fn arguments(raw: Option<&Json>) -> Json {
    match raw {
        Some(Json::String(s)) => serde_json::from_str(s).unwrap_or_else(|_| Json::String(s.clone())),
        Some(other) => other.clone(),
        None => Json::Object(Map::new()),
    }
}

/// The parts of a Chat Completions `content` (a string or a list of parts).
fn content_parts(content: Option<&Json>, parts: &mut Vec<Json>) {
    match content {
        Some(Json::String(s)) if !s.is_empty() => parts.push(json!({"type": "text", "content": s})),
        Some(Json::Array(items)) => {
            for item in items {
                match text(item, "type") {
                    Some("text" | "input_text" | "output_text") => {
                        parts.push(json!({"type": "text", "content": text(item, "text").unwrap_or("")}));
                    }
                    Some("image_url") => {
                        let url = item.get("image_url").and_then(|u| text(u, "url")).unwrap_or("");
                        parts.push(json!({"type": "uri", "modality": "image", "uri": url}));
                    }
                    Some("refusal") => {
                        parts.push(json!({"type": "text", "content": text(item, "refusal").unwrap_or("")}));
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// A Chat Completions message (request or response) in the conventions' schema.
fn chat_message(m: &Json) -> Json {
    let role = text(m, "role").unwrap_or("user");
    let mut parts = Vec::new();
    if role == "tool" {
        let response = match m.get("content") {
            Some(Json::String(s)) => serde_json::from_str(s).unwrap_or_else(|_| Json::String(s.clone())),
            Some(other) => other.clone(),
            None => Json::Null,
        };
        parts.push(json!({"type": "tool_call_response", "id": text(m, "tool_call_id"), "response": response}));
    } else {
        content_parts(m.get("content"), &mut parts);
        if let Some(refusal) = text(m, "refusal") {
            parts.push(json!({"type": "text", "content": refusal}));
        }
    }
    for call in m.get("tool_calls").and_then(Json::as_array).into_iter().flatten() {
        let f = call.get("function").unwrap_or(&Json::Null);
        parts.push(json!({
            "type": "tool_call",
            "id": text(call, "id"),
            "name": text(f, "name").unwrap_or(""),
            "arguments": arguments(f.get("arguments")),
        }));
    }
    // "developer" is OpenAI's newer name for a system message.
    let role = if role == "developer" { "system" } else { role };
    json!({"role": role, "parts": parts})
}

/// OpenAI's `usage` object (Chat Completions and Embeddings spell input
/// `prompt_tokens`, Responses `input_tokens`).
fn usage(u: &Json) -> Usage {
    let input_details = u.get("prompt_tokens_details").or_else(|| u.get("input_tokens_details"));
    let output_details = u
        .get("completion_tokens_details")
        .or_else(|| u.get("output_tokens_details"));
    Usage {
        input_tokens: int(u, "prompt_tokens").or_else(|| int(u, "input_tokens")),
        output_tokens: int(u, "completion_tokens").or_else(|| int(u, "output_tokens")),
        cache_read_input_tokens: input_details.and_then(|d| int(d, "cached_tokens")),
        cache_creation_input_tokens: None,
        reasoning_output_tokens: output_details.and_then(|d| int(d, "reasoning_tokens")),
    }
}

/// Records a Chat Completions response body (`chat.completion`).
pub fn record_chat_response(body: &Json, r: &mut Recorder<'_>) {
    record_response_ids(body, r);
    if let Some(u) = body.get("usage").filter(|u| u.is_object()) {
        r.usage(usage(u));
    }
    let choices = body
        .get("choices")
        .and_then(Json::as_array)
        .map_or(&[][..], Vec::as_slice);
    let reasons: Vec<&str> = choices.iter().filter_map(|c| text(c, "finish_reason")).collect();
    if !reasons.is_empty() {
        r.finish_reasons(&reasons);
    }
    if r.captures_content() && !choices.is_empty() {
        let messages: Vec<Json> = choices
            .iter()
            .map(|c| {
                // Legacy Completions answer with `text`, Chat Completions with a message.
                let mut m = match text(c, "text") {
                    Some(t) => json!({"parts": [{"type": "text", "content": t}]}),
                    None => chat_message(c.get("message").unwrap_or(&Json::Null)),
                };
                m["role"] = json!("assistant");
                m["finish_reason"] = json!(text(c, "finish_reason").unwrap_or("stop"));
                m
            })
            .collect();
        r.output_value(&Json::Array(messages));
    }
}

/// `gen_ai.response.id` / `.model`, `openai.response.*`.
fn record_response_ids(body: &Json, r: &mut Recorder<'_>) {
    if let Some(id) = text(body, "id") {
        r.response_id(id);
    }
    if let Some(model) = text(body, "model") {
        r.response_model(model);
    }
    if let Some(fp) = text(body, "system_fingerprint") {
        r.openai_system_fingerprint(fp);
    }
    if let Some(tier) = text(body, "service_tier") {
        r.openai_response_service_tier(tier);
    }
}

/// Records one Chat Completions stream chunk (`chat.completion.chunk`): text
/// and tool-call deltas of the first choice, finish reasons, ids, and the usage
/// of the final chunk (`stream_options.include_usage`).
pub fn record_chat_chunk(chunk: &Json, c: &mut ChunkRecorder<'_>) {
    if let Some(id) = text(chunk, "id") {
        c.response_id(id);
    }
    if let Some(model) = text(chunk, "model") {
        c.response_model(model);
    }
    if let Some(fp) = text(chunk, "system_fingerprint") {
        c.attribute(sc::OPENAI_RESPONSE_SYSTEM_FINGERPRINT, fp.to_owned());
    }
    if let Some(tier) = text(chunk, "service_tier") {
        c.attribute(sc::OPENAI_RESPONSE_SERVICE_TIER, tier.to_owned());
    }
    if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
        c.usage(usage(u));
    }
    for choice in chunk.get("choices").and_then(Json::as_array).into_iter().flatten() {
        if let Some(reason) = text(choice, "finish_reason") {
            c.finish_reason(reason);
        }
        if int(choice, "index").unwrap_or(0) != 0 || !c.captures_content() {
            continue;
        }
        if let Some(t) = text(choice, "text") {
            c.text_delta(t); // a legacy Completions stream
        }
        let Some(delta) = choice.get("delta") else { continue };
        if let Some(t) = text(delta, "content") {
            c.text_delta(t);
        }
        for call in delta.get("tool_calls").and_then(Json::as_array).into_iter().flatten() {
            let f = call.get("function");
            c.tool_call_delta(
                int(call, "index").unwrap_or(0) as u32,
                text(call, "id"),
                f.and_then(|f| text(f, "name")),
                f.and_then(|f| text(f, "arguments")).unwrap_or(""),
            );
        }
    }
}

// --- Embeddings -----------------------------------------------------------------------

/// Records an Embeddings request body (`POST /embeddings`). The input texts are
/// not recorded: the embeddings span of the conventions has no content attribute.
pub fn record_embeddings_request(body: &Json, r: &mut Recorder<'_>) {
    if let Some(model) = text(body, "model") {
        r.request_model(model);
    }
    if let Some(format) = text(body, "encoding_format") {
        r.encoding_formats(&[format]);
    }
    if let Some(d) = int(body, "dimensions") {
        r.embeddings_dimension_count(d);
    }
}

/// Records an Embeddings response body: model, input tokens, and the vectors'
/// dimension count (from the first vector when the request did not set it).
pub fn record_embeddings_response(body: &Json, r: &mut Recorder<'_>) {
    if let Some(model) = text(body, "model") {
        r.response_model(model);
    }
    if let Some(u) = body.get("usage").filter(|u| u.is_object()) {
        r.usage(Usage {
            input_tokens: int(u, "prompt_tokens"),
            ..Usage::default()
        });
    }
    let first = body
        .get("data")
        .and_then(Json::as_array)
        .and_then(|d| d.first())
        .and_then(|e| e.get("embedding"))
        .and_then(Json::as_array);
    if let Some(vector) = first {
        r.embeddings_dimension_count(vector.len() as i64);
    }
}

// --- Responses --------------------------------------------------------------------------

/// Records a Responses API request body (`POST /responses`): parameters,
/// `instructions` as system instructions, the `input` items as messages.
pub fn record_responses_request(body: &Json, r: &mut Recorder<'_>) {
    r.openai_api_type("responses");
    record_parameters(body, r);
    if let Some(v) = int(body, "max_output_tokens") {
        r.max_tokens(v);
    }
    let format = body
        .get("text")
        .and_then(|t| t.get("format"))
        .and_then(|f| text(f, "type"));
    if let Some(t) = output_type(format) {
        r.output_type(t);
    }
    if !r.captures_content() {
        return;
    }
    if let Some(instructions) = text(body, "instructions") {
        r.system_instructions(instructions);
    }
    let messages = match body.get("input") {
        Some(Json::String(s)) => vec![json!({"role": "user", "parts": [{"type": "text", "content": s}]})],
        Some(Json::Array(items)) => response_items(items, None),
        _ => Vec::new(),
    };
    if !messages.is_empty() {
        r.input_value(&Json::Array(messages));
    }
    if let Some(tools) = body.get("tools").and_then(Json::as_array) {
        let definitions: Vec<Json> = tools
            .iter()
            .filter(|t| text(t, "type") == Some("function"))
            .map(tool_definition)
            .collect();
        if !definitions.is_empty() {
            r.tool_definitions(&Json::Array(definitions));
        }
    }
}

/// Responses API items (input or output) as messages: each message item is one
/// message; function calls join an assistant message; call outputs are tool messages.
fn response_items(items: &[Json], finish_reason: Option<&str>) -> Vec<Json> {
    let mut messages: Vec<Json> = Vec::new();
    for item in items {
        let kind = text(item, "type").unwrap_or("message");
        match kind {
            "message" => {
                let mut parts = Vec::new();
                content_parts(item.get("content"), &mut parts);
                messages.push(json!({"role": text(item, "role").unwrap_or("user"), "parts": parts}));
            }
            "function_call" => {
                let part = json!({
                    "type": "tool_call",
                    "id": text(item, "call_id"),
                    "name": text(item, "name").unwrap_or(""),
                    "arguments": arguments(item.get("arguments")),
                });
                match messages.last_mut() {
                    Some(m) if m["role"] == "assistant" => m["parts"].as_array_mut().expect("parts").push(part),
                    _ => messages.push(json!({"role": "assistant", "parts": [part]})),
                }
            }
            "function_call_output" => {
                let output = match item.get("output") {
                    Some(Json::String(s)) => serde_json::from_str(s).unwrap_or_else(|_| Json::String(s.clone())),
                    Some(other) => other.clone(),
                    None => Json::Null,
                };
                messages.push(json!({
                    "role": "tool",
                    "parts": [{"type": "tool_call_response", "id": text(item, "call_id"), "response": output}],
                }));
            }
            _ => {}
        }
    }
    if let Some(reason) = finish_reason {
        for m in &mut messages {
            m["finish_reason"] = json!(reason);
        }
    }
    messages
}

/// The finish reason of a Responses API response: `stop`, `tool_calls` when
/// it asks for function calls, `length` / `content_filter` when incomplete.
fn responses_finish_reason(body: &Json) -> &'static str {
    let calls = body
        .get("output")
        .and_then(Json::as_array)
        .is_some_and(|o| o.iter().any(|i| text(i, "type") == Some("function_call")));
    match text(body, "status") {
        Some("incomplete") => match body.get("incomplete_details").and_then(|d| text(d, "reason")) {
            Some("content_filter") => "content_filter",
            _ => "length",
        },
        Some("failed") => "error",
        _ if calls => "tool_calls",
        _ => "stop",
    }
}

/// Records a Responses API response body (`response`).
pub fn record_responses_response(body: &Json, r: &mut Recorder<'_>) {
    record_response_ids(body, r);
    if let Some(u) = body.get("usage").filter(|u| u.is_object()) {
        r.usage(usage(u));
    }
    let reason = responses_finish_reason(body);
    r.finish_reasons(&[reason]);
    if r.captures_content()
        && let Some(output) = body.get("output").and_then(Json::as_array)
    {
        let messages = response_items(output, Some(reason));
        if !messages.is_empty() {
            r.output_value(&Json::Array(messages));
        }
    }
}

/// Records one Responses API stream event: text deltas are the chunks;
/// `response.completed` (or `.incomplete` / `.failed`) carries the ids, usage,
/// finish reason and function calls; every other event is not an output chunk.
pub fn record_responses_event(event: &Json, c: &mut ChunkRecorder<'_>) {
    let kind = text(event, "type").unwrap_or("");
    match kind {
        "response.output_text.delta" | "response.refusal.delta" => {
            if let Some(t) = text(event, "delta") {
                c.text_delta(t);
            }
        }
        "response.function_call_arguments.delta" => {}
        "response.completed" | "response.incomplete" | "response.failed" => {
            c.not_a_chunk();
            c.end_of_stream();
            let Some(body) = event.get("response") else { return };
            if let Some(id) = text(body, "id") {
                c.response_id(id);
            }
            if let Some(model) = text(body, "model") {
                c.response_model(model);
            }
            if let Some(tier) = text(body, "service_tier") {
                c.attribute(sc::OPENAI_RESPONSE_SERVICE_TIER, tier.to_owned());
            }
            if let Some(u) = body.get("usage").filter(|u| u.is_object()) {
                c.usage(usage(u));
            }
            c.finish_reason(responses_finish_reason(body));
            let calls = body.get("output").and_then(Json::as_array).into_iter().flatten();
            for (i, call) in calls.filter(|i| text(i, "type") == Some("function_call")).enumerate() {
                c.tool_call_delta(
                    i as u32,
                    text(call, "call_id"),
                    text(call, "name"),
                    text(call, "arguments").unwrap_or(""),
                );
            }
        }
        "error" => {
            c.not_a_chunk();
            let message = text(event, "message").unwrap_or("stream error");
            let code = text(event, "code").unwrap_or("error");
            c.error(code, "ResponseStreamError", message);
        }
        _ => c.not_a_chunk(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_reasons_of_responses() {
        assert_eq!(responses_finish_reason(&json!({"status": "completed"})), "stop");
        assert_eq!(
            responses_finish_reason(&json!({"status": "completed", "output": [{"type": "function_call"}]})),
            "tool_calls"
        );
        assert_eq!(
            responses_finish_reason(
                &json!({"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}})
            ),
            "length"
        );
    }

    #[test]
    fn chat_messages_in_the_conventions_schema() {
        let m = chat_message(&json!({
            "role": "assistant",
            "content": null,
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Lisbon\"}"}}]
        }));
        assert_eq!(
            m,
            json!({"role": "assistant", "parts": [{"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Lisbon"}}]})
        );
        let t = chat_message(&json!({"role": "tool", "tool_call_id": "call_1", "content": "18C"}));
        assert_eq!(
            t,
            json!({"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1", "response": "18C"}]})
        );
    }
}
