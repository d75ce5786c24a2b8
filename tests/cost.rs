//! Cost from a price table (`GENAI_TRACE_PRICES`, `TelemetryBuilder::prices`):
//! `genai_trace.usage.cost` on every span with token usage and the
//! `genai_trace.client.cost` counter, exact to the cent.
#![cfg(all(feature = "testing", feature = "metrics"))]
// The counter sums the very f64 the span carries: equal, not merely close.
#![allow(clippy::float_cmp)]

use std::collections::HashMap;

use genai_trace::testing::{TestTelemetry, attribute};
use genai_trace::{ModelPrice, PriceTable, RecordResponse, Recorder, SamplerConfig, Usage, genai_span, health};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};

const PRICES: &str = r#"{
    "gpt-4o": {"input": 2.5, "output": 10.0, "cache_read": 1.25, "cache_creation": 3.75},
    "gpt-4o-mini": {"input": 0.15, "output": 0.6},
    "text-embedding-3-small": {"input": 0.02, "output": 0}
}"#;

struct Reply {
    model: Option<&'static str>,
    usage: Usage,
}

impl RecordResponse for Reply {
    fn record_response(&self, r: &mut Recorder<'_>) {
        if let Some(m) = self.model {
            r.response_model(m);
        }
        r.usage(self.usage);
    }
}

#[genai_span(kind = "chat", provider = "openai", model = model)]
fn chat(model: &str, reply: Reply) -> Reply {
    let _ = model;
    reply
}

fn usage(input: i64, output: i64, cache_read: Option<i64>, cache_creation: Option<i64>) -> Usage {
    Usage {
        input_tokens: Some(input),
        output_tokens: Some(output),
        cache_read_input_tokens: cache_read,
        cache_creation_input_tokens: cache_creation,
        reasoning_output_tokens: None,
    }
}

fn cost_of(t: &TestTelemetry, name: &str) -> Option<f64> {
    attribute(&t.span(name), "genai_trace.usage.cost").map(|v| match v {
        opentelemetry::Value::F64(usd) => *usd,
        other => panic!("genai_trace.usage.cost is a double, not {other:?}"),
    })
}

/// The counter's sum per request model.
fn cost_counter(t: &TestTelemetry) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    for rm in t.metrics() {
        for sm in rm.scope_metrics() {
            for m in sm.metrics().filter(|m| m.name() == "genai_trace.client.cost") {
                assert_eq!(m.unit(), "{USD}");
                let AggregatedMetrics::F64(MetricData::Sum(sum)) = m.data() else {
                    panic!("genai_trace.client.cost is an f64 counter")
                };
                for p in sum.data_points() {
                    let attrs: HashMap<String, String> = p
                        .attributes()
                        .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                        .collect();
                    assert_eq!(attrs.len(), 2, "provider and request model only: {attrs:?}");
                    assert_eq!(attrs["gen_ai.provider.name"], "openai");
                    out.insert(attrs["gen_ai.request.model"].clone(), p.value());
                }
            }
        }
    }
    out
}

fn cents(usd: f64) -> i64 {
    (usd * 100.0).round() as i64
}

#[test]
fn every_span_with_usage_gets_its_exact_cost() {
    let t = TestTelemetry::install_with(|b| b.prices(PriceTable::from_json(PRICES).unwrap()));
    // Uncached: 12,000 in at $2.50/M + 3,000 out at $10/M = $0.06.
    chat(
        "gpt-4o",
        Reply {
            model: Some("gpt-4o-2024-08-06"),
            usage: usage(12_000, 3_000, None, None),
        },
    );
    let usd = cost_of(&t, "chat gpt-4o").unwrap();
    assert!((usd - 0.06).abs() < 1e-12, "{usd}");
    assert_eq!(cents(usd), 6);
    drop(t);

    let t = TestTelemetry::install_with(|b| b.prices(PriceTable::from_json(PRICES).unwrap()));
    // Cached: 1M in, of which 600k cache reads and 100k cache writes; 200k out:
    // 300k × 2.5 + 600k × 1.25 + 100k × 3.75 + 200k × 10 = 0.75 + 0.75 + 0.375 + 2.0.
    chat(
        "gpt-4o",
        Reply {
            model: None,
            usage: usage(1_000_000, 200_000, Some(600_000), Some(100_000)),
        },
    );
    let usd = cost_of(&t, "chat gpt-4o").unwrap();
    assert!((usd - 3.875).abs() < 1e-9, "{usd}");
    assert_eq!(cost_counter(&t)["gpt-4o"], usd);
}

