//! Streamed responses on every exit path, asserted on exported spans and metrics.
#![cfg(all(feature = "testing", feature = "metrics"))]
// Token sums are whole numbers: exact in f64.
#![allow(clippy::float_cmp)]

use std::pin::Pin;
use std::time::Duration;

use futures::{Stream, StreamExt, stream};
use genai_trace::opentelemetry::Value;
use genai_trace::opentelemetry::trace::Status;
use genai_trace::opentelemetry_sdk::trace::SpanData;
use genai_trace::testing::{TestTelemetry, attribute};
use genai_trace::{ChunkRecorder, ContentCapture, RecordChunk, Usage, genai_span, semconv};

#[derive(Clone, Debug)]
struct Delta {
    text: &'static str,
    finish: Option<&'static str>,
    usage: Option<(i64, i64)>,
}

impl RecordChunk for Delta {
    fn record_chunk(&self, c: &mut ChunkRecorder<'_>) {
        c.response_id("chatcmpl-1");
        c.text_delta(self.text);
        if let Some(f) = self.finish {
            c.finish_reason(f);
        }
        if let Some((i, o)) = self.usage {
            c.usage(Usage {
                input_tokens: Some(i),
                output_tokens: Some(o),
                ..Usage::default()
            });
        }
    }
}

fn d(text: &'static str) -> Delta {
    Delta {
        text,
        finish: None,
        usage: None,
    }
}

fn chunks() -> Vec<Delta> {
    vec![
        d("Hel"),
        d("lo"),
        d(", world"),
        Delta {
            text: "!",
            finish: Some("stop"),
            usage: None,
        },
        Delta {
            text: "",
            finish: None,
            usage: Some((12, 4)),
        },
    ]
}

#[derive(Debug)]
struct StreamError(&'static str);
impl std::fmt::Display for StreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "stream broke: {}", self.0)
    }
}

/// A fake model: chunks with a delay between them (the first one after `first_delay`).
fn model_stream(items: Vec<Delta>, first_delay: Duration) -> impl Stream<Item = Delta> + Send {
    stream::iter(items.into_iter().enumerate()).then(move |(i, item)| async move {
        tokio::time::sleep(if i == 0 { first_delay } else { Duration::from_millis(1) }).await;
        item
    })
}

#[genai_span(kind = "chat", provider = "openai", model = "gpt-4o")]
fn chat_stream(first_delay_ms: u64) -> impl Stream<Item = Delta> + Send {
    model_stream(chunks(), Duration::from_millis(first_delay_ms))
}

#[genai_span(kind = "chat", model = "boxed")]
fn chat_boxed() -> Pin<Box<dyn Stream<Item = Delta> + Send>> {
    Box::pin(model_stream(chunks(), Duration::ZERO))
}

#[genai_span(kind = "chat", model = "fallible")]
async fn chat_fallible(
    fail_before: bool,
) -> Result<impl Stream<Item = Result<Delta, StreamError>> + Send, StreamError> {
    tokio::task::yield_now().await;
    if fail_before {
        return Err(StreamError("rate limited"));
    }
    Ok(stream::iter(vec![
        Ok(d("a")),
        Ok(d("b")),
        Err(StreamError("connection reset")),
        Ok(d("never")),
    ]))
}

#[genai_span(kind = "chat", model = "empty")]
fn chat_empty() -> impl Stream<Item = Delta> {
    stream::empty()
}

#[genai_span(kind = "chat", model = "blocking")]
fn chat_blocking() -> impl Iterator<Item = Delta> {
    chunks().into_iter()
}

#[genai_span(kind = "chat", model = "plain-items")]
fn chat_strings() -> impl Stream<Item = String> {
    stream::iter(vec!["x".to_owned(), "y".to_owned()])
}

fn only(t: &TestTelemetry, name: &str) -> SpanData {
    t.span(name)
}

fn a(s: &SpanData, k: &str) -> Option<Value> {
    attribute(s, k).cloned()
}

fn strings(v: &[&str]) -> Value {
    Value::Array(opentelemetry::Array::String(
        v.iter().map(|s| s.to_string().into()).collect(),
    ))
}

