//! Prometheus (feature `prometheus`): `OTEL_METRICS_EXPORTER=prometheus` serves
//! the text exposition at `/metrics`, a real Prometheus scrapes it, `promtool`
//! accepts it, the GenAI histograms keep the spec's buckets, and the
//! pipeline's own `otel.sdk.*` metrics agree with `health()`.
#![cfg(all(feature = "prometheus", feature = "testing"))]
// Counts and token sums are whole numbers, exact in an f64.
#![allow(clippy::float_cmp)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use genai_trace::testing::{exclusive, memory_exporter};
use genai_trace::{
    PriceTable, PrometheusExporter, RecordResponse, Recorder, Telemetry, Usage, genai_span, health,
    prometheus_exposition,
};
use genai_trace_test_support::{Prometheus, Rotel, free_port, promtool_check_metrics};

/// The spec's `gen_ai.client.operation.duration` boundaries (seconds).
const DURATION_BUCKETS: [&str; 14] = [
    "0.01", "0.02", "0.04", "0.08", "0.16", "0.32", "0.64", "1.28", "2.56", "5.12", "10.24", "20.48", "40.96", "81.92",
];
/// The spec's `gen_ai.client.token.usage` boundaries.
const TOKEN_BUCKETS: [&str; 14] = [
    "1", "4", "16", "64", "256", "1024", "4096", "16384", "65536", "262144", "1048576", "4194304", "16777216",
    "67108864",
];

struct Reply(i64, i64);

impl RecordResponse for Reply {
    fn record_response(&self, r: &mut Recorder<'_>) {
        r.usage(Usage {
            input_tokens: Some(self.0),
            output_tokens: Some(self.1),
            ..Usage::default()
        });
    }
}

#[derive(Debug)]
struct RateLimited;

impl std::fmt::Display for RateLimited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("rate limited")
    }
}

impl std::error::Error for RateLimited {}

#[genai_span(kind = "chat", provider = "openai", model = model)]
fn chat(model: &str, fail: bool) -> Result<Reply, RateLimited> {
    let _ = model;
    if fail { Err(RateLimited) } else { Ok(Reply(10, 20)) }
}

#[genai_span(kind = "execute_tool", name = "search")]
fn search() -> usize {
    3
}

fn env(vars: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> + Send + Sync + 'static {
    move |k| vars.iter().find(|(name, _)| *name == k).map(|(_, v)| v.clone())
}

/// `GET url` over plain HTTP/1.1: (status line, headers, body).
fn http_get(addr: SocketAddr, path: &str) -> (String, String, String) {
    let mut c = TcpStream::connect(addr).unwrap();
    write!(c, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut raw = String::new();
    c.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let (status, headers) = head.split_once("\r\n").unwrap();
    (status.to_owned(), headers.to_owned(), body.to_owned())
}

/// The value of the sample `name{labels}` whose labels include every `want`
/// pair and no other label named in `absent`.
fn sample(exposition: &str, name: &str, want: &[(&str, &str)], absent: &[&str]) -> Option<f64> {
    exposition.lines().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (n, labels) = series
            .split_once('{')
            .map_or((series, ""), |(n, l)| (n, l.trim_end_matches('}')));
        if n != name {
            return None;
        }
        let labels: BTreeMap<&str, &str> = labels
            .split("\",")
            .filter_map(|kv| kv.split_once("=\""))
            .map(|(k, v)| (k, v.trim_end_matches('"')))
            .collect();
        let matches =
            want.iter().all(|(k, v)| labels.get(k) == Some(v)) && absent.iter().all(|k| !labels.contains_key(k));
        matches.then(|| value.parse().unwrap())
    })
}

/// Every `le` of `name`'s buckets in the series that carry `want`, `+Inf` aside.
fn bucket_bounds(exposition: &str, name: &str, want: &str) -> Vec<String> {
    let bucket = format!("{name}_bucket{{");
    exposition
        .lines()
        .filter(|l| l.starts_with(&bucket) && l.contains(want))
        .filter_map(|l| l.split("le=\"").nth(1)?.split('"').next().map(str::to_owned))
        .filter(|le| le != "+Inf")
        .collect()
}

/// The exposition once it has stopped changing (the export thread may still be
/// moving spans when a test reads it).
fn settled_exposition() -> String {
    let mut last = prometheus_exposition().unwrap();
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let now = prometheus_exposition().unwrap();
        if now == last {
            return now;
        }
        last = now;
    }
}

