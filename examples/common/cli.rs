//! The command-line flags every example takes, as the OpenTelemetry SDKs'
//! examples do. Each flag overrides the matching `OTEL_*` variable; without
//! flags, the environment decides (and the console shows a span tree).
//!
//! ```text
//! --otlp-endpoint URL        export over OTLP to URL (else OTEL_EXPORTER_OTLP_ENDPOINT, if set)
//! --protocol P               grpc | http/protobuf (default http/protobuf; grpc needs the otlp-grpc feature)
//! --capture-content          record prompts and completions (off by default)
//! --console tree|json|off    the console output (default tree)
//! --sample-ratio R           keep this share of traces, 0.0 to 1.0 (default 1.0)
//! --help                     this text
//! ```

use genai_trace::{ConsoleExporter, ContentCapture, OtlpExporter, OtlpProtocol, TelemetryBuilder};

const USAGE: &str = "flags:
  --otlp-endpoint URL        export over OTLP to URL (else OTEL_EXPORTER_OTLP_ENDPOINT, if set)
  --protocol P               grpc | http/protobuf (default http/protobuf; grpc needs the otlp-grpc feature)
  --capture-content          record prompts and completions (off by default)
  --console tree|json|off    the console output (default tree; off with no endpoint: OTLP to localhost:4318, the OTEL default)
  --sample-ratio R           keep this share of traces, 0.0 to 1.0 (default 1.0)
  --help                     this text";

/// The console output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Console {
    Tree,
    Json,
    Off,
}

/// The parsed flags.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Flags {
    pub(crate) otlp_endpoint: Option<String>,
    pub(crate) protocol: Option<OtlpProtocol>,
    pub(crate) capture_content: bool,
    pub(crate) console: Console,
    pub(crate) sample_ratio: Option<f64>,
}

impl Flags {
    /// Parses `args` (without the program name). `Err` holds the message to print.
    pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Flags, String> {
        let mut flags = Flags {
            otlp_endpoint: None,
            protocol: None,
            capture_content: false,
            console: Console::Tree,
            sample_ratio: None,
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            // `--flag=value` and `--flag value` both work.
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                None => (arg.clone(), None),
            };
            let mut value = |what: &str| {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or_else(|| format!("{name} needs {what}\n{USAGE}"))
            };
            match name.as_str() {
                "--otlp-endpoint" => flags.otlp_endpoint = Some(value("a URL")?),
                "--protocol" => {
                    flags.protocol = Some(match value("grpc or http/protobuf")?.as_str() {
                        "grpc" => OtlpProtocol::Grpc,
                        "http/protobuf" | "http" => OtlpProtocol::HttpProtobuf,
                        other => return Err(format!("--protocol {other}: expected grpc or http/protobuf")),
                    });
                }
                "--capture-content" => flags.capture_content = true,
                "--console" => {
                    flags.console = match value("tree, json or off")?.as_str() {
                        "tree" => Console::Tree,
                        "json" => Console::Json,
                        "off" => Console::Off,
                        other => return Err(format!("--console {other}: expected tree, json or off")),
                    };
                }
                "--sample-ratio" => {
                    let v = value("a number from 0 to 1")?;
                    let r: f64 = v
                        .parse()
                        .ok()
                        .filter(|r: &f64| (0.0..=1.0).contains(r))
                        .ok_or_else(|| format!("--sample-ratio {v}: expected a number from 0 to 1"))?;
                    flags.sample_ratio = Some(r);
                }
                "--help" | "-h" => return Err(USAGE.to_owned()),
                other => return Err(format!("unknown flag {other}\n{USAGE}")),
            }
        }
        Ok(flags)
    }

    /// The process's flags; prints the problem (or the help) and exits on a bad one.
    pub(crate) fn from_args() -> Flags {
        match Flags::parse(std::env::args().skip(1)) {
            Ok(f) => f,
            Err(message) => {
                eprintln!("{message}");
                std::process::exit(if message == USAGE { 0 } else { 2 });
            }
        }
    }

    /// Installs telemetry for example `service` with the process's flags (the
    /// shared start of every example).
    #[allow(dead_code)] // the CLI test includes this file too
    pub(crate) fn install(service: &'static str) -> Result<genai_trace::TelemetryGuard, genai_trace::InstallError> {
        Flags::from_args()
            .apply(
                genai_trace::Telemetry::builder()
                    .service_name(service)
                    .service_version(env!("CARGO_PKG_VERSION")),
            )
            .install()
    }

    /// Applies the flags to a builder.
    pub(crate) fn apply(&self, mut b: TelemetryBuilder) -> TelemetryBuilder {
        b = match self.console {
            Console::Tree => b.with_console(),
            Console::Json => b.with_console_exporter(ConsoleExporter::json_lines()),
            Console::Off => b,
        };
        if self.otlp_endpoint.is_some() || self.protocol.is_some() {
            let mut otlp = match self.protocol {
                Some(OtlpProtocol::Grpc) => OtlpExporter::grpc(),
                Some(OtlpProtocol::HttpProtobuf) => OtlpExporter::http(),
                None => OtlpExporter::from_env(),
            };
            if let Some(url) = &self.otlp_endpoint {
                otlp = otlp.endpoint(url);
            }
            b = b.with_otlp(otlp);
        } else {
            b = b.with_otlp_if_configured();
        }
        if self.capture_content {
            b = b.content_capture(ContentCapture::SpanOnly);
        }
        if let Some(r) = self.sample_ratio {
            b = b.sampling_ratio(r);
        }
        b
    }
}
