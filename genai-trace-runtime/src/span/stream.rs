//! Streamed responses: keep the span open until the stream ends, yields an
//! error item, or is dropped — and end it exactly once, with time to first
//! chunk, chunk count, usage, finish reasons and (gated) output.
//!
//! `#[genai_span]` wraps functions that return streams or iterators; by hand,
//! use [`SpanOptions::instrument_stream`](crate::SpanOptions::instrument_stream).

use std::fmt;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::{Instant, SystemTime};

use futures_core::Stream;
use serde_json::Value as Json;

use crate::base::diag;
use crate::genai::message::{Message, Part, Usage};
use crate::genai::semconv as sc;
use crate::span::guard::{SpanGuard, StreamSummary};

/// A streamed chunk (delta) that records what it carries.
///
/// ```
/// use genai_trace_runtime::{ChunkRecorder, RecordChunk, Usage};
/// struct Delta { text: String, finish: Option<String>, usage: Option<(i64, i64)> }
/// impl RecordChunk for Delta {
///     fn record_chunk(&self, c: &mut ChunkRecorder<'_>) {
///         c.text_delta(&self.text);
///         if let Some(f) = &self.finish { c.finish_reason(f); }
///         if let Some((i, o)) = self.usage {
///             c.usage(Usage { input_tokens: Some(i), output_tokens: Some(o), ..Usage::default() });
///         }
///     }
/// }
/// ```
pub trait RecordChunk {
    /// Writes what this chunk carries to `c`.
    fn record_chunk(&self, c: &mut ChunkRecorder<'_>);
}

impl<T: RecordChunk + ?Sized> RecordChunk for &T {
    fn record_chunk(&self, c: &mut ChunkRecorder<'_>) {
        (**self).record_chunk(c);
    }
}
impl<T: RecordChunk + ?Sized> RecordChunk for Box<T> {
    fn record_chunk(&self, c: &mut ChunkRecorder<'_>) {
        (**self).record_chunk(c);
    }
}

/// What a stream accumulated so far.
#[derive(Debug, Default)]
struct Accumulated {
    text: String,
    text_truncated: bool,
    usage: Usage,
    finish_reasons: Vec<String>,
    response_id: Option<String>,
    response_model: Option<String>,
    error: Option<(String, String, String)>,
    /// Tool calls assembled from their deltas (content capture only), in index order.
    tool_calls: Vec<ToolCallDeltas>,
    /// Set by the current item's recorder: it carried no output.
    not_a_chunk: bool,
    /// Set by an item that ends the stream's content (OpenAI's `[DONE]`).
    ended: bool,
    /// Other attributes the chunks carried (one value per key, the last wins).
    attributes: Vec<opentelemetry::KeyValue>,
}

/// The most tool calls one stream's output message keeps.
const MAX_TOOL_CALLS: usize = 128;

/// One tool call as its deltas arrive: id and name once, arguments in pieces.
#[derive(Debug, Default)]
struct ToolCallDeltas {
    index: u32,
    id: Option<String>,
    name: String,
    arguments: String,
}

/// Where chunks write: text deltas (kept only when content is captured, up to
/// the content limit), usage (deltas or a final total), finish reasons, ids.
pub struct ChunkRecorder<'a> {
    acc: &'a mut Accumulated,
    capture: bool,
    max_bytes: usize,
}

impl fmt::Debug for ChunkRecorder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkRecorder").field("capture", &self.capture).finish()
    }
}

fn add(a: &mut Option<i64>, b: Option<i64>) {
    if let Some(b) = b {
        *a = Some(a.unwrap_or(0) + b);
    }
}

