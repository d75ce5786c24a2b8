//! The conformance checks, shared by `tests/conformance.rs` (spans and metrics
//! the test suite exports in memory) and `tests/demo_conformance.rs` (what a real
//! collector received from the demo): everything is checked on an observed,
//! exporter-neutral form of spans, log records and metric points.
#![allow(dead_code)] // each test file uses part of it

use std::collections::BTreeSet;
use std::sync::OnceLock;

use genai_trace::opentelemetry::trace::{SpanKind, Status};
use genai_trace::opentelemetry::{Array, KeyValue, StringValue, Value};
use genai_trace::opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics, ScopeMetrics};
use genai_trace::opentelemetry_sdk::trace::SpanData;
use serde_json::Value as Json;

// --- the registry's facts ---------------------------------------------------------

pub(crate) fn registry() -> &'static Json {
    static R: OnceLock<Json> = OnceLock::new();
    R.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/conformance/semconv-v1.41.0.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    })
}

/// What a call had to give: the attributes whose information it supplied.
#[derive(Clone, Debug, Default)]
pub(crate) struct Facts {
    pub(crate) available: BTreeSet<&'static str>,
    pub(crate) streaming: bool,
    pub(crate) content: bool,
}

/// Names checked against the registry: ours go under `genai_trace.*`.
fn convention_key(k: &str) -> bool {
    k.starts_with("gen_ai.") || k.starts_with("openai.") || k.starts_with("server.") || k == "error.type"
}

/// The conventions' JSON schema of a content attribute (v1.41.0's
/// docs/gen-ai/gen-ai-*.json, copied into tests/conformance/schemas).
fn content_schema(key: &str) -> Option<&'static jsonschema::Validator> {
    static SCHEMAS: OnceLock<Vec<(&'static str, jsonschema::Validator)>> = OnceLock::new();
    let schemas = SCHEMAS.get_or_init(|| {
        [
            ("gen_ai.input.messages", "input-messages"),
            ("gen_ai.output.messages", "output-messages"),
            ("gen_ai.system_instructions", "system-instructions"),
            ("gen_ai.tool.definitions", "tool-definitions"),
            ("gen_ai.retrieval.documents", "retrieval-documents"),
        ]
        .into_iter()
        .map(|(key, file)| {
            let path = format!(
                "{}/tests/conformance/schemas/gen-ai-{file}.json",
                env!("CARGO_MANIFEST_DIR")
            );
            let schema: Json = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            (key, jsonschema::validator_for(&schema).unwrap())
        })
        .collect()
    });
    schemas.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
}

/// Content recorded as JSON text must be valid JSON that its schema accepts.
pub(crate) fn check_content(problems: &mut Vec<String>, what: &str, kv: &KeyValue) {
    if content_schema(kv.key.as_str()).is_none() {
        return;
    }
    let Value::String(text) = &kv.value else {
        return; // the type check reports it
    };
    match serde_json::from_str::<Json>(text.as_str()) {
        Err(e) => problems.push(format!("{what}: {} is not JSON ({e}): {text}", kv.key)),
        Ok(instance) => check_structured_content(problems, what, kv.key.as_str(), &instance),
    }
}

/// Structured content (as log records carry it) against its schema.
fn check_structured_content(problems: &mut Vec<String>, what: &str, key: &str, instance: &Json) {
    let Some(schema) = content_schema(key) else {
        return;
    };
    for error in schema.iter_errors(instance) {
        problems.push(format!(
            "{what}: {key} breaks its schema at {}: {error}",
            error.instance_path
        ));
    }
}

