//! The console's end-of-run summary: what the GenAI calls of a run did, per
//! operation and model, printed when the guard is dropped.
//!
//! It is computed from the spans the console exporter receives (on the export
//! thread, never on the program's), so it covers recorded spans: with a ratio
//! sampler it shows the sampled calls, which the header says. Memory is bounded:
//! at most [`MAX_ROWS`] rows, and per row at most [`MAX_SAMPLES`] durations
//! kept by reservoir sampling for the percentiles (exact below that).

use std::collections::HashMap;
use std::fmt::Write as _;

use opentelemetry::Value;
use opentelemetry::trace::Status;
use opentelemetry_sdk::trace::SpanData;

use crate::genai::semconv as sc;

/// Rows (operation, model) kept apart; the rest are summed in one `other` row.
pub(crate) const MAX_ROWS: usize = 64;
/// Durations kept per row for the percentiles.
pub(crate) const MAX_SAMPLES: usize = 4096;

/// Durations of one row: every one up to [`MAX_SAMPLES`], then a uniform sample.
#[derive(Debug, Default)]
struct Reservoir {
    seen: u64,
    kept: Vec<f64>,
    rng: u64,
}

impl Reservoir {
    fn add(&mut self, seconds: f64) {
        self.seen += 1;
        if self.kept.len() < MAX_SAMPLES {
            self.kept.push(seconds);
            return;
        }
        // Algorithm R with xorshift64: each of the `seen` values stays with
        // probability MAX_SAMPLES / seen.
        if self.rng == 0 {
            self.rng = 0x9E37_79B9_7F4A_7C15;
        }
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let slot = self.rng % self.seen;
        if let Some(v) = self.kept.get_mut(slot as usize) {
            *v = seconds;
        }
    }

    /// The nearest-rank percentile `p` (0–100), `None` with no values.
    fn percentile(&self, p: f64) -> Option<f64> {
        if self.kept.is_empty() {
            return None;
        }
        let mut sorted = self.kept.clone();
        sorted.sort_by(f64::total_cmp);
        let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
        sorted.get(rank - 1).copied()
    }
}

#[derive(Debug, Default)]
struct Row {
    calls: u64,
    errors: u64,
    input_tokens: Option<i64>,
    output_tokens: Option<i64>,
    duration: Reservoir,
    first_chunk: Reservoir,
}

/// What the run's GenAI spans did, per (operation, model or name).
#[derive(Debug, Default)]
pub(crate) struct RunSummary {
    rows: HashMap<(String, String), Row>,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.as_str().to_owned(),
        other => other.to_string(),
    }
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::I64(n) => Some(*n),
        Value::F64(f) => Some(*f as i64),
        _ => None,
    }
}

impl RunSummary {
    /// Counts `span` when it is a GenAI span (it has `gen_ai.operation.name`).
    pub(crate) fn add(&mut self, span: &SpanData) {
        let mut operation = None;
        let (mut request_model, mut response_model, mut name) = (None, None, None);
        let (mut input, mut output, mut first_chunk, mut error) = (None, None, None, false);
        for kv in &span.attributes {
            match kv.key.as_str() {
                sc::GEN_AI_OPERATION_NAME => operation = Some(text(&kv.value)),
                sc::GEN_AI_REQUEST_MODEL => request_model = Some(text(&kv.value)),
                sc::GEN_AI_RESPONSE_MODEL => response_model = Some(text(&kv.value)),
                sc::GEN_AI_TOOL_NAME | sc::GEN_AI_AGENT_NAME | sc::GEN_AI_WORKFLOW_NAME | sc::GEN_AI_DATA_SOURCE_ID => {
                    name = Some(text(&kv.value));
                }
                sc::GEN_AI_USAGE_INPUT_TOKENS => input = int(&kv.value),
                sc::GEN_AI_USAGE_OUTPUT_TOKENS => output = int(&kv.value),
                sc::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK => {
                    if let Value::F64(s) = kv.value {
                        first_chunk = Some(s);
                    }
                }
                sc::ERROR_TYPE => error = true,
                _ => {}
            }
        }
        let Some(operation) = operation else { return };
        let model = request_model
            .or(response_model)
            .or(name)
            .unwrap_or_else(|| "-".to_owned());
        let mut key = (operation, model);
        if !self.rows.contains_key(&key) && self.rows.len() >= MAX_ROWS {
            key = ("other".to_owned(), "-".to_owned());
        }
        let row = self.rows.entry(key).or_default();
        row.calls += 1;
        if error || matches!(span.status, Status::Error { .. }) {
            row.errors += 1;
        }
        if let Some(n) = input {
            *row.input_tokens.get_or_insert(0) += n;
        }
        if let Some(n) = output {
            *row.output_tokens.get_or_insert(0) += n;
        }
        let took = span.end_time.duration_since(span.start_time).unwrap_or_default();
        row.duration.add(took.as_secs_f64());
        if let Some(s) = first_chunk {
            row.first_chunk.add(s);
        }
    }

