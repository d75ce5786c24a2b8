//! One-variable setup for LLM-observability backends, from the environment
//! variables their users already have: Langfuse, Arize Phoenix and Datadog LLM
//! Observability. Each becomes an OTLP exporter with the endpoint, headers,
//! protocol and dialect that backend's documentation requires, exporting
//! traces only (none of the three takes OTLP metrics or logs there).

use base64::Engine as _;

use crate::base::errors::ConfigWarning;
use crate::base::secret::Secret;
use crate::export::dialect::Dialects;
use crate::export::otlp::OtlpProtocol;

use super::builder::OtlpExporter;

/// A backend genai-trace knows how to reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    Langfuse,
    Phoenix,
    Datadog,
}

/// The variables the presets read, as read (keys kept as secrets).
#[derive(Clone, Debug, Default)]
pub(crate) struct BackendEnv {
    pub langfuse_base_url: Option<String>,
    pub langfuse_public_key: Option<String>,
    pub langfuse_secret_key: Option<Secret<String>>,
    pub phoenix_endpoint: Option<String>,
    pub phoenix_api_key: Option<Secret<String>>,
    pub phoenix_project: Option<String>,
    pub dd_api_key: Option<Secret<String>>,
    pub dd_site: Option<String>,
    pub dd_llmobs_enabled: bool,
}

/// Langfuse Cloud (EU), Langfuse's own default.
const LANGFUSE_DEFAULT_URL: &str = "https://cloud.langfuse.com";
/// Phoenix's default address (`phoenix serve`).
const PHOENIX_DEFAULT_URL: &str = "http://localhost:6006";
/// Datadog's default site (US1).
const DD_DEFAULT_SITE: &str = "datadoghq.com";

