//! Reading the standard `OTEL_*` environment variables.
//!
//! Every variable is parsed into an `Option` (unset, or set to something we could
//! not use) plus a [`ConfigWarning`] for each bad value. Nothing here panics or
//! fails: a bad value always falls back to the built-in default, and says so.
//! The lookup is a function so tests never have to mutate the process environment.

use std::time::Duration;

use crate::base::errors::ConfigWarning;
use crate::base::secret::{Secret, SecretHeaders};
use crate::export::dialect::Dialects;
use crate::export::otlp::OtlpProtocol;
use crate::genai::content::ContentCapture;
use crate::setup::backends::BackendEnv;
use crate::setup::sampler::SamplerConfig;

/// Which exporters `OTEL_TRACES_EXPORTER` / `OTEL_METRICS_EXPORTER` ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExporterChoice {
    Otlp,
    Console,
    /// `OTEL_METRICS_EXPORTER` only.
    Prometheus,
}

/// OTLP settings of one signal after resolving the per-signal and generic variables.
#[derive(Clone, Debug, Default)]
pub(crate) struct OtlpEnv {
    /// Full URL for HTTP (path included) or the gRPC endpoint.
    pub endpoint: Option<EndpointFromEnv>,
    pub protocol: Option<OtlpProtocol>,
    pub headers: SecretHeaders,
    pub timeout: Option<Duration>,
    pub gzip: Option<bool>,
}

/// An endpoint from the environment, remembering whether it was the signal-specific
/// variable (used as is) or the generic one (HTTP appends `/v1/{signal}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EndpointFromEnv {
    pub url: String,
    pub signal_specific: bool,
}

/// Everything read from the environment.
#[derive(Clone, Debug, Default)]
#[cfg_attr(
    not(all(feature = "metrics", any(feature = "otlp-http", feature = "otlp-grpc"))),
    allow(dead_code)
)]
pub(crate) struct EnvSettings {
    pub sdk_disabled: bool,
    pub service_name: Option<String>,
    pub resource_attributes: Vec<(String, String)>,
    pub traces_exporter: Option<Vec<ExporterChoice>>,
    pub metrics_exporter: Option<Vec<ExporterChoice>>,
    pub otlp_traces: OtlpEnv,
    pub otlp_metrics: OtlpEnv,
    pub otlp_logs: OtlpEnv,
    #[cfg_attr(
        not(all(feature = "logs", any(feature = "otlp-http", feature = "otlp-grpc"))),
        allow(dead_code)
    )]
    pub logs_exporter: Option<Vec<ExporterChoice>>,
    pub sampler: Option<SamplerConfig>,
    pub bsp_max_queue_size: Option<usize>,
    pub bsp_max_concurrent_exports: Option<usize>,
    pub bsp_max_export_batch_size: Option<usize>,
    pub bsp_schedule_delay: Option<Duration>,
    pub bsp_export_timeout: Option<Duration>,
    pub metric_export_interval: Option<Duration>,
    pub content_capture: Option<ContentCapture>,
    pub semconv_latest_experimental: bool,
    pub keep_error_traces: Option<bool>,
    pub keep_slow_traces: Option<Duration>,
    pub max_held_traces: Option<usize>,
    pub max_spans_per_held_trace: Option<usize>,
    pub prices_path: Option<String>,
    pub self_metrics: Option<bool>,
    pub default_provider: Option<String>,
    pub dialects: Option<Dialects>,
    pub backends: BackendEnv,
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    pub prometheus_host: Option<String>,
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    pub prometheus_port: Option<u16>,
    pub warnings: Vec<ConfigWarning>,
}

/// Reads the variables through `lookup` (the process environment in production).
/// What [`process_env`] returns for a variable whose value is not valid UTF-8:
/// the reader then warns and ignores it, where `std::env::var(..).ok()` would
/// have dropped it without a word.
const NOT_UNICODE: &str = "\u{0}genai-trace: not UTF-8\u{0}";

