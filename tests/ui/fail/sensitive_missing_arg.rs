use genai_trace::genai_span;

#[genai_span(kind = "chat", sensitive = ["messages", "promt"])]
fn chat(messages: &[String], prompt: &str) {}

fn main() {}
