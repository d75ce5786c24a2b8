//! The instrumented function, and what shape of body it has.

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Block, ItemFn, ReturnType, Signature, Type, TypeParamBound, Visibility};

/// How the function produces its result, which decides how the span wraps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A plain function: the span covers the call.
    Sync,
    /// `async fn`: the span starts at the first poll and covers the future.
    AsyncFn,
    /// `fn ... -> impl Future`: the span starts at the call and covers the future.
    ImplFuture,
    /// `fn ... -> Pin<Box<dyn Future>>` (what `#[async_trait]` produces).
    BoxedFuture,
    /// A function (sync or `async`) whose result is a stream or iterator, maybe
    /// inside `Result`: the span lasts until the stream ends.
    Stream {
        is_async: bool,
        kind: StreamKind,
        in_result: bool,
        item: Option<Box<Type>>,
    },
}

/// How a returned stream is wrapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StreamKind {
    /// `impl Stream<Item = T>`
    Impl,
    /// `Pin<Box<dyn Stream<Item = T> + ...>>`, `BoxStream<'_, T>`
    Boxed,
    /// `impl Iterator<Item = T>` (sync functions only)
    Iter,
}

fn bound_named(bounds: &syn::punctuated::Punctuated<TypeParamBound, syn::Token![+]>, name: &str) -> bool {
    bounds.iter().any(|b| match b {
        TypeParamBound::Trait(t) => t.path.segments.last().is_some_and(|s| s.ident == name),
        _ => false,
    })
}

fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) => p.path.segments.last(),
        _ => None,
    }
}

fn first_type_arg(seg: &syn::PathSegment) -> Option<&Type> {
    let syn::PathArguments::AngleBracketed(args) = &seg.arguments else {
        return None;
    };
    args.args.iter().find_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}

fn stream_kind(ty: &Type, allow_iter: bool) -> Option<StreamKind> {
    match ty {
        Type::ImplTrait(t) if bound_named(&t.bounds, "Stream") => Some(StreamKind::Impl),
        Type::ImplTrait(t) if allow_iter && bound_named(&t.bounds, "Iterator") => Some(StreamKind::Iter),
        Type::Paren(p) => stream_kind(&p.elem, allow_iter),
        _ => {
            let seg = last_segment(ty)?;
            if seg.ident == "BoxStream" || seg.ident == "LocalBoxStream" {
                return Some(StreamKind::Boxed);
            }
            if seg.ident == "Pin" {
                let boxed = first_type_arg(seg)
                    .and_then(last_segment)
                    .filter(|b| b.ident == "Box")?;
                return match first_type_arg(boxed)? {
                    Type::TraitObject(t) if bound_named(&t.bounds, "Stream") => Some(StreamKind::Boxed),
                    _ => None,
                };
            }
            None
        }
    }
}

/// `Some((kind, in_result, item))` when the declared output is a stream (or
/// iterator), possibly as the `Ok` type of a `Result`; `item` is its declared
/// item type, when it can be named (it guides inference of the body).
fn streaming(ty: &Type, allow_iter: bool) -> Option<(StreamKind, bool, Option<Box<Type>>)> {
    if let Some(k) = stream_kind(ty, allow_iter) {
        return Some((k, false, item_type(ty).map(Box::new)));
    }
    let seg = last_segment(ty).filter(|s| s.ident == "Result")?;
    let ok = first_type_arg(seg)?;
    stream_kind(ok, allow_iter).map(|k| (k, true, item_type(ok).map(Box::new)))
}

/// The `Item = T` of `impl Stream<Item = T>`, `dyn Stream<Item = T>` (in
/// `Pin<Box<..>>`), `impl Iterator<Item = T>`, or the `T` of `BoxStream<'a, T>`.
fn item_type(ty: &Type) -> Option<Type> {
    fn from_bounds(bounds: &syn::punctuated::Punctuated<TypeParamBound, syn::Token![+]>) -> Option<Type> {
        bounds.iter().find_map(|b| {
            let TypeParamBound::Trait(t) = b else { return None };
            let seg = t.path.segments.last()?;
            let syn::PathArguments::AngleBracketed(args) = &seg.arguments else {
                return None;
            };
            args.args.iter().find_map(|a| match a {
                syn::GenericArgument::AssocType(at) if at.ident == "Item" => Some(at.ty.clone()),
                _ => None,
            })
        })
    }
    let found = match ty {
        Type::ImplTrait(t) => from_bounds(&t.bounds),
        Type::Paren(p) => item_type(&p.elem),
        _ => {
            let seg = last_segment(ty)?;
            if seg.ident == "BoxStream" || seg.ident == "LocalBoxStream" {
                first_type_arg(seg).cloned()
            } else {
                let boxed = first_type_arg(seg).and_then(last_segment)?;
                match first_type_arg(boxed)? {
                    Type::TraitObject(t) => from_bounds(&t.bounds),
                    _ => None,
                }
            }
        }
    };
    found.filter(|t| !contains_impl_trait(t))
}

