//! OpenInference (Arize Phoenix): the span kind of every span, and input and
//! output values with their mime types. Phoenix converts `gen_ai.*` itself
//! (messages, tokens, model, tools); what it cannot convert is added here:
//! kinds of non-GenAI spans, inputs and outputs of sessions, agents and tools,
//! and retrieved documents.

use opentelemetry::KeyValue;
use serde_json::Value as Json;

use super::Attributes;
use super::facts::Facts;
use crate::genai::category::SpanCategory;

/// OpenInference's `openinference.span.kind` for a category.
pub(super) fn span_kind(c: SpanCategory) -> &'static str {
    match c {
        SpanCategory::Llm => "LLM",
        SpanCategory::Embedding => "EMBEDDING",
        SpanCategory::Retriever => "RETRIEVER",
        SpanCategory::Reranker => "RERANKER",
        SpanCategory::Tool => "TOOL",
        SpanCategory::Agent => "AGENT",
        SpanCategory::Chain => "CHAIN",
        SpanCategory::Guardrail => "GUARDRAIL",
        SpanCategory::Evaluator => "EVALUATOR",
    }
}

pub(super) fn apply(f: &Facts, out: &mut Attributes<'_>) {
    out.add("openinference.span.kind", span_kind(f.category));
    if let Some(i) = &f.input {
        out.add("input.value", i.value.clone());
        out.add("input.mime_type", i.mime_type());
    }
    if let Some(o) = &f.output {
        out.add("output.value", o.value.clone());
        out.add("output.mime_type", o.mime_type());
    }
    if let Some(Json::Array(docs)) = &f.documents {
        for (i, d) in docs.iter().enumerate() {
            if let Some(id) = d.get("id").and_then(Json::as_str) {
                out.push(KeyValue::new(
                    format!("retrieval.documents.{i}.document.id"),
                    id.to_owned(),
                ));
            }
            if let Some(score) = d.get("score").and_then(Json::as_f64) {
                out.push(KeyValue::new(format!("retrieval.documents.{i}.document.score"), score));
            }
        }
    }
}
