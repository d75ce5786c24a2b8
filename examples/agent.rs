//! An async agent on Tokio: the model plans, asks for three tools at once, the
//! tools run **concurrently** in their own tasks (`genai_trace::context::spawn`
//! carries the trace into each), and the model answers with their results. The
//! tool spans are siblings under the agent span and overlap in time; the
//! console tree shows them. No network needed.
//!
//! ```sh
//! cargo run --example agent --features tokio
//! cargo run --example agent --features tokio -- --capture-content --otlp-endpoint http://localhost:4318
//! ```

#[path = "common/cli.rs"]
mod cli;

use std::time::Duration;

use genai_trace::{Message, Part, RecordResponse, Recorder, Session, Usage, genai_span};

/// A tool call the model asked for.
#[derive(Clone, Debug)]
struct ToolCall {
    id: String,
    name: &'static str,
    city: &'static str,
}

/// The model's turn: text, or tool calls.
struct Turn {
    id: String,
    text: String,
    calls: Vec<ToolCall>,
    tokens: (i64, i64),
}

impl RecordResponse for Turn {
    fn record_response(&self, r: &mut Recorder<'_>) {
        r.response_id(&self.id);
        let finish = if self.calls.is_empty() { "stop" } else { "tool_calls" };
        r.finish_reasons(&[finish]);
        r.usage(Usage {
            input_tokens: Some(self.tokens.0),
            output_tokens: Some(self.tokens.1),
            ..Usage::default()
        });
        if r.captures_content() {
            let mut m = Message::assistant(&self.text).finish_reason(finish);
            for c in &self.calls {
                m = m.part(Part::ToolCall {
                    id: Some(c.id.clone()),
                    name: c.name.to_owned(),
                    arguments: serde_json::json!({ "city": c.city }),
                });
            }
            r.output_messages(&[m]);
        }
    }
}

/// The model (a fake one: it waits like a network call would). The first turn
/// asks for the weather in three cities; the second answers from the results.
#[genai_span(kind = "chat", provider = "openai", model = "gpt-4o-mini", sensitive = ["prompt"],
             attrs(server.address = "api.openai.com", server.port = 443))]
async fn think(prompt: &str, results: &[String]) -> Turn {
    tokio::time::sleep(Duration::from_millis(20)).await;
    let run = std::process::id();
    if results.is_empty() {
        Turn {
            id: format!("chatcmpl-{run}-1"),
            text: String::new(),
            calls: ["Lisbon", "Porto", "Faro"]
                .iter()
                .enumerate()
                .map(|(i, city)| ToolCall {
                    id: format!("call_{run}_{i}"),
                    name: "get_weather",
                    city,
                })
                .collect(),
            tokens: (prompt.len() as i64 / 4 + 20, 30),
        }
    } else {
        Turn {
            id: format!("chatcmpl-{run}-2"),
            text: format!("Best bet: {}", results.join("; ")),
            calls: Vec::new(),
            tokens: (prompt.len() as i64 / 4 + 40, 12),
        }
    }
}

/// One tool call, run in its own task; its span carries the model's call id.
#[genai_span(kind = "execute_tool", attrs(gen_ai.tool.name = call.name, gen_ai.tool.call.id = call.id,
             gen_ai.tool.type = "function"), sensitive = ["call"])]
async fn run_tool(call: ToolCall) -> String {
    // Each "weather service" takes its own time: the three overlap.
    tokio::time::sleep(Duration::from_millis(30 + 10 * call.city.len() as u64)).await;
    format!("{}: sunny", call.city)
}

/// The agent: plan, run every tool concurrently, answer.
#[genai_span(kind = "invoke_agent", provider = "openai", sensitive = ["task"],
             attrs(gen_ai.agent.name = "weather-scout", gen_ai.agent.id = "scout-1"))]
async fn scout(task: &str) -> String {
    let plan = think(task, &[]).await;
    // `context::spawn`: each task starts in the agent's context, so its tool
    // span is the agent's child, whichever worker thread runs it.
    let handles: Vec<_> = plan
        .calls
        .iter()
        .cloned()
        .map(|call| genai_trace::context::spawn(run_tool(call)))
        .collect();
    let mut results = Vec::new();
    for h in handles {
        results.push(h.await.unwrap_or_else(|e| format!("tool task failed: {e}")));
    }
    think(task, &results).await.text
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = cli::Flags::install("agent-example")?;
    let task = "Where is it sunny this weekend?";
    let mut session = Session::builder()
        .session_id(format!("agent-{}", std::process::id()))
        .input(task)
        .start();
    let answer = session.run(scout(task)).await;
    session.record_output(&answer);
    println!("{answer}");
    drop(session);
    drop(guard);
    Ok(())
}
