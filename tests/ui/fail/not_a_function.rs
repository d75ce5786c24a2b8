use genai_trace::genai_span;

#[genai_span(kind = "chat")]
struct Chat {
    model: String,
}

fn main() {}
