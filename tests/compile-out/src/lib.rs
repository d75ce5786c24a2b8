//! Annotated functions, compiled with instrumentation off.
use genai_trace::genai_span;

/// Returns its input plus one.
#[genai_span(kind = "chat", provider = "openai", model = "gpt-4o", sensitive = ["prompt"])]
pub fn chat(prompt: &str) -> usize {
    prompt.len() + 1
}

/// An async one.
#[genai_span(kind = "execute_tool")]
pub async fn tool(x: u32) -> u32 {
    x * 2
}
