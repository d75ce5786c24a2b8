use genai_trace::genai_span;

#[genai_span]
const fn answer() -> u32 {
    42
}

fn main() {}
