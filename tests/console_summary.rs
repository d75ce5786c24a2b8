//! The console's end-of-run summary: dropping the guard prints, after the span
//! trees, a table of the run's GenAI calls per operation and model.
#![cfg(all(feature = "console", feature = "testing"))]

use std::time::Duration;

use genai_trace::testing::{SharedBuffer, exclusive};
use genai_trace::{
    ChunkRecorder, ConsoleExporter, RecordChunk, RecordResponse, Recorder, Telemetry, Usage, genai_span,
};

struct Reply;

impl RecordResponse for Reply {
    fn record_response(&self, r: &mut Recorder<'_>) {
        r.usage(Usage {
            input_tokens: Some(10),
            output_tokens: Some(20),
            ..Usage::default()
        });
    }
}

#[genai_span(kind = "chat", provider = "openai", model = model)]
fn chat(model: &str, fail: bool) -> Result<Reply, std::io::Error> {
    let _ = model;
    if fail {
        Err(std::io::Error::other("rate limited"))
    } else {
        Ok(Reply)
    }
}

struct Delta(&'static str);

impl RecordChunk for Delta {
    fn record_chunk(&self, c: &mut ChunkRecorder<'_>) {
        c.text_delta(self.0);
    }
}

/// A streamed reply whose first chunk takes `first` to come.
#[genai_span(kind = "chat", provider = "openai", model = "gpt-4o-mini")]
fn chat_stream(first: Duration) -> impl Iterator<Item = Delta> {
    let mut n = 0;
    std::iter::from_fn(move || {
        n += 1;
        if n == 1 {
            std::thread::sleep(first);
        }
        (n <= 3).then_some(Delta("x"))
    })
}

#[genai_span(kind = "execute_tool", name = "search")]
fn search() -> usize {
    3
}

fn console(buf: &SharedBuffer, console: ConsoleExporter) -> genai_trace::TelemetryGuard {
    Telemetry::builder()
        .env_lookup(|_| None)
        .with_console_exporter(console.writer(buf.clone()))
        .install()
        .unwrap()
}

/// The summary's rows, each split on runs of two or more spaces.
fn rows(text: &str) -> Vec<Vec<String>> {
    let table = text.split("genai-trace summary:").nth(1).expect("a summary");
    table
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

#[test]
fn dropping_the_guard_prints_what_the_run_did() {
    let _serial = exclusive();
    let buf = SharedBuffer::default();
    let guard = console(&buf, ConsoleExporter::tree());
    for i in 0..4 {
        let _ = chat("gpt-4o", i == 3);
    }
    for _ in 0..2 {
        assert_eq!(chat_stream(Duration::from_millis(30)).count(), 3);
    }
    search();
    assert!(!buf.text().contains("genai-trace summary"), "printed only at the end");
    drop(guard);
    let text = buf.text();
    // After the trees, once.
    assert_eq!(text.matches("genai-trace summary:").count(), 1, "{text}");
    assert!(text.find("chat gpt-4o").unwrap() < text.find("genai-trace summary:").unwrap());
    assert!(
        text.contains("genai-trace summary: 7 GenAI calls, 1 error, 30 tokens in, 60 tokens out\n"),
        "{text}"
    );
    let rows = rows(&text);
    assert_eq!(
        rows[0],
        [
            "operation",
            "model / name",
            "calls",
            "errors",
            "tokens in",
            "tokens out",
            "p50",
            "p95",
            "ttfc p50",
            "ttfc p95"
        ]
    );
    // Busiest first.
    assert_eq!(rows[1][..6], ["chat", "gpt-4o", "4", "1", "30", "60"], "{text}");
    assert_eq!(rows[1][8..], ["-", "-"], "no stream, no first chunk: {text}");
    assert_eq!(rows[2][..6], ["chat", "gpt-4o-mini", "2", "0", "-", "-"], "{text}");
    assert_eq!(rows[3][..6], ["execute_tool", "search", "1", "0", "-", "-"], "{text}");
    // The streamed calls waited 30 ms for their first chunk, and took longer.
    for cell in &rows[2][6..] {
        let ms: f64 = cell
            .strip_suffix(" ms")
            .unwrap_or_else(|| panic!("{cell} in ms: {text}"))
            .parse()
            .unwrap();
        assert!((30.0..1000.0).contains(&ms), "{cell}: {text}");
    }
    assert_eq!(rows.len(), 4, "{text}");
}

#[test]
fn off_when_asked_off_for_json_lines_and_silent_without_genai_calls() {
    let _serial = exclusive();
    for (exporter, calls) in [
        (ConsoleExporter::tree().summary(false), true),
        (ConsoleExporter::json_lines(), true),
        (ConsoleExporter::tree(), false),
    ] {
        let buf = SharedBuffer::default();
        let guard = console(&buf, exporter);
        if calls {
            let _ = chat("gpt-4o", false);
        }
        drop(guard);
        assert!(!buf.text().contains("genai-trace summary"), "{}", buf.text());
    }
    let buf = SharedBuffer::default();
    let guard = console(&buf, ConsoleExporter::json_lines().summary(true));
    let _ = chat("gpt-4o", false);
    drop(guard);
    assert!(
        buf.text().contains("genai-trace summary: 1 GenAI call, 0 errors"),
        "{}",
        buf.text()
    );
}

#[test]
fn a_sampled_run_says_its_summary_is_partial() {
    let _serial = exclusive();
    let buf = SharedBuffer::default();
    let guard = Telemetry::builder()
        .env_lookup(|_| None)
        .sampling_ratio(0.5)
        .with_console_exporter(ConsoleExporter::tree().writer(buf.clone()))
        .install()
        .unwrap();
    for _ in 0..40 {
        let _ = chat("gpt-4o", false);
    }
    drop(guard);
    assert!(
        buf.text().contains("tokens out (sampled spans only)\n"),
        "{}",
        buf.text()
    );
}
