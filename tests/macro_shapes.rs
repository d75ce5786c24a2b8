//! Every function shape #[`genai_span`] supports, asserted on exported spans.
#![cfg(feature = "testing")]

use std::sync::Arc;

use genai_trace::genai_span;
use genai_trace::opentelemetry::trace::{SpanKind, Status};
use genai_trace::testing::{TestTelemetry, attribute};

#[genai_span]
fn free_fn(x: u32) -> u32 {
    x + 1
}

struct Client {
    model: String,
    calls: u32,
}

impl Client {
    #[genai_span(kind = "chat", provider = "openai", model = self.model)]
    fn by_ref(&self, prompt: &str) -> usize {
        prompt.len()
    }

    #[genai_span]
    fn by_mut(&mut self) -> &mut u32 {
        self.calls += 1;
        &mut self.calls
    }

    #[genai_span]
    fn by_value(self) -> String {
        self.model
    }

    #[genai_span]
    fn by_arc(self: Arc<Self>) -> usize {
        self.model.len()
    }

    #[genai_span]
    fn associated() -> Client {
        Client {
            model: "m".into(),
            calls: 0,
        }
    }

    #[genai_span(kind = "chat", model = self.model)]
    async fn async_ref(&self) -> &str {
        &self.model
    }
}

trait Tool {
    fn run(&self, input: &str) -> String;
    async fn run_async(&self, input: &str) -> String;
}

struct Echo;

impl Tool for Echo {
    #[genai_span(kind = "execute_tool")]
    fn run(&self, input: &str) -> String {
        input.to_uppercase()
    }

    #[genai_span(kind = "execute_tool", attrs(gen_ai.tool.name = "echo_async"))]
    async fn run_async(&self, input: &str) -> String {
        input.to_owned()
    }
}

#[async_trait::async_trait]
trait Agent {
    async fn step(&self, n: u32) -> u32;
}

struct Planner;

#[async_trait::async_trait]
impl Agent for Planner {
    #[genai_span(kind = "invoke_agent", attrs(gen_ai.agent.name = "planner"))]
    async fn step(&self, n: u32) -> u32 {
        n * 2
    }
}

#[genai_span]
fn generic<'a, T>(items: &'a [T], extra: impl Into<usize>) -> Option<&'a T>
where
    T: std::fmt::Debug,
{
    items.get(extra.into())
}

#[genai_span]
fn returns_impl(n: u32) -> impl Iterator<Item = u32> {
    0..n
}

#[genai_span(kind = "embeddings", model = "text-embed")]
fn returns_future(n: u32) -> impl Future<Output = u32> + Send {
    async move { n + 1 }
}

#[derive(Debug)]
struct Oops;
impl std::fmt::Display for Oops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("oops")
    }
}
impl std::error::Error for Oops {}

#[genai_span]
fn early_return(x: i32) -> Result<i32, Oops> {
    if x < 0 {
        return Err(Oops);
    }
    let y: i32 = "7".parse().map_err(|_| Oops)?;
    Ok(x + y)
}

#[genai_span]
async fn early_return_async(x: i32) -> Result<i32, Box<dyn std::error::Error + Send + Sync>> {
    if x == 0 {
        return Ok(0);
    }
    let y: i32 = "nope".parse()?;
    Ok(x + y)
}

#[genai_span]
fn recurse(n: u32) -> u32 {
    if n == 0 { 0 } else { 1 + recurse(n - 1) }
}

/// # Safety
/// Reads through a valid pointer.
#[genai_span]
unsafe fn unsafe_fn(p: *const u32) -> u32 {
    unsafe { *p }
}

#[genai_span]
#[must_use]
#[cfg(not(any()))]
/// A doc comment.
fn attributed(x: u32) -> u32 {
    #![allow(clippy::identity_op)]
    x * 1
}

#[genai_span]
extern "C" fn c_abi(x: u32) -> u32 {
    x + 2
}

#[genai_span]
fn patterns(mut a: u32, (b, c): (u32, u32), Client { calls, .. }: Client) -> u32 {
    a += b + c + calls;
    a
}

fn names(t: &TestTelemetry) -> Vec<String> {
    t.spans().iter().map(|s| s.name.to_string()).collect()
}

