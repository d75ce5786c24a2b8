//! With `instrument` off, telemetry can be installed yet annotated functions
//! produce no span: the macro returned them unchanged.

#[test]
fn annotated_functions_produce_no_spans() {
    let t = genai_trace::testing::TestTelemetry::install();
    assert_eq!(compile_out::chat("abc"), 4);
    genai_trace::span("manual").in_scope(|| ());
    let names: Vec<_> = t.spans().into_iter().map(|s| s.name.to_string()).collect();
    assert_eq!(names, ["manual"], "only the hand-written span exists");
}