/// The process environment, as the builder reads it unless `env_lookup` says otherwise.
pub(crate) fn process_env(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) => Some(v),
        Err(std::env::VarError::NotUnicode(_)) => Some(NOT_UNICODE.to_owned()),
        Err(std::env::VarError::NotPresent) => None,
    }
}

/// The largest export queue an environment variable may ask for (about 200 MB
/// of queued spans); past it the value is capped, with a warning.
const MAX_QUEUE_SIZE: usize = 1 << 20;
/// The largest export batch (a batch's buffer is allocated up front).
const MAX_EXPORT_BATCH_SIZE: usize = 1 << 16;
/// The most batches in flight per exporter.
const MAX_CONCURRENT_EXPORTS: usize = 64;

/// The most held traces, or spans per held trace, a variable may ask for.
const MAX_HELD: usize = 1 << 16;

pub(crate) fn read_env(lookup: &dyn Fn(&str) -> Option<String>) -> EnvSettings {
    let mut r = Reader {
        lookup,
        warnings: Vec::new(),
    };
    let mut s = EnvSettings {
        sdk_disabled: r.bool("OTEL_SDK_DISABLED").unwrap_or(false),
        service_name: r.string("OTEL_SERVICE_NAME"),
        resource_attributes: r.key_values("OTEL_RESOURCE_ATTRIBUTES", false),
        traces_exporter: r.exporters("OTEL_TRACES_EXPORTER"),
        metrics_exporter: r.exporters("OTEL_METRICS_EXPORTER"),
        otlp_traces: r.otlp("TRACES"),
        otlp_metrics: r.otlp("METRICS"),
        otlp_logs: r.otlp("LOGS"),
        logs_exporter: r.exporters("OTEL_LOGS_EXPORTER"),
        sampler: r.sampler(),
        bsp_max_queue_size: r.positive("OTEL_BSP_MAX_QUEUE_SIZE", "2048", MAX_QUEUE_SIZE),
        bsp_max_export_batch_size: r.positive("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "512", MAX_EXPORT_BATCH_SIZE),
        bsp_schedule_delay: r.millis("OTEL_BSP_SCHEDULE_DELAY", "5000 ms"),
        bsp_export_timeout: r.millis("OTEL_BSP_EXPORT_TIMEOUT", "30000 ms"),
        bsp_max_concurrent_exports: r.positive("OTEL_BSP_MAX_CONCURRENT_EXPORTS", "4", MAX_CONCURRENT_EXPORTS),
        metric_export_interval: r.millis("OTEL_METRIC_EXPORT_INTERVAL", "60000 ms"),
        content_capture: r.content_capture(),
        semconv_latest_experimental: r
            .string("OTEL_SEMCONV_STABILITY_OPT_IN")
            .is_some_and(|v| v.split(',').any(|t| t.trim() == "gen_ai_latest_experimental")),
        keep_error_traces: r.bool("GENAI_TRACE_KEEP_ERROR_TRACES"),
        keep_slow_traces: r.millis("GENAI_TRACE_KEEP_SLOW_TRACES_MS", "off"),
        max_held_traces: r.positive("GENAI_TRACE_MAX_HELD_TRACES", "256", MAX_HELD),
        max_spans_per_held_trace: r.positive("GENAI_TRACE_MAX_SPANS_PER_HELD_TRACE", "128", MAX_HELD),
        prices_path: r.string("GENAI_TRACE_PRICES"),
        self_metrics: r.bool("GENAI_TRACE_SELF_METRICS"),
        default_provider: r.string("GENAI_TRACE_DEFAULT_PROVIDER"),
        dialects: r.dialects(),
        backends: BackendEnv {
            langfuse_base_url: r.string("LANGFUSE_BASE_URL").or_else(|| r.string("LANGFUSE_HOST")),
            langfuse_public_key: r.string("LANGFUSE_PUBLIC_KEY"),
            langfuse_secret_key: r.string("LANGFUSE_SECRET_KEY").map(Secret::new),
            phoenix_endpoint: r.string("PHOENIX_COLLECTOR_ENDPOINT"),
            phoenix_api_key: r.string("PHOENIX_API_KEY").map(Secret::new),
            phoenix_project: r.string("PHOENIX_PROJECT_NAME"),
            dd_api_key: r.string("DD_API_KEY").map(Secret::new),
            dd_site: r.string("DD_SITE"),
            dd_llmobs_enabled: r
                .string("DD_LLMOBS_ENABLED")
                .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true")),
        },
        prometheus_host: r.string("OTEL_EXPORTER_PROMETHEUS_HOST"),
        prometheus_port: r.port("OTEL_EXPORTER_PROMETHEUS_PORT", "9464"),
        warnings: Vec::new(),
    };
    // The generic OTLP variables are read once per signal: warn once.
    let mut warnings: Vec<ConfigWarning> = Vec::new();
    for w in r.warnings {
        if !warnings.contains(&w) {
            warnings.push(w);
        }
    }
    s.warnings = warnings;
    s
}

struct Reader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    warnings: Vec<ConfigWarning>,
}

