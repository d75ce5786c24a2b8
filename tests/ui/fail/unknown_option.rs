use genai_trace::genai_span;

#[genai_span(kind = "chat", modle = "gpt-4o")]
fn chat() {}

fn main() {}
