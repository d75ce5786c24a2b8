//! Installing, configuring from the environment, shutting down, the console.
#![cfg(feature = "testing")]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use genai_trace::testing::{SharedBuffer, TestTelemetry, attribute};
use genai_trace::{ConsoleExporter, ContentCapture, OtlpExporter, Telemetry, genai_span};

/// Tests here install process-wide telemetry themselves: one at a time.
fn lock() -> std::sync::MutexGuard<'static, ()> {
    genai_trace::testing::exclusive()
}

/// Quiet telemetry exporting through `otlp` to a local port nothing listens on.
fn to_a_dead_backend(otlp: OtlpExporter) -> genai_trace::TelemetryBuilder {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    Telemetry::builder()
        .env_lookup(env(&[]))
        .quiet()
        .with_otlp(otlp.endpoint(format!("http://127.0.0.1:{port}")))
}

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + Send + Sync + 'static {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |k| map.get(k).cloned()
}

#[genai_span(kind = "chat", provider = "openai", model = "gpt-4o")]
fn chat() -> u32 {
    tool();
    1
}

#[genai_span(kind = "execute_tool", attrs(gen_ai.tool.name = "search"))]
fn tool() {}

#[test]
fn every_bad_env_value_warns_once_and_falls_back() {
    let bad = [
        ("OTEL_SDK_DISABLED", "maybe", "using false"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "abc", "default 2048"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "0", "default 512"),
        ("OTEL_BSP_SCHEDULE_DELAY", "-5", "default 5000 ms"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "1.5s", "default 30000 ms"),
        ("OTEL_BSP_MAX_CONCURRENT_EXPORTS", "none", "default 4"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/xml", "using http/protobuf"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318", "default endpoint"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "ten", "default 10000 ms"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "brotli", "using none"),
        ("OTEL_TRACES_SAMPLER", "sometimes", "parentbased_always_on"),
        (
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
            "yes please",
            "NO_CONTENT",
        ),
        ("OTEL_TRACES_EXPORTER", "zipkin", "ignored"),
        ("OTEL_RESOURCE_ATTRIBUTES", "team", "ignored"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "soon", "default 60000 ms"),
    ];
    for (var, value, fallback) in bad {
        let t = TestTelemetry::install_with(|b| b.env_lookup(env(&[(var, value)])).quiet());
        let h = genai_trace::health();
        assert_eq!(h.warnings.len(), 1, "{var}: {:?}", h.warnings);
        let w = h.warnings[0].to_string();
        assert!(w.starts_with(&format!("genai-trace: warning: {var}: ")), "{w}");
        assert!(w.contains(value), "names the bad value: {w}");
        assert!(w.contains(fallback), "names the fallback: {w}");
        // And telemetry still works with the fallback.
        chat();
        assert_eq!(t.spans().len(), 2, "{var}");
    }
}

#[test]
fn sampler_arg_out_of_range_falls_back_to_one() {
    let t = TestTelemetry::install_with(|b| {
        b.env_lookup(env(&[
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "2"),
        ]))
        .quiet()
    });
    let w = &genai_trace::health().warnings;
    assert!(
        w[0].to_string()
            .contains("OTEL_TRACES_SAMPLER_ARG: \"2\" is not a ratio between 0 and 1; using 1.0")
    );
    chat();
    assert_eq!(t.spans().len(), 2);
}

#[test]
fn header_values_never_appear_in_warnings_or_debug() {
    let _t = TestTelemetry::install_with(|b| {
        b.env_lookup(env(&[(
            "OTEL_EXPORTER_OTLP_HEADERS",
            "authorization=Bearer sk-live-123,broken-sk-live-456",
        )]))
        .quiet()
    });
    let h = genai_trace::health();
    let shown = format!("{h:?} {}", h.warnings[0]);
    assert!(shown.contains("OTEL_EXPORTER_OTLP_HEADERS"), "{shown}");
    assert!(!shown.contains("sk-live"), "a secret leaked: {shown}");
    let otlp = OtlpExporter::http().header("x-api-key", "sk-live-789");
    assert!(!format!("{otlp:?}").contains("sk-live"));
}

