use genai_trace::genai_span;

#[genai_span(kind = "invoke_agent", span_kind = "remote")]
fn agent() -> u32 {
    1
}

fn main() {}
