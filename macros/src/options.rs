//! `#[tenant_repository(backends(...), shared(...), allow_functions(...), tenant_column = "...")]`.

use proc_macro2::Span;
use syn::LitStr;
use tenantry_analyzer::{Backend, Schema};

pub struct Options {
    pub backends: Vec<Backend>,
    pub schema: Schema,
}

impl Options {
    /// What to expand with when the options themselves are wrong, so that the methods
    /// still get checked.
    pub fn fallback() -> Self {
        Options { backends: vec![Backend::Sqlite], schema: Schema::default() }
    }

    pub fn parse(args: proc_macro2::TokenStream) -> syn::Result<Self> {
        let mut backends: Option<Vec<Backend>> = None;
        let mut schema = Schema::default();
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("backends") {
                let content;
                syn::parenthesized!(content in meta.input);
                let names = syn::punctuated::Punctuated::<syn::Ident, syn::Token![,]>::parse_terminated(&content)?;
                if names.is_empty() {
                    return Err(meta.error("`backends()` is empty: list at least one of `sqlite`, `postgres`, `mysql`"));
                }
                let mut list = Vec::new();
                for ident in names {
                    let name = ident.to_string();
                    match Backend::from_name(&name) {
                        Some(backend) if list.contains(&backend) => {
                            return Err(syn::Error::new(ident.span(), format!("backend `{name}` is listed twice")));
                        }
                        Some(backend) => list.push(backend),
                        None => {
                            return Err(syn::Error::new(
                                ident.span(),
                                format!(
                                    "unknown backend `{name}`: tenantry generates code for `sqlite`, `postgres` and `mysql`"
                                ),
                            ));
                        }
                    }
                }
                backends = Some(list);
                Ok(())
            } else if meta.path.is_ident("shared") {
                meta.parse_nested_meta(|t| {
                    let name = t.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
                    schema.shared.push(name);
                    Ok(())
                })
            } else if meta.path.is_ident("allow_functions") {
                // `allow_functions(risk_score, app::score)`: a path names a schema-qualified
                // function, written `app.score` in SQL.
                meta.parse_nested_meta(|f| {
                    let name = f.path.segments.iter().map(|s| s.ident.to_string()).collect::<Vec<_>>().join(".");
                    schema.allowed_functions.push(name);
                    Ok(())
                })
            } else if meta.path.is_ident("tenant_column") {
                let lit: LitStr = meta.value()?.parse()?;
                let column = lit.value();
                if column.is_empty() || !column.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    return Err(syn::Error::new(
                        lit.span(),
                        "`tenant_column` must be a plain column name such as \"org_id\"",
                    ));
                }
                schema.tenant_column = column;
                Ok(())
            } else {
                let name = meta.path.get_ident().map(|i| i.to_string()).unwrap_or_default();
                Err(meta.error(format!(
                    "unknown option `{name}`: `#[tenant_repository]` takes `backends(...)`, `shared(...)`, `allow_functions(...)` and `tenant_column = \"...\"`"
                )))
            }
        });
        syn::parse::Parser::parse2(parser, args)?;
        if backends.is_none() {
            return Err(syn::Error::new(
                Span::call_site(),
                "`#[tenant_repository]` needs the backends to generate code for, e.g. `#[tenant_repository(backends(postgres))]` (one or more of `sqlite`, `postgres`, `mysql`)",
            ));
        }
        Ok(Options { backends: backends.unwrap_or_default(), schema })
    }
}
