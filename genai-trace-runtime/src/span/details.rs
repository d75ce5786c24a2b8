//! The `gen_ai.client.inference.operation.details` event, where content goes in
//! the event capture modes. GenAI events are log records in the conventions:
//! with OTLP logs on, it is emitted through the logs signal, with the event
//! name, the span's trace context and structured content (`AnyValue` maps and
//! lists, not JSON text); with logs off, it is a span event with the content as
//! JSON strings (span event attributes cannot nest).

use std::time::SystemTime;

use opentelemetry::KeyValue;
use opentelemetry::trace::SpanContext;

use crate::genai::semconv as sc;
use crate::pipeline::state::Active;

/// The event's attributes: the call's GenAI, server and error attributes (the
/// event's group extends the inference span's, `gen_ai.operation.name`
/// Required), then its content, so the event stands on its own wherever it is
/// stored. `None` for a span of no GenAI operation (a session, a plain span):
/// the conventions define the event for operations only, so such a span's
/// content stays on the span (`SPAN_ONLY`, `SPAN_AND_EVENT`) and is not
/// recorded in `EVENT_ONLY` mode.
pub(super) fn attributes(span_attributes: &[KeyValue], content: Vec<KeyValue>) -> Option<Vec<KeyValue>> {
    if !span_attributes
        .iter()
        .any(|kv| kv.key.as_str() == sc::GEN_AI_OPERATION_NAME)
    {
        return None;
    }
    let mut event: Vec<KeyValue> = span_attributes
        .iter()
        .filter(|kv| {
            let k = kv.key.as_str();
            (k.starts_with("gen_ai.") || k.starts_with("server.") || k == sc::ERROR_TYPE)
                && !content.iter().any(|c| c.key == kv.key)
        })
        .cloned()
        .collect();
    event.extend(content);
    Some(event)
}

/// Emits the event as a log record when OTLP logs are on (`None` then), else
/// gives it back to be added as a span event.
#[cfg_attr(not(feature = "logs"), allow(clippy::unnecessary_wraps, unused_variables))]
pub(super) fn emit_as_log(
    active: &Active,
    span: &SpanContext,
    at: SystemTime,
    event: Vec<KeyValue>,
) -> Option<Vec<KeyValue>> {
    #[cfg(feature = "logs")]
    if let Some(logger) = &active.details_logger {
        log::emit(logger, span, at, event);
        return None;
    }
    Some(event)
}

#[cfg(feature = "logs")]
mod log {
    use std::collections::HashMap;
    use std::time::SystemTime;

    use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, Severity};
    use opentelemetry::trace::SpanContext;
    use opentelemetry::{Array, Key, KeyValue, Value};
    use serde_json::Value as Json;

    use crate::genai::semconv as sc;

    /// Content attributes hold JSON text; in a log record they are structured.
    const STRUCTURED: [&str; 7] = [
        sc::GEN_AI_INPUT_MESSAGES,
        sc::GEN_AI_OUTPUT_MESSAGES,
        sc::GEN_AI_SYSTEM_INSTRUCTIONS,
        sc::GEN_AI_TOOL_DEFINITIONS,
        sc::GEN_AI_TOOL_CALL_ARGUMENTS,
        sc::GEN_AI_TOOL_CALL_RESULT,
        sc::GEN_AI_RETRIEVAL_DOCUMENTS,
    ];

    pub(super) fn emit(
        logger: &opentelemetry_sdk::logs::SdkLogger,
        span: &SpanContext,
        at: SystemTime,
        event: Vec<KeyValue>,
    ) {
        let mut record = logger.create_log_record();
        record.set_event_name(sc::INFERENCE_DETAILS_EVENT);
        record.set_timestamp(at);
        record.set_observed_timestamp(at);
        record.set_severity_number(Severity::Info);
        record.set_severity_text("INFO");
        if span.is_valid() {
            record.set_trace_context(span.trace_id(), span.span_id(), Some(span.trace_flags()));
        }
        for kv in event {
            let value = if STRUCTURED.contains(&kv.key.as_str()) {
                match &kv.value {
                    Value::String(s) => serde_json::from_str::<Json>(s.as_str())
                        .map_or_else(|_| AnyValue::String(s.clone()), |j| from_json(&j)),
                    other => from_value(other),
                }
            } else {
                from_value(&kv.value)
            };
            record.add_attribute(kv.key, value);
        }
        logger.emit(record);
    }

    fn from_json(j: &Json) -> AnyValue {
        match j {
            Json::Null => AnyValue::String("".into()),
            Json::Bool(b) => AnyValue::Boolean(*b),
            Json::Number(n) => n
                .as_i64()
                .map_or_else(|| AnyValue::Double(n.as_f64().unwrap_or(0.0)), AnyValue::Int),
            Json::String(s) => AnyValue::String(s.clone().into()),
            Json::Array(items) => AnyValue::ListAny(Box::new(items.iter().map(from_json).collect())),
            Json::Object(map) => AnyValue::Map(Box::new(
                map.iter()
                    .map(|(k, v)| (Key::new(k.clone()), from_json(v)))
                    .collect::<HashMap<_, _>>(),
            )),
        }
    }

    fn from_value(v: &Value) -> AnyValue {
        match v {
            Value::Bool(b) => AnyValue::Boolean(*b),
            Value::I64(i) => AnyValue::Int(*i),
            Value::F64(f) => AnyValue::Double(*f),
            Value::String(s) => AnyValue::String(s.clone()),
            Value::Array(Array::String(items)) => {
                AnyValue::ListAny(Box::new(items.iter().cloned().map(AnyValue::String).collect()))
            }
            Value::Array(Array::I64(items)) => {
                AnyValue::ListAny(Box::new(items.iter().copied().map(AnyValue::Int).collect()))
            }
            Value::Array(Array::F64(items)) => {
                AnyValue::ListAny(Box::new(items.iter().copied().map(AnyValue::Double).collect()))
            }
            Value::Array(Array::Bool(items)) => {
                AnyValue::ListAny(Box::new(items.iter().copied().map(AnyValue::Boolean).collect()))
            }
            other => AnyValue::String(other.to_string().into()),
        }
    }
}
