//! Writes the trait (with the guard parameter), the repository struct and one impl per
//! backend. Generated code does exactly what a hand-written sqlx call does: acquire,
//! bind, fetch; the tenant is bound from the guard.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use tenantry_analyzer::{Backend, Rewritten, TENANT_PLACEHOLDER};

use crate::model::{Method, Repo};
use crate::shape::{Row, Shape};

pub fn expand(repo: &Repo) -> TokenStream {
    let Repo { attrs, vis, ident, supertraits, .. } = repo;
    let repo_ident = format_ident!("{}Repo", ident);
    let plus = if supertraits.is_empty() { quote!() } else { quote!(+ #supertraits) };
    let declarations = repo.methods.iter().map(|m| {
        let attrs = &m.attrs;
        let sig = signature(m);
        quote! { #(#attrs)* #sig; }
    });
    let impls = repo.options.backends.iter().map(|backend| {
        let db = backend_type(*backend);
        let methods = repo.methods.iter().map(|m| {
            let sig = signature(m);
            let body = body(repo, m, *backend);
            quote! { #sig { #body } }
        });
        quote! {
            impl #ident for #repo_ident<#db> {
                #(#methods)*
            }
        }
    });
    // Changing `tenantry.toml` or a migration recompiles the trait: rustc tracks included files.
    let tracked = repo.options.tracked.iter().filter_map(|p| p.to_str()).map(|p| {
        quote! { const _: &[u8] = ::core::include_bytes!(#p); }
    });
    // The schema lint speaks of tables: each trait hears of the ones its statements use.
    let used = |table: &str| repo.methods.iter().flat_map(|m| &m.tables).any(|t| t.eq_ignore_ascii_case(table));
    let findings: Vec<_> = repo
        .options
        .findings
        .iter()
        .chain(repo.options.lint.iter().filter(|f| used(&f.table)))
        .chain(repo.methods.iter().flat_map(|m| &m.warnings))
        .cloned()
        .collect();
    let warnings = crate::warnings::warnings(ident, attrs, &findings);
    let doc = format!(
        "The generated implementation of [`{ident}`]: every method takes a scope guard and binds the tenant from it.\n\nMake one with `{repo_ident}::new(&db)`."
    );
    quote! {
        #(#attrs)*
        #vis trait #ident: ::tenantry::Repository #plus {
            #(#declarations)*
        }

        #[doc = #doc]
        #vis struct #repo_ident<DB: ::tenantry::__private::sqlx::Database> {
            db: ::tenantry::Db<DB>,
        }

        impl<DB: ::tenantry::__private::sqlx::Database> #repo_ident<DB> {
            /// A repository running on `db`'s pool.
            #vis fn new(db: &::tenantry::Db<DB>) -> Self {
                Self { db: ::core::clone::Clone::clone(db) }
            }
        }

        impl<DB: ::tenantry::__private::sqlx::Database> ::core::clone::Clone for #repo_ident<DB> {
            fn clone(&self) -> Self {
                Self { db: ::core::clone::Clone::clone(&self.db) }
            }
        }

        impl<DB: ::tenantry::__private::sqlx::Database> ::core::fmt::Debug for #repo_ident<DB> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(::core::stringify!(#repo_ident))
            }
        }

        impl<DB: ::tenantry::__private::sqlx::Database> ::tenantry::Repository for #repo_ident<DB> {
            type Backend = DB;
        }

        #(#impls)*

        #(#tracked)*
        #warnings
    }
}

fn backend_type(backend: Backend) -> TokenStream {
    match backend {
        Backend::Sqlite => quote!(::tenantry::__private::sqlx::Sqlite),
        Backend::Postgres => quote!(::tenantry::__private::sqlx::Postgres),
        Backend::MySql => quote!(::tenantry::__private::sqlx::MySql),
    }
}

/// Which guard a method takes.
enum Guard {
    /// One tenant: `Scope`, `ScopedTx`.
    One,
    /// One tenant or a `ScopeSet`: the method only reads and binds `:tenant` only in
    /// predicates that have a set form.
    Read,
    /// `Unscoped`.
    Unscoped,
}

fn guard(m: &Method) -> Guard {
    if m.unscoped.is_some() {
        Guard::Unscoped
    } else if !m.set_sql.is_empty() {
        Guard::Read
    } else {
        Guard::One
    }
}

