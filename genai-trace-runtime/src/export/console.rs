//! The development console: one readable tree per trace on stderr, or JSON lines.
//!
//! Spans arrive in batches, children before parents, sometimes split over
//! batches. The tree exporter buffers spans per trace and prints a tree when its
//! local root (no parent, or a remote parent) arrives; children that end after
//! their root are printed as `late` lines under the same trace id. Buffering is
//! bounded: past [`MAX_BUFFERED_SPANS`] the oldest trace is printed as it is.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};
use opentelemetry::{Key, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use crate::export::summary::RunSummary;
use crate::genai::semconv;

/// Spans held back waiting for their root, at most.
pub(crate) const MAX_BUFFERED_SPANS: usize = 10_000;
/// Printed span ids remembered to recognise late children.
const REMEMBERED_SPANS: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Tree,
    JsonLines,
}

type Sink = Arc<Mutex<Box<dyn Write + Send>>>;

/// Prints spans for humans (a tree per trace) or tools (JSON lines). Needs the
/// `console` feature (on by default).
///
/// ```
/// use genai_trace_runtime::{ConsoleExporter, Telemetry};
/// let guard = Telemetry::builder()
///     .with_console_exporter(ConsoleExporter::json_lines().writer(std::io::sink()))
///     .install();
/// # drop(guard);
/// ```
pub struct ConsoleExporter {
    format: Format,
    out: Sink,
    color: bool,
    service: Option<String>,
    state: Mutex<TreeState>,
    /// The end-of-run table, when on.
    summary: Option<Mutex<RunSummary>>,
    /// The sampler may leave calls out of the summary (said in its header).
    summary_sampled: bool,
    summary_printed: AtomicBool,
}

impl std::fmt::Debug for ConsoleExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleExporter")
            .field("format", &self.format)
            .field("color", &self.color)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct TreeState {
    pending: HashMap<TraceId, Vec<SpanData>>,
    /// Traces in arrival order, to evict the oldest when the buffer is full.
    order: VecDeque<TraceId>,
    buffered: usize,
    printed: HashSet<SpanId>,
    printed_order: VecDeque<SpanId>,
}

impl ConsoleExporter {
    fn new(format: Format) -> Self {
        let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Self {
            format,
            out: Arc::new(Mutex::new(Box::new(std::io::stderr()))),
            color,
            service: None,
            state: Mutex::new(TreeState::default()),
            summary: (format == Format::Tree).then(Mutex::default),
            summary_sampled: false,
            summary_printed: AtomicBool::new(false),
        }
    }

    /// A span tree per trace on stderr (colours when stderr is a terminal and
    /// `NO_COLOR` is unset), and a summary of the run's GenAI calls when the
    /// guard is dropped (see [`summary`](Self::summary)).
    pub fn tree() -> Self {
        Self::new(Format::Tree)
    }

    /// One JSON object per span and line on stderr.
    pub fn json_lines() -> Self {
        Self::new(Format::JsonLines)
    }

    /// Writes somewhere else than stderr (a file, a buffer in tests). Turns colours off.
    pub fn writer(mut self, w: impl Write + Send + 'static) -> Self {
        self.out = Arc::new(Mutex::new(Box::new(w)));
        self.color = false;
        self
    }

    /// Prints, when the guard is dropped, a table of what the run's GenAI calls
    /// did: calls, errors, tokens in and out, p50/p95 duration and time to first
    /// chunk (ttfc) per operation and model (or tool, agent, data source). On by
    /// default for [`tree`](Self::tree), off for [`json_lines`](Self::json_lines).
    ///
    /// ```text
    /// genai-trace summary: 6 GenAI calls, 1 error, 31 tokens in, 13 tokens out
    /// operation     model / name   calls  errors  tokens in  tokens out       p50       p95  ttfc p50  ttfc p95
    /// chat          gpt-4o             2       0         31          13   40.2 ms   46.6 ms   30.2 ms   30.2 ms
    /// execute_tool  get_weather        2       1          -           -    5.1 ms    5.2 ms         -         -
    /// invoke_agent  trip-planner       1       0          -           -  109.5 ms  109.5 ms         -         -
    /// retrieval     travel-guides      1       0          -           -   12.2 ms   12.2 ms         -         -
    /// ```
    ///
    /// ```
    /// use genai_trace_runtime::{ConsoleExporter, Telemetry};
    /// let guard = Telemetry::builder()
    ///     .with_console_exporter(ConsoleExporter::tree().summary(false))
    ///     .install();
    /// # drop(guard);
    /// ```
    pub fn summary(mut self, on: bool) -> Self {
        self.summary = on.then(Mutex::default);
        self
    }

