//! MLflow: the span type of every span (`mlflow.spanType`), and inputs and
//! outputs where MLflow's own GenAI translation finds none (retrieval, and
//! the custom kinds). MLflow reads `gen_ai.input.messages` / `output.messages`
//! and tool arguments / results itself, on any span.

use super::Attributes;
use super::facts::Facts;
use crate::genai::category::SpanCategory;
use crate::genai::semconv::operation as op;

/// MLflow's `SpanType` for a category (and operation: chat is `CHAT_MODEL`).
pub(super) fn span_type(c: SpanCategory, operation: Option<&str>) -> &'static str {
    match c {
        SpanCategory::Llm if operation == Some(op::CHAT) => "CHAT_MODEL",
        SpanCategory::Llm => "LLM",
        SpanCategory::Embedding => "EMBEDDING",
        SpanCategory::Retriever => "RETRIEVER",
        SpanCategory::Reranker => "RERANKER",
        SpanCategory::Tool => "TOOL",
        SpanCategory::Agent => "AGENT",
        SpanCategory::Chain if operation == Some(op::INVOKE_WORKFLOW) => "WORKFLOW",
        SpanCategory::Chain => "CHAIN",
        SpanCategory::Guardrail => "GUARDRAIL",
        SpanCategory::Evaluator => "EVALUATOR",
    }
}

pub(super) fn apply(f: &Facts, out: &mut Attributes<'_>) {
    out.add("mlflow.spanType", span_type(f.category, f.operation.as_deref()));
    // MLflow stores inputs and outputs as JSON text.
    if f.category == SpanCategory::Retriever {
        if let Some(i) = &f.input {
            out.add("mlflow.spanInputs", serde_json::json!({"query": i.raw}).to_string());
        }
        if let Some(o) = &f.output {
            out.add("mlflow.spanOutputs", o.raw.to_string());
        }
    }
}
