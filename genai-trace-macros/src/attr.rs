//! Parsing `#[genai_span(...)]`'s arguments into [`Args`].
//!
//! Every error points at the offending token: the unknown key, the second of a
//! duplicate, the value of the wrong type.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitStr, Path, Token, bracketed, parenthesized};

/// One `key = value` of `attrs(...)`: a dotted key (`gen_ai.request.top_p`) or a string.
pub(crate) struct AttrEntry {
    pub key: String,
    pub key_span: Span,
    pub value: Expr,
}

/// A name in `sensitive = [...]` / `skip = [...]`, as a string or a bare identifier.
pub(crate) struct ArgName {
    pub name: String,
    pub span: Span,
}

/// The parsed arguments of one `#[genai_span]`.
#[derive(Default)]
pub(crate) struct Args {
    pub kind: Option<LitStr>,
    pub name: Option<LitStr>,
    pub span_kind: Option<LitStr>,
    pub category: Option<LitStr>,
    pub provider: Option<Expr>,
    pub model: Option<Expr>,
    pub attrs: Vec<AttrEntry>,
    pub sensitive: Vec<ArgName>,
    pub skip: Vec<ArgName>,
    pub krate: Option<Path>,
}

const OPTIONS: &str = "kind, name, span_kind, category, provider, model, attrs, sensitive, skip, crate";

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Args::default();
        let mut seen: Vec<String> = Vec::new();
        while !input.is_empty() {
            let key: Ident = if input.peek(Token![crate]) {
                let k: Token![crate] = input.parse()?;
                Ident::new("crate", k.span)
            } else {
                input
                    .parse()
                    .map_err(|e| syn::Error::new(e.span(), format!("expected one of: {OPTIONS}")))?
            };
            let name = key.to_string();
            if seen.contains(&name) {
                return Err(syn::Error::new(key.span(), format!("duplicate option `{name}`")));
            }
            seen.push(name.clone());
            match name.as_str() {
                "attrs" => {
                    let content;
                    parenthesized!(content in input);
                    args.attrs = parse_attr_entries(&content)?;
                }
                "kind" | "name" | "span_kind" | "category" | "provider" | "model" | "sensitive" | "skip" | "crate" => {
                    let _: Token![=] = input
                        .parse()
                        .map_err(|e| syn::Error::new(e.span(), format!("expected `=` after `{name}`")))?;
                    match name.as_str() {
                        "kind" => args.kind = Some(string_literal(input, "kind", "\"chat\"")?),
                        "name" => args.name = Some(string_literal(input, "name", "\"my span\"")?),
                        "span_kind" => args.span_kind = Some(string_literal(input, "span_kind", "\"client\"")?),
                        "category" => args.category = Some(string_literal(input, "category", "\"reranker\"")?),
                        "provider" => args.provider = Some(input.parse()?),
                        "model" => args.model = Some(input.parse()?),
                        "sensitive" => args.sensitive = name_list(input, "sensitive")?,
                        "skip" => args.skip = name_list(input, "skip")?,
                        _ => {
                            args.krate = Some(input.parse::<Path>().map_err(|e| {
                                syn::Error::new(
                                    e.span(),
                                    "`crate` expects a path, e.g. `crate = my_reexport::genai_trace`",
                                )
                            })?);
                        }
                    }
                }
                _ => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!("unknown option `{name}`; expected one of: {OPTIONS}"),
                    ));
                }
            }
            if input.is_empty() {
                break;
            }
            let _: Token![,] = input.parse()?;
        }
        Ok(args)
    }
}

fn string_literal(input: ParseStream<'_>, option: &str, example: &str) -> syn::Result<LitStr> {
    if input.peek(LitStr) {
        return input.parse();
    }
    let bad: Expr = input.parse()?;
    Err(syn::Error::new_spanned(
        bad,
        format!("`{option}` expects a string literal, e.g. `{option} = {example}`"),
    ))
}

fn name_list(input: ParseStream<'_>, option: &str) -> syn::Result<Vec<ArgName>> {
    if !input.peek(syn::token::Bracket) {
        let bad: Expr = input.parse()?;
        return Err(syn::Error::new_spanned(
            bad,
            format!("`{option}` expects a list of argument names, e.g. `{option} = [\"messages\"]`"),
        ));
    }
    let content;
    bracketed!(content in input);
    let mut out = Vec::new();
    while !content.is_empty() {
        if content.peek(LitStr) {
            let s: LitStr = content.parse()?;
            out.push(ArgName {
                name: s.value(),
                span: s.span(),
            });
        } else if content.peek(Ident) || content.peek(Token![self]) {
            let i: Ident = content.call(syn::ext::IdentExt::parse_any)?;
            out.push(ArgName {
                name: i.to_string(),
                span: i.span(),
            });
        } else {
            return Err(content.error(format!("`{option}` lists argument names as strings or identifiers")));
        }
        if content.is_empty() {
            break;
        }
        let _: Token![,] = content.parse()?;
    }
    Ok(out)
}

fn parse_attr_entries(content: ParseStream<'_>) -> syn::Result<Vec<AttrEntry>> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (key, key_span) = if content.peek(LitStr) {
            let s: LitStr = content.parse()?;
            if s.value().is_empty() {
                return Err(syn::Error::new(s.span(), "attribute keys cannot be empty"));
            }
            (s.value(), s.span())
        } else if content.peek(Ident::peek_any) {
            let parts: Punctuated<Ident, Token![.]> =
                Punctuated::parse_separated_nonempty_with(content, Ident::parse_any)?;
            let span = parts.first().map_or_else(Span::call_site, Ident::span);
            (
                parts
                    .iter()
                    .map(|p| p.to_string().trim_start_matches("r#").to_owned())
                    .collect::<Vec<_>>()
                    .join("."),
                span,
            )
        } else {
            return Err(
                content.error("expected an attribute key: `gen_ai.request.temperature = expr` or `\"key\" = expr`")
            );
        };
        if !content.peek(Token![=]) {
            return Err(content.error(format!("expected `=` and a value after attribute key `{key}`")));
        }
        let _: Token![=] = content.parse()?;
        if content.is_empty() || content.peek(Token![,]) {
            return Err(content.error(format!("expected a value for attribute key `{key}`")));
        }
        let value: Expr = content.parse()?;
        out.push(AttrEntry { key, key_span, value });
        if content.is_empty() {
            break;
        }
        let _: Token![,] = content.parse()?;
    }
    Ok(out)
}

use syn::ext::IdentExt as _;