#[tokio::test]
async fn full_consumption() {
    let t = TestTelemetry::install_with(|b| b.content_capture(ContentCapture::SpanOnly));
    let items: Vec<Delta> = chat_stream(0).collect().await;
    assert_eq!(items.len(), 5);
    let s = only(&t, "chat gpt-4o");
    assert_eq!(s.status, Status::Unset);
    assert_eq!(a(&s, "gen_ai.request.stream"), Some(Value::Bool(true)));
    assert_eq!(a(&s, "genai_trace.stream.chunks"), Some(Value::I64(5)));
    assert_eq!(a(&s, "gen_ai.response.id"), Some("chatcmpl-1".into()));
    assert_eq!(a(&s, "gen_ai.response.finish_reasons"), Some(strings(&["stop"])));
    assert_eq!(a(&s, "gen_ai.usage.input_tokens"), Some(Value::I64(12)));
    assert_eq!(a(&s, "gen_ai.usage.output_tokens"), Some(Value::I64(4)));
    assert!(a(&s, "genai_trace.cancelled").is_none());
    let out = a(&s, "gen_ai.output.messages").unwrap();
    let out: serde_json::Value = serde_json::from_str(out.as_str().as_ref()).unwrap();
    assert_eq!(out[0]["parts"][0]["content"], "Hello, world!");
    assert_eq!(out[0]["finish_reason"], "stop");
    let ttfc = t.histogram(semconv::metric::TIME_TO_FIRST_CHUNK);
    assert_eq!(ttfc.len(), 1);
    assert_eq!(ttfc[0].bounds, semconv::metric::DURATION_BUCKETS);
    // One recording per chunk after the first: the time since the previous one
    // (the fake model waits 1 ms between chunks).
    let per_chunk = t.histogram(semconv::metric::TIME_PER_OUTPUT_CHUNK);
    assert_eq!(per_chunk.len(), 1);
    assert_eq!(per_chunk[0].count, 4);
    assert!(per_chunk[0].sum >= 0.004, "{}", per_chunk[0].sum);
    assert_eq!(per_chunk[0].attributes["gen_ai.request.model"], "gpt-4o");
    let tokens = t.histogram(semconv::metric::TOKEN_USAGE);
    assert_eq!(tokens.iter().map(|p| p.sum).sum::<f64>(), 16.0);
}

#[genai_span(kind = "chat", model = "long")]
fn chat_long(chunks: usize) -> impl Iterator<Item = Delta> {
    std::iter::repeat_n(d("x"), chunks)
}

#[test]
fn every_chunk_after_the_first_is_one_time_per_chunk_recording() {
    let t = TestTelemetry::install();
    // The histogram is cumulative: each case adds its recordings to the last.
    let mut expected = 0;
    // 2500 chunks cross the 1024 gaps held before they are recorded mid-stream.
    for chunks in [0, 1, 3, 2500] {
        assert_eq!(chat_long(chunks).count(), chunks);
        expected += chunks.saturating_sub(1) as u64;
        let total: u64 = t
            .histogram(semconv::metric::TIME_PER_OUTPUT_CHUNK)
            .iter()
            .map(|p| p.count)
            .sum();
        assert_eq!(total, expected, "after a stream of {chunks} chunks");
    }
}

#[tokio::test]
async fn early_drop_after_k_chunks() {
    let t = TestTelemetry::install_with(|b| b.content_capture(ContentCapture::SpanOnly));
    let mut s = Box::pin(chat_stream(0));
    let first_two: Vec<Delta> = s.as_mut().take(2).collect().await;
    assert_eq!(first_two.len(), 2);
    assert!(t.spans().is_empty(), "still open while the caller holds the stream");
    drop(s);
    let s = only(&t, "chat gpt-4o");
    assert_eq!(a(&s, "genai_trace.cancelled"), Some(Value::Bool(true)));
    assert_eq!(a(&s, "genai_trace.stream.chunks"), Some(Value::I64(2)));
    assert_eq!(a(&s, "gen_ai.response.finish_reasons"), Some(strings(&["error"])));
    let out = a(&s, "gen_ai.output.messages").unwrap();
    assert!(out.as_str().contains("\"Hello\""), "partial output: {out}");
    let d = t.histogram(semconv::metric::OPERATION_DURATION);
    assert_eq!(d[0].attributes["error.type"], "cancelled");
}

