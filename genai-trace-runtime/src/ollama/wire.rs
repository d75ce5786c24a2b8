//! Ollama's native API — `/api/chat`, `/api/generate`, `/api/embed` bodies as
//! JSON — recorded as GenAI semantic conventions. Serves ollama-rs's types
//! (serialized) and any other client of Ollama's API.
//!
//! What Ollama does not give: response ids, cached or reasoning token counts,
//! and (through ollama-rs 0.3, which drops the `done_reason` field) finish
//! reasons. A body that carries `done_reason` has it recorded; without it no
//! `gen_ai.response.finish_reasons` is recorded, and an output message (whose
//! schema requires a reason) says `unknown` rather than a guess.

use serde_json::{Value as Json, json};

use crate::genai::message::Usage;
use crate::genai::recorder::Recorder;
use crate::span::stream::ChunkRecorder;

fn text<'a>(v: &'a Json, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Json::as_str)
}

/// Ollama's `options`: sampling parameters under their Ollama names.
fn record_options(body: &Json, r: &mut Recorder<'_>) {
    if let Some(model) = text(body, "model") {
        r.request_model(model);
    }
    if body.get("stream").and_then(Json::as_bool) == Some(true) {
        r.stream(true);
    }
    match body.get("format") {
        Some(Json::String(f)) if f == "json" => r.output_type("json"),
        Some(Json::Object(_)) => r.output_type("json"),
        _ => {}
    }
    let Some(o) = body.get("options").filter(|o| o.is_object()) else {
        return;
    };
    let float = |k: &str| o.get(k).and_then(Json::as_f64);
    if let Some(v) = float("temperature") {
        r.temperature(v);
    }
    if let Some(v) = float("top_p") {
        r.top_p(v);
    }
    if let Some(v) = float("top_k") {
        r.top_k(v);
    }
    if let Some(v) = float("frequency_penalty") {
        r.frequency_penalty(v);
    }
    if let Some(v) = float("presence_penalty") {
        r.presence_penalty(v);
    }
    // -1: no limit; -2: fill the context. Only a real limit is a max token count.
    if let Some(v) = o.get("num_predict").and_then(Json::as_i64).filter(|v| *v > 0) {
        r.max_tokens(v);
    }
    if let Some(v) = o.get("seed").and_then(Json::as_i64) {
        r.seed(v);
    }
    if let Some(stops) = o.get("stop").and_then(Json::as_array) {
        let stops: Vec<&str> = stops.iter().filter_map(Json::as_str).collect();
        r.stop_sequences(&stops);
    }
}

/// An Ollama chat message in the conventions' schema. Ollama's tool calls have
/// no ids; its arguments are already JSON.
fn message(m: &Json) -> Json {
    let role = text(m, "role").unwrap_or("user");
    let mut parts = Vec::new();
    let content = text(m, "content").unwrap_or("");
    if role == "tool" {
        let response = serde_json::from_str(content).unwrap_or_else(|_| Json::String(content.to_owned()));
        parts.push(json!({"type": "tool_call_response", "response": response}));
    } else if !content.is_empty() {
        parts.push(json!({"type": "text", "content": content}));
    }
    for call in m.get("tool_calls").and_then(Json::as_array).into_iter().flatten() {
        let f = call.get("function").unwrap_or(&Json::Null);
        parts.push(json!({
            "type": "tool_call",
            "name": text(f, "name").unwrap_or(""),
            "arguments": f.get("arguments").cloned().unwrap_or(Json::Null),
        }));
    }
    json!({"role": role, "parts": parts})
}

/// Tokens Ollama counted: `prompt_eval_count` in, `eval_count` out (on the final body).
fn usage(body: &Json) -> Option<Usage> {
    let input = body.get("prompt_eval_count").and_then(Json::as_i64);
    let output = body.get("eval_count").and_then(Json::as_i64);
    (input.is_some() || output.is_some()).then(|| Usage {
        input_tokens: input,
        output_tokens: output,
        ..Usage::default()
    })
}

/// Records an `/api/chat` request body: model, options, format, stream;
/// captured: messages (system messages included, as Ollama sends them) and
/// tool definitions.
pub fn record_chat_request(body: &Json, r: &mut Recorder<'_>) {
    record_options(body, r);
    if !r.captures_content() {
        return;
    }
    if let Some(messages) = body.get("messages").and_then(Json::as_array) {
        let converted: Vec<Json> = messages.iter().map(message).collect();
        if !converted.is_empty() {
            r.input_value(&Json::Array(converted));
        }
    }
    if let Some(tools) = body.get("tools").and_then(Json::as_array) {
        let definitions: Vec<Json> = tools
            .iter()
            .filter_map(|t| t.get("function"))
            .map(|f| {
                json!({
                    "type": "function",
                    "name": text(f, "name").unwrap_or(""),
                    "description": f.get("description").cloned().unwrap_or(Json::Null),
                    "parameters": f.get("parameters").cloned().unwrap_or(Json::Null),
                })
            })
            .collect();
        if !definitions.is_empty() {
            r.tool_definitions(&Json::Array(definitions));
        }
    }
}

