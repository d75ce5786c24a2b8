//! The zero-annotation path: a tower layer for async-openai's HTTP service
//! (`Client::with_http_service`). Every Chat Completions, Responses, legacy
//! Completions and Embeddings call through the client becomes a GenAI span —
//! parameters, ids, usage, finish reasons, server address and port, time to
//! first chunk, and (with capture on) messages — read from the HTTP bodies
//! themselves, streams included. Other endpoints (files, models...) pass through.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context as TaskContext, Poll};

use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use bytes::Bytes;
use futures_util::StreamExt;
use opentelemetry::Context;
use opentelemetry::trace::SpanKind;
use reqwest::{Request, Response};
use serde_json::Value as Json;

use crate::genai::recorder::{ContentSlot, Recorder};
use crate::genai::semconv as sc;
use crate::openai::sse::{SseEvent, SseEvents};
use crate::openai::wire;
use crate::pipeline::state::ENABLED;
use crate::span::callsite::{CallSite, NameSuffix};
use crate::span::future::InstrumentedThen;
use crate::span::guard::SpanGuard;
use crate::span::stream::{ChunkRecorder, InstrumentedStream};

/// What an endpoint is, from the request's method and path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    ChatCompletions,
    Responses,
    Completions,
    Embeddings,
}

impl Endpoint {
    fn of(request: &Request) -> Option<Self> {
        if request.method() != reqwest::Method::POST {
            return None;
        }
        let path = request.url().path().trim_end_matches('/');
        Some(if path.ends_with("/chat/completions") {
            Self::ChatCompletions
        } else if path.ends_with("/responses") {
            Self::Responses
        } else if path.ends_with("/completions") {
            Self::Completions
        } else if path.ends_with("/embeddings") {
            Self::Embeddings
        } else {
            return None;
        })
    }

    fn site(self) -> &'static CallSite {
        const fn site(operation: &'static str) -> CallSite {
            CallSite::new(
                operation,
                Some(operation),
                SpanKind::Client,
                NameSuffix::Attribute(sc::GEN_AI_REQUEST_MODEL),
                None,
                ContentSlot::InputMessages,
                false,
            )
        }
        static CHAT: CallSite = site("chat");
        static COMPLETION: CallSite = site("text_completion");
        static EMBEDDINGS: CallSite = site("embeddings");
        match self {
            Self::ChatCompletions | Self::Responses => &CHAT,
            Self::Completions => &COMPLETION,
            Self::Embeddings => &EMBEDDINGS,
        }
    }

    fn record_request(self, body: &Json, r: &mut Recorder<'_>) {
        match self {
            Self::ChatCompletions | Self::Completions => wire::record_chat_request(body, r),
            Self::Responses => wire::record_responses_request(body, r),
            Self::Embeddings => wire::record_embeddings_request(body, r),
        }
    }

    fn record_response(self, body: &Json, r: &mut Recorder<'_>) {
        match self {
            Self::ChatCompletions | Self::Completions => wire::record_chat_response(body, r),
            Self::Responses => wire::record_responses_response(body, r),
            Self::Embeddings => wire::record_embeddings_response(body, r),
        }
    }
}

/// A tower [`Layer`](tower::Layer) that records every model call an async-openai
/// client makes as a GenAI span (feature `async-openai`).
///
/// Put it outermost, above the retry layer, so that one logical call is one
/// span however many attempts it takes; [`traced_client`](crate::openai::traced_client)
/// builds that stack. The span's parent is the context current where the call
/// is awaited, as for a `#[genai_span]` function.
///
/// ```no_run
/// use async_openai::config::OpenAIConfig;
/// use async_openai::middleware::{ReqwestService, retry::OpenAIRetryLayer};
/// use async_openai::Client;
/// use genai_trace_runtime::openai::OpenAiLayer;
///
/// let service = tower::ServiceBuilder::new()
///     .layer(OpenAiLayer::new())
///     .layer(OpenAIRetryLayer::default())
///     .service(ReqwestService::new(reqwest::Client::new()));
/// let client = Client::with_config(OpenAIConfig::default()).with_http_service(service);
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "async-openai")))]
#[derive(Clone, Debug)]
pub struct OpenAiLayer {
    provider: &'static str,
}

