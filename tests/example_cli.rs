//! The examples' command-line flags (examples/common/cli.rs): parsing, errors,
//! and what they do to an installed pipeline.
#![cfg(all(feature = "testing", feature = "console", feature = "otlp-http"))]

#[path = "../examples/common/cli.rs"]
#[allow(dead_code, reason = "the examples' module, compiled here for its tests")]
mod cli;

use cli::{Console, Flags};
use genai_trace::{ContentCapture, OtlpProtocol, Telemetry, health};

fn parse(args: &[&str]) -> Result<Flags, String> {
    Flags::parse(args.iter().map(|s| (*s).to_owned()))
}

#[test]
fn every_flag_parses_in_both_spellings() {
    let f = parse(&[
        "--otlp-endpoint",
        "http://collector:4318",
        "--protocol=grpc",
        "--capture-content",
        "--console",
        "json",
        "--sample-ratio=0.25",
    ])
    .unwrap();
    assert_eq!(f.otlp_endpoint.as_deref(), Some("http://collector:4318"));
    assert_eq!(f.protocol, Some(OtlpProtocol::Grpc));
    assert!(f.capture_content);
    assert_eq!(f.console, Console::Json);
    assert_eq!(f.sample_ratio, Some(0.25));
    let none = parse(&[]).unwrap();
    assert_eq!(
        (none.console, none.capture_content, none.otlp_endpoint),
        (Console::Tree, false, None)
    );
}

#[test]
fn bad_flags_say_what_is_expected() {
    for (args, expected) in [
        (&["--protocol", "http/json"][..], "expected grpc or http/protobuf"),
        (&["--console", "pretty"][..], "expected tree, json or off"),
        (&["--sample-ratio", "2"][..], "expected a number from 0 to 1"),
        (&["--sample-ratio"][..], "--sample-ratio needs"),
        (&["--verbose"][..], "unknown flag --verbose"),
    ] {
        let e = parse(args).unwrap_err();
        assert!(e.contains(expected), "{args:?}: {e}");
    }
    assert!(parse(&["--help"]).unwrap_err().contains("--otlp-endpoint URL"));
}

#[test]
fn flags_configure_the_pipeline() {
    let _lock = genai_trace::testing::exclusive();
    let f = parse(&[
        "--otlp-endpoint",
        "http://127.0.0.1:9",
        "--capture-content",
        "--console",
        "off",
    ])
    .unwrap();
    let guard = f
        .apply(Telemetry::builder().env_lookup(|_| None).quiet())
        .install()
        .unwrap();
    let names: Vec<&str> = health().exporters.iter().map(|e| e.name).collect();
    assert_eq!(names, ["otlp-http"], "no console, one OTLP exporter");
    assert_eq!(genai_trace::content_capture(), ContentCapture::SpanOnly);
    drop(guard);
}
