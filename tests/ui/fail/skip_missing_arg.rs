use genai_trace::genai_span;

#[genai_span(skip = [api_key])]
fn call(key: &str) {}

fn main() {}
