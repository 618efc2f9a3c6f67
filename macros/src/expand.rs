//! Writes the trait (with the guard parameter), the repository struct and one impl per
//! backend. Generated code does exactly what a hand-written sqlx call does: acquire,
//! bind, fetch; the tenant is bound from the guard.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use tenantry_analyzer::{Backend, TENANT_PLACEHOLDER};

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
    }
}

fn backend_type(backend: Backend) -> TokenStream {
    match backend {
        Backend::Sqlite => quote!(::tenantry::__private::sqlx::Sqlite),
        Backend::Postgres => quote!(::tenantry::__private::sqlx::Postgres),
        Backend::MySql => quote!(::tenantry::__private::sqlx::MySql),
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
    let (guard, bound) = if m.unscoped.is_some() {
        (quote!(unscoped), quote!(::tenantry::UnscopedGuard))
    } else {
        (quote!(scope), quote!(::tenantry::ScopeGuard))
    };
    if let Some(Shape::Stream(row)) = &m.shape {
        let ty = &row.ty;
        return quote_spanned! {m.ident.span()=>
            fn #ident<'tenantry, G: #bound<<Self as ::tenantry::Repository>::Backend>>(
                &'tenantry self, #guard: &'tenantry G, #(#args),*
            ) -> ::tenantry::RowStream<'tenantry, #ty>
        };
    }
    quote_spanned! {m.ident.span()=>
        fn #ident<G: #bound<<Self as ::tenantry::Repository>::Backend>>(&self, #guard: &G, #(#args),*)
            -> impl ::core::future::Future<Output = #output> + ::core::marker::Send
    }
}