impl Reader<'_> {
    fn warn(&mut self, variable: &str, message: &str) {
        self.warnings.push(ConfigWarning {
            variable: variable.to_owned(),
            // A URL may stand in any variable's bad value: its password never shows.
            message: hide_passwords(message),
        });
    }

    /// The trimmed value, or `None` when unset or empty (the spec treats empty as unset).
    fn string(&mut self, var: &str) -> Option<String> {
        let v = (self.lookup)(var)?;
        if v == NOT_UNICODE {
            self.warn(var, "the value is not valid UTF-8 and is ignored");
            return None;
        }
        let v = v.trim();
        (!v.is_empty()).then(|| v.to_owned())
    }

    /// `GENAI_TRACE_DIALECTS`: a comma list; an unknown name warns and the
    /// variable is ignored.
    fn dialects(&mut self) -> Option<Dialects> {
        let v = self.string("GENAI_TRACE_DIALECTS")?;
        match v.parse() {
            Ok(d) => Some(d),
            Err(why) => {
                self.warn("GENAI_TRACE_DIALECTS", &format!("{why}; no dialect is used"));
                None
            }
        }
    }

    fn bool(&mut self, var: &str) -> Option<bool> {
        let v = self.string(var)?;
        match v.to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                self.warn(var, &format!("{v:?} is not true or false; using false"));
                Some(false)
            }
        }
    }

    fn positive(&mut self, var: &str, default: &str, max: usize) -> Option<usize> {
        let v = self.string(var)?;
        match v.parse::<u128>() {
            Ok(0) | Err(_) => {
                self.warn(
                    var,
                    &format!("{v:?} is not a positive whole number; using the default {default}"),
                );
                None
            }
            Ok(n) if n > max as u128 => {
                self.warn(
                    var,
                    &format!("{v:?} is more than the largest supported value; using {max}"),
                );
                Some(max)
            }
            Ok(n) => Some(n as usize),
        }
    }

    fn port(&mut self, var: &str, default: &str) -> Option<u16> {
        let v = self.string(var)?;
        match v.parse::<u16>() {
            Ok(p) if p > 0 => Some(p),
            _ => {
                self.warn(
                    var,
                    &format!("{v:?} is not a port (1-65535); using the default {default}"),
                );
                None
            }
        }
    }

    fn millis(&mut self, var: &str, default: &str) -> Option<Duration> {
        let v = self.string(var)?;
        match v.parse::<u64>() {
            Ok(ms) => Some(Duration::from_millis(ms)),
            Err(_) => {
                self.warn(
                    var,
                    &format!("{v:?} is not a whole number of milliseconds; using the default {default}"),
                );
                None
            }
        }
    }

    fn exporters(&mut self, var: &str) -> Option<Vec<ExporterChoice>> {
        let v = self.string(var)?;
        let mut out = Vec::new();
        for name in v.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name.to_ascii_lowercase().as_str() {
                "otlp" => out.push(ExporterChoice::Otlp),
                "console" => out.push(ExporterChoice::Console),
                "prometheus" if var == "OTEL_METRICS_EXPORTER" => out.push(ExporterChoice::Prometheus),
                "none" => {}
                _ => {
                    let known = if var == "OTEL_METRICS_EXPORTER" {
                        "otlp, prometheus, console, none"
                    } else {
                        "otlp, console, none"
                    };
                    self.warn(var, &format!("unknown exporter {name:?} is ignored (known: {known})"));
                }
            }
        }
        Some(out)
    }

    /// `key=value,key2=value2` with percent-encoded values. Malformed entries are
    /// skipped with a warning; with `secret`, values never appear in the warning.
    fn key_values(&mut self, var: &str, secret: bool) -> Vec<(String, String)> {
        let Some(v) = self.string(var) else { return Vec::new() };
        let mut out = Vec::new();
        for entry in v.split(',').filter(|e| !e.trim().is_empty()) {
            let shown = if secret {
                hide_value(entry)
            } else {
                format!("{:?}", entry.trim())
            };
            match entry.split_once('=') {
                Some((k, val)) if !k.trim().is_empty() && valid_key(k.trim()) => match percent_decode(val.trim()) {
                    Some(decoded) => out.push((k.trim().to_owned(), decoded)),
                    None => self.warn(var, &format!("entry {shown} has a bad percent-encoding and is ignored")),
                },
                _ => self.warn(
                    var,
                    &format!("entry {shown} is not key=value and is ignored; the other entries are used"),
                ),
            }
        }
        out
    }

    fn url(&mut self, var: &str) -> Option<String> {
        let v = self.string(var)?;
        match validate_url(&v) {
            Ok(()) => Some(v),
            Err(why) => {
                self.warn(
                    var,
                    &format!(
                        "{:?} is not a valid URL ({why}); using the default endpoint",
                        // Hidden before the quoting: `Debug` escapes could split the URL.
                        hide_passwords(&v)
                    ),
                );
                None
            }
        }
    }

    fn otlp(&mut self, signal: &str) -> OtlpEnv {
        let specific = |suffix: &str| format!("OTEL_EXPORTER_OTLP_{signal}_{suffix}");
        let endpoint = match self.url(&specific("ENDPOINT")) {
            Some(url) => Some(EndpointFromEnv {
                url,
                signal_specific: true,
            }),
            None => self.url("OTEL_EXPORTER_OTLP_ENDPOINT").map(|url| EndpointFromEnv {
                url,
                signal_specific: false,
            }),
        };
        let protocol = self.first_of(&specific("PROTOCOL"), "OTEL_EXPORTER_OTLP_PROTOCOL", |r, var| {
            r.protocol(var)
        });
        let timeout = self.first_of(&specific("TIMEOUT"), "OTEL_EXPORTER_OTLP_TIMEOUT", |r, var| {
            r.millis(var, "10000 ms").filter(|t| {
                // A zero timeout would fail every export before it starts.
                let usable = !t.is_zero();
                if !usable {
                    r.warn(var, "\"0\" would fail every export; using the default 10000 ms");
                }
                usable
            })
        });
        let gzip = self.first_of(&specific("COMPRESSION"), "OTEL_EXPORTER_OTLP_COMPRESSION", |r, var| {
            r.compression(var)
        });
        let mut headers = SecretHeaders::default();
        for (k, v) in self.headers("OTEL_EXPORTER_OTLP_HEADERS") {
            headers.insert(k, v);
        }
        for (k, v) in self.headers(&specific("HEADERS")) {
            headers.insert(k, v);
        }
        OtlpEnv {
            endpoint,
            protocol,
            headers,
            timeout,
            gzip,
        }
    }

    /// Header entries that are valid HTTP headers once percent-decoded (a name
    /// token, a value without control characters); the others are dropped with a
    /// warning that shows the name only, never the value.
    fn headers(&mut self, var: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (name, value) in self.key_values(var, true) {
            if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                self.warn(
                    var,
                    &format!("{name:?} is not a valid header name; that header is ignored, the others are used"),
                );
            } else if http::HeaderValue::from_str(&value).is_err() {
                self.warn(
                    var,
                    &format!(
                        "the value of header {name:?} is not a valid header value once decoded (a control \
                         character?); that header is ignored, the others are used"
                    ),
                );
            } else {
                out.push((name, value));
            }
        }
        out
    }

    /// The signal-specific variable if set (and valid), else the generic one.
    fn first_of<T>(
        &mut self,
        specific: &str,
        generic: &str,
        mut parse: impl FnMut(&mut Self, &str) -> Option<T>,
    ) -> Option<T> {
        parse(self, specific).or_else(|| parse(self, generic))
    }

    fn protocol(&mut self, var: &str) -> Option<OtlpProtocol> {
        let v = self.string(var)?;
        // Enumerated values are case-insensitive in the OpenTelemetry spec.
        match v.to_ascii_lowercase().as_str() {
            "http/protobuf" => Some(OtlpProtocol::HttpProtobuf),
            "grpc" => Some(OtlpProtocol::Grpc),
            _ => {
                self.warn(
                    var,
                    &format!("{v:?} is not a supported protocol (http/protobuf, grpc); using http/protobuf"),
                );
                Some(OtlpProtocol::HttpProtobuf)
            }
        }
    }

    fn compression(&mut self, var: &str) -> Option<bool> {
        let v = self.string(var)?;
        match v.to_ascii_lowercase().as_str() {
            "gzip" => Some(true),
            "none" => Some(false),
            _ => {
                self.warn(
                    var,
                    &format!("{v:?} is not a supported compression (gzip, none); using none"),
                );
                Some(false)
            }
        }
    }

    fn sampler(&mut self) -> Option<SamplerConfig> {
        const VAR: &str = "OTEL_TRACES_SAMPLER";
        let name = self.string(VAR);
        let arg = self.string("OTEL_TRACES_SAMPLER_ARG");
        let ratio = |r: &mut Self| -> f64 {
            match arg.as_deref().map(str::parse::<f64>) {
                None => 1.0,
                Some(Ok(x)) if (0.0..=1.0).contains(&x) => x,
                Some(_) => {
                    r.warn(
                        "OTEL_TRACES_SAMPLER_ARG",
                        &format!(
                            "{:?} is not a ratio between 0 and 1; using 1.0",
                            arg.as_deref().unwrap_or("")
                        ),
                    );
                    1.0
                }
            }
        };
        let name = name?;
        Some(match name.to_ascii_lowercase().as_str() {
            "always_on" => SamplerConfig::AlwaysOn,
            "always_off" => SamplerConfig::AlwaysOff,
            "traceidratio" => SamplerConfig::Ratio(ratio(self)),
            "parentbased_always_on" => SamplerConfig::ParentBasedRatio(1.0),
            "parentbased_always_off" => SamplerConfig::ParentBasedRatio(0.0),
            "parentbased_traceidratio" => SamplerConfig::ParentBasedRatio(ratio(self)),
            _ => {
                self.warn(
                    VAR,
                    &format!("{name:?} is not a supported sampler; using parentbased_always_on"),
                );
                SamplerConfig::ParentBasedRatio(1.0)
            }
        })
    }

    fn content_capture(&mut self) -> Option<ContentCapture> {
        const VAR: &str = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";
        let v = self.string(VAR)?;
        match v.parse::<ContentCapture>() {
            Ok(mode) => Some(mode),
            Err(()) => {
                self.warn(
                    VAR,
                    &format!(
                        "{v:?} is not one of true, false, NO_CONTENT, SPAN_ONLY, EVENT_ONLY, SPAN_AND_EVENT; \
                         using NO_CONTENT (content is not recorded)"
                    ),
                );
                Some(ContentCapture::NoContent)
            }
        }
    }
}