/// Type, enum spelling, known and not deprecated; content against its schema.
fn check_value(problems: &mut Vec<String>, what: &str, kv: &KeyValue) {
    let key = kv.key.as_str();
    if !convention_key(key) {
        return;
    }
    let reg = registry();
    if reg["deprecated"].as_array().unwrap().iter().any(|d| d == key) {
        problems.push(format!("{what}: deprecated attribute {key}"));
        return;
    }
    let Some(def) = reg["attributes"].get(key) else {
        problems.push(format!("{what}: {key} is not in the registry"));
        return;
    };
    let ok = matches!(
        (def["type"].as_str().unwrap(), &kv.value),
        ("string", Value::String(_))
            | ("int", Value::I64(_))
            | ("double", Value::F64(_))
            | ("boolean", Value::Bool(_))
            | ("string[]", Value::Array(Array::String(_)))
            | ("any", _)
    );
    if !ok {
        problems.push(format!(
            "{what}: {key} is {:?}, the registry says {}",
            kv.value, def["type"]
        ));
    }
    check_content(problems, what, kv);
    // Closed in practice for these: a value that is not a member is a misspelling.
    let closed = ["gen_ai.operation.name", "gen_ai.token.type", "gen_ai.output.type"];
    if let (Some(members), Value::String(v)) = (def.get("members"), &kv.value)
        && closed.contains(&key)
        && !members.as_array().unwrap().iter().any(|m| m == v.as_str())
    {
        problems.push(format!("{what}: {key}={v} is not one of {members}"));
    }
}

/// Whether the registry's condition on `key` holds for this call.
fn condition_holds(condition: &str, key: &str, present: &dyn Fn(&str) -> bool, failed: bool, facts: &Facts) -> bool {
    match condition.trim() {
        "if the operation ended in an error" => failed,
        "If `server.address` is set." => present("server.address"),
        c if c.starts_with("If and only if the request is streaming") => facts.streaming,
        "If available."
        | "when available"
        | "if available"
        | "if applicable."
        | "if applicable"
        | "when applicable"
        | "If provided by the application."
        | "if available, in the request, and !=1"
        | "if applicable and if the request includes a seed"
        | "when applicable and if the request includes an output format."
        | "if the request was a streaming request"
        | "if the request includes a service_tier and the value is not 'auto'"
        | "if the response was received and includes a service_tier" => facts.available.contains(key),
        other => panic!(
            "the registry has a condition this test cannot evaluate yet: {other:?} (on {key}); teach condition_holds"
        ),
    }
}

/// Checks `attrs` against a group's attributes and levels.
fn check_levels(problems: &mut Vec<String>, what: &str, group: &Json, attrs: &[KeyValue], failed: bool, facts: &Facts) {
    let present = |k: &str| attrs.iter().any(|kv| kv.key.as_str() == k);
    for (key, level) in group["attributes"].as_object().unwrap() {
        let key = key.as_str();
        let has = present(key);
        let missing = match level {
            Json::String(l) if l == "required" => !has,
            Json::String(l) if l == "opt_in" => {
                if has && !facts.content {
                    problems.push(format!("{what}: opt-in {key} recorded with content capture off"));
                }
                facts.content && facts.available.contains(key) && !has
            }
            Json::String(_) => facts.available.contains(key) && !has,
            Json::Object(o) => {
                let (kind, condition) = o.iter().next().unwrap();
                let holds = condition_holds(condition.as_str().unwrap(), key, &present, failed, facts);
                if kind == "conditionally_required" && key == "error.type" && has && !failed {
                    problems.push(format!("{what}: error.type on a call that did not fail"));
                }
                holds && !has
            }
            other => panic!("unknown level {other}"),
        };
        if missing {
            problems.push(format!("{what}: {key} ({level}) is missing"));
        }
    }
}

