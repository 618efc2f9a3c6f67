//! The trait, parsed into plain data: what the user declared, nothing inferred yet.

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
    /// `#[scalar]`: rows decode from their single column.
    pub scalar: Option<proc_macro2::Span>,
    pub args: Vec<Arg>,
    pub output: Type,
    pub shape: Option<Shape>,
    /// Per backend: the driver's SQL and the names to bind, in order. Empty when the
    /// method failed validation, in which case it expands to a stub.
    pub generated: Vec<(tenantry_analyzer::Backend, tenantry_analyzer::Rewritten)>,
    /// Per backend, the statement confined to a set of tenants; empty when the method
    /// does not accept a `ScopeSet` (it writes, or binds `:tenant` outside a predicate).
    pub set_sql: Vec<(tenantry_analyzer::Backend, tenantry_analyzer::Rewritten)>,
    /// What the analyser warns of in its statement (confined, but likely wrong).
    pub warnings: Vec<tenantry_analyzer::schema::Finding>,
    /// The tables its statement names, in any backend's spelling.
    pub tables: Vec<String>,
    pub writes: bool,
    /// The statement returns at most one row on every backend, so `T` reads one row
    /// instead of checking for a second.
    pub at_most_one_row: bool,
    /// False once any check of this method failed.
    pub ok: bool,
    /// This method's errors, in the order found.
    pub errors: Vec<syn::Error>,
}

pub struct Arg {
    pub ident: Ident,
    pub ty: Type,
}

impl Repo {
    /// Parses the trait; methods with errors are kept (marked failed, their errors in
    /// [`Method::errors`]) so that they still expand to stubs. Returns the trait-level errors.
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
                TraitItem::Fn(f) => methods.push(Method::parse(f, &item.ident)),
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
    fn parse(f: syn::TraitItemFn, trait_ident: &syn::Ident) -> Method {
        let name = format!("{trait_ident}::{}", f.sig.ident);
        let mut errors: Vec<syn::Error> = Vec::new();
        let mut sql = None;
        let mut unscoped = None;
        let mut scalar = None;
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
            } else if attr.path().is_ident("scalar") {
                match &attr.meta {
                    syn::Meta::Path(_) if scalar.is_none() => scalar = Some(attr.span()),
                    syn::Meta::Path(_) => {
                        errors.push(syn::Error::new(attr.span(), format!("`{name}` has two `#[scalar]` attributes")))
                    }
                    _ => errors.push(syn::Error::new(attr.span(), format!("`{name}`: `#[scalar]` takes no arguments"))),
                }
            } else if attr.path().is_ident("unscoped") {
                let mut reason = None;
                let parsed = if matches!(attr.meta, syn::Meta::Path(_)) {
                    Ok(())
                } else {
                    attr.parse_nested_meta(|meta| {
                        if meta.path.is_ident("reason") {
                            reason = Some(meta.value()?.parse::<LitStr>()?);
                            Ok(())
                        } else {
                            Err(meta.error("`#[unscoped]` takes only `reason = \"...\"`"))
                        }
                    })
                };
                let needs_reason = format!(
                    "`{name}`: an unscoped method must say why it reads across tenants: `#[unscoped(reason = \"...\")]`"
                );
                match (parsed, reason) {
                    (Ok(()), Some(r)) if !r.value().trim().is_empty() => unscoped = Some(r),
                    (Ok(()), Some(r)) => errors.push(syn::Error::new(r.span(), needs_reason)),
                    (Err(e), _) => errors.push(e),
                    (Ok(()), None) => errors.push(syn::Error::new_spanned(&attr, needs_reason)),
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
        let streams =
            matches!(&f.sig.output, ReturnType::Type(_, t) if matches!(Shape::of(t, false), Some(Shape::Stream(_))));
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
                format!("`{name}` cannot be generic: a repository trait is object-safe (`dyn {trait_ident}`), and the guard is a `&dyn` argument tenantry adds"),
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
        let output = match &f.sig.output {
            ReturnType::Type(_, ty) => (**ty).clone(),
            ReturnType::Default => {
                errors.push(syn::Error::new(
                    f.sig.ident.span(),
                    format!("`{name}` needs a return type such as `tenantry::Result<u64>`"),
                ));
                syn::parse_quote!(())
            }
        };
        let parsed = errors.is_empty();
        Method {
            attrs,
            ident: f.sig.ident,
            sql,
            unscoped,
            scalar,
            args,
            output,
            shape: None,
            generated: Vec::new(),
            set_sql: Vec::new(),
            warnings: Vec::new(),
            tables: Vec::new(),
            writes: false,
            at_most_one_row: false,
            ok: parsed,
            errors,
        }
    }
}
