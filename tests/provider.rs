//! `gen_ai.provider.name` (Required on every GenAI span and metric): a call's
//! own provider, else the enclosing GenAI call's, else the configured default
//! (`GENAI_TRACE_DEFAULT_PROVIDER`), else none — never a made-up value.
#![cfg(all(feature = "testing", feature = "metrics"))]

use genai_trace::testing::{TestTelemetry, attribute};
use genai_trace::{genai_span, semconv};

#[genai_span(kind = "execute_tool")]
fn search() -> usize {
    3
}

#[genai_span(kind = "retrieval", attrs(gen_ai.data_source.id = "kb"))]
fn retrieve() -> usize {
    search()
}

#[genai_span(kind = "chat", provider = "anthropic", model = "claude")]
fn chat_elsewhere() -> usize {
    search()
}

#[genai_span(kind = "invoke_agent", provider = "openai", attrs(gen_ai.agent.name = "planner"))]
fn agent() -> usize {
    retrieve() + chat_elsewhere()
}

#[genai_span(kind = "invoke_agent", provider = "openai", attrs(gen_ai.agent.name = "async-planner"))]
async fn async_agent() -> usize {
    tokio::task::yield_now().await;
    search()
}

#[genai_span(kind = "invoke_agent", attrs(gen_ai.agent.name = "anonymous"))]
fn agent_without_provider() -> usize {
    search()
}

fn provider_of(t: &TestTelemetry, name: &str) -> Option<String> {
    attribute(&t.span(name), semconv::GEN_AI_PROVIDER_NAME).map(ToString::to_string)
}

/// The provider on each `gen_ai.client.operation.duration` point of `operation`.
fn metric_providers(t: &TestTelemetry, operation: &str) -> Vec<Option<String>> {
    t.histogram(semconv::metric::OPERATION_DURATION)
        .into_iter()
        .filter(|p| p.attributes["gen_ai.operation.name"] == operation)
        .map(|p| p.attributes.get("gen_ai.provider.name").cloned())
        .collect()
}

#[test]
fn calls_inside_a_genai_call_take_its_provider_unless_they_name_their_own() {
    let t = TestTelemetry::install();
    assert_eq!(agent(), 6);
    assert_eq!(provider_of(&t, "invoke_agent planner").as_deref(), Some("openai"));
    assert_eq!(provider_of(&t, "retrieval kb").as_deref(), Some("openai"));
    assert_eq!(
        provider_of(&t, "chat claude").as_deref(),
        Some("anthropic"),
        "its own wins"
    );
    let tools: Vec<_> = t
        .spans()
        .into_iter()
        .filter(|s| s.name == "execute_tool search")
        .map(|s| attribute(&s, semconv::GEN_AI_PROVIDER_NAME).map(ToString::to_string))
        .collect();
    // Under the retrieval (openai, inherited) and under the chat (anthropic).
    assert_eq!(tools.len(), 2);
    assert!(
        tools.contains(&Some("openai".into())) && tools.contains(&Some("anthropic".into())),
        "{tools:?}"
    );
    // The Required metric attribute too.
    assert_eq!(metric_providers(&t, "invoke_agent"), [Some("openai".to_owned())]);
    assert_eq!(metric_providers(&t, "retrieval"), [Some("openai".to_owned())]);
    let mut tool_points = metric_providers(&t, "execute_tool");
    tool_points.sort();
    assert_eq!(tool_points, [Some("anthropic".to_owned()), Some("openai".to_owned())]);
}

#[tokio::test]
async fn async_calls_inherit_across_awaits() {
    let t = TestTelemetry::install();
    assert_eq!(async_agent().await, 3);
    assert_eq!(provider_of(&t, "execute_tool search").as_deref(), Some("openai"));
}

#[test]
fn the_configured_default_fills_in_where_nothing_names_one() {
    for (builder, env) in [(Some("aws.bedrock"), None), (None, Some("aws.bedrock"))] {
        let t = TestTelemetry::install_with(|b| {
            let b = b.env_lookup(move |k| {
                (k == "GENAI_TRACE_DEFAULT_PROVIDER")
                    .then(|| env.unwrap_or_default().to_owned())
                    .filter(|v| !v.is_empty())
            });
            match builder {
                Some(p) => b.default_provider(p),
                None => b,
            }
        });
        agent_without_provider();
        assert_eq!(
            provider_of(&t, "invoke_agent anonymous").as_deref(),
            Some("aws.bedrock")
        );
        assert_eq!(provider_of(&t, "execute_tool search").as_deref(), Some("aws.bedrock"));
        assert_eq!(metric_providers(&t, "invoke_agent"), [Some("aws.bedrock".to_owned())]);
        // A call's own provider still wins over the default.
        agent();
        assert_eq!(provider_of(&t, "invoke_agent planner").as_deref(), Some("openai"));
    }
}

#[test]
fn without_any_source_there_is_no_provider_rather_than_a_made_up_one() {
    let t = TestTelemetry::install();
    agent_without_provider();
    assert_eq!(provider_of(&t, "invoke_agent anonymous"), None);
    assert_eq!(provider_of(&t, "execute_tool search"), None);
    assert_eq!(metric_providers(&t, "execute_tool"), [None]);
}
