//! A small model server on loopback, for the `openai` example and the tests:
//! real HTTP/1.1, OpenAI's wire format with real server-sent events for
//! `POST /v1/chat/completions` (plain, streamed, tool calls), `/v1/responses`
//! (plain, streamed) and `/v1/embeddings`, and Ollama's native API with
//! newline-delimited JSON streams for `POST /api/chat`, `/api/generate` and
//! `/api/embed`. Its answers are deterministic and
//! it keeps every exchange, so tests compare what telemetry recorded with what
//! was really sent. Model `missing-model` gets a 404 in OpenAI's error format.
//! std only: one thread per connection, `Connection: close`.
#![allow(dead_code)] // the example and the tests each use part of it

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value as Json, json};

/// One request and what the server answered (for a stream: every event's JSON).
#[derive(Clone, Debug)]
pub(crate) struct Exchange {
    pub(crate) path: String,
    pub(crate) authorization: Option<String>,
    pub(crate) request: Json,
    pub(crate) response: Json,
    pub(crate) events: Vec<Json>,
}

/// The running server; it stops with the process.
#[derive(Clone, Debug)]
pub(crate) struct ModelServer {
    pub(crate) port: u16,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
}

/// Streamed events are this far apart, so time to first chunk and time per
/// chunk are measurable.
const EVENT_GAP: Duration = Duration::from_millis(15);

impl ModelServer {
    /// Starts the server on a free loopback port.
    pub(crate) fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = listener.local_addr().expect("its address").port();
        let exchanges = Arc::new(Mutex::new(Vec::new()));
        let ids = Arc::new(AtomicU64::new(1));
        let shared = Arc::clone(&exchanges);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (shared, ids) = (Arc::clone(&shared), Arc::clone(&ids));
                std::thread::spawn(move || {
                    let _ = serve(stream, &shared, &ids);
                });
            }
        });
        Self { port, exchanges }
    }

    /// The base URL a client is configured with: `http://127.0.0.1:<port>/v1`.
    pub(crate) fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// Every exchange so far, in order.
    pub(crate) fn exchanges(&self) -> Vec<Exchange> {
        self.exchanges.lock().expect("not poisoned").clone()
    }
}

fn serve(stream: TcpStream, exchanges: &Mutex<Vec<Exchange>>, ids: &AtomicU64) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let (mut length, mut authorization) = (0, None);
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap_or(0),
                "authorization" => authorization = Some(value.trim().to_owned()),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let request: Json = serde_json::from_slice(&body).unwrap_or(Json::Null);
    let n = ids.fetch_add(1, Ordering::Relaxed);
    let mut out = stream;
    let mut exchange = Exchange {
        path: path.clone(),
        authorization,
        request: request.clone(),
        response: Json::Null,
        events: Vec::new(),
    };
    let model = request["model"].as_str().unwrap_or("gpt-4o-mini").to_owned();
    let streaming = request["stream"] == true;
    // How the answer goes out: decided, then logged, then written, so the log
    // is in request order even when the client sends its next request as soon
    // as it has read this answer.
    let wire = if model == "missing-model" {
        exchange.response = json!({"error": {"message": format!("The model `{model}` does not exist"), "type": "invalid_request_error", "code": "model_not_found"}});
        Wire::Json("404 Not Found")
    } else if path.starts_with("/api/") {
        let (response, events) = ollama(&path, &request, n, &model);
        exchange.response = response;
        exchange.events = events;
        if streaming && !exchange.events.is_empty() {
            Wire::Lines
        } else {
            Wire::Json("200 OK")
        }
    } else if path.ends_with("/chat/completions") {
        let answer = chat_answer(&request, n, &model);
        if streaming {
            exchange.events = chat_events(&request, &answer);
            Wire::Events { done: true }
        } else {
            exchange.response = answer;
            Wire::Json("200 OK")
        }
    } else if path.ends_with("/responses") {
        let answer = responses_answer(&request, n, &model);
        if streaming {
            exchange.events = responses_events(&answer);
            Wire::Events { done: false }
        } else {
            exchange.response = answer;
            Wire::Json("200 OK")
        }
    } else if path.ends_with("/embeddings") {
        let dimensions = request["dimensions"].as_u64().unwrap_or(8) as usize;
        let text = request["input"].as_str().map_or(0, str::len);
        exchange.response = json!({
            "object": "list",
            "model": format!("{model}-v2"),
            "data": [{"object": "embedding", "index": 0, "embedding": (0..dimensions).map(|i| (i as f64) / 10.0).collect::<Vec<_>>()}],
            "usage": {"prompt_tokens": tokens(text), "total_tokens": tokens(text)},
        });
        Wire::Json("200 OK")
    } else {
        exchange.response = json!({"error": {"message": format!("no route {path}"), "type": "invalid_request_error"}});
        Wire::Json("404 Not Found")
    };
    let (response, events) = (exchange.response.clone(), exchange.events.clone());
    exchanges.lock().expect("not poisoned").push(exchange);
    match wire {
        Wire::Json(status) => respond(&mut out, status, &response),
        Wire::Events { done } => stream_events(&mut out, &events, done),
        Wire::Lines => stream_lines(&mut out, &events),
    }
}