const PRICES: &str = r#"{"gpt-4o": {"input": 2.5, "output": 10.0}}"#;

#[test]
fn otel_metrics_exporter_prometheus_serves_what_a_real_prometheus_scrapes() {
    let _serial = exclusive();
    let port = free_port();
    let guard = Telemetry::from_env()
        .env_lookup(env(vec![
            ("OTEL_METRICS_EXPORTER", "prometheus".into()),
            ("OTEL_TRACES_EXPORTER", "none".into()),
            ("OTEL_LOGS_EXPORTER", "none".into()),
            ("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1".into()),
            ("OTEL_EXPORTER_PROMETHEUS_PORT", port.to_string()),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "512".into()),
        ]))
        .with_exporter("memory", memory_exporter())
        .prices(PriceTable::from_json(PRICES).unwrap())
        .install()
        .unwrap();
    assert_eq!(health().warnings, vec![]);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    assert_eq!(guard.prometheus_url().unwrap(), format!("http://{addr}/metrics"));
    for i in 0..7 {
        let _ = chat("gpt-4o", i % 3 == 2);
    }
    search();
    guard.flush().unwrap();

    let (status, headers, text) = http_get(addr, "/metrics");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(headers.contains("Content-Type: text/plain; version=0.0.4"), "{headers}");
    // Names follow the OTel spec's Prometheus mapping: units as suffixes
    // (`{token}` annotations dropped), `_total` on counters.
    let duration = "gen_ai_client_operation_duration_seconds";
    let chat_ok = [("gen_ai_operation_name", "chat"), ("gen_ai_request_model", "gpt-4o")];
    assert_eq!(
        sample(&text, &format!("{duration}_count"), &chat_ok, &["error_type"]),
        Some(5.0)
    );
    let failed = [
        ("gen_ai_operation_name", "chat"),
        ("error_type", "prometheus::RateLimited"),
    ];
    assert_eq!(sample(&text, &format!("{duration}_count"), &failed, &[]), Some(2.0));
    let tool = [("gen_ai_operation_name", "execute_tool")];
    assert_eq!(sample(&text, &format!("{duration}_count"), &tool, &[]), Some(1.0));
    let input = [("gen_ai_token_type", "input"), ("gen_ai_provider_name", "openai")];
    assert_eq!(sample(&text, "gen_ai_client_token_usage_sum", &input, &[]), Some(50.0));
    assert_eq!(sample(&text, "gen_ai_client_token_usage_count", &input, &[]), Some(5.0));
    let output = [("gen_ai_token_type", "output")];
    assert_eq!(
        sample(&text, "gen_ai_client_token_usage_sum", &output, &[]),
        Some(100.0)
    );
    // 5 calls of 10 input and 20 output tokens at $2.5 / $10 per million.
    let cost = sample(
        &text,
        "genai_trace_client_cost_total",
        &[("gen_ai_request_model", "gpt-4o")],
        &[],
    )
    .unwrap();
    assert!((cost - 5.0 * (10.0 * 2.5 + 20.0 * 10.0) / 1e6).abs() < 1e-12, "{cost}");
    // The spec's bucket boundaries survive the trip.
    assert_eq!(
        bucket_bounds(&text, duration, "gen_ai_operation_name=\"chat\""),
        DURATION_BUCKETS.repeat(2)
    );
    assert_eq!(
        bucket_bounds(&text, "gen_ai_client_token_usage", "gen_ai_token_type=\"input\""),
        TOKEN_BUCKETS
    );

    check_self_metrics(&text);
    // promtool, Prometheus's own linter, accepts the exposition.
    if let Err(complaints) = promtool_check_metrics(&text) {
        panic!("promtool check metrics rejected the exposition:\n{complaints}\n{text}");
    }

    check_with_a_real_prometheus(addr, cost);
    drop(guard);
    // The endpoint goes with the guard.
    assert!(TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_err());
}

