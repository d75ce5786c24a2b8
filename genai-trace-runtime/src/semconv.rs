//! Every attribute, event and operation name genai-trace emits, in one place.
//!
//! Baseline: OpenTelemetry GenAI semantic conventions v1.41.0. Names owned by
//! genai-trace itself start with `genai_trace.`.

/// `gen_ai.operation.name`
pub const GEN_AI_OPERATION_NAME: &str = "gen_ai.operation.name";
/// `gen_ai.provider.name`
pub const GEN_AI_PROVIDER_NAME: &str = "gen_ai.provider.name";
/// `gen_ai.request.model`
pub const GEN_AI_REQUEST_MODEL: &str = "gen_ai.request.model";
/// `gen_ai.response.model`
pub const GEN_AI_RESPONSE_MODEL: &str = "gen_ai.response.model";
/// `gen_ai.response.id`
pub const GEN_AI_RESPONSE_ID: &str = "gen_ai.response.id";
/// `gen_ai.response.finish_reasons` (string[])
pub const GEN_AI_RESPONSE_FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
/// `gen_ai.response.time_to_first_chunk` (seconds)
pub const GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: &str = "gen_ai.response.time_to_first_chunk";
/// `gen_ai.usage.input_tokens`
pub const GEN_AI_USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
/// `gen_ai.usage.output_tokens`
pub const GEN_AI_USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
/// `gen_ai.tool.name`
pub const GEN_AI_TOOL_NAME: &str = "gen_ai.tool.name";
/// `gen_ai.agent.name`
pub const GEN_AI_AGENT_NAME: &str = "gen_ai.agent.name";
/// `gen_ai.data_source.id`
pub const GEN_AI_DATA_SOURCE_ID: &str = "gen_ai.data_source.id";
/// `gen_ai.workflow.name`
pub const GEN_AI_WORKFLOW_NAME: &str = "gen_ai.workflow.name";
/// `error.type`
pub const ERROR_TYPE: &str = "error.type";
/// `exception` (event name)
pub const EXCEPTION_EVENT: &str = "exception";
/// `exception.type`
pub const EXCEPTION_TYPE: &str = "exception.type";
/// `exception.message`
pub const EXCEPTION_MESSAGE: &str = "exception.message";
/// `code.function.name`: the instrumented Rust function.
pub const CODE_FUNCTION_NAME: &str = "code.function.name";
/// `genai_trace.cancelled`: `true` when the instrumented future or stream was
/// dropped before it completed.
pub const GENAI_TRACE_CANCELLED: &str = "genai_trace.cancelled";
/// `error.type` value for a panic inside an instrumented function.
pub const ERROR_TYPE_PANIC: &str = "panic";

/// Well-known GenAI operations (values of `gen_ai.operation.name`).
pub mod operation {
    /// `chat`
    pub const CHAT: &str = "chat";
    /// `text_completion`
    pub const TEXT_COMPLETION: &str = "text_completion";
    /// `generate_content`
    pub const GENERATE_CONTENT: &str = "generate_content";
    /// `embeddings`
    pub const EMBEDDINGS: &str = "embeddings";
    /// `retrieval`
    pub const RETRIEVAL: &str = "retrieval";
    /// `execute_tool`
    pub const EXECUTE_TOOL: &str = "execute_tool";
    /// `create_agent`
    pub const CREATE_AGENT: &str = "create_agent";
    /// `invoke_agent`
    pub const INVOKE_AGENT: &str = "invoke_agent";
    /// `invoke_workflow`
    pub const INVOKE_WORKFLOW: &str = "invoke_workflow";
    /// All of them.
    pub const ALL: [&str; 9] = [
        CHAT,
        TEXT_COMPLETION,
        GENERATE_CONTENT,
        EMBEDDINGS,
        RETRIEVAL,
        EXECUTE_TOOL,
        CREATE_AGENT,
        INVOKE_AGENT,
        INVOKE_WORKFLOW,
    ];
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_operation_list_is_pinned() {
        assert_eq!(
            super::operation::ALL,
            [
                "chat",
                "text_completion",
                "generate_content",
                "embeddings",
                "retrieval",
                "execute_tool",
                "create_agent",
                "invoke_agent",
                "invoke_workflow"
            ]
        );
    }
}