/// How an answer is written.
enum Wire {
    /// One JSON body with this status line.
    Json(&'static str),
    /// Server-sent events (`data: [DONE]` at the end when `done`).
    Events { done: bool },
    /// Newline-delimited JSON (Ollama's streams).
    Lines,
}

fn respond(out: &mut TcpStream, status: &str, body: &Json) -> std::io::Result<()> {
    let body = body.to_string();
    write!(
        out,
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )?;
    out.flush()
}

/// Writes a streamed answer: the head, then each piece in one write after a
/// pause, as a server flushing each event does — a client that parses each
/// network read on its own (ollama-rs does) sees whole events or lines.
fn stream(out: &mut TcpStream, content_type: &str, pieces: impl Iterator<Item = String>) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n"
    );
    out.write_all(head.as_bytes())?;
    out.flush()?;
    for piece in pieces {
        std::thread::sleep(EVENT_GAP);
        out.write_all(piece.as_bytes())?;
        out.flush()?;
    }
    Ok(())
}

/// Server-sent events (the Responses API names its events), `[DONE]` at the end when `done`.
fn stream_events(out: &mut TcpStream, events: &[Json], done: bool) -> std::io::Result<()> {
    let events = events.iter().map(|event| match event["type"].as_str() {
        Some(kind) if kind.starts_with("response.") => format!("event: {kind}\ndata: {event}\n\n"),
        _ => format!("data: {event}\n\n"),
    });
    let done = done.then(|| "data: [DONE]\n\n".to_owned());
    stream(out, "text/event-stream", events.chain(done))
}

/// About four characters a token, at least one.
fn tokens(chars: usize) -> u64 {
    (chars as u64 / 4).max(1)
}

fn input_chars(request: &Json) -> usize {
    request["messages"]
        .as_array()
        .or_else(|| request["input"].as_array())
        .map_or_else(
            || request["input"].as_str().map_or(0, str::len),
            |items| items.iter().map(|m| m.to_string().len()).sum(),
        )
}

