//! Langfuse: the observation type of every span, input and output (the root's
//! are the trace's), the completion start time from the time to first chunk,
//! usage and cost details with Langfuse's token semantics, the model and its
//! parameters, session, user, tags, environment and level.

use std::time::Duration;

use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;
use serde_json::{Map, Value as Json};

use super::Attributes;
use super::facts::{Facts, Tokens, iso8601};
use crate::genai::category::SpanCategory;

/// Langfuse's `langfuse.observation.type` for a category. Langfuse has no
/// reranker type: a reranker is a plain `span`.
pub(super) fn observation_type(c: SpanCategory) -> &'static str {
    match c {
        SpanCategory::Llm => "generation",
        SpanCategory::Embedding => "embedding",
        SpanCategory::Retriever => "retriever",
        SpanCategory::Reranker => "span",
        SpanCategory::Tool => "tool",
        SpanCategory::Agent => "agent",
        SpanCategory::Chain => "chain",
        SpanCategory::Guardrail => "guardrail",
        SpanCategory::Evaluator => "evaluator",
    }
}

/// Langfuse's usage details: `input` excludes cache reads and writes (semconv's
/// input tokens include them), `output` excludes reasoning tokens.
pub(super) fn usage_details(t: Tokens) -> Json {
    let mut m = Map::new();
    let cache_read = t.cache_read.unwrap_or(0);
    let cache_creation = t.cache_creation.unwrap_or(0);
    let reasoning = t.reasoning.unwrap_or(0);
    if let Some(i) = t.input {
        m.insert("input".into(), Json::from((i - cache_read - cache_creation).max(0)));
    }
    if let Some(c) = t.cache_read {
        m.insert("input_cached_tokens".into(), Json::from(c));
    }
    if let Some(c) = t.cache_creation {
        m.insert("input_cache_creation".into(), Json::from(c));
    }
    if let Some(o) = t.output {
        m.insert("output".into(), Json::from((o - reasoning).max(0)));
    }
    if let Some(r) = t.reasoning {
        m.insert("output_reasoning_tokens".into(), Json::from(r));
    }
    if t.input.is_some() || t.output.is_some() {
        m.insert("total".into(), Json::from(t.input.unwrap_or(0) + t.output.unwrap_or(0)));
    }
    Json::Object(m)
}

pub(super) fn apply(span: &SpanData, f: &Facts, environment: Option<&str>, out: &mut Attributes<'_>) {
    out.add("langfuse.observation.type", observation_type(f.category));
    if let Some(i) = &f.input {
        out.add("langfuse.observation.input", i.value.clone());
        if f.is_root {
            out.add("langfuse.trace.input", i.value.clone());
        }
    }
    if let Some(o) = &f.output {
        out.add("langfuse.observation.output", o.value.clone());
        if f.is_root {
            out.add("langfuse.trace.output", o.value.clone());
        }
    }
    if f.is_root {
        out.add("langfuse.trace.name", span.name.to_string());
    }
    if let Some(ttfc) = f.ttfc_seconds.filter(|s| s.is_finite() && *s >= 0.0) {
        let start = span.start_time + Duration::from_secs_f64(ttfc);
        out.add("langfuse.observation.completion_start_time", iso8601(start));
    }
    if let Some(m) = &f.model {
        out.add("langfuse.observation.model.name", m.clone());
    }
    if !f.parameters.is_empty() {
        let params: Map<String, Json> = f.parameters.iter().cloned().collect();
        out.add(
            "langfuse.observation.model.parameters",
            Json::Object(params).to_string(),
        );
    }
    if f.tokens.any() {
        out.add(
            "langfuse.observation.usage_details",
            usage_details(f.tokens).to_string(),
        );
    }
    if let Some(cost) = f.cost {
        out.add(
            "langfuse.observation.cost_details",
            serde_json::json!({ "total": cost }).to_string(),
        );
    }
    if let Some(s) = &f.session_id {
        out.add("langfuse.session.id", s.clone());
    }
    if let Some(u) = &f.user_id {
        out.add("langfuse.user.id", u.clone());
    }
    if let Some(tags) = &f.tags {
        out.push(KeyValue::new("langfuse.trace.tags", Value::Array(tags.clone().into())));
    }
    if let Some(env) = environment {
        out.add("langfuse.environment", env.to_owned());
    }
    if let Some(message) = &f.failed {
        out.add("langfuse.observation.level", "ERROR");
        if !message.is_empty() {
            out.add("langfuse.observation.status_message", message.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_excludes_cache_and_reasoning_like_langfuse() {
        let t = Tokens {
            input: Some(48_183),
            output: Some(714),
            cache_read: Some(47_105),
            cache_creation: Some(1_076),
            reasoning: Some(200),
        };
        assert_eq!(
            usage_details(t),
            serde_json::json!({"input": 2, "input_cached_tokens": 47105, "input_cache_creation": 1076,
                               "output": 514, "output_reasoning_tokens": 200, "total": 48897})
        );
    }
}
