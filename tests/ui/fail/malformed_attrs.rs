use genai_trace::genai_span;

#[genai_span(attrs(gen_ai.request.temperature))]
fn chat() {}

fn main() {}
