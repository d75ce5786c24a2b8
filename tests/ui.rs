//! Compile-time behaviour of #[`genai_span`]: errors point at the offending token,
//! and the generated code is hygienic (`#![no_implicit_prelude]`, `crate = ...`).
#![cfg(feature = "instrument")]

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