/// The span group of a GenAI span, by operation and kind.
fn span_group(operation: &str, kind: &SpanKind) -> Option<&'static str> {
    Some(match (operation, kind) {
        ("chat" | "text_completion" | "generate_content", _) => "span.gen_ai.inference.client",
        ("embeddings", _) => "span.gen_ai.embeddings.client",
        ("retrieval", _) => "span.gen_ai.retrieval.client",
        ("execute_tool", _) => "span.gen_ai.execute_tool.internal",
        ("create_agent", _) => "span.gen_ai.create_agent.client",
        ("invoke_agent", SpanKind::Client) => "span.gen_ai.invoke_agent.client",
        ("invoke_agent", _) => "span.gen_ai.invoke_agent.internal",
        ("invoke_workflow", _) => "span.gen_ai.invoke_workflow.internal",
        _ => return None,
    })
}

// --- what was exported, in one form for every exporter ------------------------------

/// A span as exported: from the SDK's `SpanData` or a collector's JSON.
#[derive(Clone, Debug)]
pub(crate) struct ObservedSpan {
    pub(crate) name: String,
    pub(crate) kind: SpanKind,
    pub(crate) failed: bool,
    pub(crate) attributes: Vec<KeyValue>,
    pub(crate) events: Vec<(String, Vec<KeyValue>)>,
}

impl ObservedSpan {
    pub(crate) fn from_sdk(span: &SpanData) -> Self {
        Self {
            name: span.name.to_string(),
            kind: span.span_kind.clone(),
            failed: matches!(span.status, Status::Error { .. }),
            attributes: span.attributes.clone(),
            events: span
                .events
                .events
                .iter()
                .map(|e| (e.name.to_string(), e.attributes.clone()))
                .collect(),
        }
    }

    /// A span as the test collector writes it (`scripts/backends/rotel_jsonl.py`).
    pub(crate) fn from_collector(span: &Json) -> Self {
        let kind = match span["kind"].as_str().unwrap_or("") {
            "SERVER" => SpanKind::Server,
            "CLIENT" => SpanKind::Client,
            "PRODUCER" => SpanKind::Producer,
            "CONSUMER" => SpanKind::Consumer,
            _ => SpanKind::Internal,
        };
        Self {
            name: span["name"].as_str().unwrap_or("").to_owned(),
            kind,
            failed: span["status"]["code"] == "ERROR",
            attributes: key_values(&span["attributes"]),
            events: span["events"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| {
                    (
                        e["name"].as_str().unwrap_or("").to_owned(),
                        key_values(&e["attributes"]),
                    )
                })
                .collect(),
        }
    }

    pub(crate) fn attribute(&self, key: &str) -> Option<&Value> {
        self.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }
}

/// A collector's attribute map as key-values, keeping the OTLP types.
pub(crate) fn key_values(attributes: &Json) -> Vec<KeyValue> {
    attributes
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| KeyValue::new(k.clone(), json_value(v)))
        .collect()
}

fn json_value(v: &Json) -> Value {
    match v {
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) if n.is_f64() => Value::F64(n.as_f64().unwrap()),
        Json::Number(n) => Value::I64(n.as_i64().unwrap_or(i64::MAX)),
        Json::String(s) => Value::String(s.clone().into()),
        Json::Array(items) if items.iter().all(Json::is_string) => Value::Array(Array::String(
            items
                .iter()
                .map(|i| StringValue::from(i.as_str().unwrap().to_owned()))
                .collect(),
        )),
        Json::Array(items) if items.iter().all(Json::is_i64) => {
            Value::Array(Array::I64(items.iter().map(|i| i.as_i64().unwrap()).collect()))
        }
        Json::Array(items) if items.iter().all(Json::is_number) => {
            Value::Array(Array::F64(items.iter().map(|i| i.as_f64().unwrap()).collect()))
        }
        // Maps and mixed lists: structured values, as their JSON text.
        other => Value::String(other.to_string().into()),
    }
}

/// One histogram point (or a point of another kind, which is a problem here).
#[derive(Clone, Debug)]
pub(crate) struct ObservedPoint {
    pub(crate) name: String,
    pub(crate) unit: String,
    pub(crate) histogram: bool,
    pub(crate) attributes: Vec<KeyValue>,
    pub(crate) bounds: Vec<f64>,
    pub(crate) count: u64,
}