impl ChunkRecorder<'_> {
    /// `true` when content is captured.
    pub fn captures_content(&self) -> bool {
        self.capture
    }
    /// Appends generated text (kept only with content capture on).
    pub fn text_delta(&mut self, text: &str) {
        if !self.capture || self.acc.text_truncated {
            return;
        }
        let room = self.max_bytes.saturating_sub(self.acc.text.len());
        if text.len() <= room {
            self.acc.text.push_str(text);
        } else {
            let mut end = room;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            self.acc.text.push_str(&text[..end]);
            self.acc.text_truncated = true;
        }
    }
    /// A usage total (as in a final usage chunk): the fields that are set replace earlier ones.
    pub fn usage(&mut self, u: Usage) {
        self.acc.usage.update(&u);
    }
    /// Usage of this chunk alone: added to what came before.
    pub fn usage_delta(&mut self, u: Usage) {
        let a = &mut self.acc.usage;
        add(&mut a.input_tokens, u.input_tokens);
        add(&mut a.output_tokens, u.output_tokens);
        add(&mut a.cache_read_input_tokens, u.cache_read_input_tokens);
        add(&mut a.cache_creation_input_tokens, u.cache_creation_input_tokens);
        add(&mut a.reasoning_output_tokens, u.reasoning_output_tokens);
    }
    /// A finish reason (one per choice).
    pub fn finish_reason(&mut self, reason: &str) {
        self.acc.finish_reasons.push(reason.to_owned());
    }
    /// `gen_ai.response.id`
    pub fn response_id(&mut self, id: &str) {
        if self.acc.response_id.is_none() {
            self.acc.response_id = Some(id.to_owned());
        }
    }
    /// `gen_ai.response.model`
    pub fn response_model(&mut self, model: &str) {
        if self.acc.response_model.is_none() {
            self.acc.response_model = Some(model.to_owned());
        }
    }
    /// A piece of tool call number `index` (as OpenAI-style streams send them:
    /// the id and name first, then the JSON arguments in fragments). Kept only
    /// with content capture on, within the content limit; the assembled calls
    /// become `tool_call` parts of the output message.
    pub fn tool_call_delta(&mut self, index: u32, id: Option<&str>, name: Option<&str>, arguments: &str) {
        if !self.capture || self.acc.text_truncated {
            return;
        }
        let held: usize = self.acc.text.len()
            + self
                .acc
                .tool_calls
                .iter()
                .map(|c| c.arguments.len() + c.name.len())
                .sum::<usize>();
        // Bounded in bytes (the content limit) and in count: a stream of empty
        // deltas with ever new indexes cannot grow the list without end.
        let new_call = !self.acc.tool_calls.iter().any(|c| c.index == index);
        if held + arguments.len() + name.map_or(0, str::len) > self.max_bytes
            || (new_call && self.acc.tool_calls.len() >= MAX_TOOL_CALLS)
        {
            self.acc.text_truncated = true;
            return;
        }
        let calls = &mut self.acc.tool_calls;
        let i = calls.iter().position(|c| c.index == index).unwrap_or_else(|| {
            calls.push(ToolCallDeltas {
                index,
                ..ToolCallDeltas::default()
            });
            calls.len() - 1
        });
        let call = &mut calls[i];
        if let Some(id) = id
            && call.id.is_none()
        {
            call.id = Some(id.to_owned());
        }
        if let Some(name) = name {
            call.name.push_str(name);
        }
        call.arguments.push_str(arguments);
    }
    /// Any other attribute a chunk carries (`openai.response.system_fingerprint`,
    /// say): set on the span when the stream ends; a later value replaces an
    /// earlier one of the same key.
    pub fn attribute(&mut self, key: impl Into<opentelemetry::Key>, value: impl Into<opentelemetry::Value>) {
        let kv = opentelemetry::KeyValue::new(key, value);
        match self.acc.attributes.iter_mut().find(|a| a.key == kv.key) {
            Some(a) => *a = kv,
            None => self.acc.attributes.push(kv),
        }
    }
    /// This item carried no output (a keep-alive, a lifecycle event such as
    /// the Responses API's `response.created`): it is not counted as a chunk and
    /// does not set the time to first chunk. What it recorded still counts.
    pub fn not_a_chunk(&mut self) {
        self.acc.not_a_chunk = true;
    }
    /// This item ends the stream (OpenAI's `data: [DONE]`, the Responses API's
    /// `response.completed`): the span ends here, as if the stream were
    /// exhausted, even when the consumer drops the stream right after.
    pub fn end_of_stream(&mut self) {
        self.acc.ended = true;
    }
    /// An error item: the stream's span ends with this error.
    pub fn error(&mut self, error_type: &str, exception_type: &str, message: &str) {
        if self.acc.error.is_none() {
            self.acc.error = Some((error_type.to_owned(), exception_type.to_owned(), message.to_owned()));
        }
    }
}