fn body(repo: &Repo, m: &Method, backend: Backend) -> TokenStream {
    let Some((_, rewritten)) = m.generated.iter().find(|(b, _)| *b == backend).filter(|_| m.ok) else {
        // The method failed a check; its error is already reported.
        return quote! { async move { ::core::unreachable!() } };
    };
    let Some(shape) = &m.shape else {
        return quote! { async move { ::core::unreachable!() } };
    };
    if let Shape::Stream(row) = shape {
        return stream_body(repo, m, backend, row, rewritten);
    }
    let db = backend_type(backend);
    let sql = &rewritten.sql;
    let repository = repo.ident.to_string();
    let name = m.ident.to_string();
    let writes = m.writes;
    let scoped = m.unscoped.is_none();
    let binds = binds(m, rewritten);
    let query = match shape {
        Shape::Many(row) | Shape::Optional(row) | Shape::One(row) => query_fn(row, &db),
        Shape::RowsAffected | Shape::Unit | Shape::Stream(_) => quote!(::tenantry::__private::sqlx::query::<#db>),
    };
    let run = match shape {
        Shape::Many(_) => quote! {
            __query.fetch_all(&mut *__conn).await.map_err(|e| ::tenantry::__private::failed(&METHOD, __tenant, e))
        },
        Shape::Optional(_) => quote! {
            __query.fetch_optional(&mut *__conn).await.map_err(|e| ::tenantry::__private::failed(&METHOD, __tenant, e))
        },
        Shape::One(_) => quote! {
            ::tenantry::__private::exactly_one(&METHOD, __tenant, __query.fetch(&mut *__conn)).await
        },
        Shape::RowsAffected => quote! {
            __query.execute(&mut *__conn).await
                .map(|r| r.rows_affected())
                .map_err(|e| ::tenantry::__private::failed(&METHOD, __tenant, e))
        },
        Shape::Unit | Shape::Stream(_) => quote! {
            __query.execute(&mut *__conn).await
                .map(|_| ())
                .map_err(|e| ::tenantry::__private::failed(&METHOD, __tenant, e))
        },
    };
    let rows = match shape {
        Shape::Many(_) => quote!(|v| ::core::option::Option::Some(v.len() as u64)),
        Shape::Optional(_) => quote!(|v| ::core::option::Option::Some(v.is_some() as u64)),
        Shape::One(_) => quote!(|_| ::core::option::Option::Some(1)),
        Shape::RowsAffected => quote!(|v| ::core::option::Option::Some(*v)),
        Shape::Unit | Shape::Stream(_) => quote!(|_| ::core::option::Option::None),
    };
    let (tenant, call, connect) = if scoped {
        (
            quote!(let __tenant = ::tenantry::ScopeGuard::tenant(scope);),
            quote!(::core::option::Option::Some(__tenant)),
            quote!(::tenantry::ScopeGuard::connection(scope, self.db.pool())),
        )
    } else {
        (
            quote!(let __tenant = ::tenantry::__private::UNSCOPED;),
            quote!(::core::option::Option::None::<&::tenantry::TenantId>),
            quote!(::tenantry::UnscopedGuard::connection(unscoped, self.db.pool())),
        )
    };
    quote! {
        static METHOD: ::tenantry::__private::Method = ::tenantry::__private::Method {
            repository: #repository,
            name: #name,
            writes: #writes,
        };
        async move {
            #tenant
            let __call = ::tenantry::__private::begin(&self.db, &METHOD, #call).await?;
            let __result: ::tenantry::Result<_> = async {
                let mut __conn = #connect.await.map_err(|e| ::tenantry::__private::failed(&METHOD, __tenant, e))?;
                let __query = #query(#sql) #(#binds)*;
                #run
            }
            .await;
            __call.end(__result, #rows)
        }
    }
}

/// A stream binds and returns at once; the policy runs and the rows are read as the
/// caller polls.
fn stream_body(
    repo: &Repo,
    m: &Method,
    backend: Backend,
    row: &Row,
    rewritten: &tenantry_analyzer::Rewritten,
) -> TokenStream {
    let db = backend_type(backend);
    let sql = &rewritten.sql;
    let (repository, name, writes) = (repo.ident.to_string(), m.ident.to_string(), m.writes);
    let binds = binds(m, rewritten);
    let ty = &row.ty;
    let decode = if row.scalar { quote!(rows_scalar) } else { quote!(rows_as) };
    let (tenant, call, fetch) = if m.unscoped.is_none() {
        (
            quote!(let __tenant = ::tenantry::ScopeGuard::tenant(scope);),
            quote!(::core::option::Option::Some(__tenant)),
            quote!(::tenantry::ScopeGuard::fetch(scope, self.db.pool(), __query)),
        )
    } else {
        (
            quote!(let __tenant = ::tenantry::__private::UNSCOPED;),
            quote!(::core::option::Option::None::<&::tenantry::TenantId>),
            quote!(::tenantry::UnscopedGuard::fetch(unscoped, self.db.pool(), __query)),
        )
    };
    quote! {
        static METHOD: ::tenantry::__private::Method = ::tenantry::__private::Method {
            repository: #repository,
            name: #name,
            writes: #writes,
        };
        #tenant
        let __query = ::tenantry::__private::sqlx::query::<#db>(#sql) #(#binds)*;
        ::tenantry::__private::guarded_stream(&self.db, &METHOD, #call, move || {
            ::tenantry::__private::#decode::<#db, #ty, _>(&METHOD, __tenant, #fetch)
        })
    }
}

fn binds<'m>(m: &'m Method, rewritten: &'m tenantry_analyzer::Rewritten) -> impl Iterator<Item = TokenStream> + 'm {
    rewritten.binds.iter().map(|b| {
        if b == TENANT_PLACEHOLDER {
            quote!(.bind(__tenant))
        } else {
            let arg = m.args.iter().find(|a| a.ident == b).map(|a| a.ident.clone());
            let arg = arg.unwrap_or_else(|| format_ident!("{}", b, span = Span::call_site()));
            quote!(.bind(&#arg))
        }
    })
}

fn query_fn(row: &Row, db: &TokenStream) -> TokenStream {
    let ty = &row.ty;
    if row.scalar {
        quote!(::tenantry::__private::sqlx::query_scalar::<#db, #ty>)
    } else {
        quote!(::tenantry::__private::sqlx::query_as::<#db, #ty>)
    }
}