#[test]
fn the_response_model_is_priced_before_the_request_model() {
    let t = TestTelemetry::install_with(|b| b.prices(PriceTable::from_json(PRICES).unwrap()));
    // Asked for an alias, served by gpt-4o-mini: priced as gpt-4o-mini.
    chat(
        "openai/gpt-4o",
        Reply {
            model: Some("gpt-4o-mini-2024-07-18"),
            usage: usage(1_000_000, 1_000_000, None, None),
        },
    );
    let usd = cost_of(&t, "chat openai/gpt-4o").unwrap();
    assert!((usd - 0.75).abs() < 1e-12, "{usd}");
    // No response model: the request model, after its provider prefix.
    chat(
        "openai/gpt-4o",
        Reply {
            model: None,
            usage: usage(1_000_000, 0, None, None),
        },
    );
    let total = cost_counter(&t)["openai/gpt-4o"];
    assert!((total - 3.25).abs() < 1e-12, "{total}");
}

#[test]
fn unpriced_models_and_calls_without_usage_get_no_cost() {
    let t = TestTelemetry::install_with(|b| b.prices(PriceTable::from_json(PRICES).unwrap()));
    chat(
        "llama3.1:8b",
        Reply {
            model: None,
            usage: usage(100, 100, None, None),
        },
    );
    chat(
        "gpt-4o",
        Reply {
            model: None,
            usage: Usage::default(),
        },
    );
    let spans = t.spans();
    assert_eq!(spans.len(), 2);
    for s in &spans {
        assert!(attribute(s, "genai_trace.usage.cost").is_none(), "{:?}", s.name);
    }
    assert!(cost_counter(&t).is_empty());
}

#[test]
fn without_a_table_there_is_no_cost_at_all() {
    let t = TestTelemetry::install();
    chat(
        "gpt-4o",
        Reply {
            model: None,
            usage: usage(100, 100, None, None),
        },
    );
    assert!(cost_of(&t, "chat gpt-4o").is_none());
    assert!(cost_counter(&t).is_empty());
}

#[test]
fn sampled_out_calls_are_still_counted() {
    let t = TestTelemetry::install_with(|b| {
        b.sampler(SamplerConfig::AlwaysOff)
            .prices(PriceTable::new().with_price("gpt-4o", ModelPrice::new(2.5, 10.0)))
    });
    chat(
        "gpt-4o",
        Reply {
            model: None,
            usage: usage(1_000_000, 0, None, None),
        },
    );
    assert!(t.spans().is_empty());
    assert_eq!(cost_counter(&t)["gpt-4o"], 2.5);
}

#[test]
fn the_table_comes_from_genai_trace_prices() {
    let dir = std::env::temp_dir().join(format!("genai-trace-prices-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("prices.json");
    std::fs::write(&good, PRICES).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"gpt-4o": {"input": 2.5}}"#).unwrap();

    let path = good.display().to_string();
    let t =
        TestTelemetry::install_with(move |b| b.env_lookup(move |k| (k == "GENAI_TRACE_PRICES").then(|| path.clone())));
    chat(
        "gpt-4o",
        Reply {
            model: None,
            usage: usage(1_000_000, 100_000, Some(1_000_000), None),
        },
    );
    let usd = cost_of(&t, "chat gpt-4o").unwrap();
    assert!((usd - 2.25).abs() < 1e-12, "{usd}");
    drop(t);

    let path = bad.display().to_string();
    let t = TestTelemetry::install_with(move |b| {
        b.env_lookup(move |k| (k == "GENAI_TRACE_PRICES").then(|| path.clone()))
            .quiet()
    });
    let warning = &health().warnings[0];
    assert_eq!(warning.variable, "GENAI_TRACE_PRICES");
    assert!(warning.message.contains("\"output\" is missing"), "{}", warning.message);
    chat(
        "gpt-4o",
        Reply {
            model: None,
            usage: usage(100, 100, None, None),
        },
    );
    assert!(cost_of(&t, "chat gpt-4o").is_none(), "a bad table prices nothing");
    std::fs::remove_dir_all(&dir).unwrap();
}