/// `fn name<G: Guard<Backend>>(&self, scope: &G, args..) -> impl Future<Output = R> + Send`
fn signature(m: &Method) -> TokenStream {
    let ident = &m.ident;
    let output = &m.output;
    let args = m.args.iter().map(|a| {
        let (i, t) = (&a.ident, &a.ty);
        quote!(#i: #t)
    });
    let (guard_arg, bound) = match guard(m) {
        Guard::Unscoped => (quote!(unscoped), quote!(::tenantry::UnscopedGuard)),
        Guard::Read => (quote!(scope), quote!(::tenantry::ReadGuard)),
        Guard::One => (quote!(scope), quote!(::tenantry::ScopeGuard)),
    };
    // `self` with the span of the generated bodies' `self` (the attribute's): `self` is
    // hygienic, and a trait that reaches the attribute through a `macro_rules!` would
    // otherwise have a receiver its bodies cannot name.
    let receiver = quote!(self);
    if let Some(Shape::Stream(_)) = &m.shape {
        // The user's own spelling of the type (so that their `use` of it counts), with
        // the stream's lifetime tied to `self` and the guard.
        let output = with_lifetime(output, &syn::Lifetime::new("'tenantry", Span::call_site()));
        return quote_spanned! {m.ident.span()=>
            fn #ident<'tenantry, G: ?::core::marker::Sized + #bound<<Self as ::tenantry::Repository>::Backend>>(
                &'tenantry #receiver, #guard_arg: &'tenantry G, #(#args),*
            ) -> #output
        };
    }
    quote_spanned! {m.ident.span()=>
        fn #ident<G: ?::core::marker::Sized + #bound<<Self as ::tenantry::Repository>::Backend>>(
            &#receiver, #guard_arg: &G, #(#args),*
        ) -> impl ::core::future::Future<Output = #output> + ::core::marker::Send
    }
}

/// `RowStream<'_, T>` with its lifetime argument replaced by `lifetime`.
fn with_lifetime(ty: &syn::Type, lifetime: &syn::Lifetime) -> syn::Type {
    let mut ty = ty.clone();
    if let syn::Type::Path(p) = &mut ty
        && let Some(last) = p.path.segments.last_mut()
        && let syn::PathArguments::AngleBracketed(args) = &mut last.arguments
    {
        let has_lifetime = args.args.iter().any(|a| matches!(a, syn::GenericArgument::Lifetime(_)));
        for a in args.args.iter_mut() {
            if let syn::GenericArgument::Lifetime(l) = a {
                *l = lifetime.clone();
            }
        }
        if !has_lifetime {
            args.args.insert(0, syn::GenericArgument::Lifetime(lifetime.clone()));
        }
    }
    ty
}