#[test]
fn builder_wins_over_env_and_env_over_defaults() {
    let t = TestTelemetry::install_with(|b| {
        b.env_lookup(env(&[
            ("OTEL_SERVICE_NAME", "from-env"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=staging,team=search%20ai",
            ),
            ("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_AND_EVENT"),
        ]))
        .service_name("from-code")
    });
    assert_eq!(genai_trace::content_capture(), ContentCapture::SpanAndEvent);
    chat();
    drop(t);
    let t = TestTelemetry::install_with(|b| {
        b.env_lookup(env(&[("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")]))
            .content_capture(ContentCapture::NoContent)
    });
    assert_eq!(genai_trace::content_capture(), ContentCapture::NoContent);
    drop(t);
}

#[test]
fn resource_carries_service_and_env_attributes() {
    let _l = lock();
    let mem = genai_trace::testing::memory_exporter();
    let guard = Telemetry::builder()
        .env_lookup(env(&[
            ("OTEL_SERVICE_NAME", "from-env"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=staging,team=search%20ai",
            ),
        ]))
        .service_name("from-code")
        .service_version("1.2.3")
        .with_exporter("memory", mem.clone())
        .install()
        .unwrap();
    chat();
    guard.shutdown().unwrap();
    let spans = mem.spans();
    assert_eq!(spans.len(), 2);
    let r = &spans[0].instrumentation_scope;
    assert_eq!(r.name(), "genai-trace");
    assert!(!genai_trace::health().installed);
}

#[test]
fn disabled_by_env_or_builder_records_nothing() {
    let _l = lock();
    for b in [
        Telemetry::builder().env_lookup(env(&[("OTEL_SDK_DISABLED", "true")])),
        Telemetry::builder().env_lookup(env(&[])).disabled(true),
    ] {
        let mem = genai_trace::testing::memory_exporter();
        let guard = b.with_exporter("memory", mem.clone()).install().unwrap();
        assert!(!guard.is_installed());
        assert!(!genai_trace::is_enabled());
        chat();
        drop(guard);
        assert!(mem.spans().is_empty());
    }
}

#[test]
fn installing_twice_is_an_error_not_a_panic() {
    let _l = lock();
    let g = Telemetry::builder()
        .env_lookup(env(&[]))
        .with_exporter("m", genai_trace::testing::memory_exporter())
        .install();
    let g = g.unwrap();
    let second = Telemetry::builder()
        .env_lookup(env(&[]))
        .with_exporter("m", genai_trace::testing::memory_exporter())
        .install();
    assert!(matches!(second, Err(genai_trace::InstallError::AlreadyInstalled)));
    drop(g);
}

#[test]
fn guard_drop_delivers_every_span_ended_before_it() {
    let _l = lock();
    let mem = genai_trace::testing::memory_exporter();
    let guard = Telemetry::builder()
        .env_lookup(env(&[]))
        .max_queue_size(16_384)
        .with_exporter("memory", mem.clone())
        .install()
        .unwrap();
    for _ in 0..10_000 {
        tool();
    }
    let h = genai_trace::health();
    assert_eq!(h.spans_started, 10_000);
    drop(guard);
    assert_eq!(mem.spans().len(), 10_000);
}

#[test]
fn guard_drop_with_the_collector_down_returns_within_its_timeout() {
    let _l = lock();
    for otlp in [OtlpExporter::http(), OtlpExporter::grpc()] {
        let guard = to_a_dead_backend(otlp.timeout(Duration::from_secs(30)))
            .shutdown_timeout(Duration::from_millis(500))
            .install()
            .unwrap();
        for _ in 0..100 {
            chat();
        }
        let t = Instant::now();
        let result = guard.shutdown();
        let took = t.elapsed();
        assert!(took < Duration::from_millis(1500), "shutdown took {took:?}");
        assert!(result.is_err(), "a dead backend is reported, not hidden");
    }
}