/// The points of the SDK's in-memory metrics.
pub(crate) fn points_from_sdk(metrics: &[ResourceMetrics]) -> Vec<ObservedPoint> {
    let mut points = Vec::new();
    for m in metrics
        .iter()
        .flat_map(ResourceMetrics::scope_metrics)
        .flat_map(ScopeMetrics::metrics)
    {
        let point = |attributes: Vec<KeyValue>, bounds: Vec<f64>, count: u64, histogram: bool| ObservedPoint {
            name: m.name().to_owned(),
            unit: m.unit().to_owned(),
            histogram,
            attributes,
            bounds,
            count,
        };
        match m.data() {
            AggregatedMetrics::F64(MetricData::Histogram(h)) => points.extend(
                h.data_points()
                    .map(|p| point(p.attributes().cloned().collect(), p.bounds().collect(), p.count(), true)),
            ),
            AggregatedMetrics::U64(MetricData::Histogram(h)) => points.extend(
                h.data_points()
                    .map(|p| point(p.attributes().cloned().collect(), p.bounds().collect(), p.count(), true)),
            ),
            _ => points.push(point(Vec::new(), Vec::new(), 0, false)),
        }
    }
    points
}

/// A metric point as the test collector writes it.
pub(crate) fn point_from_collector(point: &Json) -> ObservedPoint {
    ObservedPoint {
        name: point["name"].as_str().unwrap_or("").to_owned(),
        unit: point["unit"].as_str().unwrap_or("").to_owned(),
        histogram: point["type"] == "Histogram",
        attributes: key_values(&point["attributes"]),
        bounds: point["explicit_bounds"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Json::as_f64)
            .collect(),
        count: point["count"].as_u64().unwrap_or(0),
    }
}

// --- the checks ---------------------------------------------------------------------

/// Every problem of one exported span (empty when it conforms).
pub(crate) fn check_span(span: &ObservedSpan, facts: &Facts) -> Vec<String> {
    let mut problems = Vec::new();
    let what = format!("span {:?}", span.name);
    let attrs = &span.attributes;
    for kv in attrs {
        check_value(&mut problems, &what, kv);
    }
    let Some(op) = span.attribute("gen_ai.operation.name") else {
        // Not a GenAI span: names only, and no GenAI event.
        check_events(&mut problems, &what, span, facts);
        return problems;
    };
    let op = op.as_str().into_owned();
    let Some(group) = span_group(&op, &span.kind) else {
        problems.push(format!("{what}: no span of the conventions has operation {op:?}"));
        return problems;
    };
    let group = &registry()["spans"][group];
    let failed = span.failed;
    check_levels(&mut problems, &what, group, attrs, failed, facts);
    // OpenAI's inference spans extend the generic ones with `openai.*`.
    let openai = span
        .attribute("gen_ai.provider.name")
        .is_some_and(|v| v.as_str() == "openai");
    if openai && ["chat", "text_completion", "generate_content"].contains(&op.as_str()) {
        let openai_group = &registry()["spans"]["span.openai.inference.client"];
        check_levels(
            &mut problems,
            &format!("{what} (openai)"),
            openai_group,
            attrs,
            failed,
            facts,
        );
    }
    let kind = format!("{:?}", span.kind).to_lowercase();
    if group["kind"] != kind.as_str() {
        problems.push(format!("{what}: kind {kind}, the conventions say {}", group["kind"]));
    }
    if let Some(pattern) = group["name"].as_str() {
        let mut name = pattern.to_owned();
        for kv in attrs {
            name = name.replace(&format!("{{{}}}", kv.key.as_str()), &kv.value.as_str());
        }
        // A placeholder whose attribute is not available falls away.
        let name = name
            .split(' ')
            .filter(|p| !p.starts_with('{'))
            .collect::<Vec<_>>()
            .join(" ");
        if span.name != name {
            problems.push(format!("{what}: the conventions name it {name:?}"));
        }
    }
    check_events(&mut problems, &what, span, facts);
    problems
}