#[test]
fn sync_shapes() {
    let t = TestTelemetry::install();
    assert_eq!(free_fn(1), 2);
    let mut c = Client::associated();
    c.model = "gpt-4o".into();
    assert_eq!(c.by_ref("hey"), 3);
    *c.by_mut() += 10;
    assert_eq!(c.calls, 11);
    assert_eq!(
        Arc::new(Client {
            model: "ab".into(),
            calls: 0
        })
        .by_arc(),
        2
    );
    assert_eq!(c.by_value(), "gpt-4o");
    assert_eq!(Echo.run("a"), "A");
    assert_eq!(generic(&[1, 2, 3], 1u8), Some(&2));
    assert_eq!(returns_impl(3).sum::<u32>(), 3);
    assert_eq!(recurse(2), 2);
    assert_eq!(unsafe { unsafe_fn(&5) }, 5);
    assert_eq!(attributed(4), 4);
    assert_eq!(c_abi(1), 3);
    assert_eq!(
        patterns(
            1,
            (2, 3),
            Client {
                model: String::new(),
                calls: 4
            }
        ),
        10
    );
    assert_eq!(
        names(&t),
        [
            "free_fn",
            "associated",
            "chat gpt-4o",
            "by_mut",
            "by_arc",
            "by_value",
            "execute_tool run",
            "generic",
            "returns_impl",
            "recurse",
            "recurse",
            "recurse",
            "unsafe_fn",
            "attributed",
            "c_abi",
            "patterns"
        ]
    );
    let chat = t.span("chat gpt-4o");
    assert_eq!(chat.span_kind, SpanKind::Client);
    assert_eq!(attribute(&chat, "gen_ai.operation.name").unwrap().as_str(), "chat");
    assert_eq!(attribute(&chat, "gen_ai.provider.name").unwrap().as_str(), "openai");
    assert_eq!(attribute(&chat, "gen_ai.request.model").unwrap().as_str(), "gpt-4o");
    let tool = t.span("execute_tool run");
    assert_eq!(tool.span_kind, SpanKind::Internal);
    assert_eq!(attribute(&tool, "gen_ai.tool.name").unwrap().as_str(), "run");
    let plain = t.span("free_fn");
    assert_eq!(plain.span_kind, SpanKind::Internal);
    assert!(
        plain.attributes.is_empty(),
        "arguments are not recorded: {:?}",
        plain.attributes
    );
    // Recursion nests: each call is the parent of the next.
    let rec: Vec<_> = t.spans().into_iter().filter(|s| s.name == "recurse").collect();
    assert_eq!(rec[0].parent_span_id, rec[1].span_context.span_id());
    assert_eq!(rec[1].parent_span_id, rec[2].span_context.span_id());
}

#[tokio::test]
async fn async_shapes() {
    let t = TestTelemetry::install();
    let c = Client {
        model: "claude".into(),
        calls: 0,
    };
    assert_eq!(c.async_ref().await, "claude");
    assert_eq!(Echo.run_async("x").await, "x");
    assert_eq!(Planner.step(4).await, 8);
    assert_eq!(returns_future(1).await, 2);
    assert_eq!(
        names(&t),
        [
            "chat claude",
            "execute_tool echo_async",
            "invoke_agent planner",
            "embeddings text-embed"
        ]
    );
    assert_eq!(t.span("embeddings text-embed").span_kind, SpanKind::Client);
    assert_eq!(t.span("invoke_agent planner").span_kind, SpanKind::Internal);
}

#[tokio::test]
async fn early_returns_and_question_mark() {
    let t = TestTelemetry::install();
    assert!(early_return(-1).is_err());
    assert_eq!(early_return(1).unwrap(), 8);
    assert_eq!(early_return_async(0).await.unwrap(), 0);
    assert!(early_return_async(1).await.is_err());
    let spans = t.spans();
    assert_eq!(spans.len(), 4);
    assert!(matches!(&spans[0].status, Status::Error { description } if description == "oops"));
    assert_eq!(
        attribute(&spans[0], "error.type").unwrap().as_str(),
        "macro_shapes::Oops"
    );
    assert_eq!(spans[1].status, Status::Unset);
    assert_eq!(spans[2].status, Status::Unset);
    assert!(matches!(&spans[3].status, Status::Error { description } if description.contains("invalid digit")));
}
