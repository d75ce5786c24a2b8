use genai_trace::genai_span;

#[genai_span(kind = chat)]
fn chat() {}

fn main() {}
