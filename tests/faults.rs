//! Faults: collectors that fail, bad configuration, hostile content. Telemetry
//! must never break the program it observes, and must count what it loses.
#![cfg(all(feature = "testing", feature = "otlp-http"))]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use genai_trace::{OtlpExporter, Telemetry, genai_span};

fn lock() -> std::sync::MutexGuard<'static, ()> {
    genai_trace::testing::exclusive()
}

/// An OTLP/HTTP receiver on loopback that answers every request with `status`
/// (and an empty body), and the number of requests it has read.
fn answering(status: &'static str) -> (u16, Arc<AtomicUsize>) {
    answering_by_path(move |_| status)
}

/// Like [`answering`], with the status chosen by the request's path.
fn answering_by_path(status_for: impl Fn(&str) -> &'static str + Send + Sync + 'static) -> (u16, Arc<AtomicUsize>) {
    let status_for = Arc::new(status_for);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&requests);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let seen = Arc::clone(&seen);
            let status_for = Arc::clone(&status_for);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                // One request per loop: request line, headers, a body of content-length.
                while reader.read_line(&mut line).unwrap_or(0) > 0 {
                    let path = line.split(' ').nth(1).unwrap_or("").to_owned();
                    let mut len = 0;
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let header = line.trim_end().to_ascii_lowercase();
                        if header.is_empty() {
                            break;
                        }
                        if let Some(v) = header.strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; len];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    seen.fetch_add(1, Ordering::SeqCst);
                    let reply = format!("HTTP/1.1 {}\r\ncontent-length: 0\r\n\r\n", status_for(&path));
                    if reader.get_mut().write_all(reply.as_bytes()).is_err() {
                        return;
                    }
                    line.clear();
                }
            });
        }
    });
    (port, requests)
}

/// Counts the panics of every thread while alive (and keeps them off stderr).
struct PanicCounter {
    panics: Arc<AtomicUsize>,
}

impl PanicCounter {
    fn install() -> Self {
        let panics = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&panics);
        std::panic::set_hook(Box::new(move |info| {
            counted.fetch_add(1, Ordering::SeqCst);
            let _ = writeln!(std::io::stderr(), "panic seen by the test: {info}");
        }));
        Self { panics }
    }

    fn count(&self) -> usize {
        self.panics.load(Ordering::SeqCst)
    }
}

impl Drop for PanicCounter {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::panic::take_hook();
        }
    }
}

#[genai_span(kind = "execute_tool", attrs(gen_ai.tool.name = "search"))]
fn tool() {}

#[test]
fn a_retryable_http_failure_is_retried_without_a_panic() {
    let _l = lock();
    let (port, requests) = answering("503 Service Unavailable");
    let panics = PanicCounter::install();
    let guard = Telemetry::builder()
        .env_lookup(|_| None)
        .quiet()
        .with_otlp(
            OtlpExporter::http()
                .endpoint(format!("http://127.0.0.1:{port}"))
                .timeout(Duration::from_secs(5))
                .without_metrics(),
        )
        .install()
        .unwrap();
    tool();
    let flushed = guard.flush();
    let health = genai_trace::health();
    drop(guard);
    assert_eq!(panics.count(), 0, "a 503 must not panic anywhere");
    assert!(flushed.is_err(), "the failure is reported");
    assert!(
        requests.load(Ordering::SeqCst) >= 2,
        "a 503 is retried: {} request(s)",
        requests.load(Ordering::SeqCst)
    );
    assert_eq!(health.spans_failed(), 1, "{health:?}");
}

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + Send + Sync + 'static {
    let map: std::collections::HashMap<String, String> =
        vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    move |k| map.get(k).cloned()
}

/// Installs from `vars` alone (OTLP as the environment says, over `protocol`),
/// and returns the install's outcome and its warnings as text.
fn install_from_env(vars: &[(&str, &str)]) -> (Result<(), String>, Vec<String>) {
    let guard = Telemetry::from_env()
        .env_lookup(env(vars))
        .quiet()
        .shutdown_timeout(Duration::from_millis(500))
        .install();
    let warnings = genai_trace::health().warnings.iter().map(ToString::to_string).collect();
    (guard.map(drop).map_err(|e| e.to_string()), warnings)
}

