use genai_trace::genai_span;

#[genai_span]
fn chat() -> u32 {
    let x = ;
    x
}

fn main() {}
