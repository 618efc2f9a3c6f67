//! The trait, parsed into plain data: what the user declared, nothing inferred yet.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Attribute, FnArg, Ident, LitStr, Pat, ReturnType, TraitItem, Type, Visibility};

use crate::options::Options;
use crate::shape::Shape;

pub struct Repo {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub ident: Ident,
    pub supertraits: syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>,
    pub options: Options,
    pub methods: Vec<Method>,
}

pub struct Method {
    /// Attributes other than `#[sql]`/`#[unscoped]` (docs, lints), kept on the trait.
    pub attrs: Vec<Attribute>,
    pub ident: Ident,
    pub sql: Option<LitStr>,
    pub unscoped: Option<LitStr>,
    pub args: Vec<Arg>,
    pub output: Type,
    pub output_span: Span,
    pub shape: Option<Shape>,
    /// Per backend: the driver's SQL and the names to bind, in order. Empty when the
    /// method failed validation, in which case it expands to a stub.
    pub generated: Vec<(tenantry_analyzer::Backend, tenantry_analyzer::Rewritten)>,
    pub writes: bool,
    /// False once any check of this method failed.
    pub ok: bool,
}

pub struct Arg {
    pub ident: Ident,
    pub ty: Type,
}

impl Repo {
    /// Parses the trait; methods with errors are kept (marked failed) so that they
    /// still expand to stubs.
    pub fn parse(item: syn::ItemTrait, options: Options) -> (Repo, Vec<syn::Error>) {
        let mut errors: Vec<syn::Error> = Vec::new();
        if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
            errors.push(syn::Error::new(
                item.generics.span(),
                "a `#[tenant_repository]` trait cannot be generic: declare one trait per row type",
            ));
        }
        let mut methods = Vec::new();
        for ti in item.items {
            match ti {
                TraitItem::Fn(f) => {
                    let (m, errs) = Method::parse(f);
                    methods.push(m);
                    errors.extend(errs);
                }
                other => errors.push(syn::Error::new(
                    other.span(),
                    "a `#[tenant_repository]` trait holds only `#[sql(\"...\")] async fn` methods",
                )),
            }
        }
        let repo = Repo {
            attrs: item.attrs,
            vis: item.vis,
            ident: item.ident,
            supertraits: item.supertraits,
            options,
            methods,
        };
        (repo, errors)
    }
}

impl Method {
    fn parse(f: syn::TraitItemFn) -> (Method, Vec<syn::Error>) {
        let name = f.sig.ident.to_string();
        let mut errors: Vec<syn::Error> = Vec::new();
        let mut sql = None;
        let mut unscoped = None;
        let mut attrs = Vec::new();
        for attr in f.attrs {
            if attr.path().is_ident("sql") {
                match attr.parse_args::<LitStr>() {
                    Ok(lit) if sql.is_none() => sql = Some(lit),
                    Ok(lit) => {
                        errors.push(syn::Error::new(lit.span(), format!("`{name}` has two `#[sql]` attributes")))
                    }
                    Err(_) => errors.push(syn::Error::new(
                        attr.span(),
                        format!("`{name}`: write the statement as one string literal: `#[sql(\"SELECT ...\")]`"),
                    )),
                }
            } else if attr.path().is_ident("unscoped") {
                let mut reason = None;
                let parsed = attr.parse_nested_meta(|meta| {
                    if meta.path.is_ident("reason") {
                        reason = Some(meta.value()?.parse::<LitStr>()?);
                        Ok(())
                    } else {
                        Err(meta.error("`#[unscoped]` takes only `reason = \"...\"`"))
                    }
                });
                match (parsed, reason) {
                    (Ok(()), Some(r)) if !r.value().trim().is_empty() => unscoped = Some(r),
                    (Err(e), _) => errors.push(e),
                    _ => errors.push(syn::Error::new(
                        attr.span(),
                        format!("`{name}`: an unscoped method must say why it reads across tenants: `#[unscoped(reason = \"...\")]`"),
                    )),
                }
            } else {
                attrs.push(attr);
            }
        }
        if sql.is_none() {
            errors.push(syn::Error::new(
                f.sig.ident.span(),
                format!("`{name}` has no statement: add `#[sql(\"...\")]` to it"),
            ));
        }
        if let Some(body) = &f.default {
            errors.push(syn::Error::new(
                body.span(),
                format!("`{name}` has a body: tenantry generates it from `#[sql]`, so declare the method with `;`"),
            ));
        }
        let streams = matches!(&f.sig.output, ReturnType::Type(_, t) if matches!(Shape::of(t), Some(Shape::Stream(_))));
        if streams && f.sig.asyncness.is_some() {
            errors.push(syn::Error::new(
                f.sig.fn_token.span,
                format!("`{name}` returns a `RowStream`, which is not awaited: declare it `fn`, not `async fn`"),
            ));
        }
        if !streams && f.sig.asyncness.is_none() {
            errors.push(syn::Error::new(
                f.sig.fn_token.span,
                format!("`{name}` must be declared `async fn`: generated methods return futures"),
            ));
        }
        if !f.sig.generics.params.is_empty() || f.sig.generics.where_clause.is_some() {
            errors.push(syn::Error::new(
                f.sig.generics.span(),
                format!("`{name}` cannot be generic: tenantry adds the guard's type parameter itself"),
            ));
        }
        let mut args = Vec::new();
        let mut inputs = f.sig.inputs.iter();
        match inputs.next() {
            Some(FnArg::Receiver(r)) if r.reference.is_some() && r.mutability.is_none() && r.colon_token.is_none() => {}
            other => errors.push(syn::Error::new(
                other.map(|o| o.span()).unwrap_or(f.sig.ident.span()),
                format!("`{name}` must take `&self` first; the guard is added after it"),
            )),
        }
        for input in inputs {
            match input {
                FnArg::Typed(t) => match t.pat.as_ref() {
                    Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => {
                        args.push(Arg { ident: p.ident.clone(), ty: (*t.ty).clone() })
                    }
                    other => errors.push(syn::Error::new(
                        other.span(),
                        format!("`{name}`: arguments must be plain names, which `:name` placeholders refer to"),
                    )),
                },
                FnArg::Receiver(r) => errors.push(syn::Error::new(r.span(), "unexpected receiver")),
            }
        }
        let (output, output_span) = match &f.sig.output {
            ReturnType::Type(_, ty) => ((**ty).clone(), ty.span()),
            ReturnType::Default => {
                errors.push(syn::Error::new(
                    f.sig.ident.span(),
                    format!("`{name}` needs a return type such as `tenantry::Result<u64>`"),
                ));
                (syn::parse_quote!(()), f.sig.ident.span())
            }
        };
        let parsed = errors.is_empty();
        let method = Method {
            attrs,
            ident: f.sig.ident,
            sql,
            unscoped,
            args,
            output,
            output_span,
            shape: None,
            generated: Vec::new(),
            writes: false,
            ok: parsed,
        };
        (method, errors)
    }
}
