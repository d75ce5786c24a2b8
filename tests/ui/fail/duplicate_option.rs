use genai_trace::genai_span;

#[genai_span(kind = "chat", kind = "embeddings")]
fn chat() {}

fn main() {}