/// `key=<hidden>`: the shape of a header entry without its value.
fn hide_value(entry: &str) -> String {
    match entry.split_once('=') {
        Some((k, _)) => format!("\"{}=<hidden>\"", k.trim()),
        None => "\"<hidden>\"".to_owned(),
    }
}

fn valid_key(k: &str) -> bool {
    k.bytes().all(|b| b.is_ascii_graphic() && b != b'=' && b != b',')
}

/// Decodes `%XX` escapes (W3C baggage octets), `None` on a malformed escape or bad UTF-8.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A light check that catches the usual mistakes (missing scheme, typos, spaces)
/// before the exporter sees the value.
pub(crate) fn validate_url(url: &str) -> Result<(), &'static str> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or("it must start with http:// or https://")?;
    let authority = rest.split('/').next().unwrap_or("");
    if authority.is_empty() {
        return Err("it has no host");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("it contains white space");
    }
    if let Some((_, port)) = authority.rsplit_once(':')
        && !authority.ends_with(']')
        && port.parse::<u16>().is_err()
    {
        return Err("its port is not a number from 0 to 65535");
    }
    // What the exporters parse it with: `http://[::1` passes the checks above.
    match url.parse::<http::Uri>() {
        Ok(uri) if uri.host().is_some_and(|h| !h.is_empty()) => Ok(()),
        _ => Err("it is not a valid URL"),
    }
}