#[tokio::test]
async fn cancellation_by_timeout_and_select() {
    let t = TestTelemetry::install();
    let mut s = Box::pin(chat_stream(200));
    let r = tokio::time::timeout(Duration::from_millis(20), s.next()).await;
    assert!(r.is_err());
    drop(s);
    let mut s2 = chat_boxed();
    tokio::select! {
        _ = s2.next() => {},
    }
    drop(s2);
    let spans = t.spans();
    assert_eq!(spans.len(), 2);
    let timed_out = only(&t, "chat gpt-4o");
    assert_eq!(a(&timed_out, "genai_trace.cancelled"), Some(Value::Bool(true)));
    assert_eq!(a(&timed_out, "genai_trace.stream.chunks"), Some(Value::I64(0)));
    assert!(a(&timed_out, "gen_ai.response.time_to_first_chunk").is_none());
    let boxed = only(&t, "chat boxed");
    assert_eq!(a(&boxed, "genai_trace.stream.chunks"), Some(Value::I64(1)));
}

#[tokio::test]
async fn error_item_mid_stream_and_error_before_the_stream() {
    let t = TestTelemetry::install();
    let items: Vec<_> = chat_fallible(false).await.unwrap().collect().await;
    assert_eq!(items.len(), 4, "items after the error still reach the caller");
    let s = only(&t, "chat fallible");
    assert_eq!(s.status, Status::error("stream broke: connection reset"));
    assert_eq!(a(&s, "error.type"), Some("streaming::StreamError".into()));
    assert_eq!(a(&s, "genai_trace.stream.chunks"), Some(Value::I64(3)));
    assert_eq!(a(&s, "gen_ai.response.finish_reasons"), Some(strings(&["error"])));
    assert!(a(&s, "genai_trace.cancelled").is_none());
    drop(t);

    let t = TestTelemetry::install();
    assert!(chat_fallible(true).await.is_err());
    let s = only(&t, "chat fallible");
    assert_eq!(s.status, Status::error("stream broke: rate limited"));
    assert!(a(&s, "genai_trace.stream.chunks").is_none());
}

#[derive(Debug)]
enum ClassifiedError {
    Overloaded,
}
impl std::fmt::Display for ClassifiedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the model is overloaded")
    }
}
impl genai_trace::ErrorType for ClassifiedError {
    fn error_type(&self) -> std::borrow::Cow<'static, str> {
        match self {
            ClassifiedError::Overloaded => "overloaded".into(),
        }
    }
}

#[genai_span(kind = "chat", model = "classified")]
fn chat_classified() -> impl Stream<Item = Result<Delta, ClassifiedError>> {
    stream::iter(vec![Ok(d("a")), Err(ClassifiedError::Overloaded)])
}

#[genai_span(kind = "chat", model = "classified-plain")]
fn chat_classified_plain() -> impl Stream<Item = Result<u32, ClassifiedError>> {
    stream::iter(vec![Ok(1), Err(ClassifiedError::Overloaded)])
}

#[tokio::test]
async fn an_error_item_gets_its_error_type_as_a_returned_error_does() {
    let t = TestTelemetry::install();
    let _: Vec<_> = chat_classified().collect().await;
    let _: Vec<_> = chat_classified_plain().collect().await;
    for name in ["chat classified", "chat classified-plain"] {
        let s = only(&t, name);
        assert_eq!(a(&s, "error.type"), Some("overloaded".into()), "{name}");
        assert_eq!(s.status, Status::error("the model is overloaded"), "{name}");
    }
    assert_eq!(
        a(&only(&t, "chat classified"), "gen_ai.response.finish_reasons"),
        Some(strings(&["error"]))
    );
}