/// How each item is recorded: chosen where the item type is concrete (the
/// macro expansion), so any item type compiles.
pub type ChunkFn<T> = fn(&T, &mut ChunkRecorder<'_>);

/// Per-stream recording state; present only while the span is active.
struct StreamState {
    guard: SpanGuard,
    acc: Accumulated,
    chunks: u64,
    first: Option<SystemTime>,
    capture: bool,
    max_bytes: usize,
    /// Chunk timing for `gen_ai.client.operation.time_per_output_chunk`, when
    /// the call records GenAI metrics.
    gaps: Option<ChunkGaps>,
}

/// The time between consecutive chunks, one value per chunk after the first,
/// recorded to the histogram when the stream ends (or every
/// [`ChunkGaps::PENDING`] gaps, so a long stream holds bounded memory).
struct ChunkGaps {
    previous: Option<Instant>,
    pending: Vec<f64>,
}

impl ChunkGaps {
    const PENDING: usize = 1024;

    #[inline]
    fn on_chunk(&mut self, guard: &SpanGuard) {
        let now = Instant::now();
        if let Some(previous) = self.previous.replace(now) {
            self.pending.push(now.duration_since(previous).as_secs_f64());
            if self.pending.len() >= Self::PENDING {
                guard.record_chunk_gaps(&self.pending);
                self.pending.clear();
            }
        }
    }
}

impl StreamState {
    fn new(guard: SpanGuard) -> Option<Box<Self>> {
        if !guard.is_active() {
            return None;
        }
        let (capture, max_bytes) = guard.content_limits();
        Some(Box::new(Self {
            acc: Accumulated::default(),
            chunks: 0,
            first: None,
            capture,
            max_bytes,
            gaps: guard.times_chunks().then(|| ChunkGaps {
                previous: None,
                pending: Vec::new(),
            }),
            guard,
        }))
    }

    #[inline]
    fn on_item<T>(&mut self, item: &T, record: ChunkFn<T>) -> bool {
        // The clock is read until the first chunk only (a read per chunk cost
        // ~20 ns in benches/stream_overhead.rs); before the recorder runs, so
        // its time is not the chunk's.
        let arrived = self.first.is_none().then(SystemTime::now);
        let mut recorder = ChunkRecorder {
            acc: &mut self.acc,
            capture: self.capture,
            max_bytes: self.max_bytes,
        };
        diag::guarded("a stream chunk's recorder", || record(item, &mut recorder));
        if std::mem::take(&mut self.acc.not_a_chunk) {
            return self.acc.error.is_some() || self.acc.ended;
        }
        if self.first.is_none() {
            self.first = arrived;
        }
        if let Some(gaps) = &mut self.gaps {
            gaps.on_chunk(&self.guard);
        }
        self.chunks += 1;
        self.acc.error.is_some() || self.acc.ended
    }

    /// Records the summary and ends the span. `normal`: exhausted (or failed);
    /// otherwise dropped early, which ends the span as cancelled.
    fn finish(mut self: Box<Self>, normal: bool) {
        let mut acc = std::mem::take(&mut self.acc);
        let text = std::mem::take(&mut acc.text);
        let abnormal = !normal || acc.error.is_some();
        let summary = StreamSummary {
            chunks: self.chunks,
            first: self.first,
        };
        let Self { mut guard, gaps, .. } = *self;
        guard.stream_finished(&summary);
        if let Some(gaps) = gaps
            && !gaps.pending.is_empty()
        {
            guard.record_chunk_gaps(&gaps.pending);
        }
        let mut finish_reasons = acc.finish_reasons;
        if abnormal && finish_reasons.is_empty() {
            finish_reasons.push(sc::FINISH_REASON_ERROR.to_owned());
        }
        guard.record_response(|r| {
            if let Some(id) = &acc.response_id {
                r.response_id(id);
            }
            if let Some(m) = &acc.response_model {
                r.response_model(m);
            }
            if !finish_reasons.is_empty() {
                r.finish_reasons(&finish_reasons);
            }
            if acc.usage != Usage::default() {
                r.usage(acc.usage);
            }
            for kv in acc.attributes.drain(..) {
                r.attribute(kv.key, kv.value);
            }
            if r.captures_content() && (!text.is_empty() || !acc.tool_calls.is_empty()) {
                let mut m = Message::assistant(text);
                if m.parts
                    .first()
                    .is_some_and(|p| matches!(p, Part::Text(t) if t.is_empty()))
                {
                    m.parts.clear();
                }
                acc.tool_calls.sort_by_key(|c| c.index);
                for call in acc.tool_calls.drain(..) {
                    let arguments = serde_json::from_str(&call.arguments).unwrap_or(Json::String(call.arguments));
                    m = m.part(Part::ToolCall {
                        id: call.id,
                        name: call.name,
                        arguments,
                    });
                }
                if let Some(f) = finish_reasons.first() {
                    m = m.finish_reason(f.clone());
                }
                r.output_messages(&[m]);
            }
        });
        if acc.text_truncated {
            guard.set_attribute(opentelemetry::KeyValue::new(sc::GENAI_TRACE_CONTENT_TRUNCATED, true));
        }
        if let Some((error_type, exception_type, message)) = &acc.error {
            guard.record_error(error_type, exception_type, message);
        }
        if normal {
            guard.end();
        }
        // else: dropped here, the guard ends the span marked cancelled.
    }
}

/// Records one produced item (`None`: the end); finishes the span at the end or
/// at an error item. Shared by the stream and the iterator wrapper.
#[inline]
fn observe<T>(state: &mut Option<Box<StreamState>>, item: Option<&T>, record: ChunkFn<T>) {
    let Some(s) = state.as_deref_mut() else { return };
    let done = match item {
        Some(i) => s.on_item(i, record),
        None => true,
    };
    if done && let Some(s) = state.take() {
        s.finish(true);
    }
}

pin_project_lite::pin_project! {
    /// A stream whose items are recorded in the span of the call that made it.
    /// The span's context is attached during each `poll_next`.
    pub struct InstrumentedStream<S>
    where
        S: Stream,
    {
        #[pin]
        inner: S,
        state: Option<Box<StreamState>>,
        record: ChunkFn<S::Item>,
    }

    impl<S> PinnedDrop for InstrumentedStream<S>
    where
        S: Stream,
    {
        fn drop(this: Pin<&mut Self>) {
            if let Some(state) = this.project().state.take() {
                state.finish(false);
            }
        }
    }
}

impl<S: Stream> InstrumentedStream<S> {
    /// Wraps `inner`; the span of `guard` ends when the stream does.
    pub fn new(inner: S, guard: SpanGuard, record: ChunkFn<S::Item>) -> Self {
        Self {
            inner,
            state: StreamState::new(guard),
            record,
        }
    }
}

impl<S: Stream> fmt::Debug for InstrumentedStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstrumentedStream")
            .field("recording", &self.state.is_some())
            .finish_non_exhaustive()
    }
}

