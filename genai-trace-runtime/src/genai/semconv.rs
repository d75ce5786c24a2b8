//! Every attribute, metric, event and operation name genai-trace emits, in one place.
//!
//! Baseline: OpenTelemetry GenAI semantic conventions v1.41.0. Names owned by
//! genai-trace itself start with `genai_trace.`. No other module spells these
//! strings: they refer to the constants here, and [`ATTRIBUTES`] pins the list.

/// `gen_ai.operation.name`
pub const GEN_AI_OPERATION_NAME: &str = "gen_ai.operation.name";
/// `gen_ai.provider.name`
pub const GEN_AI_PROVIDER_NAME: &str = "gen_ai.provider.name";
/// `gen_ai.conversation.id`
pub const GEN_AI_CONVERSATION_ID: &str = "gen_ai.conversation.id";
/// `gen_ai.output.type`
pub const GEN_AI_OUTPUT_TYPE: &str = "gen_ai.output.type";
/// `gen_ai.request.model`
pub const GEN_AI_REQUEST_MODEL: &str = "gen_ai.request.model";
/// `gen_ai.request.choice.count`
pub const GEN_AI_REQUEST_CHOICE_COUNT: &str = "gen_ai.request.choice.count";
/// `gen_ai.request.seed`
pub const GEN_AI_REQUEST_SEED: &str = "gen_ai.request.seed";
/// `gen_ai.request.stream`
pub const GEN_AI_REQUEST_STREAM: &str = "gen_ai.request.stream";
/// `gen_ai.request.frequency_penalty`
pub const GEN_AI_REQUEST_FREQUENCY_PENALTY: &str = "gen_ai.request.frequency_penalty";
/// `gen_ai.request.presence_penalty`
pub const GEN_AI_REQUEST_PRESENCE_PENALTY: &str = "gen_ai.request.presence_penalty";
/// `gen_ai.request.temperature`
pub const GEN_AI_REQUEST_TEMPERATURE: &str = "gen_ai.request.temperature";
/// `gen_ai.request.top_p`
pub const GEN_AI_REQUEST_TOP_P: &str = "gen_ai.request.top_p";
/// `gen_ai.request.top_k`
pub const GEN_AI_REQUEST_TOP_K: &str = "gen_ai.request.top_k";
/// `gen_ai.request.max_tokens`
pub const GEN_AI_REQUEST_MAX_TOKENS: &str = "gen_ai.request.max_tokens";
/// `gen_ai.request.stop_sequences`
pub const GEN_AI_REQUEST_STOP_SEQUENCES: &str = "gen_ai.request.stop_sequences";
/// `gen_ai.request.encoding_formats`
pub const GEN_AI_REQUEST_ENCODING_FORMATS: &str = "gen_ai.request.encoding_formats";
/// `gen_ai.response.id`
pub const GEN_AI_RESPONSE_ID: &str = "gen_ai.response.id";
/// `gen_ai.response.model`
pub const GEN_AI_RESPONSE_MODEL: &str = "gen_ai.response.model";
/// `gen_ai.response.finish_reasons`
pub const GEN_AI_RESPONSE_FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
/// `gen_ai.response.time_to_first_chunk`
pub const GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: &str = "gen_ai.response.time_to_first_chunk";
/// `gen_ai.usage.input_tokens`
pub const GEN_AI_USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
/// `gen_ai.usage.output_tokens`
pub const GEN_AI_USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
/// `gen_ai.usage.cache_read.input_tokens`
pub const GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: &str = "gen_ai.usage.cache_read.input_tokens";
/// `gen_ai.usage.cache_creation.input_tokens`
pub const GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: &str = "gen_ai.usage.cache_creation.input_tokens";
/// `gen_ai.usage.reasoning.output_tokens`
pub const GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: &str = "gen_ai.usage.reasoning.output_tokens";
/// `gen_ai.input.messages`
pub const GEN_AI_INPUT_MESSAGES: &str = "gen_ai.input.messages";
/// `gen_ai.output.messages`
pub const GEN_AI_OUTPUT_MESSAGES: &str = "gen_ai.output.messages";
/// `gen_ai.system_instructions`
pub const GEN_AI_SYSTEM_INSTRUCTIONS: &str = "gen_ai.system_instructions";
/// `gen_ai.tool.definitions`
pub const GEN_AI_TOOL_DEFINITIONS: &str = "gen_ai.tool.definitions";
/// `gen_ai.embeddings.dimension.count`
pub const GEN_AI_EMBEDDINGS_DIMENSION_COUNT: &str = "gen_ai.embeddings.dimension.count";
/// `gen_ai.data_source.id`
pub const GEN_AI_DATA_SOURCE_ID: &str = "gen_ai.data_source.id";
/// `gen_ai.retrieval.query.text`
pub const GEN_AI_RETRIEVAL_QUERY_TEXT: &str = "gen_ai.retrieval.query.text";
/// `gen_ai.retrieval.documents`
pub const GEN_AI_RETRIEVAL_DOCUMENTS: &str = "gen_ai.retrieval.documents";
/// `gen_ai.tool.name`
pub const GEN_AI_TOOL_NAME: &str = "gen_ai.tool.name";
/// `gen_ai.tool.call.id`
pub const GEN_AI_TOOL_CALL_ID: &str = "gen_ai.tool.call.id";
/// `gen_ai.tool.description`
pub const GEN_AI_TOOL_DESCRIPTION: &str = "gen_ai.tool.description";
/// `gen_ai.tool.type`
pub const GEN_AI_TOOL_TYPE: &str = "gen_ai.tool.type";
/// `gen_ai.tool.call.arguments`
pub const GEN_AI_TOOL_CALL_ARGUMENTS: &str = "gen_ai.tool.call.arguments";
/// `gen_ai.tool.call.result`
pub const GEN_AI_TOOL_CALL_RESULT: &str = "gen_ai.tool.call.result";
/// `gen_ai.agent.id`
pub const GEN_AI_AGENT_ID: &str = "gen_ai.agent.id";
/// `gen_ai.agent.name`
pub const GEN_AI_AGENT_NAME: &str = "gen_ai.agent.name";
/// `gen_ai.agent.description`
pub const GEN_AI_AGENT_DESCRIPTION: &str = "gen_ai.agent.description";
/// `gen_ai.agent.version`
pub const GEN_AI_AGENT_VERSION: &str = "gen_ai.agent.version";
/// `gen_ai.workflow.name`
pub const GEN_AI_WORKFLOW_NAME: &str = "gen_ai.workflow.name";
/// `gen_ai.token.type`
pub const GEN_AI_TOKEN_TYPE: &str = "gen_ai.token.type";
/// `session.id` (baggage of a session; attribute on every span inside it)
pub const SESSION_ID: &str = "session.id";
/// `user.id` (baggage of a session; attribute on every span inside it)
pub const USER_ID: &str = "user.id";
/// `server.address`
pub const SERVER_ADDRESS: &str = "server.address";
/// `server.port`
pub const SERVER_PORT: &str = "server.port";
/// `openai.api.type` (`chat_completions`, `responses`)
pub const OPENAI_API_TYPE: &str = "openai.api.type";
/// `openai.request.service_tier`
pub const OPENAI_REQUEST_SERVICE_TIER: &str = "openai.request.service_tier";
/// `openai.response.service_tier`
pub const OPENAI_RESPONSE_SERVICE_TIER: &str = "openai.response.service_tier";
/// `openai.response.system_fingerprint`
pub const OPENAI_RESPONSE_SYSTEM_FINGERPRINT: &str = "openai.response.system_fingerprint";
/// `error.type`
pub const ERROR_TYPE: &str = "error.type";
/// `exception.type`
pub const EXCEPTION_TYPE: &str = "exception.type";
/// `exception.message`
pub const EXCEPTION_MESSAGE: &str = "exception.message";
/// `genai_trace.cancelled`
pub const GENAI_TRACE_CANCELLED: &str = "genai_trace.cancelled";
/// `genai_trace.content.truncated`
pub const GENAI_TRACE_CONTENT_TRUNCATED: &str = "genai_trace.content.truncated";
/// `genai_trace.dropped_attributes`
pub const GENAI_TRACE_DROPPED_ATTRIBUTES: &str = "genai_trace.dropped_attributes";
/// `genai_trace.stream.chunks`: items a stream yielded.
pub const GENAI_TRACE_STREAM_CHUNKS: &str = "genai_trace.stream.chunks";
/// `genai_trace.usage.cost`: the call's cost in USD, from the price table (double).
pub const GENAI_TRACE_USAGE_COST: &str = "genai_trace.usage.cost";
/// `genai_trace.tail.spans_dropped`: on the root of a trace kept by error-keeping
/// sampling, spans of the trace not recorded because the trace hit its span cap.
pub const GENAI_TRACE_TAIL_SPANS_DROPPED: &str = "genai_trace.tail.spans_dropped";
/// `genai_trace.span.category`: the span's [`SpanCategory`](crate::SpanCategory),
/// when given by the macro's `category = "..."` option.
pub const GENAI_TRACE_SPAN_CATEGORY: &str = "genai_trace.span.category";
/// `genai_trace.session.tags`: a session's tags (string array).
pub const GENAI_TRACE_SESSION_TAGS: &str = "genai_trace.session.tags";