/// The assistant's turn: a tool call when tools are offered and the last
/// message is the user's, else a short answer (quoting a tool result if any).
fn chat_answer(request: &Json, n: u64, model: &str) -> Json {
    let messages = request["messages"].as_array().cloned().unwrap_or_default();
    let last = messages.last().cloned().unwrap_or(Json::Null);
    let wants_tool = request["tools"].as_array().is_some_and(|t| !t.is_empty()) && last["role"] == "user";
    let (message, finish) = if wants_tool {
        let name = request["tools"][0]["function"]["name"]
            .as_str()
            .unwrap_or("get_weather");
        (
            json!({"role": "assistant", "content": null, "tool_calls": [{
                "id": format!("call_{n:04}"), "type": "function",
                "function": {"name": name, "arguments": "{\"city\":\"Lisbon\"}"}
            }]}),
            "tool_calls",
        )
    } else {
        let text = match last["role"].as_str() {
            Some("tool") => format!(
                "The weather service says: {}.",
                last["content"].as_str().unwrap_or("unknown")
            ),
            _ => "Lisbon is lovely in spring.".to_owned(),
        };
        (json!({"role": "assistant", "content": text}), "stop")
    };
    let input = tokens(input_chars(request));
    let output = tokens(message.to_string().len());
    json!({
        "id": format!("chatcmpl-{n:04}"),
        "object": "chat.completion",
        "created": 1_780_000_000 + n,
        "model": format!("{model}-2024-07-18"),
        "system_fingerprint": "fp_local",
        "service_tier": "default",
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": null}],
        "usage": {
            "prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output,
            "prompt_tokens_details": {"cached_tokens": input / 2},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    })
}

/// The same answer as `chat.completion.chunk` events: the role, the text in
/// three pieces (or the tool call's name, then its arguments in two pieces),
/// the finish reason, and the usage when `stream_options.include_usage`.
fn chat_events(request: &Json, answer: &Json) -> Vec<Json> {
    let chunk = |delta: Json, finish: Json| {
        json!({
            "id": answer["id"], "object": "chat.completion.chunk", "created": answer["created"],
            "model": answer["model"], "system_fingerprint": "fp_local",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        })
    };
    let message = &answer["choices"][0]["message"];
    let mut events = vec![chunk(json!({"role": "assistant", "content": ""}), Json::Null)];
    if let Some(call) = message["tool_calls"].get(0) {
        events.push(chunk(
            json!({"tool_calls": [{"index": 0, "id": call["id"], "type": "function", "function": {"name": call["function"]["name"], "arguments": ""}}]}),
            Json::Null,
        ));
        for piece in ["{\"city\":", "\"Lisbon\"}"] {
            events.push(chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}),
                Json::Null,
            ));
        }
    } else {
        let text = message["content"].as_str().unwrap_or("");
        let words: Vec<&str> = text.split_inclusive(' ').collect();
        let third = words.len().div_ceil(3).max(1);
        for piece in words.chunks(third) {
            events.push(chunk(json!({"content": piece.concat()}), Json::Null));
        }
    }
    events.push(chunk(json!({}), answer["choices"][0]["finish_reason"].clone()));
    if request["stream_options"]["include_usage"] == true {
        let mut usage = chunk(json!({}), Json::Null);
        usage["choices"] = json!([]);
        usage["usage"] = answer["usage"].clone();
        events.push(usage);
    }
    events
}

