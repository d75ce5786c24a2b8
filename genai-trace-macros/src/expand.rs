//! Code generation. The expansion only wires the function to runtime helpers in
//! `genai_trace::__private`; all behaviour lives in the runtime crate.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{Ident, Path};

use crate::ast::{Function, Shape, StreamKind};
use crate::attr::Args;

/// Semantics of the well-known GenAI operations (semconv v1.41.0).
struct Operation {
    name: &'static str,
    client: bool,
    /// The semconv constant whose value completes the span name.
    suffix_const: &'static str,
    /// That constant's value, to spot a literal given for it.
    suffix_key: &'static str,
}

const OPERATIONS: &[Operation] = &[
    Operation {
        name: "chat",
        client: true,
        suffix_const: "GEN_AI_REQUEST_MODEL",
        suffix_key: "gen_ai.request.model",
    },
    Operation {
        name: "text_completion",
        client: true,
        suffix_const: "GEN_AI_REQUEST_MODEL",
        suffix_key: "gen_ai.request.model",
    },
    Operation {
        name: "generate_content",
        client: true,
        suffix_const: "GEN_AI_REQUEST_MODEL",
        suffix_key: "gen_ai.request.model",
    },
    Operation {
        name: "embeddings",
        client: true,
        suffix_const: "GEN_AI_REQUEST_MODEL",
        suffix_key: "gen_ai.request.model",
    },
    Operation {
        name: "retrieval",
        client: true,
        suffix_const: "GEN_AI_DATA_SOURCE_ID",
        suffix_key: "gen_ai.data_source.id",
    },
    Operation {
        name: "execute_tool",
        client: false,
        suffix_const: "GEN_AI_TOOL_NAME",
        suffix_key: "gen_ai.tool.name",
    },
    Operation {
        name: "create_agent",
        client: true,
        suffix_const: "GEN_AI_AGENT_NAME",
        suffix_key: "gen_ai.agent.name",
    },
    Operation {
        name: "invoke_agent",
        client: false,
        suffix_const: "GEN_AI_AGENT_NAME",
        suffix_key: "gen_ai.agent.name",
    },
    Operation {
        name: "invoke_workflow",
        client: false,
        suffix_const: "GEN_AI_WORKFLOW_NAME",
        suffix_key: "gen_ai.workflow.name",
    },
];

/// `chat` and `chat.sample` are the operation `chat`; `rag.query` is custom.
fn operation_of(kind: &str) -> Option<&'static Operation> {
    let first = kind.split('.').next().unwrap_or(kind);
    OPERATIONS.iter().find(|o| o.name == first)
}

fn ident(name: &str) -> Ident {
    // Mixed-site hygiene: generated locals can never clash with the user's names.
    Ident::new(name, Span::mixed_site())
}

/// What every part of one expansion refers to: the crate paths and the
/// generated locals (mixed-site, so they never clash with the user's names).
struct Names {
    krate: Path,
    private: TokenStream,
    attrs: Ident,
    guard: Ident,
    ret: Ident,
}