/// The body of a method that failed a check (its error is already reported): it
/// type-checks whatever the signature, and touches every argument so that the user sees
/// no unused-variable warning on top of the real error.
fn stub(m: &Method) -> TokenStream {
    let args = m.args.iter().map(|a| &a.ident);
    let guard = if m.unscoped.is_some() { quote!(unscoped) } else { quote!(scope) };
    let unreachable = quote!(::core::unreachable!("tenantry: this method did not compile"));
    if matches!(m.shape, Some(Shape::Stream(_))) {
        return quote! { let _ = (#guard, #(&#args),*); #unreachable };
    }
    quote! { let _ = (#guard, #(&#args),*); async move { #unreachable } }
}

fn body(repo: &Repo, m: &Method, backend: Backend) -> TokenStream {
    let Some((_, rewritten)) = m.generated.iter().find(|(b, _)| *b == backend).filter(|_| m.ok) else {
        return stub(m);
    };
    let Some(shape) = &m.shape else {
        return stub(m);
    };
    let set = m.set_sql.iter().find(|(b, _)| *b == backend).map(|(_, r)| r);
    let db = backend_type(backend);
    let method = method_static(repo, m);
    let (subject, shown) = (subject(m), shown(m));
    let query_fn = match shape {
        Shape::Many(row) | Shape::Optional(row) | Shape::One(row) => row_query(row, &db),
        Shape::RowsAffected | Shape::Unit | Shape::Stream(_) => quote!(::tenantry::__private::sqlx::query::<#db>),
    };
    let query = bound_query(m, &query_fn, rewritten, set);

    if let Shape::Stream(row) = shape {
        let ty = &row.ty;
        let decode = if row.scalar { quote!(rows_scalar) } else { quote!(rows_as) };
        let fetch = match guard(m) {
            Guard::Unscoped => quote!(::tenantry::UnscopedGuard::fetch(unscoped, &self.db, __query)),
            _ => quote!(::tenantry::ReadGuard::fetch(scope, &self.db, __query)),
        };
        return quote! {
            #method
            let __shown = #shown;
            let __query = #query;
            ::tenantry::__private::guarded_stream(&self.db, &METHOD, #subject, move || {
                ::tenantry::__private::#decode::<#db, #ty>(&METHOD, __shown, #fetch)
            })
        };
    }

    let failed = quote!(|e| ::tenantry::__private::failed(&METHOD, __shown, e));
    let run = match shape {
        Shape::Many(_) => quote!(__query.fetch_all(&mut *__conn).await.map_err(#failed)),
        Shape::Optional(_) => quote!(__query.fetch_optional(&mut *__conn).await.map_err(#failed)),
        // At most one row: read it as `fetch_one` would, no second poll for a second row.
        Shape::One(_) if m.at_most_one_row => quote! {
            __query.fetch_optional(&mut *__conn).await.map_err(#failed)?
                .ok_or_else(|| ::tenantry::__private::not_found(&METHOD, __shown))
        },
        Shape::One(_) => {
            quote!(::tenantry::__private::exactly_one(&METHOD, __shown, __query.fetch(&mut *__conn)).await)
        }
        Shape::RowsAffected => quote!(__query.execute(&mut *__conn).await.map(|r| r.rows_affected()).map_err(#failed)),
        Shape::Unit | Shape::Stream(_) => quote!(__query.execute(&mut *__conn).await.map(|_| ()).map_err(#failed)),
    };
    let rows = match shape {
        Shape::Many(_) => quote!(|v| ::core::option::Option::Some(v.len() as u64)),
        Shape::Optional(_) => quote!(|v| ::core::option::Option::Some(v.is_some() as u64)),
        Shape::One(_) => quote!(|_| ::core::option::Option::Some(1)),
        Shape::RowsAffected => quote!(|v| ::core::option::Option::Some(*v)),
        Shape::Unit | Shape::Stream(_) => quote!(|_| ::core::option::Option::None),
    };
    let connect = match guard(m) {
        Guard::Unscoped => quote!(::tenantry::UnscopedGuard::connection(unscoped, &self.db)),
        _ => quote!(::tenantry::ReadGuard::connection(scope, &self.db)),
    };
    quote! {
        #method
        async move {
            let __call = match ::tenantry::__private::quiet(&self.db, &METHOD) {
                ::core::option::Option::Some(__call) => __call,
                ::core::option::Option::None => ::tenantry::__private::begin(&self.db, &METHOD, #subject).await?,
            };
            let __shown = #shown;
            let __result: ::tenantry::Result<_> = async {
                let mut __conn = #connect.await.map_err(#failed)?;
                let __query = #query;
                #run
            }
            .await;
            __call.end(__result, #rows)
        }
    }
}

fn method_static(repo: &Repo, m: &Method) -> TokenStream {
    let (repository, name, writes) = (repo.ident.to_string(), m.ident.to_string(), m.writes);
    quote! {
        static METHOD: ::tenantry::__private::Method = ::tenantry::__private::Method {
            repository: #repository,
            name: #name,
            writes: #writes,
        };
    }
}

/// Who the call is for, as policies and audit see it (built only when someone looks).
fn subject(m: &Method) -> TokenStream {
    match guard(m) {
        Guard::Unscoped => quote!(::tenantry::__private::Subject::Unscoped),
        _ => quote!(::tenantry::ReadGuard::subject(scope)),
    }
}

/// How errors show the tenant(s).
fn shown(m: &Method) -> TokenStream {
    match guard(m) {
        Guard::Unscoped => {
            quote!(&::tenantry::__private::UNSCOPED as &(dyn ::core::fmt::Display + ::core::marker::Sync))
        }
        _ => quote!(::tenantry::ReadGuard::shown(scope)),
    }
}

/// The statement with every argument bound. A method that accepts a `ScopeSet` picks
/// the statement's set form when the guard holds several tenants.
fn bound_query(m: &Method, query_fn: &TokenStream, one: &Rewritten, set: Option<&Rewritten>) -> TokenStream {
    let tenant = match guard(m) {
        Guard::Unscoped => quote!(::core::unreachable!()),
        _ => quote!(::tenantry::ScopeGuard::tenant(scope)),
    };
    let one_sql = &one.sql;
    let one_binds = binds(m, one);
    match (guard(m), set) {
        (Guard::Read, Some(set)) => {
            let set_sql = &set.sql;
            let set_binds = binds(m, set);
            quote! {
                match ::tenantry::ReadGuard::tenants(scope) {
                    ::tenantry::__private::Tenants::One(__tenant) => #query_fn(#one_sql) #(#one_binds)*,
                    ::tenantry::__private::Tenants::Set(__tenant) => #query_fn(#set_sql) #(#set_binds)*,
                }
            }
        }
        _ => {
            let uses_tenant = one.binds.iter().any(|b| b == TENANT_PLACEHOLDER);
            if uses_tenant {
                quote! {{
                    let __tenant = #tenant;
                    #query_fn(#one_sql) #(#one_binds)*
                }}
            } else {
                quote!(#query_fn(#one_sql) #(#one_binds)*)
            }
        }
    }
}

/// `.bind(..)` for each placeholder in order; `:tenant` binds `__tenant`.
fn binds<'m>(m: &'m Method, rewritten: &'m Rewritten) -> impl Iterator<Item = TokenStream> + 'm {
    rewritten.binds.iter().map(move |b| {
        if b == TENANT_PLACEHOLDER {
            quote!(.bind(__tenant))
        } else {
            let arg = m.args.iter().find(|a| a.ident == b).map(|a| a.ident.clone());
            let arg = arg.unwrap_or_else(|| format_ident!("{}", b, span = Span::call_site()));
            quote!(.bind(&#arg))
        }
    })
}

fn row_query(row: &Row, db: &TokenStream) -> TokenStream {
    let ty = &row.ty;
    if row.scalar {
        quote!(::tenantry::__private::sqlx::query_scalar::<#db, #ty>)
    } else {
        quote!(::tenantry::__private::sqlx::query_as::<#db, #ty>)
    }
}
