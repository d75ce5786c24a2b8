//! Export throughput: spans/s from one producer thread through genai-trace's
//! pipeline (default batch settings: queue 2048, batch 512) over OTLP/gRPC and
//! OTLP/HTTP-protobuf to a counting receiver on loopback, paced at 100k, 200k and
//! 400k spans/s and unthrottled. Reports what arrived, what was dropped (as
//! counted by `health()`), and the peak RSS of the run.
//!
//! The receiver shares the machine's two cores with the pipeline, so it counts
//! spans without decoding them (a real collector runs elsewhere): it parses the
//! request down to the span messages and skips their fields. The first request of
//! every row is also decoded in full, and its span count must agree.
//!
//! cargo bench -p genai-trace-perf --bench export_throughput

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use genai_trace::{OtlpExporter, Telemetry, genai_span};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use prost::Message;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tonic::codegen::{BoxFuture, Service, http};

const SECONDS: f64 = 3.0;

/// `ExportTraceServiceRequest` down to its spans, which are left undecoded.
#[derive(Clone, PartialEq, prost::Message)]
struct CountRequest {
    #[prost(message, repeated, tag = "1")]
    resource_spans: Vec<CountResourceSpans>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct CountResourceSpans {
    #[prost(message, repeated, tag = "2")]
    scope_spans: Vec<CountScopeSpans>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct CountScopeSpans {
    /// A span's fields are skipped, not decoded (no allocation: the element is empty).
    #[prost(message, repeated, tag = "2")]
    spans: Vec<Skipped>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Skipped {}

impl CountRequest {
    fn spans(&self) -> u64 {
        self.resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len() as u64)
            .sum()
    }
}

fn count_spans_fully_decoded(req: &ExportTraceServiceRequest) -> u64 {
    req.resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len() as u64)
        .sum()
}

#[derive(Clone)]
struct Counter {
    spans: Arc<AtomicU64>,
    /// Cleared per row: the next request is also decoded in full and checked.
    checked: Arc<AtomicBool>,
}

impl Counter {
    fn new() -> Self {
        Self {
            spans: Arc::new(AtomicU64::new(0)),
            checked: Arc::new(AtomicBool::new(false)),
        }
    }

    fn count(&self, body: &[u8]) {
        let req = CountRequest::decode(body).expect("an OTLP trace request");
        let n = req.spans();
        if !self.checked.swap(true, Ordering::Relaxed) {
            let full = ExportTraceServiceRequest::decode(body).expect("a valid OTLP trace request");
            assert_eq!(count_spans_fully_decoded(&full), n, "counting disagrees with decoding");
        }
        self.spans.fetch_add(n, Ordering::Relaxed);
    }
}

/// The raw request body: counted as above.
#[derive(Clone, PartialEq)]
struct RawBody(Vec<u8>);

/// Hands the gRPC message's bytes through undecoded.
#[derive(Clone, Copy, Default)]
struct RawCodec;

impl tonic::codec::Codec for RawCodec {
    type Encode = ExportTraceServiceResponse;
    type Decode = RawBody;
    type Encoder = tonic_prost::ProstEncoder<ExportTraceServiceResponse>;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> Self::Encoder {
        tonic_prost::ProstEncoder::default()
    }
    fn decoder(&mut self) -> Self::Decoder {
        RawDecoder
    }
}

struct RawDecoder;

impl tonic::codec::Decoder for RawDecoder {
    type Item = RawBody;
    type Error = tonic::Status;
    fn decode(&mut self, buf: &mut tonic::codec::DecodeBuf<'_>) -> Result<Option<RawBody>, tonic::Status> {
        use bytes::Buf;
        let mut body = vec![0; buf.remaining()];
        buf.copy_to_slice(&mut body);
        Ok(Some(RawBody(body)))
    }
}

/// The OTLP gRPC trace service, counting.
#[derive(Clone)]
struct CountingTraceService(Counter);

impl tonic::server::NamedService for CountingTraceService {
    const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
}

impl tonic::server::UnaryService<RawBody> for CountingTraceService {
    type Response = ExportTraceServiceResponse;
    type Future = BoxFuture<tonic::Response<ExportTraceServiceResponse>, tonic::Status>;
    fn call(&mut self, request: tonic::Request<RawBody>) -> Self::Future {
        self.0.count(&request.get_ref().0);
        Box::pin(async {
            respond_later().await;
            Ok(tonic::Response::new(ExportTraceServiceResponse {
                partial_success: None,
            }))
        })
    }
}

/// The receiver's answer waits `EXPORT_RECEIVER_DELAY_MS` (0 by default): a
/// collector across a network, where a batch's round trip bounds the export.
async fn respond_later() {
    static DELAY: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    let delay = *DELAY.get_or_init(|| {
        let ms = std::env::var("EXPORT_RECEIVER_DELAY_MS")
            .ok()
            .and_then(|v| v.parse().ok());
        Duration::from_millis(ms.unwrap_or(0))
    });
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
}

impl<B> Service<http::Request<B>> for CountingTraceService
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let service = self.clone();
        Box::pin(async move { Ok(tonic::server::Grpc::new(RawCodec).unary(service, req).await) })
    }
}

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

async fn serve_grpc(addr: SocketAddr, counter: Counter) {
    let _ = tonic::transport::Server::builder()
        .add_service(CountingTraceService(counter))
        .serve(addr)
        .await;
}

