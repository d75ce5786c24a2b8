// Generated locals use mixed-site hygiene: user names identical to them do not clash.
#[genai_trace::genai_span(attrs(n = __genai_guard))]
fn shadowing(__genai_guard: u32, __genai_ret: u32) -> u32 {
    let __genai_attrs = __genai_guard + __genai_ret;
    #[allow(non_snake_case)]
    let __GENAI_SITE = 1;
    __genai_attrs + __GENAI_SITE
}

#[genai_trace::genai_span]
async fn shadowing_async(__genai_inner: u32) -> u32 {
    let __genai_fake = __genai_inner;
    __genai_fake
}

fn main() {
    assert_eq!(shadowing(1, 2), 4);
    let _ = shadowing_async(1);
}