#[tokio::test]
async fn empty_stream_and_no_usage_chunk() {
    let t = TestTelemetry::install();
    assert_eq!(chat_empty().count().await, 0);
    let s = only(&t, "chat empty");
    assert_eq!(a(&s, "genai_trace.stream.chunks"), Some(Value::I64(0)));
    assert!(a(&s, "gen_ai.response.time_to_first_chunk").is_none());
    assert!(a(&s, "gen_ai.usage.input_tokens").is_none());
    assert_eq!(s.status, Status::Unset);
    let names: Vec<String> = chat_strings().collect().await;
    assert_eq!(names, ["x", "y"]);
    let s = only(&t, "chat plain-items");
    assert_eq!(
        a(&s, "genai_trace.stream.chunks"),
        Some(Value::I64(2)),
        "items without RecordChunk are counted"
    );
    assert!(a(&s, "gen_ai.usage.output_tokens").is_none());
    assert!(
        t.histogram(semconv::metric::TOKEN_USAGE).is_empty(),
        "no usage, no token metric"
    );
}

#[tokio::test]
async fn slow_first_chunk_is_measured() {
    let t = TestTelemetry::install();
    let _: Vec<Delta> = chat_stream(150).collect().await;
    let s = only(&t, "chat gpt-4o");
    let Some(Value::F64(ttfc)) = a(&s, "gen_ai.response.time_to_first_chunk") else {
        panic!("no ttfc")
    };
    assert!((0.15..0.6).contains(&ttfc), "ttfc {ttfc}");
}

#[test]
fn blocking_iterator() {
    let t = TestTelemetry::install();
    let text: String = chat_blocking().map(|d| d.text).collect();
    assert_eq!(text, "Hello, world!");
    let s = only(&t, "chat blocking");
    assert_eq!(a(&s, "genai_trace.stream.chunks"), Some(Value::I64(5)));
    assert_eq!(a(&s, "gen_ai.usage.output_tokens"), Some(Value::I64(4)));
    drop(t);
    let t = TestTelemetry::install();
    let mut it = chat_blocking();
    it.next();
    drop(it);
    assert_eq!(
        a(&only(&t, "chat blocking"), "genai_trace.cancelled"),
        Some(Value::Bool(true))
    );
}

#[genai_span(kind = "invoke_agent", attrs(gen_ai.agent.name = "agent"))]
async fn agent(n: usize) -> usize {
    let mut total = 0;
    let mut s = Box::pin(chat_stream(0));
    while let Some(c) = s.next().await {
        total += c.text.len();
        tool(n); // runs inside the stream consumer, under the agent
    }
    total
}

#[genai_span(kind = "execute_tool")]
fn tool(_n: usize) {}