/// A keep-alive HTTP/1.1 loop that counts the spans of each OTLP/protobuf body.
async fn serve_http(listener: tokio::net::TcpListener, counter: Counter) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let counter = counter.clone();
        tokio::spawn(async move {
            let mut r = BufReader::new(stream);
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                let mut len = 0usize;
                loop {
                    line.clear();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let l = line.trim_end();
                    if l.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = l.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; len];
                if r.read_exact(&mut body).await.is_err() {
                    return;
                }
                counter.count(&body);
                respond_later().await;
                let ok = "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
                if r.get_mut().write_all(ok.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
    }
}

#[genai_span(kind = "chat", provider = "openai", model = "gpt-4o", attrs(gen_ai.request.max_tokens = 256))]
fn call(x: u64) -> u64 {
    std::hint::black_box(x) + 1
}

fn peak_rss_reset() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_rss_mb() -> f64 {
    let mut s = String::new();
    let _ = std::fs::File::open("/proc/self/status").and_then(|mut f| f.read_to_string(&mut s));
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

struct Outcome {
    produced: u64,
    seconds: f64,
    received: u64,
    dropped: u64,
    failed: u64,
    rss_mb: f64,
}

fn run(otlp: OtlpExporter, counter: &Counter, rate: Option<u64>) -> Outcome {
    counter.spans.store(0, Ordering::Relaxed);
    counter.checked.store(false, Ordering::Relaxed);
    peak_rss_reset();
    let mut builder = Telemetry::builder()
        .env_lookup(|_| None)
        .quiet()
        .with_otlp(otlp.without_metrics());
    // A smaller queue than the default 2048 (EXPORT_QUEUE=<spans>) is a harsher test of
    // how well the export keeps up: it has less room for a slow batch.
    if let Some(n) = std::env::var("EXPORT_QUEUE").ok().and_then(|v| v.parse().ok()) {
        builder = builder.max_queue_size(n);
    }
    if let Some(n) = std::env::var("EXPORT_IN_FLIGHT").ok().and_then(|v| v.parse().ok()) {
        builder = builder.max_concurrent_exports(n);
    }
    let guard = builder
        .shutdown_timeout(Duration::from_secs(30))
        .install()
        .expect("install");
    let start = Instant::now();
    let mut produced = 0u64;
    let deadline = Duration::from_secs_f64(SECONDS);
    loop {
        let elapsed = start.elapsed();
        if elapsed >= deadline {
            break;
        }
        let due = rate.map_or(u64::MAX, |r| (elapsed.as_secs_f64() * r as f64) as u64);
        if produced >= due {
            // Ahead of schedule: give the core back (a program does not spin), 100 µs at a time.
            std::thread::sleep(Duration::from_micros(100));
            continue;
        }
        let n = (due - produced).min(1000);
        for i in 0..n {
            call(i);
        }
        produced += n;
    }
    let seconds = start.elapsed().as_secs_f64();
    // Drops are counted as spans are enqueued: the snapshot before shutdown has them.
    let h = genai_trace::health();
    let _ = guard.shutdown();
    std::thread::sleep(Duration::from_millis(300));
    Outcome {
        produced,
        seconds,
        received: counter.spans.load(Ordering::Relaxed),
        dropped: h.spans_dropped(),
        failed: h.spans_failed(),
        rss_mb: peak_rss_mb(),
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` and `cargo test --benches` probes
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let grpc_counter = Counter::new();
    let http_counter = Counter::new();
    let grpc_addr = free_port();
    rt.spawn(serve_grpc(grpc_addr, grpc_counter.clone()));
    let http_listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let http_addr = http_listener.local_addr().unwrap();
    rt.spawn(serve_http(http_listener, http_counter.clone()));
    std::thread::sleep(Duration::from_millis(200));

    println!("| transport | target spans/s | produced spans/s | received | dropped (counted) | failed | peak RSS MB |");
    println!("|---|---|---|---|---|---|---|");
    // For profiling one row: EXPORT_TRANSPORT=grpc|http/protobuf, EXPORT_RATE=<spans/s>|unthrottled
    // (and EXPORT_QUEUE=<spans> for a smaller queue, EXPORT_RECEIVER_DELAY_MS=<ms> for a remote
    // collector, EXPORT_IN_FLIGHT=<batches> for more or fewer batches in flight).
    let only_transport = std::env::var("EXPORT_TRANSPORT").ok();
    let only_rate = std::env::var("EXPORT_RATE").ok();
    for (name, counter) in [("grpc", &grpc_counter), ("http/protobuf", &http_counter)] {
        if only_transport.as_deref().is_some_and(|t| t != name) {
            continue;
        }
        // EXPORT_RATE=<n> runs that one pace, listed or not.
        let rates = match only_rate.as_deref() {
            Some("unthrottled") => vec![None],
            Some(r) => vec![Some(r.parse::<u64>().expect("EXPORT_RATE: spans/s or unthrottled"))],
            None => vec![Some(100_000), Some(200_000), Some(400_000), None],
        };
        for rate in rates {
            let rate_name = rate.map_or("unthrottled".to_owned(), |r| r.to_string());
            let otlp = if name == "grpc" {
                OtlpExporter::grpc().endpoint(format!("http://{grpc_addr}"))
            } else {
                OtlpExporter::http().endpoint(format!("http://{http_addr}"))
            };
            let o = run(otlp, counter, rate);
            println!(
                "| {name} | {rate_name} | {:.0} | {} of {} | {} | {} | {:.0} |",
                o.produced as f64 / o.seconds,
                o.received,
                o.produced,
                o.dropped,
                o.failed,
                o.rss_mb
            );
        }
    }
}