impl Default for OpenAiLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl OpenAiLayer {
    /// Records `gen_ai.provider.name = "openai"`.
    pub fn new() -> Self {
        Self { provider: "openai" }
    }

    /// The `gen_ai.provider.name` to record: for an OpenAI-compatible server of
    /// another provider (`"groq"`, `"deepseek"`, `"mistral_ai"`...).
    pub fn provider(mut self, provider: &'static str) -> Self {
        self.provider = provider;
        self
    }
}

impl<S> tower::Layer<S> for OpenAiLayer {
    type Service = OpenAiService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        OpenAiService {
            inner,
            provider: self.provider,
        }
    }
}

/// The service [`OpenAiLayer`] wraps around async-openai's HTTP service.
#[cfg_attr(docsrs, doc(cfg(feature = "async-openai")))]
#[derive(Clone, Debug)]
pub struct OpenAiService<S> {
    inner: S,
    provider: &'static str,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S> tower::Service<HttpRequestFactory> for OpenAiService<S>
where
    S: tower::Service<HttpRequestFactory, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: fmt::Display + Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, factory: HttpRequestFactory) -> Self::Future {
        // The ready service is the one to call (tower's contract); a clone stays behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if !ENABLED.load(std::sync::atomic::Ordering::Relaxed) {
            return Box::pin(inner.call(factory));
        }
        // The caller's context, captured where the call is made: the span's parent.
        let parent = Context::current();
        let provider = self.provider;
        Box::pin(async move {
            // On failure the inner service rebuilds and reports the same error.
            let Ok(request) = factory.build().await else {
                return inner.call(factory).await;
            };
            let Some(endpoint) = Endpoint::of(&request) else {
                return inner.call(prebuilt(request, factory)).await;
            };
            let guard = {
                let _parent = parent.attach();
                start_span(endpoint, provider, &request)
            };
            let factory = prebuilt(request, factory);
            if !guard.is_active() {
                return inner.call(factory).await;
            }
            let (result, guard) = InstrumentedThen::new(inner.call(factory), guard).await;
            match result {
                Ok(response) => Ok(record_response(endpoint, response, guard).await),
                Err(e) => {
                    let mut guard = guard;
                    let type_name = std::any::type_name::<S::Error>();
                    guard.record_error(type_name, type_name, &e.to_string());
                    guard.end();
                    Err(e)
                }
            }
        })
    }
}

/// Starts the call's span: operation and provider, server address and port
/// from the URL, the request body's parameters (and, captured, its content).
fn start_span(endpoint: Endpoint, provider: &'static str, request: &Request) -> SpanGuard {
    SpanGuard::start(endpoint.site(), |a| {
        a.push_static(sc::GEN_AI_PROVIDER_NAME, provider);
        let url = request.url();
        if let Some(host) = url.host_str() {
            a.push(sc::SERVER_ADDRESS, host);
            if let Some(port) = url.port_or_known_default() {
                a.push(sc::SERVER_PORT, &i64::from(port));
            }
        }
        let body = request
            .body()
            .and_then(reqwest::Body::as_bytes)
            .and_then(|b| serde_json::from_slice::<Json>(b).ok());
        if let Some(body) = body {
            endpoint.record_request(&body, &mut a.recorder());
        }
    })
}

/// A factory whose first build hands out the request already built (to read
/// its body); retries rebuild through the original factory.
fn prebuilt(request: Request, original: HttpRequestFactory) -> HttpRequestFactory {
    let first = Arc::new(Mutex::new(Some(request)));
    HttpRequestFactory::new(move || {
        let first = first.lock().unwrap_or_else(PoisonError::into_inner).take();
        let original = original.clone();
        async move {
            match first {
                Some(request) => Ok::<Request, OpenAIError>(request),
                None => original.build().await,
            }
        }
    })
}