impl Backend {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Langfuse => "langfuse",
            Self::Phoenix => "phoenix",
            Self::Datadog => "datadog",
        }
    }

    /// The backends whose variables are set (for `with_otlp_if_configured`):
    /// Langfuse's two keys, `PHOENIX_COLLECTOR_ENDPOINT`, or Datadog's
    /// `DD_API_KEY` together with `DD_LLMOBS_ENABLED` (an agent's `DD_API_KEY`
    /// alone does not send LLM traces to Datadog).
    pub(crate) fn detect(env: &BackendEnv) -> Vec<Backend> {
        let mut found = Vec::new();
        if env.langfuse_public_key.is_some() && env.langfuse_secret_key.is_some() {
            found.push(Self::Langfuse);
        }
        if env.phoenix_endpoint.is_some() {
            found.push(Self::Phoenix);
        }
        if env.dd_api_key.is_some() && env.dd_llmobs_enabled {
            found.push(Self::Datadog);
        }
        found
    }

    /// The OTLP exporter for this backend, or a warning naming what is missing.
    pub(crate) fn exporter(self, env: &BackendEnv) -> Result<OtlpExporter, ConfigWarning> {
        let missing = |variable: &str, why: &str| ConfigWarning {
            variable: variable.to_owned(),
            message: format!("{why}; nothing is sent to {}", self.name()),
        };
        let base = OtlpExporter {
            protocol: Some(OtlpProtocol::HttpProtobuf),
            metrics: false,
            preset: Some(self.name()),
            ..OtlpExporter::default()
        };
        Ok(match self {
            Self::Langfuse => {
                let (Some(pk), Some(sk)) = (&env.langfuse_public_key, &env.langfuse_secret_key) else {
                    return Err(missing(
                        "LANGFUSE_PUBLIC_KEY",
                        "Langfuse needs LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY",
                    ));
                };
                let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{pk}:{}", sk.expose()));
                let url = env.langfuse_base_url.as_deref().unwrap_or(LANGFUSE_DEFAULT_URL);
                base.endpoint(format!("{}/api/public/otel", url.trim_end_matches('/')))
                    .header("Authorization", format!("Basic {credentials}"))
                    .header("x-langfuse-ingestion-version", "4")
                    .dialects(Dialects::LANGFUSE)
            }
            Self::Phoenix => {
                let url = env.phoenix_endpoint.as_deref().unwrap_or(PHOENIX_DEFAULT_URL);
                // Phoenix's own clients accept the endpoint with or without the path.
                let url = url.trim_end_matches('/').trim_end_matches("/v1/traces");
                let mut e = base.endpoint(url).dialects(Dialects::OPENINFERENCE);
                if let Some(key) = &env.phoenix_api_key {
                    e = e.header("authorization", format!("Bearer {}", key.expose()));
                }
                e
            }
            Self::Datadog => {
                let Some(key) = &env.dd_api_key else {
                    return Err(missing("DD_API_KEY", "Datadog needs DD_API_KEY"));
                };
                let site = env.dd_site.as_deref().unwrap_or(DD_DEFAULT_SITE);
                base.endpoint(format!("https://otlp.{site}"))
                    .header("dd-api-key", key.expose().clone())
                    .header("dd-otlp-source", "llmobs")
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::otlp::Signal;
    use crate::setup::env::read_env;
    use crate::setup::resolve;

    /// The endpoint, protocol and headers an exporter for `backend` resolves to
    /// under `vars` (headers exposed: this is what goes on the wire).
    fn resolved(backend: Backend, vars: &[(&str, &str)]) -> (String, OtlpProtocol, Vec<(String, String)>, bool) {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let env = read_env(&move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()));
        let exporter = backend.exporter(&env.backends).unwrap();
        let r = resolve::otlp(&exporter, &env, Signal::Traces, &mut Vec::new()).unwrap();
        let headers = r.headers.expose().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        (r.endpoint, r.protocol, headers, exporter.metrics)
    }

    #[test]
    fn datadog_preset_is_the_llm_observability_intake() {
        let (endpoint, protocol, headers, metrics) = resolved(
            Backend::Datadog,
            &[("DD_API_KEY", "dd-key-1"), ("DD_SITE", "datadoghq.eu")],
        );
        assert_eq!(endpoint, "https://otlp.datadoghq.eu/v1/traces");
        assert_eq!(protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(
            headers,
            [
                ("dd-api-key".to_owned(), "dd-key-1".to_owned()),
                ("dd-otlp-source".to_owned(), "llmobs".to_owned())
            ]
        );
        assert!(!metrics, "traces only");
        let (endpoint, ..) = resolved(Backend::Datadog, &[("DD_API_KEY", "k")]);
        assert_eq!(endpoint, "https://otlp.datadoghq.com/v1/traces");
        // OTEL_EXPORTER_OTLP_PROTOCOL=grpc does not move a preset off http/protobuf.
        let (_, protocol, ..) = resolved(
            Backend::Datadog,
            &[("DD_API_KEY", "k"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")],
        );
        assert_eq!(protocol, OtlpProtocol::HttpProtobuf);
    }

    #[test]
    fn langfuse_and_phoenix_presets_resolve_as_their_docs_say() {
        let (endpoint, protocol, headers, metrics) = resolved(
            Backend::Langfuse,
            &[
                ("LANGFUSE_HOST", "https://us.cloud.langfuse.com/"),
                ("LANGFUSE_PUBLIC_KEY", "pk-lf-test"),
                ("LANGFUSE_SECRET_KEY", "sk-lf-test"),
            ],
        );
        assert_eq!(endpoint, "https://us.cloud.langfuse.com/api/public/otel/v1/traces");
        assert_eq!(protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(
            headers,
            [
                (
                    "Authorization".to_owned(),
                    "Basic cGstbGYtdGVzdDpzay1sZi10ZXN0".to_owned()
                ),
                ("x-langfuse-ingestion-version".to_owned(), "4".to_owned())
            ]
        );
        assert!(!metrics);
        let (endpoint, ..) = resolved(
            Backend::Langfuse,
            &[("LANGFUSE_PUBLIC_KEY", "pk"), ("LANGFUSE_SECRET_KEY", "sk")],
        );
        assert_eq!(endpoint, "https://cloud.langfuse.com/api/public/otel/v1/traces");
        let (endpoint, _, headers, _) = resolved(
            Backend::Phoenix,
            &[
                ("PHOENIX_COLLECTOR_ENDPOINT", "https://app.phoenix.arize.com/v1/traces"),
                ("PHOENIX_API_KEY", "px"),
            ],
        );
        assert_eq!(endpoint, "https://app.phoenix.arize.com/v1/traces");
        assert_eq!(headers, [("authorization".to_owned(), "Bearer px".to_owned())]);
        let (endpoint, _, headers, _) = resolved(Backend::Phoenix, &[]);
        assert_eq!(endpoint, "http://localhost:6006/v1/traces");
        assert!(headers.is_empty());
    }

    #[test]
    fn detection_needs_each_backends_variables() {
        let mut env = BackendEnv {
            dd_api_key: Some(Secret::new("k".into())),
            ..BackendEnv::default()
        };
        assert!(
            Backend::detect(&env).is_empty(),
            "an agent's DD_API_KEY alone is not LLM Observability"
        );
        env.dd_llmobs_enabled = true;
        env.langfuse_public_key = Some("pk".into());
        assert_eq!(Backend::detect(&env), [Backend::Datadog]);
        env.langfuse_secret_key = Some(Secret::new("sk".into()));
        env.phoenix_endpoint = Some("http://p:6006".into());
        assert_eq!(
            Backend::detect(&env),
            [Backend::Langfuse, Backend::Phoenix, Backend::Datadog]
        );
    }

    #[test]
    fn missing_keys_warn_without_printing_secrets() {
        let env = BackendEnv {
            langfuse_public_key: Some("pk-lf-1".into()),
            ..BackendEnv::default()
        };
        let w = Backend::Langfuse.exporter(&env).unwrap_err();
        assert_eq!(w.variable, "LANGFUSE_PUBLIC_KEY");
        assert!(w.message.contains("LANGFUSE_SECRET_KEY"), "{}", w.message);
        let env = BackendEnv {
            langfuse_public_key: Some("pk-lf-1".into()),
            langfuse_secret_key: Some(Secret::new("sk-lf-secret".into())),
            ..BackendEnv::default()
        };
        let e = Backend::Langfuse.exporter(&env).unwrap();
        assert!(!format!("{e:?}").contains("sk-lf-secret"));
        assert!(!format!("{env:?}").contains("sk-lf-secret"));
    }
}
