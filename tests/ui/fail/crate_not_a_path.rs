use genai_trace::genai_span;

#[genai_span(crate = "genai_trace")]
fn chat() {}

fn main() {}
