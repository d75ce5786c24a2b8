//! Sessions: a root span for one user interaction, and W3C baggage that stamps
//! `session.id`, `user.id` and `gen_ai.conversation.id` on every span inside
//! (Langfuse, Phoenix and Datadog group traces by them).

use std::borrow::Cow;
use std::future::Future;

use opentelemetry::baggage::BaggageExt;
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{SpanKind, TraceContextExt};
use opentelemetry::{Context, ContextGuard, KeyValue};

use crate::genai::content::ContentCapture;
use crate::genai::message::ToContent;
use crate::genai::semconv as sc;
use crate::pipeline::state::content_capture;
use crate::span::guard::SpanGuard;

/// Describes a session; [`SessionBuilder::start`] opens it.
#[derive(Debug, Default)]
#[must_use = "a session starts with .start()"]
pub struct SessionBuilder {
    name: Option<Cow<'static, str>>,
    session_id: Option<String>,
    user_id: Option<String>,
    conversation_id: Option<String>,
    metadata: Vec<KeyValue>,
    tags: Vec<opentelemetry::StringValue>,
    input: Option<serde_json::Value>,
}

impl SessionBuilder {
    /// The root span's name (default `session`).
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = Some(name.into());
        self
    }
    /// `session.id`
    pub fn session_id(mut self, id: impl Into<String>) -> Self {
        self.session_id = Some(id.into());
        self
    }
    /// `user.id`
    pub fn user_id(mut self, id: impl Into<String>) -> Self {
        self.user_id = Some(id.into());
        self
    }
    /// `gen_ai.conversation.id`
    pub fn conversation_id(mut self, id: impl Into<String>) -> Self {
        self.conversation_id = Some(id.into());
        self
    }
    /// An extra attribute of the session span (not propagated).
    pub fn metadata(mut self, key: impl Into<opentelemetry::Key>, value: impl Into<opentelemetry::Value>) -> Self {
        self.metadata.push(KeyValue::new(key, value));
        self
    }

    /// A tag of the session (`genai_trace.session.tags`; Langfuse's trace tags
    /// with the `langfuse` dialect). Not propagated.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into().into());
        self
    }

    /// What the session was asked — the user's request — recorded on the session
    /// span as `gen_ai.input.messages` when content is captured (and converted
    /// only then). Backends show it as the trace's input.
    pub fn input<T: ToContent + ?Sized>(mut self, value: &T) -> Self {
        if content_capture() != ContentCapture::NoContent {
            self.input = Some(value.to_content());
        }
        self
    }

    /// Opens the session: a root span with a fresh trace id, whatever is current.
    pub fn start(self) -> Session {
        let ids: Vec<KeyValue> = [
            (sc::SESSION_ID, self.session_id),
            (sc::USER_ID, self.user_id),
            (sc::GEN_AI_CONVERSATION_ID, self.conversation_id),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| KeyValue::new(k, v)))
        .collect();
        // A fresh root: the session does not continue whatever trace is current.
        let parent = Context::new().with_baggage(ids.clone());
        let mut attrs = ids;
        attrs.extend(self.metadata);
        if !self.tags.is_empty() {
            attrs.push(KeyValue::new(
                sc::GENAI_TRACE_SESSION_TAGS,
                opentelemetry::Value::Array(self.tags.into()),
            ));
        }
        let mut guard = SpanGuard::start_root(
            self.name.unwrap_or(Cow::Borrowed("session")),
            SpanKind::Internal,
            attrs,
            &parent,
        );
        if let Some(input) = self.input {
            guard.record_response(|r| r.input_value(&input));
        }
        let cx = guard.context().unwrap_or(parent);
        Session { cx, guard }
    }
}

/// An open session. Work runs inside it through [`Session::enter`],
/// [`Session::in_scope`] or [`Session::run`]; it ends when dropped.
///
/// ```
/// use genai_trace_runtime::Session;
/// let session = Session::builder().session_id("s-42").user_id("u-7").start();
/// session.in_scope(|| {
///     assert_eq!(genai_trace_runtime::context::baggage_value("session.id").as_deref(), Some("s-42"));
/// });
/// ```
#[derive(Debug)]
pub struct Session {
    cx: Context,
    guard: SpanGuard,
}

impl Session {
    /// Describes a new session.
    pub fn builder() -> SessionBuilder {
        SessionBuilder::default()
    }

    /// The session's context (span and baggage), to attach or propagate.
    pub fn context(&self) -> Context {
        self.cx.clone()
    }

    /// The session's trace id (32 hex digits), if it is recorded.
    pub fn trace_id(&self) -> Option<String> {
        let sc = self.cx.span().span_context().clone();
        sc.is_valid().then(|| sc.trace_id().to_string())
    }

    /// Makes the session current on this thread until the guard drops.
    pub fn enter(&self) -> ContextGuard {
        self.cx.clone().attach()
    }

    /// Runs `f` inside the session.
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        let _attached = self.enter();
        f()
    }

    /// Runs `future` inside the session (attached on every poll). Sessions are
    /// isolated: two run concurrently on one runtime never mix.
    pub fn run<F: Future>(&self, future: F) -> opentelemetry::context::WithContext<F> {
        future.with_context(self.cx.clone())
    }

    /// Records what the session was asked (see [`SessionBuilder::input`]); only
    /// when content is captured, and converted only then.
    pub fn record_input<T: ToContent + ?Sized>(&mut self, value: &T) {
        if self.guard.captures_content() {
            let input = value.to_content();
            self.guard.record_response(|r| r.input_value(&input));
        }
    }

    /// Records the session's answer as `gen_ai.output.messages` on the session
    /// span, when content is captured (converted only then). Backends show it
    /// as the trace's output.
    ///
    /// ```
    /// use genai_trace_runtime::Session;
    /// let mut session = Session::builder().session_id("s-1").input("plan a trip").start();
    /// let answer = session.in_scope(|| "three days in Lisbon".to_owned());
    /// session.record_output(&answer);
    /// ```
    pub fn record_output<T: ToContent + ?Sized>(&mut self, value: &T) {
        if self.guard.captures_content() {
            let output = value.to_content();
            self.guard.record_response(|r| r.output_value(&output));
        }
    }

    /// Ends the session span (also done on drop).
    pub fn end(self) {}
}

impl Drop for Session {
    fn drop(&mut self) {
        // A session ends normally when dropped; its guard alone would mark it cancelled.
        std::mem::replace(&mut self.guard, SpanGuard::NONE).end();
    }
}