/// Records the response and gives back one that reads the same: a JSON body
/// is read, recorded and put back; an event stream is passed through event by
/// event, recorded as it is read, the span ending with the stream.
async fn record_response(endpoint: Endpoint, response: Response, mut guard: SpanGuard) -> Response {
    let status = response.status();
    let version = response.version();
    let headers = response.headers().clone();
    let rebuild = |body: reqwest::Body| {
        let mut builder = http::Response::builder().status(status).version(version);
        if let Some(h) = builder.headers_mut() {
            h.extend(headers.clone());
        }
        builder.body(body).map(Response::from)
    };
    let event_stream = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if status.is_success() && event_stream {
        let record: fn(&Result<SseEvent, reqwest::Error>, &mut ChunkRecorder<'_>) = match endpoint {
            Endpoint::Responses => |e, c| record_event(e, c, wire::record_responses_event),
            _ => |e, c| record_event(e, c, wire::record_chat_chunk),
        };
        let events = InstrumentedStream::new(SseEvents::new(response.bytes_stream()), guard, record);
        let body = reqwest::Body::wrap_stream(events.map(|e| e.map(|e| e.raw)));
        return match rebuild(body) {
            Ok(r) => r,
            Err(_) => unreachable_response(status),
        };
    }
    let bytes: Bytes = match response.bytes().await {
        Ok(b) => b,
        Err(e) => {
            guard.record_error("reqwest::Error", "reqwest::Error", &e.to_string());
            guard.end();
            // The body could not be read; the client sees an empty one with the status.
            return rebuild(reqwest::Body::from(Bytes::new())).unwrap_or_else(|_| unreachable_response(status));
        }
    };
    let json = serde_json::from_slice::<Json>(&bytes).ok();
    if status.is_success() {
        if let Some(body) = &json {
            guard.record_response(|r| endpoint.record_response(body, r));
        }
    } else {
        let message = json
            .as_ref()
            .and_then(|j| j.get("error"))
            .and_then(|e| e.get("message"))
            .and_then(Json::as_str)
            .map_or_else(|| String::from_utf8_lossy(&bytes).into_owned(), str::to_owned);
        guard.record_error(status.as_str(), "OpenAIError::ApiError", &message);
    }
    guard.end();
    rebuild(reqwest::Body::from(bytes)).unwrap_or_else(|_| unreachable_response(status))
}

/// Status, version and headers came from a valid response: building it again
/// cannot fail. Should it ever, the caller still gets the status.
fn unreachable_response(status: http::StatusCode) -> Response {
    let mut r = http::Response::new(reqwest::Body::from(Bytes::new()));
    *r.status_mut() = status;
    Response::from(r)
}

/// One server-sent event: `[DONE]`, comments and keep-alives are not chunks; a
/// transport error ends the span with it.
fn record_event(
    event: &Result<SseEvent, reqwest::Error>,
    c: &mut ChunkRecorder<'_>,
    record: fn(&Json, &mut ChunkRecorder<'_>),
) {
    match event {
        Ok(event) => match event.data().and_then(|d| serde_json::from_str::<Json>(&d).ok()) {
            Some(json) => {
                if let Some(error) = json.get("error").filter(|e| e.is_object()) {
                    let message = error.get("message").and_then(Json::as_str).unwrap_or("stream error");
                    c.error(sc::ERROR_TYPE_OTHER, "OpenAIError::ApiError", message);
                } else {
                    record(&json, c);
                }
            }
            None => {
                c.not_a_chunk();
                if event.data().is_some_and(|d| d.trim() == "[DONE]") {
                    c.end_of_stream();
                }
            }
        },
        Err(e) => c.error("reqwest::Error", "reqwest::Error", &e.to_string()),
    }
}