/// The pipeline's own metrics say what `health()` says, after a flush.
fn check_self_metrics(text: &str) {
    let h = health();
    let memory = &h.exporters[0];
    let processor = [("otel_component_name", "batching_span_processor/0")];
    let exporter = [("otel_component_name", "memory/0"), ("otel_component_type", "memory")];
    let sampled = [("otel_span_sampling_result", "RECORD_AND_SAMPLE")];
    assert_eq!(h.spans_started, 8);
    assert_eq!(sample(text, "otel_sdk_span_started_total", &sampled, &[]), Some(8.0));
    assert_eq!(sample(text, "otel_sdk_span_live", &sampled, &[]), Some(0.0));
    assert_eq!(
        sample(text, "otel_sdk_processor_span_queue_capacity", &processor, &[]),
        Some(512.0)
    );
    assert_eq!(
        sample(text, "otel_sdk_processor_span_queue_size", &processor, &[]),
        Some(0.0)
    );
    assert_eq!(
        sample(
            text,
            "otel_sdk_processor_span_processed_total",
            &processor,
            &["error_type"]
        ),
        Some(memory.spans_queued as f64)
    );
    assert_eq!(
        sample(
            text,
            "otel_sdk_exporter_span_exported_total",
            &exporter,
            &["error_type"]
        ),
        Some(memory.spans_exported as f64)
    );
    assert_eq!(
        sample(text, "otel_sdk_exporter_span_inflight", &exporter, &[]),
        Some(0.0)
    );
    assert!(
        sample(
            text,
            "otel_sdk_exporter_operation_duration_seconds_count",
            &exporter,
            &[]
        )
        .unwrap()
            >= 1.0
    );
}

