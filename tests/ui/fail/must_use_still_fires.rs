#![deny(unused_must_use)]
use genai_trace::genai_span;

#[genai_span]
#[must_use]
fn important() -> u32 {
    1
}

fn main() {
    important();
}