fn finish_reason(body: &Json) -> Option<&str> {
    text(body, "done_reason")
}

/// Records an `/api/chat` response body: model, token counts, finish reason
/// when the body has one; captured: the assistant's message.
pub fn record_chat_response(body: &Json, r: &mut Recorder<'_>) {
    record_reply(body, r, body.get("message").map(message));
}

/// What a final (non-streamed) body says, with `reply` (the assistant's
/// message in the conventions' schema) as the output when captured.
fn record_reply(body: &Json, r: &mut Recorder<'_>, reply: Option<Json>) {
    if let Some(model) = text(body, "model") {
        r.response_model(model);
    }
    if let Some(u) = usage(body) {
        r.usage(u);
    }
    let reason = finish_reason(body);
    if let Some(reason) = reason {
        r.finish_reasons(&[reason]);
    }
    if r.captures_content()
        && let Some(mut m) = reply
    {
        m["role"] = json!("assistant");
        m["finish_reason"] = json!(reason.unwrap_or("unknown"));
        r.output_value(&Json::Array(vec![m]));
    }
}

/// Records one streamed `/api/chat` body (one NDJSON line): its text and tool
/// calls; the last (`done: true`) carries the model's token counts.
pub fn record_chat_chunk(body: &Json, c: &mut ChunkRecorder<'_>) {
    if let Some(model) = text(body, "model") {
        c.response_model(model);
    }
    if let Some(m) = body.get("message") {
        if let Some(t) = text(m, "content") {
            c.text_delta(t);
        }
        for (i, call) in m
            .get("tool_calls")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let f = call.get("function").unwrap_or(&Json::Null);
            let arguments = f.get("arguments").map(Json::to_string).unwrap_or_default();
            c.tool_call_delta(i as u32, None, text(f, "name"), &arguments);
        }
    }
    record_final(body, c);
}

/// The final streamed body: usage, finish reason, end of the stream.
fn record_final(body: &Json, c: &mut ChunkRecorder<'_>) {
    if body.get("done").and_then(Json::as_bool) != Some(true) {
        return;
    }
    if let Some(u) = usage(body) {
        c.usage(u);
    }
    if let Some(reason) = finish_reason(body) {
        c.finish_reason(reason);
    }
    c.end_of_stream();
}

/// Records an `/api/generate` request body (`text_completion`): model,
/// options; captured: the prompt as a user message, `system` as system instructions.
pub fn record_generate_request(body: &Json, r: &mut Recorder<'_>) {
    record_options(body, r);
    if !r.captures_content() {
        return;
    }
    if let Some(system) = text(body, "system") {
        r.system_instructions(system);
    }
    if let Some(prompt) = text(body, "prompt") {
        r.input_value(&json!([{"role": "user", "parts": [{"type": "text", "content": prompt}]}]));
    }
}

/// Records an `/api/generate` response body.
pub fn record_generate_response(body: &Json, r: &mut Recorder<'_>) {
    let reply = text(body, "response").map(|t| json!({"parts": [{"type": "text", "content": t}]}));
    record_reply(body, r, reply);
}

/// Records one streamed `/api/generate` body.
pub fn record_generate_chunk(body: &Json, c: &mut ChunkRecorder<'_>) {
    if let Some(model) = text(body, "model") {
        c.response_model(model);
    }
    if let Some(t) = text(body, "response") {
        c.text_delta(t);
    }
    record_final(body, c);
}

/// Records an `/api/embed` request body: model, requested dimensions.
pub fn record_embed_request(body: &Json, r: &mut Recorder<'_>) {
    if let Some(model) = text(body, "model") {
        r.request_model(model);
    }
    if let Some(d) = body.get("dimensions").and_then(Json::as_i64) {
        r.embeddings_dimension_count(d);
    }
}

/// Records an `/api/embed` response body: model and input tokens when present
/// (Ollama sends them; ollama-rs 0.3 keeps only the vectors), the vectors' dimension count.
pub fn record_embed_response(body: &Json, r: &mut Recorder<'_>) {
    if let Some(model) = text(body, "model") {
        r.response_model(model);
    }
    if let Some(tokens) = body.get("prompt_eval_count").and_then(Json::as_i64) {
        r.usage(Usage {
            input_tokens: Some(tokens),
            ..Usage::default()
        });
    }
    let first = body
        .get("embeddings")
        .and_then(Json::as_array)
        .and_then(|e| e.first())
        .and_then(Json::as_array);
    if let Some(v) = first {
        r.embeddings_dimension_count(v.len() as i64);
    }
}
