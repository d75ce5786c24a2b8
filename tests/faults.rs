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
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&requests);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                // One request per loop: request line, headers, a body of content-length.
                while reader.read_line(&mut line).unwrap_or(0) > 0 {
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
                    let reply = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n");
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
