//! The `#[genai_span]` attribute macro of [genai-trace](https://docs.rs/genai-trace).
//!
//! A pipeline: `attr` parses the arguments, `ast` models the function,
//! `valid` checks the two together, `expand` generates code that calls the
//! runtime. With the `instrument` feature off the item is returned unchanged
//! (after the same checks, so typos stay errors).

mod ast;
mod attr;
#[cfg_attr(not(feature = "instrument"), allow(dead_code))]
mod expand;
mod valid;

use proc_macro::TokenStream;

/// Wraps a function in an OpenTelemetry span. See the `genai-trace` docs
/// (`docs/macro.md`) for every option and what the expansion looks like.
#[proc_macro_attribute]
pub fn genai_span(args: TokenStream, item: TokenStream) -> TokenStream {
    let item2: proc_macro2::TokenStream = item.clone().into();
    let args = match syn::parse::<attr::Args>(args) {
        Ok(a) => a,
        Err(e) => return with_item(&e, &item2),
    };
    let func = match syn::parse2::<syn::ItemFn>(item2.clone()) {
        Ok(f) => ast::Function::from_item(f),
        Err(e) => {
            // A function whose body does not parse: emit it untouched so rustc
            // shows the user's real syntax error rather than ours.
            if syn::parse2::<ast::FunctionWithUnparsedBody>(item2.clone()).is_ok() {
                return item;
            }
            let msg = "#[genai_span] can only be applied to functions and methods with a body";
            let _ = e;
            return with_item(&syn::Error::new_spanned(first_tokens(&item2), msg), &item2);
        }
    };
    if let Err(e) = valid::validate(&args, &func) {
        return with_item(&e, &item2);
    }
    if cfg!(feature = "instrument") {
        expand::expand(&args, func).into()
    } else {
        item
    }
}

/// The error plus the original item, so one mistake does not cascade into
/// "cannot find function" errors at every call site.
fn with_item(e: &syn::Error, item: &proc_macro2::TokenStream) -> TokenStream {
    let err = e.to_compile_error();
    quote::quote!(#err #item).into()
}

/// The item's tokens up to its first group, to point at `struct Foo` rather than its whole body.
fn first_tokens(item: &proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    item.clone()
        .into_iter()
        .skip_while(|t| matches!(t, proc_macro2::TokenTree::Punct(p) if p.as_char() == '#'))
        .skip_while(
            |t| matches!(t, proc_macro2::TokenTree::Group(g) if g.delimiter() == proc_macro2::Delimiter::Bracket),
        )
        .take_while(
            |t| !matches!(t, proc_macro2::TokenTree::Group(g) if g.delimiter() == proc_macro2::Delimiter::Brace),
        )
        .collect()
}
