//! Generated code adds no warnings, even under `clippy::pedantic` (checked by
//! the workspace's `cargo clippy --all-targets -- -D warnings`), with every option.
#![deny(warnings, clippy::all, clippy::pedantic)]
#![cfg(feature = "testing")]

use genai_trace::genai_span;

struct Service {
    model: String,
}

impl Service {
    #[genai_span(kind = "chat.sample", name = "sample", provider = "openai", model = self.model,
                 attrs(gen_ai.request.temperature = 0.5, "app.flag" = true), sensitive = ["prompt"], skip = [key],
                 crate = ::genai_trace)]
    fn call(&self, prompt: &str, key: &str) -> Result<usize, std::io::Error> {
        if key.is_empty() {
            return Err(std::io::Error::other("no key"));
        }
        Ok(prompt.len())
    }

    #[genai_span(kind = "embeddings", model = self.model)]
    async fn embed(&self, text: &str) -> Vec<f32> {
        vec![0.0; text.len()]
    }
}

#[genai_span]
fn unit() {}

#[test]
fn every_option_compiles_without_warnings() {
    let t = genai_trace::testing::TestTelemetry::install();
    let s = Service { model: "m".into() };
    assert_eq!(s.call("hi", "k").unwrap(), 2);
    unit();
    let spans = t.spans();
    assert_eq!(spans[0].name, "sample");
    assert_eq!(
        genai_trace::testing::attribute(&spans[0], "gen_ai.operation.name")
            .unwrap()
            .as_str(),
        "chat"
    );
    drop(s.embed("x"));
}
