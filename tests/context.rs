//! Sessions, propagation across HTTP and message headers, context into tasks and
//! threads, and log correlation.
#![cfg(all(feature = "testing", feature = "tokio", feature = "tracing"))]

use std::collections::HashMap;
use std::fmt::Write as _;

use genai_trace::context::{self, FutureExt as _, MessageHeaders};
use genai_trace::opentelemetry::baggage::BaggageExt as _;
use genai_trace::opentelemetry::trace::TraceContextExt;
use genai_trace::opentelemetry_sdk::trace::SpanData;
use genai_trace::testing::{SharedBuffer, TestTelemetry, attribute};
use genai_trace::{ContentCapture, Session, genai_span};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

#[genai_span(kind = "chat", model = "m", sensitive = ["prompt"])]
async fn chat(prompt: &str) -> usize {
    tokio::task::yield_now().await;
    prompt.len()
}

#[genai_span(kind = "execute_tool")]
fn tool() {}

#[genai_span(kind = "invoke_agent", attrs(gen_ai.agent.name = "agent"))]
async fn agent(step: u32) -> u32 {
    chat("hi").await;
    context::spawn(async move { chat("spawned").await }).await.unwrap();
    context::spawn_blocking(tool).await.unwrap();
    step
}

fn text(span: &SpanData, key: &str) -> Option<String> {
    attribute(span, key).map(|v| v.as_str().into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_attributes_on_every_descendant_including_spawned_tasks() {
    let t = TestTelemetry::install();
    let session = Session::builder()
        .session_id("s-1")
        .user_id("u-1")
        .conversation_id("c-1")
        .start();
    let trace = session.trace_id().unwrap();
    session.run(agent(1)).await;
    session.end();
    let spans = t.spans();
    assert_eq!(
        spans.len(),
        5,
        "{:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    let root = spans.iter().find(|s| s.name == "session").unwrap();
    assert_eq!(root.parent_span_id, opentelemetry::trace::SpanId::INVALID);
    for s in &spans {
        assert_eq!(
            s.span_context.trace_id().to_string(),
            trace,
            "{} in the session's trace",
            s.name
        );
        assert_eq!(text(s, "session.id").as_deref(), Some("s-1"), "{}", s.name);
        assert_eq!(text(s, "user.id").as_deref(), Some("u-1"), "{}", s.name);
        assert_eq!(text(s, "gen_ai.conversation.id").as_deref(), Some("c-1"), "{}", s.name);
    }
    let agent = spans.iter().find(|s| s.name == "invoke_agent agent").unwrap();
    assert_eq!(agent.parent_span_id, root.span_context.span_id());
    let under_agent = spans
        .iter()
        .filter(|s| s.parent_span_id == agent.span_context.span_id())
        .count();
    assert_eq!(under_agent, 3, "chat, the spawned chat and the blocking tool");
}

#[genai_span(name = "plain.step")]
fn plain_step() {}

#[tokio::test]
async fn genai_spans_in_a_session_without_a_conversation_id_take_the_session_id() {
    let t = TestTelemetry::install();
    let session = Session::builder().session_id("s-9").start();
    session
        .run(async {
            chat("hi").await;
            plain_step();
        })
        .await;
    session.end();
    let chat = t.span("chat m");
    assert_eq!(text(&chat, "gen_ai.conversation.id").as_deref(), Some("s-9"));
    // Only GenAI spans: the session's own span and plain spans keep session.id.
    for name in ["session", "plain.step"] {
        let s = t.span(name);
        assert_eq!(text(&s, "session.id").as_deref(), Some("s-9"), "{name}");
        assert_eq!(text(&s, "gen_ai.conversation.id"), None, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sessions_never_mix() {
    let t = TestTelemetry::install();
    let mut handles = Vec::new();
    for i in 0..8 {
        handles.push(tokio::spawn(async move {
            let s = Session::builder().session_id(format!("s-{i}")).start();
            let trace = s.trace_id().unwrap();
            s.run(async move {
                for _ in 0..3 {
                    chat("x").await;
                    tokio::task::yield_now().await;
                }
            })
            .await;
            (format!("s-{i}"), trace)
        }));
    }
    let mut sessions = HashMap::new();
    for h in handles {
        let (id, trace) = h.await.unwrap();
        sessions.insert(trace, id);
    }
    let spans = t.spans();
    assert_eq!(spans.iter().filter(|s| s.name == "chat m").count(), 24);
    for s in spans.iter().filter(|s| s.name == "chat m") {
        let trace = s.span_context.trace_id().to_string();
        assert_eq!(
            text(s, "session.id"),
            sessions.get(&trace).cloned(),
            "span carries its own session"
        );
    }
}

#[tokio::test]
async fn without_the_helper_a_spawned_task_loses_its_parent() {
    let t = TestTelemetry::install();
    genai_trace::span("parent")
        .instrument(async {
            tokio::spawn(async { tool() }).await.unwrap();
            context::spawn(async { tool() }).await.unwrap();
        })
        .await;
    let spans = t.spans();
    let parent = spans.iter().find(|s| s.name == "parent").unwrap();
    let tools: Vec<_> = spans.iter().filter(|s| s.name == "execute_tool tool").collect();
    assert_eq!(tools.len(), 2);
    assert_ne!(
        tools[0].span_context.trace_id(),
        parent.span_context.trace_id(),
        "plain tokio::spawn: a new trace"
    );
    assert_eq!(
        tools[1].parent_span_id,
        parent.span_context.span_id(),
        "context::spawn: the right parent"
    );
}

#[test]
fn threads_and_pools_carry_the_context() {
    let t = TestTelemetry::install();
    let (plain, helped, bound) = genai_trace::span("work").in_scope(|| {
        let plain = std::thread::spawn(genai_trace::current_trace_id).join().unwrap();
        let helped = context::spawn_thread(genai_trace::current_trace_id).join().unwrap();
        // A pool runs closures elsewhere: `bind` takes the context along.
        let job = context::bind(genai_trace::current_span_id);
        let bound = std::thread::spawn(job).join().unwrap();
        (plain, helped, bound)
    });
    let work = t.span("work");
    assert_eq!(plain, None);
    assert_eq!(helped, Some(work.span_context.trace_id().to_string()));
    assert_eq!(bound, Some(work.span_context.span_id().to_string()));
}

// ---- HTTP across a real loopback hop ------------------------------------------

#[genai_span(kind = "invoke_agent", attrs(gen_ai.agent.name = "remote"))]
async fn handle_request(body: String) -> String {
    chat(&body).await;
    genai_trace::current_trace_id().unwrap_or_default()
}

/// A tiny HTTP/1.1 service: reads one request, continues the caller's trace.
async fn serve_one(listener: tokio::net::TcpListener) {
    let (stream, _) = listener.accept().await.unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).await.unwrap();
    let mut headers = http::HeaderMap::new();
    let mut length = 0;
    loop {
        line.clear();
        reader.read_line(&mut line).await.unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').unwrap();
        if k.eq_ignore_ascii_case("content-length") {
            length = v.trim().parse().unwrap();
        }
        headers.insert(
            http::HeaderName::from_bytes(k.trim().as_bytes()).unwrap(),
            v.trim().parse().unwrap(),
        );
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.unwrap();
    let cx = context::extract_headers(&headers);
    let trace = handle_request(String::from_utf8(body).unwrap()).with_context(cx).await;
    let reply = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{trace}", trace.len());
    reader.into_inner().write_all(reply.as_bytes()).await.unwrap();
}

#[genai_span(kind = "rag.call_remote")]
async fn call_remote(addr: std::net::SocketAddr) -> String {
    let mut headers = http::HeaderMap::new();
    context::inject_headers(&mut headers);
    let body = "hello remote";
    let mut request = format!(
        "POST /agent HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in &headers {
        let _ = write!(request, "{k}: {}\r\n", v.to_str().unwrap());
    }
    request.push_str("\r\n");
    request.push_str(body);
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response.rsplit("\r\n\r\n").next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_hop_continues_the_trace_with_session_baggage() {
    let t = TestTelemetry::install();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(serve_one(listener));
    let session = Session::builder().session_id("s-http").start();
    let remote_trace = session.run(call_remote(addr)).await;
    server.await.unwrap();
    drop(session);
    let client = t.span("rag.call_remote");
    let remote = t.span("invoke_agent remote");
    assert_eq!(remote_trace, client.span_context.trace_id().to_string());
    assert_eq!(remote.parent_span_id, client.span_context.span_id());
    assert!(remote.parent_span_is_remote);
    assert_eq!(
        text(&remote, "session.id").as_deref(),
        Some("s-http"),
        "baggage crossed the hop"
    );
}

// ---- messages over a channel ---------------------------------------------------

struct Message {
    headers: Vec<(String, String)>,
    payload: String,
}

impl MessageHeaders for Message {
    fn header(&self, key: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
    fn set_header(&mut self, key: &str, value: String) {
        self.headers.push((key.to_owned(), value));
    }
    fn header_keys(&self) -> Vec<&str> {
        self.headers.iter().map(|(k, _)| k.as_str()).collect()
    }
}

#[genai_span(kind = "rag.publish")]
fn publish(tx: &tokio::sync::mpsc::UnboundedSender<Message>, payload: &str) {
    let mut m = Message {
        headers: Vec::new(),
        payload: payload.to_owned(),
    };
    context::inject_message(&mut m);
    tx.send(m).unwrap();
}

#[genai_span(kind = "rag.consume")]
async fn consume(m: Message) -> usize {
    m.payload.len()
}

#[tokio::test]
async fn producer_consumer_over_message_headers() {
    let t = TestTelemetry::install();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let consumer = tokio::spawn(async move {
        use genai_trace::context::FutureExt as _;
        while let Some(m) = rx.recv().await {
            let cx = context::extract_message(&m);
            consume(m).with_context(cx).await;
        }
    });
    let session = Session::builder().session_id("s-queue").start();
    session.in_scope(|| publish(&tx, "job-1"));
    drop(tx);
    consumer.await.unwrap();
    drop(session);
    let p = t.span("rag.publish");
    let c = t.span("rag.consume");
    assert_eq!(c.span_context.trace_id(), p.span_context.trace_id());
    assert_eq!(c.parent_span_id, p.span_context.span_id());
    assert_eq!(text(&c, "session.id").as_deref(), Some("s-queue"));
}

#[tokio::test]
async fn incoming_baggage_never_turns_on_content_capture() {
    let t = TestTelemetry::install();
    let mut map = HashMap::new();
    map.insert(
        "baggage".to_owned(),
        "genai_trace.content_capture=SPAN_ONLY,OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true".to_owned(),
    );
    let cx = context::extract_map(&map);
    assert_eq!(cx.baggage().len(), 2, "kept as data");
    chat("top secret prompt").with_context(cx).await;
    assert_eq!(genai_trace::content_capture(), ContentCapture::NoContent);
    let s = t.span("chat m");
    assert!(attribute(&s, "gen_ai.input.messages").is_none());
    assert!(!format!("{s:?}").contains("top secret prompt"));
}

// ---- log correlation --------------------------------------------------------------

#[genai_span(kind = "execute_tool", attrs(gen_ai.tool.name = "lookup"))]
fn logged_tool() -> (String, String) {
    tracing::info!(city = "Lisbon", "looking up the weather");
    (
        genai_trace::current_trace_id().unwrap(),
        genai_trace::current_span_id().unwrap(),
    )
}

#[test]
fn log_lines_carry_trace_span_and_session_ids() {
    use tracing_subscriber::layer::SubscriberExt;
    let _t = TestTelemetry::install();
    let buf = SharedBuffer::default();
    let subscriber = tracing_subscriber::registry().with(genai_trace::logging::JsonLogLayer::writer(buf.clone()));
    let (trace, span) = tracing::subscriber::with_default(subscriber, || {
        tracing::warn!("outside any span");
        let s = Session::builder().session_id("s-log").start();
        s.in_scope(logged_tool)
    });
    let text = buf.text();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["level"], "WARN");
    assert!(lines[0].get("trace_id").is_none());
    let l = &lines[1];
    assert_eq!(l["message"], "looking up the weather");
    assert_eq!(l["city"], "Lisbon");
    assert_eq!(l["level"], "INFO");
    assert_eq!(l["trace_id"], trace.as_str());
    assert_eq!(l["span_id"], span.as_str());
    assert_eq!(l["session.id"], "s-log");
    assert!(l["timestamp"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn spans_current_inside_a_session_without_telemetry_still_propagate_baggage() {
    // Not installed: no spans, but baggage still flows to downstream services.
    let _l = genai_trace::testing::exclusive();
    let s = Session::builder().session_id("s-off").start();
    let mut map = HashMap::new();
    s.in_scope(|| context::inject_map(&mut map));
    assert!(map["baggage"].contains("session.id=s-off"));
    assert!(!s.context().span().span_context().is_valid());
}
