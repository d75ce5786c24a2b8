//! Dialects: the attributes particular LLM-observability backends read, derived
//! from what genai-trace records, added to each span on its way out.
//!
//! genai-trace records OpenTelemetry GenAI semantic conventions and nothing
//! else by default. A dialect adds, on the export thread (the hot path never
//! sees it), the attributes one backend reads where its own conversion of
//! `gen_ai.*` falls short: OpenInference for Arize Phoenix, MLflow's span types,
//! Langfuse's observation attributes. Each dialect lives in one file; all of
//! them read the span through [`facts::Facts`]. Content stays gated: a dialect
//! only re-expresses content that is already on the span (content capture on,
//! on span attributes), and never reads the content of span events.
//!
//! An attribute a span already has is never overwritten: what the user set wins.

mod facts;
mod langfuse;
mod mlflow;
mod openinference;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use opentelemetry::{Key, KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::processor::DynSpanExporter;

/// A set of backend dialects (`GENAI_TRACE_DIALECTS`, or
/// [`TelemetryBuilder::dialects`](crate::TelemetryBuilder::dialects)).
///
/// ```
/// use genai_trace_runtime::Dialects;
/// let d: Dialects = "openinference, langfuse".parse().unwrap();
/// assert!(d.contains(Dialects::LANGFUSE) && !d.contains(Dialects::MLFLOW));
/// assert_eq!("all".parse::<Dialects>().unwrap(), Dialects::ALL);
/// assert_eq!(d.to_string(), "openinference,langfuse");
/// assert!("jaeger".parse::<Dialects>().is_err());
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Dialects(u8);

impl Dialects {
    /// No dialect: pure semantic conventions (the default).
    pub const NONE: Dialects = Dialects(0);
    /// OpenInference, read by Arize Phoenix (and MLflow): `openinference.span.kind`,
    /// `input.value` / `output.value` with mime types, retrieved documents.
    pub const OPENINFERENCE: Dialects = Dialects(1);
    /// MLflow: `mlflow.spanType` on every span, inputs and outputs of retrievals.
    pub const MLFLOW: Dialects = Dialects(2);
    /// Langfuse: `langfuse.observation.*` (type, input, output, completion start
    /// time, usage and cost details, model), trace input / output / name / tags,
    /// session, user, environment.
    pub const LANGFUSE: Dialects = Dialects(4);
    /// Every dialect.
    pub const ALL: Dialects = Dialects(7);

    const NAMES: [(&'static str, Dialects); 3] = [
        ("openinference", Self::OPENINFERENCE),
        ("mlflow", Self::MLFLOW),
        ("langfuse", Self::LANGFUSE),
    ];

    /// `true` when every dialect of `other` is in `self`.
    pub const fn contains(self, other: Dialects) -> bool {
        self.0 & other.0 == other.0
    }

    /// `true` when no dialect is chosen.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Adds the attributes of these dialects to `span`. Spans exported by an
    /// installed pipeline get this already; use it (or [`DialectExporter`]) for
    /// spans of a provider you build yourself. `environment` is Langfuse's
    /// environment (the resource's `deployment.environment.name`).
    pub fn apply(self, span: &mut SpanData, environment: Option<&str>) {
        if self.is_empty() {
            return;
        }
        let f = facts::Facts::of(span);
        let mut added = Vec::new();
        let mut out = Attributes {
            existing: &span.attributes,
            added: &mut added,
        };
        if self.contains(Self::OPENINFERENCE) {
            openinference::apply(&f, &mut out);
        }
        if self.contains(Self::MLFLOW) {
            mlflow::apply(&f, &mut out);
        }
        if self.contains(Self::LANGFUSE) {
            langfuse::apply(span, &f, environment, &mut out);
        }
        span.attributes.extend(added);
    }
}

impl std::ops::BitOr for Dialects {
    type Output = Dialects;
    fn bitor(self, rhs: Dialects) -> Dialects {
        Dialects(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for Dialects {
    fn bitor_assign(&mut self, rhs: Dialects) {
        self.0 |= rhs.0;
    }
}

impl std::str::FromStr for Dialects {
    type Err = String;

    /// A comma list of `openinference`, `mlflow`, `langfuse`, or `all` / `none`
    /// (case-insensitive; blanks ignored).
    fn from_str(s: &str) -> Result<Self, String> {
        let mut d = Dialects::NONE;
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let item = item.to_ascii_lowercase();
            d |= match item.as_str() {
                "all" => Self::ALL,
                "none" => Self::NONE,
                _ => Self::NAMES
                    .iter()
                    .find(|(n, _)| *n == item)
                    .map(|(_, v)| *v)
                    .ok_or_else(|| {
                        format!("unknown dialect `{item}` (expected openinference, mlflow, langfuse or all)")
                    })?,
            };
        }
        Ok(d)
    }
}

impl fmt::Display for Dialects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Self::NAMES
            .iter()
            .filter(|(_, v)| self.contains(*v))
            .map(|(n, _)| *n)
            .collect();
        f.write_str(if names.is_empty() { "none" } else { "" })?;
        f.write_str(&names.join(","))
    }
}

impl fmt::Debug for Dialects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dialects({self})")
    }
}