/// `text` (a URL, or a message quoting URLs) with the password of every URL's
/// user info (`scheme://user:secret@host`) hidden, for warnings and errors.
pub(crate) fn hide_passwords(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let end = after
            .find(['/', '?', '#', '"', '\'', ' ', ',', ')'])
            .unwrap_or(after.len());
        let (authority, tail) = after.split_at(end);
        match authority.rsplit_once('@') {
            Some((user_info, host)) => {
                out.push_str(user_info.split(':').next().unwrap_or(""));
                out.push_str(":<hidden>@");
                out.push_str(host);
            }
            None => out.push_str(authority),
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(vars: &[(&str, &str)]) -> EnvSettings {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        read_env(&move |k| map.get(k).cloned())
    }

    fn only_warning(s: &EnvSettings) -> &ConfigWarning {
        assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
        &s.warnings[0]
    }

    #[test]
    fn nothing_set_means_defaults_and_no_warning() {
        let s = read(&[]);
        assert!(!s.sdk_disabled);
        assert!(s.warnings.is_empty());
        assert!(s.otlp_traces.endpoint.is_none());
        assert!(s.sampler.is_none());
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b").as_deref(), Some("a b"));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%2"), None);
    }

    #[test]
    fn bad_bool_warns_and_falls_back_to_false() {
        let s = read(&[("OTEL_SDK_DISABLED", "yes")]);
        assert!(!s.sdk_disabled);
        let w = only_warning(&s);
        assert_eq!(w.variable, "OTEL_SDK_DISABLED");
        assert!(
            w.message.contains("\"yes\"") && w.message.contains("using false"),
            "{w}"
        );
    }

    #[test]
    fn url_validation() {
        assert!(validate_url("http://localhost:4318").is_ok());
        assert!(validate_url("https://otel.example.com/v1/traces").is_ok());
        assert!(validate_url("http://[::1]:4317").is_ok());
        assert!(validate_url("localhost:4318").is_err());
        assert!(validate_url("http://").is_err());
        assert!(validate_url("http://host:99999").is_err());
        assert!(validate_url("http://ho st").is_err());
    }
}
