//! What a dialect needs to know about one span, read once from its attributes:
//! its category, what went in and came out (as recorded under the content gate),
//! its model, usage, cost, time to first chunk, and its session.

use opentelemetry::trace::{SpanId, Status};
use opentelemetry::{KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::SpanData;
use serde_json::Value as Json;

use crate::genai::category::SpanCategory;
use crate::genai::semconv as sc;

/// A span's input or output, rendered for a backend's input/output columns.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Rendered {
    /// Plain text when the content is one text part, else JSON.
    pub value: String,
    pub json: bool,
    /// The content as recorded (the message list, the tool arguments, ...).
    pub raw: Json,
}

impl Rendered {
    pub(super) fn mime_type(&self) -> &'static str {
        if self.json { "application/json" } else { "text/plain" }
    }
}

/// Token counts as recorded (semconv: input tokens include cache reads and writes).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Tokens {
    pub input: Option<i64>,
    pub output: Option<i64>,
    pub cache_read: Option<i64>,
    pub cache_creation: Option<i64>,
    pub reasoning: Option<i64>,
}

impl Tokens {
    pub(super) fn any(&self) -> bool {
        self.input.is_some() || self.output.is_some()
    }
}

/// The facts of one span the dialects derive their attributes from.
#[derive(Debug)]
pub(super) struct Facts {
    pub category: SpanCategory,
    pub operation: Option<String>,
    pub is_root: bool,
    pub failed: Option<String>,
    pub input: Option<Rendered>,
    pub output: Option<Rendered>,
    pub model: Option<String>,
    pub ttfc_seconds: Option<f64>,
    pub tokens: Tokens,
    pub cost: Option<f64>,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    pub tags: Option<Vec<StringValue>>,
    pub documents: Option<Json>,
    /// Request parameters (`gen_ai.request.*` but the model), without the prefix.
    pub parameters: Vec<(String, Json)>,
}

fn find<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .rev()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

fn string(attributes: &[KeyValue], key: &str) -> Option<String> {
    match find(attributes, key)? {
        Value::String(s) => Some(s.as_str().to_owned()),
        other => Some(other.to_string()),
    }
}

fn int(attributes: &[KeyValue], key: &str) -> Option<i64> {
    match find(attributes, key)? {
        Value::I64(v) => Some(*v),
        #[allow(
            clippy::cast_possible_truncation,
            reason = "token counts recorded as doubles are whole"
        )]
        Value::F64(v) => Some(*v as i64),
        _ => None,
    }
}

fn float(attributes: &[KeyValue], key: &str) -> Option<f64> {
    match find(attributes, key)? {
        Value::F64(v) => Some(*v),
        #[allow(clippy::cast_precision_loss, reason = "small integers")]
        Value::I64(v) => Some(*v as f64),
        _ => None,
    }
}

/// A content attribute (a JSON string), parsed; a string that is not JSON stays text.
fn content(attributes: &[KeyValue], key: &str) -> Option<Json> {
    let text = string(attributes, key)?;
    Some(serde_json::from_str(&text).unwrap_or(Json::String(text)))
}

/// The text of a message list that is one message of text parts, else `None`.
fn single_text(messages: &Json) -> Option<String> {
    let [message] = messages.as_array()?.as_slice() else {
        return None;
    };
    let parts = message.get("parts")?.as_array()?;
    let mut text = String::new();
    for part in parts {
        if part.get("type")?.as_str()? != "text" {
            return None;
        }
        text.push_str(part.get("content")?.as_str()?);
    }
    (!parts.is_empty()).then_some(text)
}

fn render(raw: Json, messages: bool) -> Rendered {
    let text = match &raw {
        Json::String(s) => Some(s.clone()),
        other if messages => single_text(other),
        _ => None,
    };
    match text {
        Some(value) => Rendered {
            value,
            json: false,
            raw,
        },
        None => Rendered {
            value: raw.to_string(),
            json: true,
            raw,
        },
    }
}

/// The span's category: its `genai_trace.span.category`, its operation's, or
/// the naming rule's on its name.
pub(super) fn category(attributes: &[KeyValue], name: &str) -> SpanCategory {
    if let Some(c) = string(attributes, sc::GENAI_TRACE_SPAN_CATEGORY).and_then(|c| SpanCategory::parse(&c)) {
        return c;
    }
    if let Some(c) = string(attributes, sc::GEN_AI_OPERATION_NAME).and_then(|o| SpanCategory::of_operation(&o)) {
        return c;
    }
    SpanCategory::of_name(name)
}

const PARAMETERS: [&str; 10] = [
    sc::GEN_AI_REQUEST_TEMPERATURE,
    sc::GEN_AI_REQUEST_TOP_P,
    sc::GEN_AI_REQUEST_TOP_K,
    sc::GEN_AI_REQUEST_MAX_TOKENS,
    sc::GEN_AI_REQUEST_SEED,
    sc::GEN_AI_REQUEST_FREQUENCY_PENALTY,
    sc::GEN_AI_REQUEST_PRESENCE_PENALTY,
    sc::GEN_AI_REQUEST_STOP_SEQUENCES,
    sc::GEN_AI_REQUEST_CHOICE_COUNT,
    sc::GEN_AI_REQUEST_STREAM,
];

