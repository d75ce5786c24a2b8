//! Export throughput: spans/s from one producer thread through genai-trace's
//! pipeline (default batch settings: queue 2048, batch 512) over OTLP/gRPC and
//! OTLP/HTTP-protobuf to a counting receiver on loopback, paced at 100k, 200k and
//! 400k spans/s and unthrottled. Reports what arrived, what was dropped (as
//! counted by `health()`), and the peak RSS of the run.
//!
//! cargo bench -p genai-trace-perf --bench export_throughput

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use genai_trace::{OtlpExporter, Telemetry, genai_span};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use prost::Message;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

const SECONDS: f64 = 3.0;

fn count_spans(req: &ExportTraceServiceRequest) -> u64 {
    req.resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len() as u64)
        .sum()
}

#[derive(Clone)]
struct Counter(Arc<AtomicU64>);

#[tonic::async_trait]
impl TraceService for Counter {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.fetch_add(count_spans(request.get_ref()), Ordering::Relaxed);
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
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
        .add_service(TraceServiceServer::new(counter))
        .serve(addr)
        .await;
}

/// A keep-alive HTTP/1.1 loop that decodes each OTLP/protobuf body and counts.
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
                if let Ok(req) = ExportTraceServiceRequest::decode(body.as_slice()) {
                    counter.0.fetch_add(count_spans(&req), Ordering::Relaxed);
                }
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
    counter.0.store(0, Ordering::Relaxed);
    peak_rss_reset();
    let guard = Telemetry::builder()
        .env_lookup(|_| None)
        .quiet()
        .with_otlp(otlp.without_metrics())
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
        received: counter.0.load(Ordering::Relaxed),
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
    let grpc_counter = Counter(Arc::new(AtomicU64::new(0)));
    let http_counter = Counter(Arc::new(AtomicU64::new(0)));
    let grpc_addr = free_port();
    rt.spawn(serve_grpc(grpc_addr, grpc_counter.clone()));
    let http_listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let http_addr = http_listener.local_addr().unwrap();
    rt.spawn(serve_http(http_listener, http_counter.clone()));
    std::thread::sleep(Duration::from_millis(200));

    println!("| transport | target spans/s | produced spans/s | received | dropped (counted) | failed | peak RSS MB |");
    println!("|---|---|---|---|---|---|---|");
    // For profiling one row: EXPORT_TRANSPORT=grpc|http/protobuf, EXPORT_RATE=<spans/s>|unthrottled.
    let only_transport = std::env::var("EXPORT_TRANSPORT").ok();
    let only_rate = std::env::var("EXPORT_RATE").ok();
    for (name, counter) in [("grpc", &grpc_counter), ("http/protobuf", &http_counter)] {
        if only_transport.as_deref().is_some_and(|t| t != name) {
            continue;
        }
        for rate in [Some(100_000), Some(200_000), Some(400_000), None] {
            let rate_name = rate.map_or("unthrottled".to_owned(), |r| r.to_string());
            if only_rate.as_deref().is_some_and(|r| r != rate_name) {
                continue;
            }
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
