// `crate = ...` for code that reaches genai-trace through a re-export.
mod reexport {
    pub use genai_trace as tracing_for_llms;
}

#[genai_trace::genai_span(crate = reexport::tracing_for_llms, kind = "embeddings", model = "e5")]
fn embed(text: &str) -> usize {
    text.len()
}

fn main() {
    assert_eq!(embed("abc"), 3);
}