const VARIABLES: &[&str] = &[
    "OTEL_SDK_DISABLED",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_TRACES_EXPORTER",
    "OTEL_METRICS_EXPORTER",
    "OTEL_LOGS_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_COMPRESSION",
    "OTEL_TRACES_SAMPLER",
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_BSP_EXPORT_TIMEOUT",
    "OTEL_BSP_MAX_CONCURRENT_EXPORTS",
    "OTEL_METRIC_EXPORT_INTERVAL",
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
    "OTEL_SEMCONV_STABILITY_OPT_IN",
];

const GARBAGE: &[&str] = &[
    "",
    "   ",
    "not a number",
    "-1",
    "18446744073709551615",
    "340282366920938463463374607431768211456",
    "http://[::1",
    "http://user:hunter2@[::1",
    "x-api-key=hunter2%0A",
    "bad(name=hunter2",
    "k=hunter2%ZZ",
    "\u{7f}\u{1}=\u{0}",
    "☃,=,,=",
];

#[test]
fn garbage_in_every_otel_variable_never_fails_install_nor_leaks_a_secret() {
    let _l = lock();
    let panics = PanicCounter::install();
    for protocol in ["http/protobuf", "grpc"] {
        for var in VARIABLES {
            for value in GARBAGE {
                let (installed, warnings) =
                    install_from_env(&[(var, value), ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)]);
                assert_eq!(installed, Ok(()), "{var}={value:?} over {protocol}");
                // Secrets: header values, and the password of a URL in any variable.
                // Other bad values are named in their warning on purpose.
                let secret = var.contains("HEADERS") || value.contains("://");
                for w in &warnings {
                    assert!(
                        w.contains(var),
                        "{var}={value:?}: a warning about another variable: {w}"
                    );
                    assert!(
                        !(secret && w.contains("hunter2")),
                        "{var}={value:?}: a secret in a warning: {w}"
                    );
                }
                assert!(warnings.len() <= 2, "{var}={value:?}: {warnings:?}");
            }
        }
    }
    assert_eq!(panics.count(), 0);
}

#[test]
fn bad_header_entries_are_dropped_with_a_warning_over_both_transports() {
    let _l = lock();
    for protocol in ["http/protobuf", "grpc"] {
        for (entry, says) in [
            (
                "x-api-key=abc%0A,x-ok=1",
                "the value of header \"x-api-key\" is not a valid header value",
            ),
            ("bad(name=abc,x-ok=1", "\"bad(name\" is not a valid header name"),
        ] {
            let (installed, warnings) = install_from_env(&[
                ("OTEL_EXPORTER_OTLP_HEADERS", entry),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ]);
            assert_eq!(installed, Ok(()), "{entry} over {protocol}");
            assert_eq!(warnings.len(), 1, "{warnings:?}");
            assert!(
                warnings[0].contains("OTEL_EXPORTER_OTLP_HEADERS") && warnings[0].contains(says),
                "{warnings:?}"
            );
            assert!(!warnings[0].contains("abc"), "no header value shown: {warnings:?}");
        }
    }
}

#[test]
fn an_unclosed_ipv6_endpoint_warns_and_falls_back() {
    let _l = lock();
    let (installed, warnings) = install_from_env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://[::1")]);
    assert_eq!(installed, Ok(()));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("is not a valid URL") && warnings[0].contains("using the default endpoint"));
}

#[test]
fn a_password_in_an_endpoint_is_never_shown() {
    let _l = lock();
    let (_, warnings) = install_from_env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://ops:hunter2@[::1/v1")]);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("http://ops:<hidden>@[::1/v1"), "{warnings:?}");
    assert!(!warnings[0].contains("hunter2"));
    let err = Telemetry::builder()
        .env_lookup(|_| None)
        .quiet()
        .with_otlp(OtlpExporter::http().endpoint("http://ops:hunter2@[::1"))
        .install()
        .unwrap_err()
        .to_string();
    assert!(err.contains("<hidden>") && !err.contains("hunter2"), "{err}");
}

#[test]
fn protocol_values_are_case_insensitive() {
    let _l = lock();
    for value in ["GRPC", "Grpc", " grpc "] {
        let guard = Telemetry::from_env()
            .env_lookup(env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", value)]))
            .quiet()
            .shutdown_timeout(Duration::from_millis(500))
            .install()
            .unwrap();
        let health = genai_trace::health();
        assert!(health.warnings.is_empty(), "{value}: {:?}", health.warnings);
        assert_eq!(health.exporters[0].name, "otlp-grpc", "{value}");
        drop(guard);
    }
}

#[test]
fn a_zero_timeout_and_an_unbounded_queue_are_refused_with_a_warning() {
    let _l = lock();
    let (_, warnings) = install_from_env(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "0")]);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("OTEL_EXPORTER_OTLP_TIMEOUT: \"0\" would fail every export; using the default 10000 ms")
    );
    let (_, warnings) = install_from_env(&[("OTEL_BSP_MAX_QUEUE_SIZE", "18446744073709551615")]);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains(
            "OTEL_BSP_MAX_QUEUE_SIZE: \"18446744073709551615\" is more than the largest supported value; using 1048576"
        ),
        "{warnings:?}"
    );
}

