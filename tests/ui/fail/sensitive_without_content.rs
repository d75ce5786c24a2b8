use genai_trace::genai_span;

/// Neither `ToContent` nor `Debug`: it cannot be recorded, so marking it
/// sensitive is an error, not a silent no-op.
struct Opaque;

#[genai_span(kind = "chat", sensitive = ["prompt"])]
fn chat(prompt: Opaque) {
    let _ = prompt;
}

fn main() {
    chat(Opaque);
}