/// The span's events: GenAI events against their group, nothing unknown.
fn check_events(problems: &mut Vec<String>, what: &str, span: &ObservedSpan, facts: &Facts) {
    let failed = span.failed;
    for (name, attributes) in &span.events {
        let ewhat = format!("{what} event {name}");
        for kv in attributes {
            check_value(problems, &ewhat, kv);
        }
        if let Some(group) = registry()["events"].get(name.as_str()) {
            // Events carry the call's attributes and its content (always on when emitted).
            let efacts = Facts {
                content: true,
                ..facts.clone()
            };
            check_levels(problems, &ewhat, group, attributes, failed, &efacts);
        } else if name != "exception" {
            problems.push(format!("{ewhat}: not an event of the conventions"));
        }
    }
}

/// Every problem of a GenAI event emitted as a log record (collector JSON):
/// its attributes as on a span event, its structured content against the schemas.
pub(crate) fn check_log_event(record: &Json, facts: &Facts) -> Vec<String> {
    let mut problems = Vec::new();
    let name = record["event_name"].as_str().unwrap_or("");
    let what = format!("log record {name}");
    let Some(group) = registry()["events"].get(name) else {
        problems.push(format!("{what}: not an event of the conventions"));
        return problems;
    };
    let mut attrs = Vec::new();
    for (key, value) in record["attributes"].as_object().into_iter().flatten() {
        if content_schema(key).is_some() {
            // Structured on log records: a list or map, never JSON text.
            if value.is_string() {
                problems.push(format!("{what}: {key} is a string, structured content expected"));
            }
            check_structured_content(&mut problems, &what, key, value);
            attrs.push(KeyValue::new(key.clone(), "structured"));
        } else {
            let kv = KeyValue::new(key.clone(), json_value(value));
            check_value(&mut problems, &what, &kv);
            attrs.push(kv);
        }
    }
    let failed = attrs.iter().any(|kv| kv.key.as_str() == "error.type");
    let efacts = Facts {
        content: true,
        ..facts.clone()
    };
    check_levels(&mut problems, &what, group, &attrs, failed, &efacts);
    problems
}

/// Every problem of the exported metric points.
pub(crate) fn check_points(points: &[ObservedPoint]) -> Vec<String> {
    let mut problems = Vec::new();
    let reg = registry();
    for p in points {
        let name = p.name.as_str();
        if !name.starts_with("gen_ai.") {
            continue;
        }
        let Some(def) = reg["metrics"].get(name) else {
            problems.push(format!("metric {name} is not in the registry"));
            continue;
        };
        if def["unit"] != p.unit.as_str() {
            problems.push(format!(
                "metric {name}: unit {:?}, the conventions say {}",
                p.unit, def["unit"]
            ));
        }
        if !p.histogram {
            problems.push(format!("metric {name} is not a histogram"));
            continue;
        }
        let buckets: Vec<f64> = def["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_f64().unwrap())
            .collect();
        let attrs = &p.attributes;
        let what = format!("metric {name} point {attrs:?}");
        if p.bounds != buckets {
            problems.push(format!(
                "{what}: buckets {:?}, the conventions say {buckets:?}",
                p.bounds
            ));
        }
        for kv in attrs {
            check_value(&mut problems, &what, kv);
        }
        let failed = attrs.iter().any(|kv| kv.key.as_str() == "error.type");
        // Metric points carry what the call had; "available" is what is there.
        let facts = Facts {
            available: attrs
                .iter()
                .map(|kv| &*Box::leak(kv.key.as_str().to_owned().into_boxed_str()))
                .collect(),
            ..Facts::default()
        };
        check_levels(&mut problems, &what, def, attrs, failed, &facts);
    }
    problems
}