/// A real Prometheus scrapes `addr`, and the `PromQL` of docs/metrics.md answers.
fn check_with_a_real_prometheus(addr: SocketAddr, cost: f64) {
    let duration = "gen_ai_client_operation_duration_seconds";
    let h = health();
    let memory = &h.exporters[0];
    let Some(prom) = Prometheus::require(
        "otel_metrics_exporter_prometheus_serves_what_a_real_prometheus_scrapes",
        &[addr],
    ) else {
        return;
    };
    let value = |series: &Value| series["value"][1].as_str().unwrap().parse::<f64>().unwrap();
    let one = |promql: &str| {
        let series = prom.wait_query(promql, |r| r.len() == 1);
        value(&series[0])
    };
    assert_eq!(
        one(r#"sum(gen_ai_client_operation_duration_seconds_count{gen_ai_operation_name="chat"})"#),
        7.0
    );
    assert_eq!(
        one(r#"sum(gen_ai_client_operation_duration_seconds_count{gen_ai_operation_name="chat", error_type!=""})"#),
        2.0
    );
    let ratio = one(
        r#"sum by (gen_ai_request_model) (gen_ai_client_operation_duration_seconds_count{gen_ai_operation_name="chat", error_type!=""})
           / sum by (gen_ai_request_model) (gen_ai_client_operation_duration_seconds_count{gen_ai_operation_name="chat"})"#,
    );
    assert!((ratio - 2.0 / 7.0).abs() < 1e-9, "2 of 7 chat calls failed: {ratio}");
    let by_type = prom.wait_query("sum by (gen_ai_token_type) (gen_ai_client_token_usage_sum)", |r| {
        r.len() == 2
    });
    for s in &by_type {
        let want = if s["metric"]["gen_ai_token_type"] == "input" {
            50.0
        } else {
            100.0
        };
        assert_eq!(value(s), want, "{s}");
    }
    assert!((one("sum(genai_trace_client_cost_total)") - cost).abs() < 1e-12);
    assert_eq!(one("sum(otel_sdk_span_started_total)"), h.spans_started as f64);
    assert_eq!(
        one(r#"sum(otel_sdk_exporter_span_exported_total{error_type=""})"#),
        memory.spans_exported as f64
    );
    let p95 = one(&format!(
        r#"histogram_quantile(0.95, sum by (le) ({duration}_bucket{{gen_ai_operation_name="chat"}}))"#
    ));
    assert!(p95 > 0.0 && p95 <= 0.01, "every call took well under 10 ms: p95 {p95}");
}

#[test]
fn prometheus_and_otlp_together_both_get_the_metrics() {
    let _serial = exclusive();
    let Some(rotel) = Rotel::require("prometheus_and_otlp_together_both_get_the_metrics") else {
        return;
    };
    let service = format!("prometheus-and-otlp-{}", std::process::id());
    let guard = Telemetry::from_env()
        .env_lookup(env(vec![
            ("OTEL_METRICS_EXPORTER", "otlp,prometheus".into()),
            ("OTEL_TRACES_EXPORTER", "none".into()),
            ("OTEL_LOGS_EXPORTER", "none".into()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", rotel.http.clone()),
            ("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1".into()),
            ("OTEL_EXPORTER_PROMETHEUS_PORT", free_port().to_string()),
            ("OTEL_SERVICE_NAME", service.clone()),
        ]))
        .install()
        .unwrap();
    assert_eq!(health().warnings, vec![]);
    for _ in 0..3 {
        let _ = chat("gpt-4o-mini", false);
    }
    let text = prometheus_exposition().unwrap();
    let chat_calls = [("gen_ai_request_model", "gpt-4o-mini")];
    assert_eq!(
        sample(
            &text,
            "gen_ai_client_operation_duration_seconds_count",
            &chat_calls,
            &[]
        ),
        Some(3.0)
    );
    guard.shutdown().unwrap();
    let points = rotel.wait_metrics(1, |p| {
        p["name"] == "gen_ai.client.operation.duration"
            && p["resource"]["service.name"] == service.as_str()
            && p["attributes"]["gen_ai.request.model"] == "gpt-4o-mini"
    });
    assert_eq!(points[0]["count"], 3, "{:#?}", points[0]);
}

#[test]
fn a_port_in_use_or_a_bad_host_is_a_warning_naming_the_variable() {
    let _serial = exclusive();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    for (host, port, variable) in [
        ("127.0.0.1", port, "OTEL_EXPORTER_PROMETHEUS_PORT"),
        // TEST-NET-1: an address no machine has, so nothing can bind it.
        ("192.0.2.1", free_port(), "OTEL_EXPORTER_PROMETHEUS_HOST"),
    ] {
        let guard = Telemetry::builder()
            .env_lookup(env(vec![
                ("OTEL_METRICS_EXPORTER", "prometheus".into()),
                ("OTEL_EXPORTER_PROMETHEUS_HOST", host.into()),
                ("OTEL_EXPORTER_PROMETHEUS_PORT", port.to_string()),
            ]))
            .quiet()
            .install()
            .expect("a port or host that cannot be served never fails the install");
        let warnings = health().warnings;
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(warnings[0].variable, variable);
        assert!(
            warnings[0].message.contains(&format!("{host}:{port}")),
            "{}",
            warnings[0].message
        );
        assert_eq!(guard.prometheus_url(), None);
        // The program goes on, and the exposition can still be rendered.
        let _ = chat("gpt-4o", false);
        let text = prometheus_exposition().unwrap();
        assert!(
            text.contains("gen_ai_client_operation_duration_seconds_count{"),
            "{text}"
        );
        drop(guard);
    }
    drop(taken);
}

#[test]
fn without_a_server_the_exposition_goes_into_your_own_handler() {
    let _serial = exclusive();
    assert_eq!(prometheus_exposition(), None, "nothing installed, nothing rendered");
    let guard = Telemetry::builder()
        .env_lookup(|_| None)
        .with_prometheus(PrometheusExporter::new().without_server())
        .install()
        .unwrap();
    assert_eq!(guard.prometheus_url(), None);
    // Idle, the pipeline reports nothing of itself (nor exports empty metrics).
    assert!(!prometheus_exposition().unwrap().contains("otel_sdk_"));
    let _ = chat("gpt-4o", false);
    let text = prometheus_exposition().unwrap();
    assert!(text.contains("otel_sdk_span_started_total"), "{text}");
    assert_eq!(
        sample(
            &text,
            "gen_ai_client_operation_duration_seconds_count",
            &[("gen_ai_request_model", "gpt-4o")],
            &[]
        ),
        Some(1.0)
    );
    drop(guard);
    assert_eq!(prometheus_exposition(), None, "gone with the guard");
}

#[test]
fn the_pipelines_own_metrics_can_be_turned_off() {
    let _serial = exclusive();
    for (variable, builder) in [(Some("false"), None), (None, Some(false))] {
        let lookup = env(variable
            .map(|v| ("GENAI_TRACE_SELF_METRICS", v.to_owned()))
            .into_iter()
            .collect());
        let mut b = Telemetry::builder()
            .env_lookup(lookup)
            .with_prometheus(PrometheusExporter::new().without_server());
        if let Some(on) = builder {
            b = b.self_metrics(on);
        }
        let guard = b.install().unwrap();
        let _ = chat("gpt-4o", false);
        let text = prometheus_exposition().unwrap();
        assert!(!text.contains("otel_sdk_"), "{text}");
        assert!(text.contains("gen_ai_client_operation_duration_seconds"), "{text}");
        drop(guard);
    }
}

/// An exporter whose exports wait until it is opened.
#[derive(Debug, Clone)]
struct Gate(tokio::sync::watch::Sender<bool>);

impl opentelemetry_sdk::trace::SpanExporter for Gate {
    async fn export(&self, _batch: Vec<opentelemetry_sdk::trace::SpanData>) -> opentelemetry_sdk::error::OTelSdkResult {
        let mut open = self.0.subscribe();
        let _ = open.wait_for(|open| *open).await;
        Ok(())
    }
}

/// An exporter whose every export fails.
#[derive(Debug, Clone, Default)]
struct Broken(Arc<AtomicUsize>);

impl opentelemetry_sdk::trace::SpanExporter for Broken {
    async fn export(&self, _batch: Vec<opentelemetry_sdk::trace::SpanData>) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.fetch_add(1, Ordering::SeqCst);
        Err(opentelemetry_sdk::error::OTelSdkError::InternalFailure(
            "the backend is down".into(),
        ))
    }
}

#[test]
fn drops_and_failures_are_counted_as_health_counts_them() {
    let _serial = exclusive();
    let gate = Gate(tokio::sync::watch::channel(false).0);
    let broken = Broken::default();
    let guard = Telemetry::builder()
        .env_lookup(env(vec![
            ("OTEL_BSP_MAX_QUEUE_SIZE", "8".into()),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "4".into()),
        ]))
        .quiet()
        .with_exporter("gate", gate.clone())
        .with_exporter("broken", broken.clone())
        .with_prometheus(PrometheusExporter::new().without_server())
        .install()
        .unwrap();
    for _ in 0..100 {
        search();
    }
    let text = settled_exposition();
    let h = health();
    let (gated, failing) = (&h.exporters[0], &h.exporters[1]);
    assert!(
        gated.spans_dropped > 0,
        "a stalled export with a queue of 8 drops: {h:?}"
    );
    assert!(failing.spans_failed > 0, "{h:?}");
    let p0 = [("otel_component_name", "batching_span_processor/0")];
    let e0 = [("otel_component_name", "gate/0")];
    let e1 = [("otel_component_name", "broken/1")];
    let queue_full = [
        ("otel_component_name", "batching_span_processor/0"),
        ("error_type", "queue_full"),
    ];
    let failed = [("otel_component_name", "broken/1"), ("error_type", "_OTHER")];
    let started = [("otel_span_sampling_result", "RECORD_AND_SAMPLE")];
    assert_eq!(sample(&text, "otel_sdk_span_started_total", &started, &[]), Some(100.0));
    assert_eq!(
        sample(&text, "otel_sdk_processor_span_processed_total", &queue_full, &[]),
        Some(gated.spans_dropped as f64)
    );
    // The gated exporter holds one batch in flight; the rest wait in the queue.
    let queued = sample(&text, "otel_sdk_processor_span_queue_size", &p0, &[]).unwrap();
    let inflight = sample(&text, "otel_sdk_exporter_span_inflight", &e0, &[]).unwrap();
    assert!(queued <= 8.0, "{queued}");
    assert_eq!(queued + inflight, gated.spans_queued as f64, "{text}");
    assert_eq!(gated.spans_queued + gated.spans_dropped, 100);
    assert_eq!(
        sample(&text, "otel_sdk_exporter_span_exported_total", &e0, &["error_type"]),
        Some(0.0)
    );
    assert_eq!(
        sample(&text, "otel_sdk_exporter_span_exported_total", &failed, &[]),
        Some(failing.spans_failed as f64)
    );
    assert_eq!(
        sample(&text, "otel_sdk_exporter_span_exported_total", &e1, &["error_type"]),
        Some(0.0)
    );
    assert!(broken.0.load(Ordering::SeqCst) > 0);

    gate.0.send_replace(true);
    guard.flush().ok();
    let text = settled_exposition();
    let h = health();
    assert_eq!(sample(&text, "otel_sdk_exporter_span_inflight", &e0, &[]), Some(0.0));
    assert_eq!(sample(&text, "otel_sdk_processor_span_queue_size", &p0, &[]), Some(0.0));
    assert_eq!(
        sample(&text, "otel_sdk_exporter_span_exported_total", &e0, &["error_type"]),
        Some(h.exporters[0].spans_exported as f64)
    );
    assert_eq!(h.exporters[0].spans_exported, h.exporters[0].spans_queued);
    drop(guard);
}
