//! A RAG pipeline annotated end to end: rewrite the question (chat) → embed
//! it (embeddings) → retrieve (retrieval) → rerank (a custom kind, category
//! reranker) → generate the answer (chat), inside one `invoke_workflow` span.
//! Each step records what backends show for it: the rewritten query, the
//! vector's dimension count, the retrieved documents with scores (content
//! capture on), token usage. No network needed.
//!
//! ```sh
//! cargo run --example rag
//! cargo run --example rag -- --capture-content --otlp-endpoint http://localhost:4318
//! ```

#[path = "common/cli.rs"]
mod cli;

use std::time::Duration;

use genai_trace::{Document, Message, RecordResponse, Recorder, Usage, genai_span};

/// A chat completion of the fake model.
struct Completion {
    text: String,
    tokens: (i64, i64),
}

impl RecordResponse for Completion {
    fn record_response(&self, r: &mut Recorder<'_>) {
        r.response_model("gpt-4o-mini-2024-07-18");
        r.finish_reasons(&["stop"]);
        r.usage(Usage {
            input_tokens: Some(self.tokens.0),
            output_tokens: Some(self.tokens.1),
            ..Usage::default()
        });
        if r.captures_content() {
            r.output_messages(&[Message::assistant(&self.text).finish_reason("stop")]);
        }
    }
}

struct Vector(Vec<f32>);

impl RecordResponse for Vector {
    fn record_response(&self, r: &mut Recorder<'_>) {
        r.embeddings_dimension_count(self.0.len() as i64);
        r.usage(Usage {
            input_tokens: Some(7),
            ..Usage::default()
        });
    }
}

/// Retrieved passages with their scores.
#[derive(Clone, Debug)]
struct Passages(Vec<(&'static str, f64)>);

impl RecordResponse for Passages {
    fn record_response(&self, r: &mut Recorder<'_>) {
        let docs: Vec<Document> = self
            .0
            .iter()
            .map(|(id, score)| Document {
                id: (*id).to_owned(),
                score: Some(*score),
            })
            .collect();
        r.retrieval_documents(&docs);
    }
}

/// Step 1: the question rewritten into a search query.
#[genai_span(kind = "chat", provider = "openai", model = "gpt-4o-mini", sensitive = ["question"],
             attrs(server.address = "api.openai.com", server.port = 443, gen_ai.request.temperature = 0.0))]
fn rewrite(question: &str) -> Completion {
    std::thread::sleep(Duration::from_millis(15));
    Completion {
        text: format!("search: {}", question.to_lowercase()),
        tokens: (question.len() as i64 / 4 + 10, 8),
    }
}

/// Step 2: the query's vector.
#[genai_span(kind = "embeddings", provider = "openai", model = "text-embedding-3-small", sensitive = ["query"],
             attrs(server.address = "api.openai.com", server.port = 443))]
fn embed(query: &str) -> Vector {
    std::thread::sleep(Duration::from_millis(5));
    Vector(vec![query.len() as f32 / 100.0; 16])
}

/// Step 3: the nearest passages.
#[genai_span(kind = "retrieval", provider = "openai", sensitive = ["query"],
             attrs(gen_ai.data_source.id = "travel-guides", gen_ai.request.top_k = 4.0))]
fn retrieve(query: &str, vector: &Vector) -> Passages {
    std::thread::sleep(Duration::from_millis(8));
    let _ = (query, vector);
    Passages(vec![
        ("lisbon-spring.md", 0.91),
        ("lisbon-food.md", 0.84),
        ("porto.md", 0.62),
        ("madrid.md", 0.40),
    ])
}

/// Step 4: rerank, keep the best two (a custom kind; its category is reranker).
#[genai_span(kind = "rag.rerank", category = "reranker")]
fn rerank(passages: Passages) -> Passages {
    std::thread::sleep(Duration::from_millis(3));
    let mut best = passages.0;
    best.sort_by(|a, b| b.1.total_cmp(&a.1));
    best.truncate(2);
    Passages(best)
}

/// Step 5: the answer from the passages.
#[genai_span(kind = "chat", provider = "openai", model = "gpt-4o-mini", sensitive = ["question", "context"],
             attrs(server.address = "api.openai.com", server.port = 443))]
fn generate(question: &str, context: &Passages) -> Completion {
    std::thread::sleep(Duration::from_millis(25));
    let sources: Vec<&str> = context.0.iter().map(|(id, _)| *id).collect();
    Completion {
        text: format!("Spring in Lisbon is mild and sunny (sources: {}).", sources.join(", ")),
        tokens: (question.len() as i64 / 4 + 120, 22),
    }
}

/// The pipeline: one workflow span, every step its child.
#[genai_span(kind = "invoke_workflow", sensitive = ["question"], attrs(gen_ai.workflow.name = "rag-answer"))]
fn answer(question: &str) -> String {
    let query = rewrite(question).text;
    let vector = embed(&query);
    let passages = rerank(retrieve(&query, &vector));
    generate(question, &passages).text
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = cli::Flags::install("rag-example")?;
    println!("{}", answer("Is Lisbon nice in spring?"));
    drop(guard);
    Ok(())
}