/// A collector that accepts connections and never answers, and the port.
fn silent_collector() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream); // open, read by nobody, answered never
        }
    });
    port
}

#[test]
fn spans_in_flight_when_shutdown_gives_up_are_counted_lost_and_the_drop_keeps_its_timeout() {
    let _l = lock();
    let timeout = Duration::from_millis(600);
    for otlp in [OtlpExporter::http(), OtlpExporter::grpc()] {
        let port = silent_collector();
        let guard = Telemetry::builder()
            .env_lookup(|_| None)
            .quiet()
            .shutdown_timeout(timeout)
            .max_export_batch_size(100)
            .with_otlp(
                // Metrics and logs too: each provider's shutdown waits on the silent
                // collector, and the guard must still return within its timeout.
                otlp.endpoint(format!("http://127.0.0.1:{port}"))
                    .timeout(Duration::from_secs(30)),
            )
            .install()
            .unwrap();
        let produced = 1_000;
        for _ in 0..produced {
            tool();
        }
        let started = std::time::Instant::now();
        drop(guard);
        let took = started.elapsed();
        // The timeout bounds the whole drop (a little slack for the scheduler).
        assert!(took < timeout + Duration::from_millis(100), "the drop took {took:?}");
        let h = genai_trace::health();
        assert!(!h.installed);
        assert_eq!(h.exporters.len(), 1, "{h:?}");
        assert!(h.spans_lost() > 0, "the collector never answered: {h:?}");
        assert_eq!(
            h.spans_exported() + h.spans_failed() + h.spans_dropped() + h.spans_lost(),
            produced,
            "every span is counted once: {h:?}"
        );
        assert_eq!(h.exporters[0].spans_queued + h.exporters[0].spans_dropped, produced);
    }
}

/// Runs test `name` of this binary again in a child process, with
/// `GENAI_TRACE_FAULTS_CHILD` set, and returns what it printed on stderr.
fn child_stderr(name: &str) -> String {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env("GENAI_TRACE_FAULTS_CHILD", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn in_child() -> bool {
    std::env::var_os("GENAI_TRACE_FAULTS_CHILD").is_some()
}

#[cfg(feature = "tracing")]
#[test]
fn warnings_reach_stderr_after_a_scoped_subscriber_is_gone() {
    const NAME: &str = "warnings_reach_stderr_after_a_scoped_subscriber_is_gone";
    if in_child() {
        // A scoped subscriber, set and dropped: tracing's has_been_set() stays true.
        tracing::subscriber::with_default(tracing_subscriber::registry(), || {});
        let guard = Telemetry::builder()
            .env_lookup(env(&[("OTEL_BSP_MAX_QUEUE_SIZE", "abc")]))
            .with_exporter("memory", genai_trace::testing::memory_exporter())
            .install()
            .unwrap();
        drop(guard);
        return;
    }
    let stderr = child_stderr(NAME);
    assert!(
        stderr.contains("genai-trace: warning: OTEL_BSP_MAX_QUEUE_SIZE: \"abc\" is not a positive whole number"),
        "{stderr}"
    );
}

#[test]
fn a_traces_only_backend_gets_a_shutdown_error_that_names_the_signal_and_endpoint() {
    let _l = lock();
    let (port, _) = answering_by_path(|path| {
        if path == "/v1/traces" {
            "200 OK"
        } else {
            "405 Method Not Allowed"
        }
    });
    let endpoint = format!("http://127.0.0.1:{port}");
    let guard = Telemetry::builder()
        .env_lookup(|_| None)
        .quiet()
        .with_otlp(OtlpExporter::http().endpoint(&endpoint))
        .install()
        .unwrap();
    tool();
    let err = guard.shutdown().unwrap_err().to_string();
    assert!(
        err.contains(&format!("metrics (OTLP to {endpoint}/v1/metrics)")),
        "{err}"
    );
    assert!(err.contains("OTEL_METRICS_EXPORTER=none"), "{err}");
    assert_eq!(genai_trace::health().spans_exported(), 1, "the traces went through");
}

/// A request, response, error and stream chunk whose telemetry code panics.
struct PanickyRequest;
impl genai_trace::RecordRequest for PanickyRequest {
    fn record_request(&self, _: &mut genai_trace::Recorder<'_>) {
        panic!("RecordRequest bug");
    }
}

struct PanickyResponse(u32);
impl genai_trace::RecordResponse for PanickyResponse {
    fn record_response(&self, _: &mut genai_trace::Recorder<'_>) {
        panic!("RecordResponse bug");
    }
}

#[derive(Debug)]
struct PanickyError;
impl std::fmt::Display for PanickyError {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        panic!("Display bug")
    }
}

struct PanickyChunk;
impl genai_trace::RecordChunk for PanickyChunk {
    fn record_chunk(&self, _: &mut genai_trace::ChunkRecorder<'_>) {
        panic!("RecordChunk bug");
    }
}

fn explode() -> &'static str {
    panic!("attribute expression bug")
}

