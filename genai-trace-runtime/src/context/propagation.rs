//! W3C `traceparent`, `tracestate` and `baggage` in HTTP headers, string maps
//! and message headers, with incoming baggage bounded.

use std::collections::HashMap;
use std::sync::OnceLock;

use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::{Extractor, Injector, TextMapCompositePropagator, TextMapPropagator};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

pub use opentelemetry::context::FutureExt;

/// At most this many baggage entries are kept from an incoming request.
pub const MAX_BAGGAGE_ENTRIES: usize = 32;
/// At most this many bytes of baggage (keys and values) are kept from an incoming request.
pub const MAX_BAGGAGE_BYTES: usize = 4096;
/// Longest single baggage value kept.
pub const MAX_BAGGAGE_VALUE_BYTES: usize = 512;

fn propagator() -> &'static TextMapCompositePropagator {
    static P: OnceLock<TextMapCompositePropagator> = OnceLock::new();
    P.get_or_init(|| {
        TextMapCompositePropagator::new(vec![
            Box::new(TraceContextPropagator::new()),
            Box::new(BaggagePropagator::new()),
        ])
    })
}

/// Writes the current trace context and baggage into `carrier`.
pub fn inject(carrier: &mut dyn Injector) {
    inject_context(&Context::current(), carrier);
}

/// Writes `cx`'s trace context and baggage into `carrier`.
pub fn inject_context(cx: &Context, carrier: &mut dyn Injector) {
    propagator().inject_context(cx, carrier);
}

/// Reads a trace context and (bounded) baggage from `carrier`. Attach the
/// result (`cx.attach()`, or run a future `.with_context(cx)`) so the spans of
/// the handler continue the caller's trace.
pub fn extract(carrier: &dyn Extractor) -> Context {
    let cx = propagator().extract(carrier);
    bound_baggage(cx)
}

/// Keeps the first entries that fit the limits; drops the rest.
fn bound_baggage(cx: Context) -> Context {
    let baggage = cx.baggage();
    if baggage.len() <= MAX_BAGGAGE_ENTRIES
        && baggage
            .iter()
            .all(|(_, (v, _))| v.as_str().len() <= MAX_BAGGAGE_VALUE_BYTES)
        && baggage
            .iter()
            .map(|(k, (v, _))| k.as_str().len() + v.as_str().len())
            .sum::<usize>()
            <= MAX_BAGGAGE_BYTES
    {
        return cx;
    }
    let mut kept = Vec::new();
    let mut bytes = 0;
    let mut entries: Vec<_> = baggage.iter().collect();
    entries.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    for (k, (v, _)) in entries {
        let size = k.as_str().len() + v.as_str().len();
        if kept.len() >= MAX_BAGGAGE_ENTRIES
            || v.as_str().len() > MAX_BAGGAGE_VALUE_BYTES
            || bytes + size > MAX_BAGGAGE_BYTES
        {
            continue;
        }
        bytes += size;
        kept.push(KeyValue::new(k.clone(), v.clone()));
    }
    crate::base::diag::warn_limited(
        &BAGGAGE_WARNED,
        format_args!(
            "incoming baggage exceeded {MAX_BAGGAGE_ENTRIES} entries / {MAX_BAGGAGE_BYTES} bytes; {} of {} entries kept",
            kept.len(),
            baggage.len()
        ),
    );
    cx.with_cleared_baggage().with_baggage(kept)
}

static BAGGAGE_WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The current context's baggage value for `key`.
pub fn baggage_value(key: &str) -> Option<String> {
    Context::map_current(|cx| cx.baggage().get(key).map(|v| v.as_str().to_owned()))
}

// ---- carriers ------------------------------------------------------------------

/// Writes the current context into HTTP request headers.
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// genai_trace_runtime::context::inject_headers(&mut headers);
/// ```
pub fn inject_headers(headers: &mut http::HeaderMap) {
    inject(&mut opentelemetry_http::HeaderInjector(headers));
}

/// Reads the caller's context from HTTP request headers.
pub fn extract_headers(headers: &http::HeaderMap) -> Context {
    extract(&opentelemetry_http::HeaderExtractor(headers))
}

/// Writes the current context into a string map.
pub fn inject_map(map: &mut HashMap<String, String>) {
    inject(map);
}

/// Reads a context from a string map.
pub fn extract_map(map: &HashMap<String, String>) -> Context {
    extract(map)
}

/// Message headers of a queue or stream (NATS, Kafka, Redis streams...):
/// implement these three methods to carry traces through your messages.
///
/// ```
/// use genai_trace_runtime::context::{MessageHeaders, extract_message, inject_message};
/// struct Msg { headers: Vec<(String, String)> }
/// impl MessageHeaders for Msg {
///     fn header(&self, key: &str) -> Option<&str> {
///         self.headers.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
///     }
///     fn set_header(&mut self, key: &str, value: String) { self.headers.push((key.to_owned(), value)); }
///     fn header_keys(&self) -> Vec<&str> { self.headers.iter().map(|(k, _)| k.as_str()).collect() }
/// }
/// let mut m = Msg { headers: vec![] };
/// inject_message(&mut m);
/// let _cx = extract_message(&m);
/// ```
pub trait MessageHeaders {
    /// The value of header `key`.
    fn header(&self, key: &str) -> Option<&str>;
    /// Sets header `key`.
    fn set_header(&mut self, key: &str, value: String);
    /// All header names.
    fn header_keys(&self) -> Vec<&str>;
}

struct MessageInjector<'a, M: ?Sized>(&'a mut M);
struct MessageExtractor<'a, M: ?Sized>(&'a M);

impl<M: MessageHeaders + ?Sized> Injector for MessageInjector<'_, M> {
    fn set(&mut self, key: &str, value: String) {
        self.0.set_header(key, value);
    }
}

impl<M: MessageHeaders + ?Sized> Extractor for MessageExtractor<'_, M> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.header(key)
    }
    fn keys(&self) -> Vec<&str> {
        self.0.header_keys()
    }
}

/// Writes the current context into a message's headers.
pub fn inject_message<M: MessageHeaders + ?Sized>(message: &mut M) {
    inject(&mut MessageInjector(message));
}

/// Reads a context from a message's headers.
pub fn extract_message<M: MessageHeaders + ?Sized>(message: &M) -> Context {
    extract(&MessageExtractor(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_baggage_is_bounded() {
        let mut map = HashMap::new();
        let entries: Vec<String> = (0..100).map(|i| format!("k{i:03}=v{i}")).collect();
        map.insert("baggage".to_owned(), entries.join(","));
        let cx = extract_map(&map);
        assert_eq!(cx.baggage().len(), MAX_BAGGAGE_ENTRIES);
        let mut map = HashMap::new();
        map.insert("baggage".to_owned(), format!("big={},small=1", "x".repeat(2000)));
        let cx = extract_map(&map);
        assert_eq!(cx.baggage().len(), 1);
        assert!(cx.baggage().get("small").is_some());
    }

    #[test]
    fn map_round_trip_carries_baggage() {
        let cx = Context::new().with_baggage(vec![KeyValue::new("session.id", "s-1")]);
        let mut map = HashMap::new();
        inject_context(&cx, &mut map);
        assert!(map.contains_key("baggage"));
        assert_eq!(
            extract_map(&map)
                .baggage()
                .get("session.id")
                .map(|v| v.as_str().to_owned()),
            Some("s-1".into())
        );
    }
}
