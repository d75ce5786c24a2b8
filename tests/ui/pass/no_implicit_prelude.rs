#![no_implicit_prelude]

#[::genai_trace::genai_span(kind = "chat", provider = "openai", model = model, attrs(gen_ai.request.top_k = 3))]
fn chat(model: &str) -> ::std::result::Result<u32, ::std::io::Error> {
    ::std::result::Result::Ok(1)
}

#[::genai_trace::genai_span(kind = "execute_tool")]
async fn tool() -> u32 {
    2
}

fn main() {
    let _ = chat("m");
    let _ = tool();
}