/// Replaces `12.3ms`, `850µs`, `1.20s` with `<d>` and trace ids with `<trace>`.
fn mask(text: &str) -> String {
    text.lines()
        .map(|line| {
            line.split(' ')
                .map(|w| {
                    let digits = w.trim_end_matches(['s', 'm', 'µ']);
                    let is_dur = !digits.is_empty()
                        && digits.len() < w.len()
                        && digits.chars().all(|c| c.is_ascii_digit() || c == '.');
                    if is_dur {
                        "<d>".to_owned()
                    } else if w.len() == 32 && w.chars().all(|c| c.is_ascii_hexdigit()) {
                        "<trace>".to_owned()
                    } else {
                        w.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[genai_span(kind = "invoke_agent", attrs(gen_ai.agent.name = "planner"))]
fn agent() -> Result<(), std::io::Error> {
    chat();
    retrieve();
    Err(std::io::Error::other("gave up"))
}

#[genai_span(kind = "retrieval", attrs(gen_ai.data_source.id = "docs"))]
fn retrieve() {}

#[test]
fn console_tree_for_a_nested_trace() {
    let _l = lock();
    let buf = SharedBuffer::default();
    let guard = Telemetry::builder()
        .env_lookup(env(&[]))
        .service_name("demo")
        // Tiny batches: the tree must be assembled across them.
        .max_export_batch_size(1)
        .with_console_exporter(ConsoleExporter::tree().summary(false).writer(buf.clone()))
        .install()
        .unwrap();
    let _ = agent();
    guard.shutdown().unwrap();
    let expected = "\
trace <trace> (demo)
invoke_agent planner  <d>  ✗ error std::io::error::Error: gave up
├─ chat gpt-4o  [client]  <d>  provider=openai
│  └─ execute_tool search  <d>  provider=openai
└─ retrieval docs  [client]  <d>";
    assert_eq!(mask(&buf.text()).trim_end(), expected, "\n{}", buf.text());
}

#[test]
fn console_json_lines() {
    let _l = lock();
    let buf = SharedBuffer::default();
    let guard = Telemetry::builder()
        .env_lookup(env(&[]))
        .service_name("demo-json")
        .with_console_exporter(ConsoleExporter::json_lines().writer(buf.clone()))
        .install()
        .unwrap();
    chat();
    guard.shutdown().unwrap();
    let lines: Vec<serde_json::Value> = buf.text().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    let chat = &lines[1];
    assert_eq!(chat["name"], "chat gpt-4o");
    assert_eq!(chat["kind"], "CLIENT");
    assert_eq!(chat["service"], "demo-json");
    assert_eq!(chat["attributes"]["gen_ai.provider.name"], "openai");
    assert_eq!(lines[0]["parent_span_id"], chat["span_id"]);
    assert_eq!(chat["parent_span_id"], "");
}

#[test]
fn span_attribute_helper_finds_values() {
    let t = TestTelemetry::install();
    chat();
    let s = t.span("chat gpt-4o");
    assert_eq!(attribute(&s, "gen_ai.request.model").unwrap().as_str(), "gpt-4o");
}

#[genai_span(kind = "chat", provider = "openai", model = "gpt-4o")]
fn chat_that_fails(step: u32) -> Result<u32, std::io::Error> {
    genai_trace::set_attribute("app.step", i64::from(step));
    tool();
    Err(std::io::Error::other("rate limited"))
}

#[test]
fn a_tracer_provider_built_by_the_user_records_through_the_sdk() {
    use genai_trace::opentelemetry::trace::{SpanKind, Status};
    use genai_trace::opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
    let _l = lock();
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let guard = Telemetry::builder()
        .env_lookup(|_| None)
        .tracer_provider(provider)
        .install()
        .expect("install");
    assert!(chat_that_fails(3).is_err());
    genai_trace::span("manual").in_scope(|| genai_trace::set_attribute("app.manual", true));
    // A simple processor exports as spans end (and the exporter forgets them on shutdown).
    let spans = exporter.get_finished_spans().expect("spans");
    drop(guard);
    let find = |name: &str| {
        spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{name}: {spans:?}"))
    };
    let chat = find("chat gpt-4o");
    let tool = find("execute_tool search");
    assert_eq!(chat.span_kind, SpanKind::Client);
    assert_eq!(tool.parent_span_id, chat.span_context.span_id());
    assert_eq!(chat.status, Status::error("rate limited"));
    assert_eq!(attribute(chat, "error.type").unwrap().as_str(), "std::io::error::Error");
    assert_eq!(attribute(chat, "gen_ai.provider.name").unwrap().as_str(), "openai");
    assert_eq!(attribute(chat, "app.step").unwrap(), &3i64.into());
    assert!(chat.events.iter().any(|e| e.name == "exception"));
    assert_eq!(attribute(find("manual"), "app.manual").unwrap(), &true.into());
}

#[cfg(feature = "metrics")]
#[test]
fn user_built_providers_get_the_genai_metrics_and_a_count_of_spans_started() {
    use genai_trace::opentelemetry_sdk::metrics::data::{ResourceMetrics, ScopeMetrics};
    use genai_trace::opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
    use genai_trace::opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
    let _l = lock();
    let spans = InMemorySpanExporter::default();
    let metrics = InMemoryMetricExporter::default();
    let guard = Telemetry::builder()
        .env_lookup(|_| None)
        .tracer_provider(SdkTracerProvider::builder().with_simple_exporter(spans.clone()).build())
        .meter_provider(
            SdkMeterProvider::builder()
                .with_reader(PeriodicReader::builder(metrics.clone()).build())
                .build(),
        )
        .install()
        .expect("install");
    chat(); // a chat span and a tool span
    let h = genai_trace::health();
    assert_eq!(h.spans_started, 2, "counted through the SDK: {h:?}");
    guard.flush().unwrap();
    let exported: Vec<ResourceMetrics> = metrics.get_finished_metrics().unwrap();
    let names: Vec<String> = exported
        .iter()
        .flat_map(ResourceMetrics::scope_metrics)
        .flat_map(ScopeMetrics::metrics)
        .map(|m| m.name().to_owned())
        .collect();
    // The SDK's in-memory exporter forgets its spans at shutdown: read them first.
    assert_eq!(spans.get_finished_spans().unwrap().len(), 2);
    drop(guard);
    assert!(
        names.iter().any(|n| n == "gen_ai.client.operation.duration"),
        "the GenAI metrics reach the user's meter provider: {names:?}"
    );
}

#[test]
fn a_new_installation_on_the_same_thread_gets_the_spans_of_this_thread() {
    let _l = lock();
    // Each install's spans go to its own exporter, also from a thread whose pooled
    // call states served the earlier installation.
    let mut exporters = Vec::new();
    for round in 0..3 {
        let mem = genai_trace::testing::memory_exporter();
        let guard = Telemetry::builder()
            .env_lookup(env(&[]))
            .with_exporter("memory", mem.clone())
            .install()
            .unwrap();
        for _ in 0..=round {
            chat();
        }
        drop(guard);
        exporters.push(mem);
    }
    for (round, mem) in exporters.iter().enumerate() {
        let spans = mem.spans();
        assert_eq!(
            spans.len(),
            2 * (round + 1),
            "round {round}: chat and its tool, per call"
        );
    }
}

#[test]
fn spans_to_a_dead_backend_are_counted_as_failed() {
    let _l = lock();
    for otlp in [OtlpExporter::http(), OtlpExporter::grpc()] {
        let guard = to_a_dead_backend(otlp.timeout(Duration::from_millis(300)).without_metrics())
            .install()
            .unwrap();
        for _ in 0..10 {
            chat();
        }
        assert!(guard.flush().is_err(), "the failed export is reported by flush");
        let h = genai_trace::health();
        assert_eq!(h.spans_failed(), 20, "chat and tool, 10 times: {h:?}");
        assert_eq!(h.spans_exported(), 0);
        assert_eq!(h.spans_dropped(), 0);
        drop(guard);
    }
}

/// Keeps each export in flight for 30 ms and records how many overlapped.
#[derive(Clone, Debug, Default)]
struct SlowExports {
    in_flight: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    most: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl opentelemetry_sdk::trace::SpanExporter for SlowExports {
    async fn export(&self, _batch: Vec<opentelemetry_sdk::trace::SpanData>) -> opentelemetry_sdk::error::OTelSdkResult {
        use std::sync::atomic::Ordering::SeqCst;
        let now = self.in_flight.fetch_add(1, SeqCst) + 1;
        self.most.fetch_max(now, SeqCst);
        let until = Instant::now() + Duration::from_millis(30);
        std::future::poll_fn(|cx| {
            if Instant::now() >= until {
                std::task::Poll::Ready(())
            } else {
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        })
        .await;
        self.in_flight.fetch_sub(1, SeqCst);
        Ok(())
    }
}

#[test]
fn batches_in_flight_follow_the_builder_then_the_env() {
    let _l = lock();
    // (OTEL_BSP_MAX_CONCURRENT_EXPORTS, builder, batches in flight at most)
    for (from_env, from_builder, expected) in [(None, None, 4), (Some("2"), None, 2), (Some("2"), Some(3), 3)] {
        let exporter = SlowExports::default();
        let vars: Vec<(&str, &str)> = from_env
            .map(|v| ("OTEL_BSP_MAX_CONCURRENT_EXPORTS", v))
            .into_iter()
            .collect();
        let mut builder = Telemetry::builder()
            .env_lookup(env(&vars))
            .quiet()
            .with_exporter("slow", exporter.clone())
            .max_export_batch_size(2);
        if let Some(n) = from_builder {
            builder = builder.max_concurrent_exports(n);
        }
        let guard = builder.install().unwrap();
        for _ in 0..10 {
            chat(); // two spans each: ten batches
        }
        guard.flush().unwrap();
        let h = genai_trace::health();
        assert_eq!(h.spans_exported(), 20, "{h:?}");
        let most = exporter.most.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(most, expected, "env {from_env:?}, builder {from_builder:?}");
        drop(guard);
    }
}

/// An OTLP/HTTP receiver on loopback that answers each request after `delay` (a
/// distant collector), and the most requests it held at once.
fn slow_collector(delay: Duration) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let most = std::sync::Arc::new(AtomicUsize::new(0));
    let held = std::sync::Arc::new(AtomicUsize::new(0));
    let (most_out, rt) = (
        most.clone(),
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
    );
    std::thread::spawn(move || {
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((stream, _)) = listener.accept().await {
                let (most, held) = (most.clone(), held.clone());
                tokio::spawn(async move {
                    let mut r = tokio::io::BufReader::new(stream);
                    let mut line = String::new();
                    // One request per loop: the request line, headers, a body of content-length.
                    while r.read_line(&mut line).await.unwrap_or(0) > 0 {
                        let mut len = 0;
                        loop {
                            line.clear();
                            r.read_line(&mut line).await.unwrap();
                            let header = line.trim_end().to_ascii_lowercase();
                            if header.is_empty() {
                                break;
                            }
                            if let Some(v) = header.strip_prefix("content-length:") {
                                len = v.trim().parse().unwrap();
                            }
                        }
                        r.read_exact(&mut vec![0; len]).await.unwrap();
                        most.fetch_max(held.fetch_add(1, SeqCst) + 1, SeqCst);
                        tokio::time::sleep(delay).await;
                        held.fetch_sub(1, SeqCst);
                        let ok = "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
                        r.get_mut().write_all(ok.as_bytes()).await.unwrap();
                        line.clear();
                    }
                });
            }
        });
    });
    (port, most_out)
}

#[test]
fn http_exports_overlap_to_a_distant_collector() {
    let _l = lock();
    let (port, most) = slow_collector(Duration::from_millis(100));
    let guard = Telemetry::builder()
        .env_lookup(env(&[]))
        .quiet()
        .with_otlp(
            OtlpExporter::http()
                .endpoint(format!("http://127.0.0.1:{port}"))
                .without_metrics(),
        )
        .max_export_batch_size(2)
        .install()
        .unwrap();
    let start = Instant::now();
    for _ in 0..10 {
        chat(); // two spans each: ten batches
    }
    guard.flush().unwrap();
    let h = genai_trace::health();
    assert_eq!(h.spans_exported(), 20, "{h:?}");
    // Four batches in flight at once: ten round trips of 100 ms take three waits, not ten.
    assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 4);
    assert!(start.elapsed() < Duration::from_millis(900), "{:?}", start.elapsed());
    drop(guard);
}
