//! With content capture off, no byte of a prompt, completion, tool argument,
//! retrieval query or document leaves the process, through any recording path
//! and any exporter: spans as exported (what OTLP serialises), the console tree,
//! JSON lines, and metrics. With capture on, the same scan finds them, so the
//! test can fail. API keys in `Secret` never appear, capture or not.
#![cfg(all(feature = "testing", feature = "console", feature = "metrics"))]

use genai_trace::testing::{SharedBuffer, TestTelemetry};
use genai_trace::{
    ConsoleExporter, ContentCapture, Document, Message, RecordRequest, RecordResponse, Recorder, Secret, genai_span,
};
use proptest::prelude::*;
use serde_json::json;

#[derive(Debug, Clone)]
struct Content {
    prompt: String,
    completion: String,
    system: String,
    tool_arg: String,
    query: String,
    doc_id: String,
}

// `sensitive` arguments must be recordable (`ToContent` or `Debug`).
#[derive(Debug)]
struct Req<'a>(&'a Content);
impl RecordRequest for Req<'_> {
    fn record_request(&self, r: &mut Recorder<'_>) {
        r.request_model("gpt-4o");
        r.system_instructions(&self.0.system);
        r.input_messages(&[Message::user(&self.0.prompt)]);
    }
}

struct Resp<'a>(&'a Content);
impl RecordResponse for Resp<'_> {
    fn record_response(&self, r: &mut Recorder<'_>) {
        r.finish_reasons(&["stop"]);
        r.output_messages(&[Message::assistant(&self.0.completion)]);
        r.tool_call_result(&json!({"echo": self.0.completion}));
        r.retrieval_documents(&[Document {
            id: self.0.doc_id.clone(),
            score: Some(1.0),
        }]);
    }
}

#[derive(Debug)]
struct EchoError(String);
impl std::fmt::Display for EchoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the model refused: {}", self.0)
    }
}

#[derive(Debug)]
struct DebugOnlyPrompt {
    text: String,
}

// Marked `sensitive` below: its `Debug` is what would be recorded, and the
// `Secret`'s `Debug` never shows the key.
#[derive(Debug)]
struct Client {
    api_key: Secret<String>,
}

impl Client {
    #[genai_span(kind = "chat", provider = "openai", model = "gpt-4o", sensitive = ["prompt", "self"],
                 attrs("app.key" = self.api_key))]
    fn chat<'a>(&self, prompt: &str, c: &'a Content) -> Result<Resp<'a>, EchoError> {
        let _ = self.api_key.expose();
        if prompt.len().is_multiple_of(2) {
            Ok(Resp(c))
        } else {
            Err(EchoError(prompt.to_owned()))
        }
    }
}

#[genai_span(kind = "chat", sensitive = ["req"])]
fn chat_typed<'a>(req: &Req<'a>) -> Resp<'a> {
    Resp(req.0)
}

#[genai_span(kind = "execute_tool", sensitive = ["args"])]
fn tool(args: &serde_json::Value) -> Result<(), EchoError> {
    Err(EchoError(args.to_string()))
}

impl std::error::Error for EchoError {}

#[genai_span(kind = "retrieval", attrs(gen_ai.data_source.id = "kb"), sensitive = ["query"])]
fn retrieve<'a>(query: &str, c: &'a Content) -> Resp<'a> {
    // A failure recorded by hand echoes the query, as model APIs' errors do.
    genai_trace::record_error(&EchoError(query.to_owned()));
    Resp(c)
}

#[genai_span(kind = "invoke_agent", sensitive = ["task", "history"])]
fn agent(task: &DebugOnlyPrompt, history: Vec<Message>) -> usize {
    task.text.len() + history.len()
}

/// Everything every exporter produced, as text.
fn run(c: &Content, mode: ContentCapture) -> String {
    let tree = SharedBuffer::default();
    let lines = SharedBuffer::default();
    let t = TestTelemetry::install_with(|b| {
        b.content_capture(mode)
            .with_console_exporter(ConsoleExporter::tree().writer(tree.clone()))
            .with_console_exporter(ConsoleExporter::json_lines().writer(lines.clone()))
    });
    let client = Client {
        api_key: Secret::new("sk-live-SECRETKEY42".into()),
    };
    let _ = client.chat(&c.prompt, c);
    let _ = client.chat(&format!("{}x", c.prompt), c); // the other parity: the error path
    chat_typed(&Req(c));
    let _ = tool(&json!({"q": c.tool_arg}));
    retrieve(&c.query, c);
    agent(
        &DebugOnlyPrompt { text: c.prompt.clone() },
        vec![Message::user(&c.prompt), Message::system(&c.system)],
    );
    let metrics = format!("{:?}", t.metrics());
    let spans = format!("{:?}", t.finish());
    let (tree, lines) = (tree.text(), lines.text());
    format!("{spans}\n{metrics}\n{tree}\n{lines}")
}

fn secret() -> impl Strategy<Value = String> {
    // Distinctive enough never to occur by chance in telemetry.
    "[A-Za-z]{4}[0-9]{4}[A-Za-z ]{0,24}[a-z]{4}"
}

fn content() -> impl Strategy<Value = Content> {
    (secret(), secret(), secret(), secret(), secret(), secret()).prop_map(
        |(prompt, completion, system, tool_arg, query, doc_id)| Content {
            prompt,
            completion,
            system,
            tool_arg,
            query,
            doc_id,
        },
    )
}

fn pieces(c: &Content) -> [(&'static str, &str); 6] {
    [
        ("prompt", &c.prompt),
        ("completion", &c.completion),
        ("system", &c.system),
        ("tool argument", &c.tool_arg),
        ("query", &c.query),
        ("document id", &c.doc_id),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn nothing_sensitive_leaves_with_capture_off(c in content()) {
        let out = run(&c, ContentCapture::NoContent);
        for (what, text) in pieces(&c) {
            prop_assert!(!out.contains(text), "the {} {:?} leaked:\n{}", what, text, out);
        }
        prop_assert!(!out.contains("SECRETKEY42"), "the API key leaked");
    }
}

#[test]
fn with_capture_on_the_same_scan_finds_everything() {
    let c = Content {
        prompt: "Prmt1234 about the weather zzzz".into(),
        completion: "Cmpl5678 sunny all week yyyy".into(),
        system: "Syst9012 be brief xxxx".into(),
        tool_arg: "Tool3456 lisbon wwww".into(),
        query: "Qury7890 beaches vvvv".into(),
        doc_id: "Docs1357 guide uuuu".into(),
    };
    for mode in [
        ContentCapture::SpanOnly,
        ContentCapture::EventOnly,
        ContentCapture::SpanAndEvent,
    ] {
        let out = run(&c, mode);
        for (what, text) in pieces(&c) {
            assert!(out.contains(text), "{mode:?}: the {what} should be recorded");
        }
        assert!(
            !out.contains("SECRETKEY42"),
            "{mode:?}: secrets stay out even with capture on"
        );
        assert!(out.contains("<redacted>"));
    }
}
