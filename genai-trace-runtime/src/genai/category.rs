//! What kind of step a span is, in the words LLM-observability backends use:
//! Phoenix's OpenInference span kinds, MLflow's span types and Langfuse's
//! observation types all come from one [`SpanCategory`].
//!
//! A span's category is, in order: the `genai_trace.span.category` attribute
//! (the macro's `category = "..."` option), the category of its
//! `gen_ai.operation.name`, or the naming rule of [`SpanCategory::of_name`] on
//! its kind (custom kinds such as `rag.rerank` or `guardrail.pii`).

use super::semconv::operation as op;

/// The kind of step a span is. Every span has one (the default is [`Chain`](SpanCategory::Chain)).
///
/// ```
/// use genai_trace_runtime::SpanCategory;
/// assert_eq!(SpanCategory::of_name("rag.rerank"), SpanCategory::Reranker);
/// assert_eq!(SpanCategory::of_operation("execute_tool"), Some(SpanCategory::Tool));
/// assert_eq!(SpanCategory::parse("guardrail"), Some(SpanCategory::Guardrail));
/// assert_eq!(SpanCategory::of_name("session"), SpanCategory::Chain);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpanCategory {
    /// A model call: chat, text completion, content generation.
    Llm,
    /// An embeddings call.
    Embedding,
    /// A retrieval (vector search, document lookup).
    Retriever,
    /// Reranking retrieved documents.
    Reranker,
    /// A tool call.
    Tool,
    /// An agent (creating or invoking one).
    Agent,
    /// A step that runs other steps: a session, a workflow, a pipeline.
    Chain,
    /// A safety or policy check on input or output.
    Guardrail,
    /// An evaluation or scoring of an output.
    Evaluator,
}

impl SpanCategory {
    /// Every category, in declaration order.
    pub const ALL: [SpanCategory; 9] = [
        Self::Llm,
        Self::Embedding,
        Self::Retriever,
        Self::Reranker,
        Self::Tool,
        Self::Agent,
        Self::Chain,
        Self::Guardrail,
        Self::Evaluator,
    ];

    /// The name used by the macro's `category = "..."` option and the
    /// `genai_trace.span.category` attribute.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Llm => "llm",
            Self::Embedding => "embedding",
            Self::Retriever => "retriever",
            Self::Reranker => "reranker",
            Self::Tool => "tool",
            Self::Agent => "agent",
            Self::Chain => "chain",
            Self::Guardrail => "guardrail",
            Self::Evaluator => "evaluator",
        }
    }

    /// The category named `name` (as [`as_str`](Self::as_str) spells it).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The category of a GenAI operation (`gen_ai.operation.name`).
    pub fn of_operation(operation: &str) -> Option<Self> {
        Some(match operation {
            op::CHAT | op::TEXT_COMPLETION | op::GENERATE_CONTENT => Self::Llm,
            op::EMBEDDINGS => Self::Embedding,
            op::RETRIEVAL => Self::Retriever,
            op::EXECUTE_TOOL => Self::Tool,
            op::CREATE_AGENT | op::INVOKE_AGENT => Self::Agent,
            op::INVOKE_WORKFLOW => Self::Chain,
            _ => return None,
        })
    }

    /// The naming rule for custom kinds: the first of these words found in the
    /// kind (or span name), case-insensitively, decides; anything else is a chain.
    ///
    /// | contains | category |
    /// |---|---|
    /// | `rerank` | reranker |
    /// | `guard`, `moderat`, `safety` | guardrail |
    /// | `eval`, `judge`, `grade`, `score` | evaluator |
    /// | `embed` | embedding |
    /// | `retriev`, `search`, `lookup`, `rag` | retriever |
    /// | `tool` | tool |
    /// | `agent` | agent |
    /// | `llm`, `chat`, `completion`, `generat` | llm |
    pub fn of_name(name: &str) -> Self {
        const RULES: [(&[&str], SpanCategory); 8] = [
            (&["rerank"], SpanCategory::Reranker),
            (&["guard", "moderat", "safety"], SpanCategory::Guardrail),
            (&["eval", "judge", "grade", "score"], SpanCategory::Evaluator),
            (&["embed"], SpanCategory::Embedding),
            (&["retriev", "search", "lookup", "rag"], SpanCategory::Retriever),
            (&["tool"], SpanCategory::Tool),
            (&["agent"], SpanCategory::Agent),
            (&["llm", "chat", "completion", "generat"], SpanCategory::Llm),
        ];
        let lower = name.to_ascii_lowercase();
        RULES
            .iter()
            .find(|(words, _)| words.iter().any(|w| lower.contains(w)))
            .map_or(Self::Chain, |(_, c)| *c)
    }
}

impl std::fmt::Display for SpanCategory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in SpanCategory::ALL {
            assert_eq!(SpanCategory::parse(c.as_str()), Some(c));
        }
        assert_eq!(SpanCategory::parse("nope"), None);
    }

    #[test]
    fn custom_kinds_by_rule() {
        assert_eq!(SpanCategory::of_name("rag.rerank"), SpanCategory::Reranker);
        assert_eq!(SpanCategory::of_name("rag.retrieve"), SpanCategory::Retriever);
        assert_eq!(SpanCategory::of_name("guardrail.pii"), SpanCategory::Guardrail);
        assert_eq!(SpanCategory::of_name("llm_judge"), SpanCategory::Evaluator);
        assert_eq!(SpanCategory::of_name("Session"), SpanCategory::Chain);
        assert_eq!(SpanCategory::of_name("postprocess"), SpanCategory::Chain);
        for o in op::ALL {
            assert!(SpanCategory::of_operation(o).is_some(), "{o}");
        }
    }
}