pub(crate) fn expand(args: &Args, func: Function) -> TokenStream {
    let krate: Path = args.krate.clone().unwrap_or_else(|| syn::parse_quote!(::genai_trace));
    let n = Names {
        private: quote!(#krate::__private),
        krate,
        attrs: ident("__genai_attrs"),
        guard: ident("__genai_guard"),
        ret: ident("__genai_ret"),
    };
    let kind = args.kind.as_ref().map(syn::LitStr::value);
    let op = kind.as_deref().and_then(operation_of);
    let shape = Shape::of(&func.sig);
    let start = start_span(args, &func, kind.as_deref(), op, &shape, &n);
    let (private, guard, ret) = (&n.private, &n.guard, &n.ret);
    // An `execute_tool` function's return value is its `gen_ai.tool.call.result`;
    // an agent's or workflow's is its `gen_ai.output.messages` (content:
    // converted only when captured).
    let record_return = match op.map(|o| o.name) {
        _ if matches!(shape, Shape::Stream { .. }) => None,
        Some("execute_tool") => Some(quote!(record_tool_result)),
        Some("invoke_agent" | "invoke_workflow") => Some(quote!(record_output_value)),
        _ => None,
    };
    let return_content = match record_return {
        Some(record) => quote! {
            if #guard.captures_content() {
                #[allow(unused_imports)]
                use #private::{
                    ReturnContentIgnored as _, ReturnContentOfResult as _, ReturnContentViaDebug as _,
                    ReturnContentViaTrait as _,
                };
                let __genai_content = (&&&&#private::ReturnContentOf(#ret)).__genai_return_content();
                #private::#record(#guard, __genai_content);
            }
        },
        None => quote!(),
    };
    let outcome = quote! {
        #[allow(unused_imports)]
        use #private::{
            OutcomeDebug as _, OutcomeDisplay as _, OutcomeErrorType as _, OutcomeOpaque as _, OutcomeValue as _,
            ResponseIgnored as _, ResponseViaTrait as _,
        };
        (&&#private::ResponseOf(#ret)).__genai_response(#guard);
        #return_content
        (&&&&&#private::Outcome(#ret)).__genai_record(#guard);
    };

    let Function {
        outer_attrs,
        inner_attrs,
        vis,
        sig,
        block,
    } = func;
    let brace_span = block.brace_token.span.join();
    let stmts = &block.stmts;
    let body = match shape {
        Shape::Stream { .. } => stream_body(&shape, &start, &outcome, stmts, &n),
        Shape::Sync | Shape::AsyncFn => {
            // Pins the body's return type so `?` and `return` infer as in the original
            // function (the same trick tracing-attributes uses).
            let fake_return = func_fake_return(sig.output.clone(), &ident("__genai_fake"));
            future_or_sync_body(&shape, &start, &outcome, &quote!(#fake_return #(#stmts)*), &n)
        }
        Shape::ImplFuture | Shape::BoxedFuture => {
            future_or_sync_body(&shape, &start, &outcome, &quote!(#(#stmts)*), &n)
        }
    };

    // The body's braces keep the user's span: the item then counts as user
    // code for lints such as `dead_code`.
    let mut braces = proc_macro2::Group::new(proc_macro2::Delimiter::Brace, quote!(#(#inner_attrs)* #body));
    braces.set_span(brace_span);
    quote! {
        #(#outer_attrs)*
        #vis #sig #braces
    }
}

/// `let mut __genai_guard = ...;`: the static call site and the span's start,
/// with the attributes known at start (where samplers see them).
fn start_span(
    args: &Args,
    func: &Function,
    kind: Option<&str>,
    op: Option<&'static Operation>,
    shape: &Shape,
    n: &Names,
) -> TokenStream {
    let Names {
        krate,
        private,
        attrs,
        guard,
        ..
    } = n;
    let fn_name = func.sig.ident.to_string();
    // A literal for the value that completes the name (`model = "gpt-4o"`) makes
    // the whole name static: nothing is formatted per call.
    let literal_suffix = op.and_then(|o| {
        let value = if o.suffix_key == "gen_ai.request.model" {
            args.model.as_ref()
        } else {
            args.attrs
                .iter()
                .rev()
                .find(|a| a.key == o.suffix_key)
                .map(|a| &a.value)
        };
        match value {
            Some(syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s), ..
            })) => Some(s.value()),
            _ => None,
        }
    });
    let static_name = match (&args.name, kind, &literal_suffix) {
        (Some(name), _, _) => name.value(),
        (None, Some(k), Some(v)) => format!("{k} {v}"),
        (None, Some(k), None) => k.to_owned(),
        (None, None, _) => fn_name.clone(),
    };
    let operation = match op {
        Some(o) => {
            let name = o.name;
            quote!(::core::option::Option::Some(#name))
        }
        None => quote!(::core::option::Option::None),
    };
    let span_kind = match args.span_kind.as_ref().map(syn::LitStr::value).as_deref() {
        Some("client") => quote!(Client),
        Some("server") => quote!(Server),
        Some("producer") => quote!(Producer),
        Some("consumer") => quote!(Consumer),
        None if op.is_some_and(|o| o.client) => quote!(Client),
        // "internal" (validated), or no operation that defaults to CLIENT.
        _ => quote!(Internal),
    };
    let suffix = match op {
        Some(o) if args.name.is_none() && literal_suffix.is_none() => {
            let c = format_ident!("{}", o.suffix_const);
            quote!(#private::NameSuffix::Attribute(#krate::semconv::#c))
        }
        _ => quote!(#private::NameSuffix::None),
    };
    // A tool is named after its function unless `attrs(gen_ai.tool.name = ...)` says otherwise.
    let default_attr = match op {
        Some(o) if o.name == "execute_tool" => {
            quote!(::core::option::Option::Some((#krate::semconv::GEN_AI_TOOL_NAME, #fn_name)))
        }
        _ => quote!(::core::option::Option::None),
    };
    let slot = match op.map(|o| o.name) {
        Some("execute_tool") => quote!(#private::ContentSlot::ToolArguments),
        Some("retrieval") => quote!(#private::ContentSlot::RetrievalQuery),
        _ => quote!(#private::ContentSlot::InputMessages),
    };
    let has_sensitive = !args.sensitive.is_empty();
    let recorded = start_attributes(args, func, shape, n);
    let site = ident("__GENAI_SITE");
    quote! {
        // Every argument is offered to `RecordRequest`, `_unused` ones too: pedantic
        // lints must not fire on the user's code for what the expansion does.
        #[allow(clippy::used_underscore_binding)]
        let mut #guard = {
            static #site: #private::CallSite = #private::CallSite::new(
                #static_name, #operation, #private::SpanKind::#span_kind, #suffix, #default_attr, #slot, #has_sensitive,
            );
            #private::SpanGuard::start(&#site, |#attrs: &mut #private::StartAttributes<'_>| {
                #recorded
            })
        };
    }
}

/// The body of the start-attributes closure: `provider`, `model`, `attrs(..)`
/// (by reference: nothing is moved), every argument's `RecordRequest`, and the
/// `sensitive` arguments when content is captured.
fn start_attributes(args: &Args, func: &Function, shape: &Shape, n: &Names) -> TokenStream {
    let Names {
        krate, private, attrs, ..
    } = n;
    let mut pushes = Vec::new();
    // A string literal becomes a static value: no allocation per call.
    let push = |key: TokenStream, value: &syn::Expr| match value {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s), ..
        }) => quote!(#attrs.push_static(#key, #s);),
        _ => quote!(#attrs.push(#key, &(#value));),
    };
    if let Some(p) = &args.provider {
        pushes.push(push(quote!(#krate::semconv::GEN_AI_PROVIDER_NAME), p));
    }
    if let Some(m) = &args.model {
        pushes.push(push(quote!(#krate::semconv::GEN_AI_REQUEST_MODEL), m));
    }
    for a in &args.attrs {
        let key = &a.key;
        let call = push(quote!(#key), &a.value);
        pushes.push(quote_spanned!(a.key_span=> #call));
    }
    if let Some(c) = &args.category {
        pushes.push(quote!(#attrs.push_static(#krate::semconv::GENAI_TRACE_SPAN_CATEGORY, #c);));
    }
    if matches!(shape, Shape::Stream { .. }) {
        pushes.push(quote!(#attrs.push(#krate::semconv::GEN_AI_REQUEST_STREAM, &true);));
    }

    // Every argument gets the chance to record itself (RecordRequest); the
    // user's own tokens are used so `self` and the names resolve.
    let bindings = crate::ast::bindings(&func.sig);
    let requests = bindings
        .iter()
        .map(|b| quote!((&&#private::RequestArg(&#b)).__genai_request(&mut #attrs.recorder());));
    let sensitive: Vec<_> = args
        .sensitive
        .iter()
        .filter_map(|s| bindings.iter().find(|b| b.to_string() == s.name).map(|b| (s, b)))
        // A type with neither `ToContent` nor `Debug` is a compile error pointing
        // at its name in `sensitive = [...]`: asked to record it, we never drop it silently.
        .map(|(s, b)| quote_spanned!(s.span=> #attrs.sensitive((&&#private::ContentArg(&#b)).__genai_content());))
        .collect();
    let sensitive_block = if sensitive.is_empty() {
        quote!()
    } else {
        quote! {
            if #attrs.captures_content() {
                #[allow(unused_imports)]
                use #private::{ContentViaDebug as _, ContentViaTrait as _};
                #(#sensitive)*
            }
        }
    };
    quote! {
        #(#pushes)*
        #[allow(unused_imports)]
        use #private::{RequestIgnored as _, RequestViaTrait as _};
        #(#requests)*
        #sensitive_block
    }
}

/// Sync functions and functions that return futures: the body runs inside the
/// span; `outcome` records the result before the span ends.
fn future_or_sync_body(
    shape: &Shape,
    start: &TokenStream,
    outcome: &TokenStream,
    body: &TokenStream,
    n: &Names,
) -> TokenStream {
    let Names {
        private, guard, ret, ..
    } = n;
    // For futures: a non-capturing closure, coerced to the `fn` pointer
    // `Instrumented` calls on completion (types are concrete here).
    let record_fn = quote!(|#ret, #guard| { #outcome });
    match shape {
        Shape::Sync => {
            let body_fn = ident("__genai_body");
            quote! {
                #start
                let #body_fn = #private::body_once(move || { #body });
                // Nothing recorded: the body, inline. The recording path is out of line,
                // so this one keeps the uninstrumented function's shape (no saved registers).
                if !#guard.is_active() {
                    ::core::mem::drop(#guard);
                    return #body_fn();
                }
                #private::run_recorded(#guard, #body_fn, |#ret, #guard| { #outcome })
            }
        }
        Shape::AsyncFn => {
            let future = ident("__genai_future");
            quote! {
                #start
                let #future = async move { #body };
                // Not recording: the body's future is awaited bare, without the wrapper's
                // layer (and the guard, empty, is not kept across the await).
                if #guard.is_active() {
                    #private::Instrumented::new(#future, #guard, #record_fn).await
                } else {
                    ::core::mem::drop(#guard);
                    #future.await
                }
            }
        }
        _ => {
            let attached = ident("__genai_attached");
            let inner = ident("__genai_inner");
            let wrapped = quote!(#private::Instrumented::new(#inner, #guard, #record_fn));
            let wrapped = if *shape == Shape::BoxedFuture {
                quote!(::std::boxed::Box::pin(#wrapped))
            } else {
                wrapped
            };
            quote! {
                #start
                let #inner = {
                    let #attached = #guard.attach();
                    #private::call_once(move || { #body })
                };
                #wrapped
            }
        }
    }
}

/// Functions that return a stream or iterator (or a future or `Result` of one):
/// the span lasts as long as the stream; each item is recorded by a chunk
/// function chosen on the concrete item type.
fn stream_body(
    shape: &Shape,
    start: &TokenStream,
    outcome: &TokenStream,
    stmts: &[syn::Stmt],
    n: &Names,
) -> TokenStream {
    let Names {
        private, guard, ret, ..
    } = n;
    let Shape::Stream {
        is_async,
        kind,
        in_result,
        item,
    } = shape
    else {
        unreachable!("stream_body is called for stream shapes only")
    };
    let item_var = ident("__genai_item");
    let chunks = ident("__genai_chunks");
    let item_ty = match item {
        Some(t) => quote!(: &#t),
        None => quote!(),
    };
    let chunk_fn = quote! {
        |#item_var #item_ty, #chunks| {
            #[allow(unused_imports)]
            use #private::{
                ChunkErrorType as _, ChunkErrorTypeOfChunks as _, ChunkIgnored as _, ChunkPlain as _,
                ChunkResult as _, ChunkResultOfChunks as _,
            };
            (&&&&&&#private::ChunkOf(#item_var)).__genai_chunk(#chunks)
        }
    };
    let stream = ident("__genai_stream");
    let wrapped = match kind {
        StreamKind::Impl => quote!(#private::InstrumentedStream::new(#stream, #guard, #chunk_fn)),
        StreamKind::Boxed => {
            quote!(::std::boxed::Box::pin(#private::InstrumentedStream::new(#stream, #guard, #chunk_fn)))
        }
        StreamKind::Iter => quote!(#private::InstrumentedIter::new(#stream, #guard, #chunk_fn)),
    };
    let produce = if *is_async {
        quote! {
            let (#ret, mut #guard) =
                #private::InstrumentedThen::new(async move { #(#stmts)* }, #guard).await;
        }
    } else {
        let attached = ident("__genai_attached");
        quote! {
            let #ret = {
                let #attached = #guard.attach();
                #private::call_once(move || { #(#stmts)* })
            };
        }
    };
    let finish = if *in_result {
        let err = ident("__genai_err");
        quote! {
            match #ret {
                ::core::result::Result::Ok(#stream) => ::core::result::Result::Ok(#wrapped),
                ::core::result::Result::Err(#err) => {
                    // Failed before a stream existed: record the error, end the span.
                    let #ret = ::core::result::Result::<(), _>::Err(#err);
                    if #guard.is_active() {
                        let #ret = &#ret;
                        let #guard = &mut #guard;
                        // Through the runtime, which catches a panic of the user's code in it.
                        #private::record_outcome(|| { #outcome });
                    }
                    #guard.end();
                    match #ret {
                        ::core::result::Result::Err(#err) => ::core::result::Result::Err(#err),
                        ::core::result::Result::Ok(()) => ::core::unreachable!(),
                    }
                }
            }
        }
    } else {
        quote! {
            let #stream = #ret;
            #wrapped
        }
    };
    quote! {
        #start
        #produce
        #finish
    }
}

impl Shape {
    fn of(sig: &syn::Signature) -> Shape {
        crate::ast::shape_of(sig)
    }
}

fn func_fake_return(output: syn::ReturnType, fake: &Ident) -> TokenStream {
    let ty = match output {
        syn::ReturnType::Type(_, ty) if !crate::ast::contains_impl_trait(&ty) => ty,
        _ => return TokenStream::new(),
    };
    quote! {
        #[allow(
            unknown_lints, unreachable_code, clippy::diverging_sub_expression, clippy::empty_loop,
            clippy::let_unit_value, clippy::let_with_type_underscore, clippy::needless_return, clippy::unreachable
        )]
        if false {
            let #fake: #ty = loop {};
            return #fake;
        }
    }
}