/// Every attribute key above, in order (pinned by a test).
pub const ATTRIBUTES: &[&str] = &[
    GEN_AI_OPERATION_NAME,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_CONVERSATION_ID,
    GEN_AI_OUTPUT_TYPE,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_REQUEST_CHOICE_COUNT,
    GEN_AI_REQUEST_SEED,
    GEN_AI_REQUEST_STREAM,
    GEN_AI_REQUEST_FREQUENCY_PENALTY,
    GEN_AI_REQUEST_PRESENCE_PENALTY,
    GEN_AI_REQUEST_TEMPERATURE,
    GEN_AI_REQUEST_TOP_P,
    GEN_AI_REQUEST_TOP_K,
    GEN_AI_REQUEST_MAX_TOKENS,
    GEN_AI_REQUEST_STOP_SEQUENCES,
    GEN_AI_REQUEST_ENCODING_FORMATS,
    GEN_AI_RESPONSE_ID,
    GEN_AI_RESPONSE_MODEL,
    GEN_AI_RESPONSE_FINISH_REASONS,
    GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
    GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
    GEN_AI_INPUT_MESSAGES,
    GEN_AI_OUTPUT_MESSAGES,
    GEN_AI_SYSTEM_INSTRUCTIONS,
    GEN_AI_TOOL_DEFINITIONS,
    GEN_AI_EMBEDDINGS_DIMENSION_COUNT,
    GEN_AI_DATA_SOURCE_ID,
    GEN_AI_RETRIEVAL_QUERY_TEXT,
    GEN_AI_RETRIEVAL_DOCUMENTS,
    GEN_AI_TOOL_NAME,
    GEN_AI_TOOL_CALL_ID,
    GEN_AI_TOOL_DESCRIPTION,
    GEN_AI_TOOL_TYPE,
    GEN_AI_TOOL_CALL_ARGUMENTS,
    GEN_AI_TOOL_CALL_RESULT,
    GEN_AI_AGENT_ID,
    GEN_AI_AGENT_NAME,
    GEN_AI_AGENT_DESCRIPTION,
    GEN_AI_AGENT_VERSION,
    GEN_AI_WORKFLOW_NAME,
    GEN_AI_TOKEN_TYPE,
    SESSION_ID,
    USER_ID,
    SERVER_ADDRESS,
    SERVER_PORT,
    OPENAI_API_TYPE,
    OPENAI_REQUEST_SERVICE_TIER,
    OPENAI_RESPONSE_SERVICE_TIER,
    OPENAI_RESPONSE_SYSTEM_FINGERPRINT,
    ERROR_TYPE,
    EXCEPTION_TYPE,
    EXCEPTION_MESSAGE,
    GENAI_TRACE_CANCELLED,
    GENAI_TRACE_CONTENT_TRUNCATED,
    GENAI_TRACE_DROPPED_ATTRIBUTES,
    GENAI_TRACE_STREAM_CHUNKS,
    GENAI_TRACE_USAGE_COST,
    GENAI_TRACE_TAIL_SPANS_DROPPED,
    GENAI_TRACE_SPAN_CATEGORY,
    GENAI_TRACE_SESSION_TAGS,
];