    /// The table, or `None` when no GenAI span was seen. `sampled` says the
    /// run's sampler may have left calls out.
    pub(crate) fn render(&self, sampled: bool) -> Option<String> {
        if self.rows.is_empty() {
            return None;
        }
        let mut rows: Vec<(&(String, String), &Row)> = self.rows.iter().collect();
        rows.sort_by(|a, b| b.1.calls.cmp(&a.1.calls).then_with(|| a.0.cmp(b.0)));
        let header = [
            "operation",
            "model / name",
            "calls",
            "errors",
            "tokens in",
            "tokens out",
            "p50",
            "p95",
            "ttfc p50",
            "ttfc p95",
        ];
        let mut table: Vec<[String; 10]> = vec![header.map(str::to_owned)];
        let (mut calls, mut errors, mut input, mut output) = (0, 0, 0, 0);
        for ((operation, model), r) in &rows {
            calls += r.calls;
            errors += r.errors;
            input += r.input_tokens.unwrap_or(0);
            output += r.output_tokens.unwrap_or(0);
            table.push([
                operation.clone(),
                model.clone(),
                r.calls.to_string(),
                r.errors.to_string(),
                r.input_tokens.map_or_else(|| "-".into(), |n| n.to_string()),
                r.output_tokens.map_or_else(|| "-".into(), |n| n.to_string()),
                seconds(r.duration.percentile(50.0)),
                seconds(r.duration.percentile(95.0)),
                seconds(r.first_chunk.percentile(50.0)),
                seconds(r.first_chunk.percentile(95.0)),
            ]);
        }
        let widths: Vec<usize> = (0..10)
            .map(|c| table.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = format!(
            "\ngenai-trace summary: {calls} GenAI call{}, {errors} error{}, {input} tokens in, {output} tokens out{}\n",
            if calls == 1 { "" } else { "s" },
            if errors == 1 { "" } else { "s" },
            if sampled { " (sampled spans only)" } else { "" },
        );
        for row in &table {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                // Names left-aligned, numbers right-aligned.
                if c < 2 {
                    let _ = write!(line, "{cell:<w$}  ", w = widths[c]);
                } else {
                    let _ = write!(line, "{cell:>w$}  ", w = widths[c]);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        Some(out)
    }
}

/// `840 µs`, `12.3 ms`, `1.52 s`; `-` for nothing.
fn seconds(s: Option<f64>) -> String {
    match s {
        None => "-".to_owned(),
        Some(s) if s < 1e-3 => format!("{:.0} µs", s * 1e6),
        Some(s) if s < 1.0 => format!("{:.1} ms", s * 1e3),
        Some(s) => format!("{s:.2} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut r = Reservoir::default();
        for i in 1..=100 {
            r.add(f64::from(i));
        }
        assert_eq!(r.percentile(50.0), Some(50.0));
        assert_eq!(r.percentile(95.0), Some(95.0));
        assert_eq!(Reservoir::default().percentile(50.0), None);
    }

    #[test]
    fn the_reservoir_stays_bounded_and_representative() {
        let mut r = Reservoir::default();
        for i in 0..100_000 {
            r.add(f64::from(i));
        }
        assert_eq!(r.kept.len(), MAX_SAMPLES);
        assert_eq!(r.seen, 100_000);
        let p50 = r.percentile(50.0).unwrap();
        assert!((45_000.0..55_000.0).contains(&p50), "{p50}");
    }

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(seconds(Some(0.000_84)), "840 µs");
        assert_eq!(seconds(Some(0.0123)), "12.3 ms");
        assert_eq!(seconds(Some(1.523)), "1.52 s");
        assert_eq!(seconds(None), "-");
    }
}