#[genai_span(kind = "chat", model = "gpt-4o")]
fn with_panicky_request(_req: &PanickyRequest) -> u32 {
    7
}

#[genai_span(kind = "chat", model = "gpt-4o")]
fn with_panicky_response() -> PanickyResponse {
    PanickyResponse(8)
}

#[genai_span(kind = "chat", model = "gpt-4o")]
fn with_panicky_error() -> Result<u32, PanickyError> {
    Err(PanickyError)
}

#[genai_span(kind = "chat", model = "gpt-4o", attrs("app.tag" = explode()))]
fn with_panicky_attribute() -> u32 {
    9
}

#[genai_span(kind = "chat", model = "gpt-4o")]
async fn with_panicky_response_async() -> PanickyResponse {
    PanickyResponse(10)
}

#[genai_span(kind = "chat", model = "gpt-4o")]
fn with_panicky_chunks() -> impl Iterator<Item = PanickyChunk> {
    vec![PanickyChunk, PanickyChunk].into_iter()
}

#[genai_span(kind = "chat", model = "gpt-4o")]
fn with_panicky_error_before_the_stream() -> Result<impl Iterator<Item = u32>, PanickyError> {
    Err::<std::vec::IntoIter<u32>, _>(PanickyError)
}

#[genai_span(kind = "chat", model = "gpt-4o", sensitive = ["prompt"])]
fn with_redacted_prompt(prompt: &str) -> usize {
    prompt.len()
}

#[test]
fn panicking_telemetry_code_never_changes_what_the_program_does() {
    let t = genai_trace::testing::TestTelemetry::install_with(|b| {
        b.content_capture(genai_trace::ContentCapture::SpanOnly)
            .redact(|_, _| panic!("redaction hook bug"))
    });
    let before = genai_trace::health().telemetry_panics;
    assert_eq!(with_panicky_request(&PanickyRequest), 7, "the body ran");
    assert_eq!(with_panicky_response().0, 8, "the value came back");
    assert!(matches!(with_panicky_error(), Err(PanickyError)));
    assert_eq!(with_panicky_attribute(), 9);
    assert_eq!(futures::executor::block_on(with_panicky_response_async()).0, 10);
    assert_eq!(with_panicky_chunks().count(), 2, "every item reached the caller");
    assert_eq!(with_redacted_prompt("four"), 4);
    assert!(matches!(with_panicky_error_before_the_stream(), Err(PanickyError)));
    let caught = genai_trace::health().telemetry_panics - before;
    assert_eq!(caught, 9, "each panic caught and counted");
    // The spans whose end recording failed are still exported.
    assert!(t.spans().iter().any(|s| s.name == "chat gpt-4o"));
}

#[test]
fn a_redaction_hook_that_panics_while_a_stream_drops_in_an_unwind_does_not_abort() {
    const NAME: &str = "a_redaction_hook_that_panics_while_a_stream_drops_in_an_unwind_does_not_abort";
    if in_child() {
        let _t = genai_trace::testing::TestTelemetry::install_with(|b| {
            b.content_capture(genai_trace::ContentCapture::SpanOnly)
                .redact(|_, _| panic!("redaction hook bug"))
        });
        let unwound = std::panic::catch_unwind(|| {
            let mut chunks = streamed_text();
            let _first = chunks.next();
            panic!("the program's own panic, with the stream alive");
        });
        assert!(unwound.is_err());
        eprintln!("the child lived on");
        return;
    }
    let stderr = child_stderr(NAME);
    assert!(stderr.contains("the child lived on"), "{stderr}");
}