/// A function item the macro can instrument.
pub(crate) struct Function {
    pub outer_attrs: Vec<Attribute>,
    pub inner_attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub sig: Signature,
    pub block: Block,
}

impl Function {
    pub(crate) fn from_item(item: ItemFn) -> Self {
        let (inner_attrs, outer_attrs) = item
            .attrs
            .into_iter()
            .partition(|a| matches!(a.style, syn::AttrStyle::Inner(_)));
        Function {
            outer_attrs,
            inner_attrs,
            vis: item.vis,
            sig: item.sig,
            block: *item.block,
        }
    }
}

/// The shape of a function from its signature.
pub(crate) fn shape_of(sig: &Signature) -> Shape {
    let is_async = sig.asyncness.is_some();
    if let ReturnType::Type(_, ty) = &sig.output
        && let Some((kind, in_result, item)) = streaming(ty, !is_async)
    {
        return Shape::Stream {
            is_async,
            kind,
            in_result,
            item,
        };
    }
    if is_async {
        return Shape::AsyncFn;
    }
    match &sig.output {
        ReturnType::Type(_, ty) if is_impl_future(ty) => Shape::ImplFuture,
        ReturnType::Type(_, ty) if is_pin_box_dyn_future(ty) => Shape::BoxedFuture,
        _ => Shape::Sync,
    }
}

fn future_bound(bounds: &syn::punctuated::Punctuated<TypeParamBound, syn::Token![+]>) -> bool {
    bounds.iter().any(|b| match b {
        TypeParamBound::Trait(t) => t.path.segments.last().is_some_and(|s| s.ident == "Future"),
        _ => false,
    })
}

fn is_impl_future(ty: &Type) -> bool {
    match ty {
        Type::ImplTrait(t) => future_bound(&t.bounds),
        Type::Paren(p) => is_impl_future(&p.elem),
        _ => false,
    }
}

/// `Pin<Box<dyn Future<...> + ...>>`, with any path prefix.
fn is_pin_box_dyn_future(ty: &Type) -> bool {
    let inner_arg = |ty: &Type, name: &str| -> Option<Type> {
        let Type::Path(p) = ty else { return None };
        let seg = p.path.segments.last()?;
        if seg.ident != name {
            return None;
        }
        let syn::PathArguments::AngleBracketed(args) = &seg.arguments else {
            return None;
        };
        args.args.iter().find_map(|a| match a {
            syn::GenericArgument::Type(t) => Some(t.clone()),
            _ => None,
        })
    };
    inner_arg(ty, "Pin")
        .and_then(|b| inner_arg(&b, "Box"))
        .is_some_and(|d| matches!(d, Type::TraitObject(t) if future_bound(&t.bounds)))
}

pub(crate) fn contains_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> syn::visit::Visit<'ast> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut f = Finder(false);
    syn::visit::Visit::visit_type(&mut f, ty);
    f.0
}

/// A function whose body did not parse: the signature is kept so the item can
/// be emitted unchanged and rustc reports the user's real syntax error.
pub(crate) struct FunctionWithUnparsedBody;

impl Parse for FunctionWithUnparsedBody {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let _attrs = input.call(Attribute::parse_outer)?;
        let _vis: Visibility = input.parse()?;
        let _sig: Signature = input.parse()?;
        let _body: TokenStream = input.parse()?;
        Ok(Self)
    }
}

/// The names the parameters bind, as the user's own tokens (`self` included).
pub(crate) fn bindings(sig: &Signature) -> Vec<TokenStream> {
    fn walk(pat: &syn::Pat, out: &mut Vec<TokenStream>) {
        use quote::ToTokens;
        match pat {
            syn::Pat::Ident(i) => {
                out.push(i.ident.to_token_stream());
                if let Some((_, sub)) = &i.subpat {
                    walk(sub, out);
                }
            }
            syn::Pat::Tuple(t) => t.elems.iter().for_each(|p| walk(p, out)),
            syn::Pat::TupleStruct(t) => t.elems.iter().for_each(|p| walk(p, out)),
            syn::Pat::Struct(s) => s.fields.iter().for_each(|f| walk(&f.pat, out)),
            syn::Pat::Reference(r) => walk(&r.pat, out),
            syn::Pat::Type(t) => walk(&t.pat, out),
            syn::Pat::Slice(s) => s.elems.iter().for_each(|p| walk(p, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for input in &sig.inputs {
        match input {
            syn::FnArg::Receiver(r) => out.push(quote::ToTokens::to_token_stream(&r.self_token)),
            syn::FnArg::Typed(t) => walk(&t.pat, &mut out),
        }
    }
    out
}
