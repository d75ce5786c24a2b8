use genai_trace::genai_span;

#[genai_span(kind = "rag.rerank", category = "ranker")]
fn rerank() -> u32 {
    1
}

fn main() {}