    /// Says that the sampler may leave calls out (the summary's header tells).
    pub(crate) fn set_sampled(&mut self, sampled: bool) {
        self.summary_sampled = sampled;
    }

    /// Prints the summary, once.
    fn print_summary(&self) {
        let Some(summary) = &self.summary else { return };
        if self.summary_printed.swap(true, Ordering::AcqRel) {
            return;
        }
        let table = summary
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .render(self.summary_sampled);
        if let Some(table) = table {
            self.write(&table);
        }
    }

    /// Forces colours on or off.
    pub fn color(mut self, on: bool) -> Self {
        self.color = on;
        self
    }

    fn write(&self, text: &str) {
        let mut out = self.out.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // A closed stderr must not break the program: console output is best effort.
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    fn export_tree(&self, batch: Vec<SpanData>) {
        let mut text = String::new();
        let mut st = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for span in batch {
            let trace = span.span_context.trace_id();
            if st.printed.contains(&span.parent_span_id) {
                self.late_line(&mut text, &span);
                remember(&mut st, span.span_context.span_id());
                continue;
            }
            let is_root = span.parent_span_id == SpanId::INVALID || span.parent_span_is_remote;
            let span_id = span.span_context.span_id();
            if !st.pending.contains_key(&trace) {
                st.order.push_back(trace);
            }
            st.pending.entry(trace).or_default().push(span);
            st.buffered += 1;
            if is_root {
                self.print_root(&mut text, &mut st, trace, span_id);
            }
        }
        while st.buffered > MAX_BUFFERED_SPANS {
            let Some(oldest) = st.order.front().copied() else { break };
            self.print_whole_trace(&mut text, &mut st, oldest, "incomplete: buffer full");
        }
        drop(st);
        if !text.is_empty() {
            self.write(&text);
        }
    }

    /// Prints `root` and its buffered descendants; other spans of the trace stay.
    fn print_root(&self, text: &mut String, st: &mut TreeState, trace: TraceId, root: SpanId) {
        let Some(spans) = st.pending.remove(&trace) else { return };
        let mut children: HashMap<SpanId, Vec<usize>> = HashMap::new();
        for (i, s) in spans.iter().enumerate() {
            children.entry(s.parent_span_id).or_default().push(i);
        }
        let mut used = vec![false; spans.len()];
        let Some(root_idx) = spans.iter().position(|s| s.span_context.span_id() == root) else {
            return;
        };
        self.header(text, trace, None);
        self.subtree(text, &spans, &children, root_idx, "", None, &mut used);
        let mut rest = Vec::new();
        for (i, s) in spans.into_iter().enumerate() {
            if used[i] {
                st.buffered -= 1;
                remember(st, s.span_context.span_id());
            } else {
                rest.push(s);
            }
        }
        if rest.is_empty() {
            st.order.retain(|t| *t != trace);
        } else {
            st.pending.insert(trace, rest);
        }
    }

    /// Prints every buffered span of `trace`, spans with no buffered parent at the top.
    fn print_whole_trace(&self, text: &mut String, st: &mut TreeState, trace: TraceId, why: &str) {
        st.order.retain(|t| *t != trace);
        let Some(spans) = st.pending.remove(&trace) else { return };
        st.buffered -= spans.len();
        let ids: HashSet<SpanId> = spans.iter().map(|s| s.span_context.span_id()).collect();
        let mut children: HashMap<SpanId, Vec<usize>> = HashMap::new();
        for (i, s) in spans.iter().enumerate() {
            children.entry(s.parent_span_id).or_default().push(i);
        }
        let mut tops: Vec<usize> = (0..spans.len())
            .filter(|&i| !ids.contains(&spans[i].parent_span_id))
            .collect();
        tops.sort_by_key(|&i| spans[i].start_time);
        self.header(text, trace, Some(why));
        let mut used = vec![false; spans.len()];
        for i in tops {
            self.subtree(text, &spans, &children, i, "", None, &mut used);
        }
        for s in &spans {
            remember(st, s.span_context.span_id());
        }
    }

    fn header(&self, text: &mut String, trace: TraceId, note: Option<&str>) {
        let service = self.service.as_deref().unwrap_or("unknown_service");
        let note = note.map(|n| format!(", {n}")).unwrap_or_default();
        let line = format!("trace {trace} ({service}{note})");
        let _ = writeln!(text, "{}", self.paint(&line, "2"));
    }

    #[allow(clippy::too_many_arguments)]
    fn subtree(
        &self,
        text: &mut String,
        spans: &[SpanData],
        children: &HashMap<SpanId, Vec<usize>>,
        i: usize,
        prefix: &str,
        last: Option<bool>,
        used: &mut [bool],
    ) {
        if used[i] {
            return;
        }
        used[i] = true;
        let (branch, child_prefix) = match last {
            None => (String::new(), String::new()),
            Some(true) => (format!("{prefix}└─ "), format!("{prefix}   ")),
            Some(false) => (format!("{prefix}├─ "), format!("{prefix}│  ")),
        };
        let _ = writeln!(text, "{}{}", self.paint(&branch, "2"), self.describe(&spans[i]));
        let mut kids: Vec<usize> = children
            .get(&spans[i].span_context.span_id())
            .cloned()
            .unwrap_or_default();
        kids.sort_by_key(|&k| spans[k].start_time);
        let n = kids.len();
        for (j, k) in kids.into_iter().enumerate() {
            self.subtree(text, spans, children, k, &child_prefix, Some(j + 1 == n), used);
        }
    }

    fn late_line(&self, text: &mut String, span: &SpanData) {
        let line = format!("trace {} late: ", span.span_context.trace_id());
        let _ = writeln!(text, "{}{}", self.paint(&line, "2"), self.describe(span));
    }

    /// `name  [client]  12.3ms  provider=openai tokens=12→40 ✗ error`
    fn describe(&self, s: &SpanData) -> String {
        let mut line = self.paint(&s.name, "1");
        match s.span_kind {
            SpanKind::Internal => {}
            ref k => {
                let _ = write!(line, "  {}", self.paint(&format!("[{}]", kind_name(k)), "36"));
            }
        }
        let _ = write!(line, "  {}", self.paint(&fmt_duration(s.start_time, s.end_time), "33"));
        let attr = |k: &str| s.attributes.iter().find(|kv| kv.key.as_str() == k).map(|kv| &kv.value);
        let mut extras = Vec::new();
        if let Some(v) = attr(semconv::GEN_AI_PROVIDER_NAME) {
            extras.push(format!("provider={v}"));
        }
        if let Some(v) = attr(semconv::GEN_AI_REQUEST_MODEL)
            && !s.name.contains(v.as_str().as_ref())
        {
            extras.push(format!("model={v}"));
        }
        match (
            attr(semconv::GEN_AI_USAGE_INPUT_TOKENS),
            attr(semconv::GEN_AI_USAGE_OUTPUT_TOKENS),
        ) {
            (Some(i), Some(o)) => extras.push(format!("tokens={i}→{o}")),
            (Some(i), None) => extras.push(format!("tokens_in={i}")),
            (None, Some(o)) => extras.push(format!("tokens_out={o}")),
            (None, None) => {}
        }
        if let Some(v) = attr(semconv::GEN_AI_RESPONSE_FINISH_REASONS) {
            extras.push(format!("finish={}", list_text(v)));
        }
        if let Some(Value::F64(secs)) = attr(semconv::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK) {
            let t = std::time::Duration::from_secs_f64(secs.max(0.0));
            extras.push(format!(
                "ttfc={}",
                fmt_duration(SystemTime::UNIX_EPOCH, SystemTime::UNIX_EPOCH + t)
            ));
        }
        if let Some(v) = attr(semconv::GENAI_TRACE_STREAM_CHUNKS) {
            extras.push(format!("chunks={v}"));
        }
        if attr(semconv::GENAI_TRACE_CANCELLED).is_some() {
            extras.push(self.paint("cancelled", "33"));
        }
        if !extras.is_empty() {
            let _ = write!(line, "  {}", extras.join(" "));
        }
        if let Status::Error { description } = &s.status {
            let kind = attr(semconv::ERROR_TYPE).map(|v| format!(" {v}")).unwrap_or_default();
            let desc = if description.is_empty() {
                String::new()
            } else {
                format!(": {description}")
            };
            let _ = write!(line, "  {}", self.paint(&format!("✗ error{kind}{desc}"), "31"));
        }
        line
    }

    fn paint(&self, s: &str, code: &str) -> String {
        if self.color && !s.is_empty() {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }

    fn export_json(&self, batch: Vec<SpanData>) {
        let mut text = String::new();
        for s in batch {
            text.push_str(&span_json(&s, self.service.as_deref()).to_string());
            text.push('\n');
        }
        self.write(&text);
    }

    fn flush_all(&self) {
        let mut text = String::new();
        let mut st = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while let Some(trace) = st.order.front().copied() {
            self.print_whole_trace(&mut text, &mut st, trace, "root not ended");
        }
        drop(st);
        if !text.is_empty() {
            self.write(&text);
        }
    }
}

fn remember(st: &mut TreeState, id: SpanId) {
    if st.printed.insert(id) {
        st.printed_order.push_back(id);
        if st.printed_order.len() > REMEMBERED_SPANS
            && let Some(old) = st.printed_order.pop_front()
        {
            st.printed.remove(&old);
        }
    }
}

fn kind_name(k: &SpanKind) -> &'static str {
    match k {
        SpanKind::Client => "client",
        SpanKind::Server => "server",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
        SpanKind::Internal => "internal",
    }
}

fn list_text(v: &Value) -> String {
    match v {
        Value::Array(opentelemetry::Array::String(items)) => items
            .iter()
            .map(opentelemetry::StringValue::as_str)
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    }
}

/// `850µs`, `12.3ms`, `1.25s`.
pub(crate) fn fmt_duration(start: SystemTime, end: SystemTime) -> String {
    let d = end.duration_since(start).unwrap_or_default();
    let micros = d.as_micros();
    if micros < 1000 {
        format!("{micros}µs")
    } else if micros < 1_000_000 {
        format!("{:.1}ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.2}s", d.as_secs_f64())
    }
}

fn nanos(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn value_json(v: &Value) -> serde_json::Value {
    use opentelemetry::Array;
    match v {
        Value::Bool(b) => (*b).into(),
        Value::I64(i) => (*i).into(),
        Value::F64(f) => serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into),
        Value::String(s) => s.as_str().into(),
        Value::Array(Array::Bool(a)) => a.clone().into(),
        Value::Array(Array::I64(a)) => a.clone().into(),
        Value::Array(Array::F64(a)) => a.iter().map(|f| value_json(&Value::F64(*f))).collect(),
        Value::Array(Array::String(a)) => a.iter().map(|s| serde_json::Value::from(s.as_str())).collect(),
        other => other.to_string().into(),
    }
}

fn attrs_json<'a>(kvs: impl Iterator<Item = (&'a Key, &'a Value)>) -> serde_json::Value {
    serde_json::Value::Object(kvs.map(|(k, v)| (k.as_str().to_owned(), value_json(v))).collect())
}

