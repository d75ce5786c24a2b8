#![deny(dead_code)]
use genai_trace::genai_span;

#[genai_span]
fn never_called() {}

fn main() {}
