//! Log correlation for `tracing` (feature `tracing`): a JSON-lines layer that
//! stamps the trace id, span id and session id of the current OpenTelemetry
//! context on every event; and (feature `logs`) a bridge that exports `tracing`
//! events as OTLP log records carrying the same trace context.

use std::fmt;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use opentelemetry::Context;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::TraceContextExt;
use serde_json::{Map, Value as Json};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context as LayerContext;

use crate::genai::semconv as sc;

/// Writes one JSON object per `tracing` event:
/// `{"timestamp", "level", "target", "message", <fields>, "trace_id", "span_id", "session.id"}`.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
/// let subscriber = tracing_subscriber::registry().with(genai_trace_runtime::logging::JsonLogLayer::stderr());
/// tracing::subscriber::with_default(subscriber, || tracing::info!(user = 7, "hello"));
/// ```
pub struct JsonLogLayer {
    out: Arc<Mutex<Box<dyn Write + Send>>>,
}

impl fmt::Debug for JsonLogLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonLogLayer").finish_non_exhaustive()
    }
}

impl JsonLogLayer {
    /// Log lines on stderr.
    pub fn stderr() -> Self {
        Self::writer(std::io::stderr())
    }
    /// Log lines to `w` (a file, a buffer in tests).
    pub fn writer(w: impl Write + Send + 'static) -> Self {
        Self {
            out: Arc::new(Mutex::new(Box::new(w))),
        }
    }
}

struct Fields(Map<String, Json>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}").into());
    }
}

/// Trace id, span id and session id of the current OpenTelemetry context.
pub(crate) fn correlation() -> (Option<String>, Option<String>, Option<String>) {
    Context::map_current(|cx| {
        let sc = cx.span().span_context().clone();
        let session = cx.baggage().get(sc::SESSION_ID).map(|v| v.as_str().to_owned());
        if sc.is_valid() {
            (Some(sc.trace_id().to_string()), Some(sc.span_id().to_string()), session)
        } else {
            (None, None, session)
        }
    })
}

fn is_exporter_target(target: &str) -> bool {
    EXPORTER_TARGETS.iter().any(|t| target.starts_with(t))
}

impl<S: Subscriber> Layer<S> for JsonLogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: LayerContext<'_, S>) {
        let meta = event.metadata();
        if *meta.level() > tracing::Level::WARN && is_exporter_target(meta.target()) {
            return;
        }
        let mut fields = Fields(Map::new());
        event.record(&mut fields);
        let mut line = Map::new();
        line.insert("timestamp".into(), rfc3339(SystemTime::now()).into());
        line.insert("level".into(), event.metadata().level().as_str().into());
        line.insert("target".into(), event.metadata().target().into());
        if let Some(m) = fields.0.remove("message") {
            line.insert("message".into(), m);
        }
        line.extend(fields.0);
        let (trace_id, span_id, session) = correlation();
        if let Some(t) = trace_id {
            line.insert("trace_id".into(), t.into());
        }
        if let Some(s) = span_id {
            line.insert("span_id".into(), s.into());
        }
        if let Some(s) = session {
            line.insert(sc::SESSION_ID.into(), s.into());
        }
        let mut text = Json::Object(line).to_string();
        text.push('\n');
        let mut out = self.out.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = out.write_all(text.as_bytes());
    }
}

/// `2026-11-22T02:11:33.123456Z` (UTC), without a date-time dependency.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_micros()
    )
}

/// The exporter stack's own targets. Their events never reach the OTLP logs
/// bridge (exporting a log must not produce logs that are exported again), and
/// the JSON log layer shows only their warnings and errors (their debug and
/// trace lines, ~30 per export, drowned the program's own).
const EXPORTER_TARGETS: [&str; 7] = [
    "opentelemetry",
    "hyper",
    "reqwest",
    "tonic",
    "h2",
    "tower",
    "genai_trace_runtime",
];

/// A `tracing` layer exporting events as OTLP log records (with the trace and
/// span ids of the current context) to the installed OTLP collector. `None`
/// when telemetry is not installed or exports no logs. Install telemetry before
/// building the subscriber. Needs the `logs` feature.
///
/// ```no_run
/// use tracing_subscriber::layer::SubscriberExt;
/// use tracing_subscriber::util::SubscriberInitExt;
/// let _guard = genai_trace_runtime::Telemetry::from_env().install().unwrap();
/// tracing_subscriber::registry().with(genai_trace_runtime::logging::otlp_logs_layer()).init();
/// ```
#[cfg(feature = "logs")]
#[cfg_attr(docsrs, doc(cfg(feature = "logs")))]
pub fn otlp_logs_layer<S>() -> Option<impl Layer<S> + Send + Sync + 'static>
where
    S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    use tracing_subscriber::filter::filter_fn;
    let provider = crate::pipeline::state::logger_provider()?;
    let bridge = opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(&provider);
    let not_exporter = filter_fn(|m| !is_exporter_target(m.target()));
    Some(bridge.with_filter(not_exporter))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_exporter_stack_shows_its_warnings_only() {
        use tracing_subscriber::layer::SubscriberExt as _;
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl Write for Buffer {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().write(b)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::registry().with(JsonLogLayer::writer(buffer.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(target: "h2::codec", "frame sent");
            tracing::trace!(target: "hyper::proto", "parsed");
            tracing::info!(target: "reqwest::connect", "connecting");
            tracing::warn!(target: "hyper::client", "connection reset");
            tracing::debug!(target: "my_app", "app detail");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let targets: Vec<String> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<Json>(l).unwrap()["target"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(targets, ["hyper::client", "my_app"]);
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_313_493) + Duration::from_micros(42);
        assert_eq!(rfc3339(t), "2026-11-22T02:11:33.000042Z");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(&rfc3339(leap)[..10], "2000-02-29");
    }
}