fn to_json(value: &Value) -> Json {
    match value {
        Value::Bool(b) => Json::Bool(*b),
        Value::I64(i) => Json::from(*i),
        Value::F64(f) => Json::from(*f),
        Value::String(s) => Json::String(s.as_str().to_owned()),
        Value::Array(opentelemetry::Array::String(items)) => {
            Json::Array(items.iter().map(|s| Json::String(s.as_str().to_owned())).collect())
        }
        other => Json::String(other.to_string()),
    }
}

impl Facts {
    pub(super) fn of(span: &SpanData) -> Self {
        let a = span.attributes.as_slice();
        let category = category(a, &span.name);
        let (input_key, output_key) = match category {
            SpanCategory::Tool => (sc::GEN_AI_TOOL_CALL_ARGUMENTS, sc::GEN_AI_TOOL_CALL_RESULT),
            SpanCategory::Retriever => (sc::GEN_AI_RETRIEVAL_QUERY_TEXT, sc::GEN_AI_RETRIEVAL_DOCUMENTS),
            _ => (sc::GEN_AI_INPUT_MESSAGES, sc::GEN_AI_OUTPUT_MESSAGES),
        };
        let messages = input_key == sc::GEN_AI_INPUT_MESSAGES;
        let input = if input_key == sc::GEN_AI_RETRIEVAL_QUERY_TEXT {
            string(a, input_key).map(Json::String)
        } else {
            content(a, input_key)
        };
        let tags = match find(a, sc::GENAI_TRACE_SESSION_TAGS) {
            Some(Value::Array(opentelemetry::Array::String(t))) => Some(t.clone()),
            _ => None,
        };
        Self {
            category,
            operation: string(a, sc::GEN_AI_OPERATION_NAME),
            is_root: span.parent_span_id == SpanId::INVALID,
            failed: match &span.status {
                Status::Error { description } => Some(description.to_string()),
                _ => None,
            },
            input: input.map(|j| render(j, messages)),
            output: content(a, output_key).map(|j| render(j, messages)),
            model: string(a, sc::GEN_AI_RESPONSE_MODEL).or_else(|| string(a, sc::GEN_AI_REQUEST_MODEL)),
            ttfc_seconds: float(a, sc::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK),
            tokens: Tokens {
                input: int(a, sc::GEN_AI_USAGE_INPUT_TOKENS),
                output: int(a, sc::GEN_AI_USAGE_OUTPUT_TOKENS),
                cache_read: int(a, sc::GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS),
                cache_creation: int(a, sc::GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS),
                reasoning: int(a, sc::GEN_AI_USAGE_REASONING_OUTPUT_TOKENS),
            },
            cost: float(a, sc::GENAI_TRACE_USAGE_COST),
            session_id: string(a, sc::SESSION_ID),
            user_id: string(a, sc::USER_ID),
            tags,
            documents: (category == SpanCategory::Retriever)
                .then(|| content(a, sc::GEN_AI_RETRIEVAL_DOCUMENTS))
                .flatten(),
            parameters: PARAMETERS
                .iter()
                .filter_map(|k| find(a, k).map(|v| (k.trim_start_matches("gen_ai.request.").to_owned(), to_json(v))))
                .collect(),
        }
    }
}

/// `time` as ISO 8601 in UTC with milliseconds (`2025-07-13T05:20:00.500Z`).
pub(super) fn iso8601(time: std::time::SystemTime) -> String {
    let since = time.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(i64::try_from(days).unwrap_or(0));
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// Days since 1970-01-01 to (year, month, day): Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn iso8601_matches_known_instants() {
        assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        // Langfuse's own test instant: 1752384000.5 s.
        let t = UNIX_EPOCH + Duration::from_millis(1_752_384_000_500);
        assert_eq!(iso8601(t), "2025-07-13T05:20:00.500Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(iso8601(leap), "2000-02-29T00:00:00.000Z");
        let end = UNIX_EPOCH + Duration::from_secs(1_798_761_599); // 2026-12-31T23:59:59
        assert_eq!(iso8601(end), "2026-12-31T23:59:59.000Z");
    }

    #[test]
    fn single_text_messages_render_as_text() {
        let one = serde_json::json!([{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]);
        let r = render(one.clone(), true);
        assert_eq!((r.value.as_str(), r.json), ("hi", false));
        let call =
            serde_json::json!([{"role": "assistant", "parts": [{"type": "tool_call", "id": "c1", "name": "f"}]}]);
        let r = render(call.clone(), true);
        assert!(r.json);
        assert_eq!(r.value, call.to_string());
        let args = serde_json::json!({"city": "Lisbon"});
        assert!(render(args, false).json);
    }
}
