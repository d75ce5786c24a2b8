//! Checks that need both the arguments and the function.

use syn::{FnArg, Pat};

use crate::ast::Function;
use crate::attr::Args;

/// The values of `span_kind`: OpenTelemetry's span kinds.
pub(crate) const SPAN_KINDS: [&str; 5] = ["client", "server", "internal", "producer", "consumer"];

/// The values of `category`: genai-trace's `SpanCategory` names.
pub(crate) const CATEGORIES: [&str; 9] = [
    "llm",
    "embedding",
    "retriever",
    "reranker",
    "tool",
    "agent",
    "chain",
    "guardrail",
    "evaluator",
];

pub(crate) fn validate(args: &Args, func: &Function) -> syn::Result<()> {
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    if let Some(c) = &func.sig.constness {
        push(syn::Error::new(
            c.span,
            "#[genai_span] cannot instrument a `const fn`: spans are created at run time",
        ));
    }
    if let Some(kind) = &args.kind
        && kind.value().trim().is_empty()
    {
        push(syn::Error::new(kind.span(), "`kind` cannot be empty"));
    }
    if let Some(name) = &args.name
        && name.value().trim().is_empty()
    {
        push(syn::Error::new(name.span(), "`name` cannot be empty"));
    }
    if let Some(k) = &args.span_kind
        && !SPAN_KINDS.contains(&k.value().as_str())
    {
        push(syn::Error::new(
            k.span(),
            format!("`span_kind` is one of {}", SPAN_KINDS.join(", ")),
        ));
    }
    if let Some(c) = &args.category
        && !CATEGORIES.contains(&c.value().as_str())
    {
        push(syn::Error::new(
            c.span(),
            format!("`category` is one of {}", CATEGORIES.join(", ")),
        ));
    }
    let params = parameter_names(func);
    for (option, names) in [("sensitive", &args.sensitive), ("skip", &args.skip)] {
        for n in names {
            if !params.iter().any(|p| p == &n.name) {
                let known = if params.is_empty() {
                    "it has none".to_owned()
                } else {
                    params.join(", ")
                };
                push(syn::Error::new(
                    n.span,
                    format!(
                        "`{option}` names `{}`, which is not an argument of this function ({known})",
                        n.name
                    ),
                ));
            }
        }
    }
    errors.map_or(Ok(()), Err)
}

/// Names bound by the parameters (`self` included; patterns contribute every binding).
fn parameter_names(func: &Function) -> Vec<String> {
    fn bindings(pat: &Pat, out: &mut Vec<String>) {
        match pat {
            Pat::Ident(i) => {
                out.push(i.ident.to_string());
                if let Some((_, sub)) = &i.subpat {
                    bindings(sub, out);
                }
            }
            Pat::Tuple(t) => t.elems.iter().for_each(|p| bindings(p, out)),
            Pat::TupleStruct(t) => t.elems.iter().for_each(|p| bindings(p, out)),
            Pat::Struct(s) => s.fields.iter().for_each(|f| bindings(&f.pat, out)),
            Pat::Reference(r) => bindings(&r.pat, out),
            Pat::Type(t) => bindings(&t.pat, out),
            Pat::Slice(s) => s.elems.iter().for_each(|p| bindings(p, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for input in &func.sig.inputs {
        match input {
            FnArg::Receiver(_) => out.push("self".to_owned()),
            FnArg::Typed(t) => bindings(&t.pat, &mut out),
        }
    }
    out
}