/// `exception` (span event)
pub const EXCEPTION_EVENT: &str = "exception";
/// `gen_ai.client.inference.operation.details` (span event carrying content in event mode)
pub const INFERENCE_DETAILS_EVENT: &str = "gen_ai.client.inference.operation.details";
/// `error.type` value for a panic inside an instrumented function.
pub const ERROR_TYPE_PANIC: &str = "panic";
/// `error.type` when no better type is known (the conventions' fallback value).
pub const ERROR_TYPE_OTHER: &str = "_OTHER";

/// `error`: the finish reason of a stream that ended abnormally (dropped,
/// cancelled, failed), as the newer conventions specify.
pub const FINISH_REASON_ERROR: &str = "error";

/// Values of `gen_ai.token.type`.
pub mod token_type {
    /// `input`
    pub const INPUT: &str = "input";
    /// `output`
    pub const OUTPUT: &str = "output";
}

/// Metric names and their explicit bucket boundaries.
pub mod metric {
    /// `gen_ai.client.token.usage` (histogram, `{token}`)
    pub const TOKEN_USAGE: &str = "gen_ai.client.token.usage";
    /// `gen_ai.client.operation.duration` (histogram, `s`)
    pub const OPERATION_DURATION: &str = "gen_ai.client.operation.duration";
    /// `gen_ai.client.operation.time_to_first_chunk` (histogram, `s`)
    pub const TIME_TO_FIRST_CHUNK: &str = "gen_ai.client.operation.time_to_first_chunk";
    /// `gen_ai.client.operation.time_per_output_chunk` (histogram, `s`)
    pub const TIME_PER_OUTPUT_CHUNK: &str = "gen_ai.client.operation.time_per_output_chunk";
    /// `genai_trace.client.cost` (counter, USD): the summed `genai_trace.usage.cost`.
    pub const COST: &str = "genai_trace.client.cost";
    /// Unit of the cost counter (an annotation: currency is not a UCUM unit).
    pub const UNIT_USD: &str = "{USD}";
    /// Unit of token usage.
    pub const UNIT_TOKEN: &str = "{token}";
    /// Unit of durations.
    pub const UNIT_SECONDS: &str = "s";
    /// Token usage buckets: 1, 4, 16, ... 67108864.
    pub const TOKEN_BUCKETS: [f64; 14] = [
        1.0,
        4.0,
        16.0,
        64.0,
        256.0,
        1024.0,
        4096.0,
        16384.0,
        65536.0,
        262_144.0,
        1_048_576.0,
        4_194_304.0,
        16_777_216.0,
        67_108_864.0,
    ];
    /// Duration buckets in seconds: 0.01, 0.02, ... 81.92.
    pub const DURATION_BUCKETS: [f64; 14] = [
        0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
    ];
}

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
    use super::*;

    #[test]
    fn the_attribute_list_is_pinned() {
        let expected = [
            "gen_ai.operation.name",
            "gen_ai.provider.name",
            "gen_ai.conversation.id",
            "gen_ai.output.type",
            "gen_ai.request.model",
            "gen_ai.request.choice.count",
            "gen_ai.request.seed",
            "gen_ai.request.stream",
            "gen_ai.request.frequency_penalty",
            "gen_ai.request.presence_penalty",
            "gen_ai.request.temperature",
            "gen_ai.request.top_p",
            "gen_ai.request.top_k",
            "gen_ai.request.max_tokens",
            "gen_ai.request.stop_sequences",
            "gen_ai.request.encoding_formats",
            "gen_ai.response.id",
            "gen_ai.response.model",
            "gen_ai.response.finish_reasons",
            "gen_ai.response.time_to_first_chunk",
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.output_tokens",
            "gen_ai.usage.cache_read.input_tokens",
            "gen_ai.usage.cache_creation.input_tokens",
            "gen_ai.usage.reasoning.output_tokens",
            "gen_ai.input.messages",
            "gen_ai.output.messages",
            "gen_ai.system_instructions",
            "gen_ai.tool.definitions",
            "gen_ai.embeddings.dimension.count",
            "gen_ai.data_source.id",
            "gen_ai.retrieval.query.text",
            "gen_ai.retrieval.documents",
            "gen_ai.tool.name",
            "gen_ai.tool.call.id",
            "gen_ai.tool.description",
            "gen_ai.tool.type",
            "gen_ai.tool.call.arguments",
            "gen_ai.tool.call.result",
            "gen_ai.agent.id",
            "gen_ai.agent.name",
            "gen_ai.agent.description",
            "gen_ai.agent.version",
            "gen_ai.workflow.name",
            "gen_ai.token.type",
            "session.id",
            "user.id",
            "server.address",
            "server.port",
            "openai.api.type",
            "openai.request.service_tier",
            "openai.response.service_tier",
            "openai.response.system_fingerprint",
            "error.type",
            "exception.type",
            "exception.message",
            "genai_trace.cancelled",
            "genai_trace.content.truncated",
            "genai_trace.dropped_attributes",
            "genai_trace.stream.chunks",
            "genai_trace.usage.cost",
            "genai_trace.tail.spans_dropped",
            "genai_trace.span.category",
            "genai_trace.session.tags",
        ];
        assert_eq!(ATTRIBUTES, expected);
        let mut sorted = ATTRIBUTES.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ATTRIBUTES.len(), "no duplicates");
    }

    #[test]
    fn the_operation_list_is_pinned() {
        assert_eq!(
            operation::ALL,
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

    #[test]
    fn bucket_boundaries_double() {
        for w in metric::DURATION_BUCKETS.windows(2) {
            assert!((w[1] / w[0] - 2.0).abs() < 1e-9);
        }
        for w in metric::TOKEN_BUCKETS.windows(2) {
            assert!((w[1] / w[0] - 4.0).abs() < 1e-9);
        }
    }
}