fn responses_answer(request: &Json, n: u64, model: &str) -> Json {
    let text = "Lisbon is lovely in spring.";
    let input = tokens(input_chars(request));
    json!({
        "id": format!("resp_{n:04}"),
        "object": "response",
        "created_at": 1_780_000_000 + n,
        "status": "completed",
        "model": format!("{model}-2024-07-18"),
        "service_tier": "default",
        "output": [{
            "type": "message", "id": format!("msg_{n:04}"), "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }],
        "usage": {
            "input_tokens": input, "output_tokens": 7, "total_tokens": input + 7,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 2},
        },
    })
}

fn responses_events(answer: &Json) -> Vec<Json> {
    let mut created = answer.clone();
    created["status"] = json!("in_progress");
    created["output"] = json!([]);
    created["usage"] = Json::Null;
    let mut events = vec![json!({"type": "response.created", "sequence_number": 0, "response": created})];
    let text = answer["output"][0]["content"][0]["text"].as_str().unwrap_or("");
    for (i, piece) in text.split_inclusive(' ').enumerate() {
        events.push(json!({
            "type": "response.output_text.delta", "sequence_number": i + 1, "item_id": answer["output"][0]["id"],
            "output_index": 0, "content_index": 0, "delta": piece, "logprobs": [],
        }));
    }
    events.push(json!({"type": "response.completed", "sequence_number": events.len(), "response": answer}));
    events
}

// --- Ollama's native API ------------------------------------------------------------

/// Newline-delimited JSON, one line per write (as Ollama writes them).
fn stream_lines(out: &mut TcpStream, lines: &[Json]) -> std::io::Result<()> {
    stream(
        out,
        "application/x-ndjson",
        lines.iter().map(|line| format!("{line}\n")),
    )
}

/// Ollama's timing fields and token counts, as its final bodies carry them.
fn ollama_final(body: &mut Json, input: u64, output: u64) {
    body["done"] = json!(true);
    body["done_reason"] = json!("stop");
    body["total_duration"] = json!(5_000_000);
    body["load_duration"] = json!(1_000_000);
    body["prompt_eval_count"] = json!(input);
    body["prompt_eval_duration"] = json!(1_000_000);
    body["eval_count"] = json!(output);
    body["eval_duration"] = json!(3_000_000);
}

/// An `/api/*` answer: the whole body, and (when streamed) its NDJSON lines —
/// the text in three pieces, the last line `done: true` with the counts.
fn ollama(path: &str, request: &Json, n: u64, model: &str) -> (Json, Vec<Json>) {
    let created = format!("2026-12-06T12:00:{:02}Z", n % 60);
    let input = tokens(input_chars(request).max(request["prompt"].as_str().map_or(0, str::len)));
    if path.ends_with("/api/embed") {
        let dimensions = request["dimensions"].as_u64().unwrap_or(8) as usize;
        let vector: Vec<f64> = (0..dimensions).map(|i| (i as f64) / 10.0).collect();
        let body = json!({
            "model": model, "embeddings": [vector], "total_duration": 2_000_000,
            "load_duration": 1_000_000, "prompt_eval_count": input,
        });
        return (body, Vec::new());
    }
    let last = request["messages"]
        .as_array()
        .and_then(|m| m.last())
        .cloned()
        .unwrap_or(Json::Null);
    let wants_tool = request["tools"].as_array().is_some_and(|t| !t.is_empty()) && last["role"] == "user";
    let text = match last["role"].as_str() {
        Some("tool") => format!(
            "The weather service says: {}.",
            last["content"].as_str().unwrap_or("unknown")
        ),
        _ => "Lisbon is lovely in spring.".to_owned(),
    };
    let chat = path.ends_with("/api/chat");
    let piece = |t: &str| {
        if chat {
            json!({"model": model, "created_at": created, "message": {"role": "assistant", "content": t}, "done": false})
        } else {
            json!({"model": model, "created_at": created, "response": t, "done": false})
        }
    };
    let mut body = if wants_tool {
        json!({"model": model, "created_at": created, "done": false, "message": {
            "role": "assistant", "content": "",
            "tool_calls": [{"function": {"name": request["tools"][0]["function"]["name"], "arguments": {"city": "Lisbon"}}}],
        }})
    } else {
        piece(&text)
    };
    let output = tokens(text.len());
    ollama_final(&mut body, input, output);
    if !chat {
        body["context"] = json!([1, 2, 3]);
    }
    let mut lines = Vec::new();
    if request["stream"] == true {
        if wants_tool {
            lines.push(body.clone());
        } else {
            let words: Vec<&str> = text.split_inclusive(' ').collect();
            let third = words.len().div_ceil(3).max(1);
            for p in words.chunks(third) {
                lines.push(piece(&p.concat()));
            }
            let mut done = piece("");
            ollama_final(&mut done, input, output);
            if !chat {
                done["context"] = json!([1, 2, 3]);
            }
            lines.push(done);
        }
    }
    (body, lines)
}