struct Text(&'static str);
impl genai_trace::RecordChunk for Text {
    fn record_chunk(&self, c: &mut genai_trace::ChunkRecorder<'_>) {
        c.text_delta(self.0);
    }
}

#[genai_span(kind = "chat", model = "gpt-4o")]
fn streamed_text() -> impl Iterator<Item = Text> {
    vec![Text("a"), Text("b")].into_iter()
}

/// An exporter whose exports stay pending (without blocking the export thread,
/// as a real exporter's network wait does) until released.
#[derive(Debug, Clone)]
struct Gate {
    open: tokio::sync::watch::Sender<bool>,
    received: Arc<AtomicUsize>,
}

impl Gate {
    fn new() -> Self {
        Self {
            open: tokio::sync::watch::channel(false).0,
            received: Arc::default(),
        }
    }

    fn release(&self) {
        self.open.send_replace(true);
    }
}

impl opentelemetry_sdk::trace::SpanExporter for Gate {
    async fn export(&self, batch: Vec<opentelemetry_sdk::trace::SpanData>) -> opentelemetry_sdk::error::OTelSdkResult {
        let mut open = self.open.subscribe();
        let _ = open.wait_for(|open| *open).await;
        self.received.fetch_add(batch.len(), Ordering::SeqCst);
        Ok(())
    }
}

/// Sends `produced` spans through an exporter whose exports never finish until
/// the end, `paced` (a pause after every 512) or as a tight burst; returns how
/// many the pipeline held, and checks that every span is counted once.
fn burst_against_a_stalled_export(produced: usize, paced: bool) -> u64 {
    let gate = Gate::new();
    let guard = Telemetry::builder()
        .env_lookup(|_| None)
        .quiet()
        .with_exporter("gate", gate.clone())
        .install()
        .unwrap();
    let started = std::time::Instant::now();
    for i in 0..produced {
        tool();
        if paced && i % 512 == 511 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let calls = started.elapsed();
    let held = genai_trace::health().exporters[0].spans_queued;
    gate.release();
    drop(guard);
    let h = genai_trace::health();
    assert_eq!(h.spans_exported() + h.spans_dropped(), produced as u64, "{h:?}");
    assert_eq!(gate.received.load(Ordering::SeqCst) as u64, h.spans_exported());
    // The calling thread never waited on the stalled export: 20,000 calls with
    // 39 pauses of 2 ms take well under a second (a blocked call would not return).
    assert!(calls < Duration::from_secs(5), "{calls:?}");
    held
}

#[test]
fn a_burst_against_a_stalled_export_is_held_up_to_the_documented_capacity_and_counted() {
    let _l = lock();
    // Held during a stall, at the defaults: the queue (2,048), up to 4 batches in
    // flight and the batches the export thread took for a free slot. The batches
    // are full or not depending on when the thread woke, so the figure lies between
    // the queue plus 4 one-span batches and three queues' worth (docs/configuration.md).
    for paced in [true, false] {
        let held = burst_against_a_stalled_export(20_000, paced);
        eprintln!("held {held} (paced: {paced})");
        assert!((2048 + 4..=3 * 2048).contains(&held), "held {held} (paced: {paced})");
    }
}

/// The resident set of this process, in KiB (Linux).
#[cfg(target_os = "linux")]
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[cfg(target_os = "linux")]
#[test]
fn memory_stays_bounded_while_the_collector_is_down() {
    let _l = lock();
    for otlp in [OtlpExporter::http(), OtlpExporter::grpc()] {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let guard = Telemetry::builder()
            .env_lookup(|_| None)
            .quiet()
            .shutdown_timeout(Duration::from_millis(500))
            .with_otlp(
                otlp.endpoint(format!("http://127.0.0.1:{port}"))
                    .timeout(Duration::from_millis(200))
                    .without_metrics(),
            )
            .install()
            .unwrap();
        for _ in 0..10_000 {
            tool();
        }
        let before = rss_kib();
        let produced = 200_000;
        for _ in 0..produced {
            tool();
        }
        let grown = rss_kib().saturating_sub(before);
        drop(guard);
        let h = genai_trace::health();
        // The queue bounds what a dead collector can cost: a few thousand spans.
        assert!(grown < 64 * 1024, "RSS grew by {grown} KiB: {h:?}");
        assert_eq!(
            h.spans_exported() + h.spans_failed() + h.spans_dropped() + h.spans_lost(),
            produced + 10_000,
            "{h:?}"
        );
        assert!(h.spans_dropped() > 0, "{h:?}");
    }
}
