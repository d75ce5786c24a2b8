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

pub(crate) fn expand(args: &Args, func: Function) -> TokenStream {
    let krate: Path = args.krate.clone().unwrap_or_else(|| syn::parse_quote!(::genai_trace));
    let private = quote!(#krate::__private);
    let fn_name = func.sig.ident.to_string();

    // --- the static call site ------------------------------------------------
    let kind = args.kind.as_ref().map(syn::LitStr::value);
    let op = kind.as_deref().and_then(operation_of);
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
    let static_name = match (&args.name, &kind, &literal_suffix) {
        (Some(n), _, _) => n.value(),
        (None, Some(k), Some(v)) => format!("{k} {v}"),
        (None, Some(k), None) => k.clone(),
        (None, None, _) => fn_name.clone(),
    };
    let operation = match op {
        Some(o) => {
            let n = o.name;
            quote!(::core::option::Option::Some(#n))
        }
        None => quote!(::core::option::Option::None),
    };
    let span_kind = if op.is_some_and(|o| o.client) {
        quote!(Client)
    } else {
        quote!(Internal)
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

    // --- attributes evaluated at span start (by reference: nothing is moved) --
    let attrs_ident = ident("__genai_attrs");
    let mut pushes = Vec::new();
    // A string literal becomes a static value: no allocation per call.
    let push = |key: TokenStream, value: &syn::Expr| match value {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s), ..
        }) => quote!(#attrs_ident.push_static(#key, #s);),
        _ => quote!(#attrs_ident.push(#key, &(#value));),
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

    // Every argument gets the chance to record itself (RecordRequest); the
    // user's own tokens are used so `self` and the names resolve.
    let bindings = crate::ast::bindings(&func.sig);
    let requests = bindings
        .iter()
        .map(|b| quote!((&&#private::RequestArg(&#b)).__genai_request(&mut #attrs_ident.recorder());));
    let sensitive: Vec<_> = args
        .sensitive
        .iter()
        .filter_map(|s| bindings.iter().find(|b| b.to_string() == s.name))
        .map(|b| quote!(#attrs_ident.sensitive((&&&#private::ContentArg(&#b)).__genai_content());))
        .collect();
    let sensitive_block = if sensitive.is_empty() {
        quote!()
    } else {
        quote! {
            if #attrs_ident.captures_content() {
                #[allow(unused_imports)]
                use #private::{ContentIgnored as _, ContentViaDebug as _, ContentViaTrait as _};
                #(#sensitive)*
            }
        }
    };
    let slot = match op.map(|o| o.name) {
        Some("execute_tool") => quote!(#private::ContentSlot::ToolArguments),
        Some("retrieval") => quote!(#private::ContentSlot::RetrievalQuery),
        _ => quote!(#private::ContentSlot::InputMessages),
    };
    let has_sensitive = !args.sensitive.is_empty();
    let shape = Shape::of(&func.sig);
    if matches!(shape, Shape::Stream { .. }) {
        pushes.push(quote!(#attrs_ident.push(#krate::semconv::GEN_AI_REQUEST_STREAM, &true);));
    }

    let guard = ident("__genai_guard");
    let site = ident("__GENAI_SITE");
    let start = quote! {
        let mut #guard = {
            static #site: #private::CallSite = #private::CallSite::new(
                #static_name, #operation, #private::SpanKind::#span_kind, #suffix, #default_attr, #slot, #has_sensitive,
            );
            #private::SpanGuard::start(&#site, |#attrs_ident: &mut #private::StartAttributes<'_>| {
                #(#pushes)*
                #[allow(unused_imports)]
                use #private::{RequestIgnored as _, RequestViaTrait as _};
                #(#requests)*
                #sensitive_block
            })
        };
    };

    let ret = ident("__genai_ret");
    let outcome = quote! {
        #[allow(unused_imports)]
        use #private::{
            OutcomeDebug as _, OutcomeDisplay as _, OutcomeErrorType as _, OutcomeOpaque as _, OutcomeValue as _,
            ResponseIgnored as _, ResponseViaTrait as _,
        };
        (&&#private::ResponseOf(#ret)).__genai_response(#guard);
        (&&&&&#private::Outcome(#ret)).__genai_record(#guard);
    };
    // For futures: a non-capturing closure, coerced to the `fn` pointer
    // `Instrumented` calls on completion (types are concrete here).
    let record_fn = quote!(|#ret, #guard| { #outcome });
    // Per stream item: chunk recording and error items, chosen on the concrete item type.
    let item = ident("__genai_item");
    let chunks = ident("__genai_chunks");
    let item_ty = match &shape {
        Shape::Stream { item: Some(t), .. } => quote!(: &#t),
        _ => quote!(),
    };
    let chunk_fn = quote! {
        |#item #item_ty, #chunks| {
            #[allow(unused_imports)]
            use #private::{ChunkIgnored as _, ChunkPlain as _, ChunkResult as _, ChunkResultOfChunks as _};
            (&&&&#private::ChunkOf(#item)).__genai_chunk(#chunks)
        }
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
    // Pins the body's return type so `?` and `return` infer as in the original
    // function (the same trick tracing-attributes uses).
    let fake_return = func_fake_return(sig.output.clone(), &ident("__genai_fake"));

    let body = match shape.clone() {
        Shape::Sync => {
            let body_fn = ident("__genai_body");
            quote! {
                #start
                let #body_fn = #private::body_once(move || { #fake_return #(#stmts)* });
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
                let #future = async move { #fake_return #(#stmts)* };
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
        Shape::Stream {
            is_async,
            kind,
            in_result,
            item: _,
        } => {
            let stream = ident("__genai_stream");
            let wrapped = match kind {
                StreamKind::Impl => quote!(#private::InstrumentedStream::new(#stream, #guard, #chunk_fn)),
                StreamKind::Boxed => {
                    quote!(::std::boxed::Box::pin(#private::InstrumentedStream::new(#stream, #guard, #chunk_fn)))
                }
                StreamKind::Iter => quote!(#private::InstrumentedIter::new(#stream, #guard, #chunk_fn)),
            };
            let produce = if is_async {
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
            let finish = if in_result {
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
                                #outcome
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
        shape @ (Shape::ImplFuture | Shape::BoxedFuture) => {
            let attached = ident("__genai_attached");
            let inner = ident("__genai_inner");
            let wrapped = quote!(#private::Instrumented::new(#inner, #guard, #record_fn));
            let wrapped = if shape == Shape::BoxedFuture {
                quote!(::std::boxed::Box::pin(#wrapped))
            } else {
                wrapped
            };
            quote! {
                #start
                let #inner = {
                    let #attached = #guard.attach();
                    #private::call_once(move || { #(#stmts)* })
                };
                #wrapped
            }
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