#[genai_span(kind = "rag.inside")]
fn inside_poll() {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interleaved_streams_keep_their_own_attributes_and_parents() {
    let t = TestTelemetry::install();
    // Interleaved on one task.
    let mut a1 = Box::pin(chat_stream(0));
    let mut b1 = chat_boxed();
    while let (Some(_), Some(_)) = (a1.next().await, b1.next().await) {}
    drop((a1, b1));
    // Across threads.
    let handles: Vec<_> = (0..4).map(|i| tokio::spawn(agent(i))).collect();
    for h in handles {
        assert_eq!(h.await.unwrap(), 13);
    }
    let spans = t.spans();
    let agents: Vec<_> = spans.iter().filter(|s| s.name == "invoke_agent agent").collect();
    assert_eq!(agents.len(), 4);
    for ag in &agents {
        let chats: Vec<_> = spans
            .iter()
            .filter(|s| s.name == "chat gpt-4o" && s.parent_span_id == ag.span_context.span_id())
            .collect();
        assert_eq!(chats.len(), 1, "one chat per agent, under it");
        assert_eq!(a(chats[0], "genai_trace.stream.chunks"), Some(Value::I64(5)));
        let tools = spans
            .iter()
            .filter(|s| s.name == "execute_tool tool" && s.parent_span_id == ag.span_context.span_id());
        assert_eq!(tools.count(), 5);
    }
    let boxed = only(&t, "chat boxed");
    assert_eq!(a(&boxed, "gen_ai.request.model"), Some("boxed".into()));
}

#[genai_span(kind = "chat", model = "nested")]
fn chat_with_work_inside() -> impl Stream<Item = u32> {
    stream::iter(0..3).map(|i| {
        inside_poll();
        i
    })
}

#[tokio::test]
async fn code_run_while_polling_nests_under_the_stream_span() {
    let t = TestTelemetry::install();
    let _: Vec<u32> = chat_with_work_inside().collect().await;
    let chat = only(&t, "chat nested");
    let inner: Vec<_> = t.spans().into_iter().filter(|s| s.name == "rag.inside").collect();
    assert_eq!(inner.len(), 3);
    assert!(inner.iter().all(|s| s.parent_span_id == chat.span_context.span_id()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_in_one_task_consumed_in_another() {
    let t = TestTelemetry::install();
    let s = tokio::spawn(async { chat_stream(0) }).await.unwrap();
    let n = tokio::spawn(async move { s.count().await }).await.unwrap();
    assert_eq!(n, 5);
    let s = only(&t, "chat gpt-4o");
    assert_eq!(a(&s, "genai_trace.stream.chunks"), Some(Value::I64(5)));
}

#[tokio::test]
async fn by_hand_with_span_options() {
    let t = TestTelemetry::install();
    let s = genai_trace::span("chat manual")
        .kind(opentelemetry::trace::SpanKind::Client)
        .instrument_stream(model_stream(chunks(), Duration::ZERO));
    let _: Vec<Delta> = s.collect().await;
    let s = only(&t, "chat manual");
    assert_eq!(a(&s, "gen_ai.request.stream"), Some(Value::Bool(true)));
    assert_eq!(a(&s, "gen_ai.usage.input_tokens"), Some(Value::I64(12)));
}

#[tokio::test]
async fn off_means_untouched() {
    // Not installed: the wrapper passes items through.
    let items: Vec<Delta> = chat_stream(0).collect().await;
    assert_eq!(items.len(), 5);
}

/// A streamed tool-call piece: (index, id and name on the first piece, arguments).
struct CallPiece(u32, Option<String>, &'static str);

impl RecordChunk for CallPiece {
    fn record_chunk(&self, c: &mut ChunkRecorder<'_>) {
        let name = self.1.as_ref().map(|_| "lookup");
        c.tool_call_delta(self.0, self.1.as_deref(), name, self.2);
    }
}

#[genai_span(kind = "chat", model = "m")]
fn chat_tool_pieces(pieces: Vec<CallPiece>) -> impl Iterator<Item = CallPiece> {
    pieces.into_iter()
}

/// Tool calls streamed in pieces become `tool_call` parts, in index order;
/// a stream of ever new calls keeps at most 128 of them and says it was cut.
#[test]
fn streamed_tool_calls_are_assembled_and_bounded() {
    let t = TestTelemetry::install_with(|b| b.content_capture(ContentCapture::SpanOnly));
    let pieces = vec![
        CallPiece(1, Some("call_b".into()), "{\"q\":"),
        CallPiece(0, Some("call_a".into()), "{\"q\":1}"),
        CallPiece(1, None, "2}"),
    ];
    assert_eq!(chat_tool_pieces(pieces).count(), 3);
    let span = only(&t, "chat m");
    let output: serde_json::Value =
        serde_json::from_str(&a(&span, "gen_ai.output.messages").unwrap().as_str()).unwrap();
    assert_eq!(
        output[0]["parts"],
        serde_json::json!([
            {"type": "tool_call", "id": "call_a", "name": "lookup", "arguments": {"q": 1}},
            {"type": "tool_call", "id": "call_b", "name": "lookup", "arguments": {"q": 2}},
        ])
    );
    drop(t);

    let t = TestTelemetry::install_with(|b| b.content_capture(ContentCapture::SpanOnly));
    let many: Vec<CallPiece> = (0..1000).map(|i| CallPiece(i, Some(format!("c{i}")), "")).collect();
    assert_eq!(chat_tool_pieces(many).count(), 1000);
    let span = only(&t, "chat m");
    let output: serde_json::Value =
        serde_json::from_str(&a(&span, "gen_ai.output.messages").unwrap().as_str()).unwrap();
    assert_eq!(output[0]["parts"].as_array().unwrap().len(), 128);
    assert_eq!(a(&span, "genai_trace.content.truncated"), Some(Value::Bool(true)));
}