fn span_json(s: &SpanData, service: Option<&str>) -> serde_json::Value {
    let (code, message) = match &s.status {
        Status::Unset => ("UNSET", ""),
        Status::Ok => ("OK", ""),
        Status::Error { description } => ("ERROR", description.as_ref()),
    };
    let parent = if s.parent_span_id == SpanId::INVALID {
        String::new()
    } else {
        s.parent_span_id.to_string()
    };
    serde_json::json!({
        "trace_id": s.span_context.trace_id().to_string(),
        "span_id": s.span_context.span_id().to_string(),
        "parent_span_id": parent,
        "name": s.name,
        "kind": kind_name(&s.span_kind).to_ascii_uppercase(),
        "service": service,
        "start_time_unix_nano": nanos(s.start_time),
        "end_time_unix_nano": nanos(s.end_time),
        "duration_ms": s.end_time.duration_since(s.start_time).unwrap_or_default().as_secs_f64() * 1e3,
        "status": {"code": code, "message": message},
        "attributes": attrs_json(s.attributes.iter().map(|kv| (&kv.key, &kv.value))),
        "events": s.events.iter().map(|e| serde_json::json!({
            "name": e.name,
            "time_unix_nano": nanos(e.timestamp),
            "attributes": attrs_json(e.attributes.iter().map(|kv| (&kv.key, &kv.value))),
        })).collect::<Vec<_>>(),
    })
}

impl SpanExporter for ConsoleExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if let Some(summary) = &self.summary {
            let mut summary = summary.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            for span in &batch {
                summary.add(span);
            }
        }
        match self.format {
            Format::Tree => self.export_tree(batch),
            Format::JsonLines => self.export_json(batch),
        }
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.flush_all();
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
        self.flush_all();
        self.print_summary();
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.service = resource
            .get(&Key::from_static_str("service.name"))
            .map(|v| v.to_string());
    }
}