impl<S: Stream> Stream for InstrumentedStream<S> {
    type Item = S::Item;

    #[inline]
    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        let Some(state) = this.state.as_deref() else {
            return this.inner.poll_next(cx);
        };
        let attached = state.guard.attach_context();
        let polled = this.inner.poll_next(cx);
        drop(attached);
        if let Poll::Ready(item) = &polled {
            observe(this.state, item.as_ref(), *this.record);
        }
        polled
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

/// An iterator whose items are recorded like a stream's (the blocking SDK style).
pub struct InstrumentedIter<I: Iterator> {
    inner: I,
    state: Option<Box<StreamState>>,
    record: ChunkFn<I::Item>,
}

impl<I: Iterator> InstrumentedIter<I> {
    /// Wraps `inner`; the span of `guard` ends when the iterator does.
    pub fn new(inner: I, guard: SpanGuard, record: ChunkFn<I::Item>) -> Self {
        Self {
            inner,
            state: StreamState::new(guard),
            record,
        }
    }
}

impl<I: Iterator> fmt::Debug for InstrumentedIter<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstrumentedIter")
            .field("recording", &self.state.is_some())
            .finish_non_exhaustive()
    }
}

impl<I: Iterator> Iterator for InstrumentedIter<I> {
    type Item = I::Item;

    #[inline]
    fn next(&mut self) -> Option<I::Item> {
        let Some(state) = self.state.as_deref() else {
            return self.inner.next();
        };
        let attached = state.guard.attach_context();
        let item = self.inner.next();
        drop(attached);
        observe(&mut self.state, item.as_ref(), self.record);
        item
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<I: Iterator> Drop for InstrumentedIter<I> {
    fn drop(&mut self) {
        if let Some(state) = self.state.take() {
            state.finish(false);
        }
    }
}

/// The chunk function for items that implement [`RecordChunk`].
pub fn record_chunk<T: RecordChunk>(item: &T, c: &mut ChunkRecorder<'_>) {
    item.record_chunk(c);
}

/// The chunk function that only counts items.
pub fn count_chunk<T>(_: &T, _: &mut ChunkRecorder<'_>) {}