/// The attributes a dialect adds to one span: a key the span has already (or
/// another dialect added) is skipped.
pub(super) struct Attributes<'a> {
    existing: &'a [KeyValue],
    added: &'a mut Vec<KeyValue>,
}

impl Attributes<'_> {
    fn has(&self, key: &str) -> bool {
        self.existing
            .iter()
            .chain(self.added.iter())
            .any(|kv| kv.key.as_str() == key)
    }

    pub(super) fn add(&mut self, key: &'static str, value: impl Into<Value>) {
        if !self.has(key) {
            self.added.push(KeyValue::new(Key::from_static_str(key), value));
        }
    }

    pub(super) fn push(&mut self, kv: KeyValue) {
        if !self.has(kv.key.as_str()) {
            self.added.push(kv);
        }
    }
}

/// The environment Langfuse files traces under: the resource's
/// `deployment.environment.name` (or the older `deployment.environment`).
fn environment_of(resource: &Resource) -> Option<String> {
    ["deployment.environment.name", "deployment.environment"]
        .into_iter()
        .find_map(|k| resource.get(&Key::from_static_str(k)))
        .map(|v| v.to_string())
}

/// A span exporter that adds dialect attributes to every span before `E`
/// exports it: for a tracer provider you build yourself (an installed pipeline
/// applies its dialects already).
///
/// ```
/// use genai_trace_runtime::{DialectExporter, Dialects};
/// use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
/// let exporter = DialectExporter::new(InMemorySpanExporter::default(), Dialects::OPENINFERENCE);
/// let provider = SdkTracerProvider::builder().with_simple_exporter(exporter).build();
/// # drop(provider);
/// ```
#[derive(Debug)]
pub struct DialectExporter<E> {
    inner: E,
    dialects: Dialects,
    environment: Option<String>,
}

impl<E> DialectExporter<E> {
    /// Wraps `inner`.
    pub fn new(inner: E, dialects: Dialects) -> Self {
        Self {
            inner,
            dialects,
            environment: None,
        }
    }
}

impl<E: SpanExporter> SpanExporter for DialectExporter<E> {
    fn export(&self, mut batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        for span in &mut batch {
            self.dialects.apply(span, self.environment.as_deref());
        }
        self.inner.export(batch)
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }
    fn set_resource(&mut self, resource: &Resource) {
        self.environment = environment_of(resource);
        self.inner.set_resource(resource);
    }
}

/// The installed pipeline's form of [`DialectExporter`], over a boxed exporter.
#[derive(Debug)]
pub(crate) struct WithDialects {
    inner: Box<dyn DynSpanExporter>,
    dialects: Dialects,
    environment: Option<String>,
}

impl WithDialects {
    /// `inner` itself when no dialect is chosen.
    pub(crate) fn wrap(inner: Box<dyn DynSpanExporter>, dialects: Dialects) -> Box<dyn DynSpanExporter> {
        if dialects.is_empty() {
            return inner;
        }
        Box::new(Self {
            inner,
            dialects,
            environment: None,
        })
    }
}

impl DynSpanExporter for WithDialects {
    fn export(&self, mut batch: Vec<SpanData>) -> Pin<Box<dyn Future<Output = OTelSdkResult> + Send + '_>> {
        for span in &mut batch {
            self.dialects.apply(span, self.environment.as_deref());
        }
        self.inner.export(batch)
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }
    fn shutdown(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown(timeout)
    }
    fn set_resource(&mut self, resource: &Resource) {
        self.environment = environment_of(resource);
        self.inner.set_resource(resource);
    }
}
