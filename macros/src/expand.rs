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
    let colon = if supertraits.is_empty() { quote!() } else { quote!(:) };
    let declarations = repo.methods.iter().map(|m| {
        let attrs = &m.attrs;
        let sig = signature(m);
        quote! { #(#attrs)* #sig; }
    });
    let impls = repo.options.backends.iter().map(|backend| {
        let db = backend_type(*backend);
        let gate = format_ident!("__backend_{}", backend_feature(*backend));
        let methods = repo.methods.iter().map(|m| {
            let sig = signature(m);
            let body = body(repo, m, *backend);
            quote! { #sig { #body } }
        });
        let tables = tenant_tables(repo, *backend);
        quote! {
            ::tenantry::#gate! {
                impl #ident for #repo_ident<#db> {
                    #(#methods)*
                }

                impl #repo_ident<#db> {
                    /// The tenant-owned tables this repository's statements use, with their
                    /// tenant columns (a child table: none), for
                    /// [`Db::verify_isolation`](::tenantry::Db::verify_isolation).
                    #vis fn tenant_tables() -> ::std::vec::Vec<::tenantry::TenantTable> {
                        ::std::vec![#(#tables),*]
                    }
                }
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
        #vis trait #ident #colon #supertraits {
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

        #(#impls)*

        #(#tracked)*
        #warnings
    }
}

/// `TenantTable::new(..)` / `child(..)` for each tenant-owned table the methods use, named
/// as the migrations store it; global tables are not the audit's.
fn tenant_tables(repo: &Repo, backend: Backend) -> Vec<TokenStream> {
    use tenantry_analyzer::schema::Ownership;
    let schema = repo.options.schema(backend);
    let mut names: Vec<String> = Vec::new();
    for table in repo.methods.iter().flat_map(|m| &m.tables) {
        let stored = schema.catalog.as_ref().and_then(|c| c.table(backend, table)).map(|t| t.name.clone());
        let name = stored.unwrap_or_else(|| table.clone());
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
        .iter()
        .filter_map(|name| match schema.ownership(backend, name) {
            Ownership::Tenant { column } => Some(quote!(::tenantry::TenantTable::new(#name, #column))),
            Ownership::Child { .. } => Some(quote!(::tenantry::TenantTable::child(#name))),
            Ownership::Global | Ownership::Unclassified | Ownership::Unknown => None,
        })
        .collect()
}

/// The runtime feature a backend needs.
fn backend_feature(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
        Backend::MySql => "mysql",
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

/// `fn name<'tenantry>(&'tenantry self, scope: &'tenantry dyn Guard, args..) -> BoxFuture<'tenantry, R>`:
/// object-safe (no type parameter, a boxed future), so that the trait works as `dyn
/// Trait` and one compiled body serves every guard. The arguments' elided lifetimes are
/// `'tenantry` too, so that a hand-written implementation can use them in its future.
fn signature(m: &Method) -> TokenStream {
    let ident = &m.ident;
    let output = &m.output;
    let lifetime = syn::Lifetime::new("'tenantry", Span::call_site());
    let args = m.args.iter().map(|a| {
        let (i, t) = (&a.ident, with_elided(&a.ty, &lifetime));
        quote!(#i: #t)
    });
    let (guard_arg, guard) = match guard(m) {
        Guard::Unscoped => (quote!(unscoped), quote!(::tenantry::UnscopedGuard)),
        Guard::Read => (quote!(scope), quote!(::tenantry::ReadGuard)),
        Guard::One => (quote!(scope), quote!(::tenantry::ScopeGuard)),
    };
    // `self` with the span of the generated bodies' `self` (the attribute's): `self` is
    // hygienic, and a trait that reaches the attribute through a `macro_rules!` would
    // otherwise have a receiver its bodies cannot name.
    let receiver = quote!(self);
    let output = if let Some(Shape::Stream(_)) = &m.shape {
        // The user's own spelling of the type (so that their `use` of it counts), with
        // the stream's lifetime tied to `self` and the guard.
        let output = with_lifetime(output, &lifetime);
        quote!(#output)
    } else {
        quote!(::tenantry::BoxFuture<'tenantry, #output>)
    };
    quote_spanned! {m.ident.span()=>
        fn #ident<'tenantry>(&'tenantry #receiver, #guard_arg: &'tenantry dyn #guard, #(#args),*) -> #output
    }
}

/// `ty` with every elided reference lifetime (`&T`, `'_`) written as `lifetime`.
fn with_elided(ty: &syn::Type, lifetime: &syn::Lifetime) -> syn::Type {
    let mut ty = ty.clone();
    name_elided(&mut ty, lifetime);
    ty
}

fn name_elided(ty: &mut syn::Type, lifetime: &syn::Lifetime) {
    use syn::{GenericArgument, PathArguments, Type};
    let named = |l: &mut syn::Lifetime| {
        if l.ident == "_" {
            *l = lifetime.clone();
        }
    };
    match ty {
        Type::Reference(r) => {
            match &mut r.lifetime {
                None => r.lifetime = Some(lifetime.clone()),
                Some(l) => named(l),
            }
            name_elided(&mut r.elem, lifetime);
        }
        Type::Path(p) => {
            for segment in p.path.segments.iter_mut() {
                if let PathArguments::AngleBracketed(args) = &mut segment.arguments {
                    for arg in args.args.iter_mut() {
                        match arg {
                            GenericArgument::Type(t) => name_elided(t, lifetime),
                            GenericArgument::Lifetime(l) => named(l),
                            _ => {}
                        }
                    }
                }
            }
        }
        Type::Slice(s) => name_elided(&mut s.elem, lifetime),
        Type::Array(a) => name_elided(&mut a.elem, lifetime),
        Type::Tuple(t) => t.elems.iter_mut().for_each(|t| name_elided(t, lifetime)),
        Type::Paren(p) => name_elided(&mut p.elem, lifetime),
        Type::Group(g) => name_elided(&mut g.elem, lifetime),
        _ => {}
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
    quote! { let _ = (#guard, #(&#args),*); ::core::unreachable!("tenantry: this method did not compile") }
}

/// Binds the statement's arguments in place and hands it to the runner of the method's
/// shape (`runtime/src/private.rs`), which does the rest; the body is the same for every
/// guard.
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
    let view = match guard(m) {
        Guard::Unscoped => quote!(::tenantry::UnscopedGuard::view(unscoped)),
        _ => quote!(::tenantry::ReadGuard::view(scope)),
    };
    let query = match (guard(m), set) {
        (Guard::Read, Some(set)) if set.binds == rewritten.binds => {
            let (one_sql, set_sql) = (&rewritten.sql, &set.sql);
            let binds = binds(m, rewritten);
            quote! {
                let __query = ::tenantry::__private::sqlx::query::<#db>(if __view.is_set() { #set_sql } else { #one_sql });
                #(#binds)*
            }
        }
        (Guard::Read, Some(set)) => {
            let (one, many) = (statement(m, rewritten, &db), statement(m, set, &db));
            quote! {
                let __query = if __view.is_set() { #many } else { #one };
            }
        }
        _ => {
            let one = statement(m, rewritten, &db);
            quote! { let __query = #one; }
        }
    };
    let runner = |name: &str| {
        let f = format_ident!("{}", name);
        quote!(::tenantry::__private::#f)
    };
    // The decoder with the row type's span: a type that does not decode is reported there.
    let decoder = |row: &Row| {
        let ty = &row.ty;
        let span = syn::spanned::Spanned::span(ty);
        if row.scalar {
            quote_spanned!(span=> ::tenantry::__private::from_column::<#db, #ty>)
        } else {
            quote_spanned!(span=> ::tenantry::__private::from_row::<#db, #ty>)
        }
    };
    let run = match shape {
        Shape::Many(row) => (runner("fetch_all"), Some(decoder(row))),
        Shape::Optional(row) => (runner("fetch_optional"), Some(decoder(row))),
        // At most one row: read it as `fetch_one` would, no second poll for a second row.
        Shape::One(row) if m.at_most_one_row => (runner("fetch_single"), Some(decoder(row))),
        Shape::One(row) => (runner("fetch_one"), Some(decoder(row))),
        Shape::Stream(row) => (runner("stream"), Some(decoder(row))),
        Shape::RowsAffected => (runner("rows_affected"), None),
        Shape::Unit => (runner("execute"), None),
    };
    let call = match run {
        (f, Some(d)) => quote!(#f(&self.db, &METHOD, __view, __query, #d)),
        (f, None) => quote!(#f::<#db>(&self.db, &METHOD, __view, __query)),
    };
    quote! {
        #method
        let __view = #view;
        #query
        #call
    }
}

/// The statement with its arguments bound, as one block.
fn statement(m: &Method, rewritten: &Rewritten, db: &TokenStream) -> TokenStream {
    let sql = &rewritten.sql;
    let binds = binds(m, rewritten);
    quote! {{
        let __query = ::tenantry::__private::sqlx::query::<#db>(#sql);
        #(#binds)*
        __query
    }}
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

/// `let __query = ..bind(..);` for each placeholder in order; `:tenant` binds the guard's
/// tenant, an argument binds with its own span (a type that cannot bind is reported there).
fn binds<'m>(m: &'m Method, rewritten: &'m Rewritten) -> impl Iterator<Item = TokenStream> + 'm {
    rewritten.binds.iter().map(move |b| {
        if b == TENANT_PLACEHOLDER {
            quote!(let __query = __query.bind(__view.tenant());)
        } else {
            let arg = m.args.iter().find(|a| a.ident == b);
            let ident =
                arg.map(|a| a.ident.clone()).unwrap_or_else(|| format_ident!("{}", b, span = Span::call_site()));
            // `&` with the argument's span too, so that the expression is the argument's.
            let span = ident.span();
            let (bind, borrow) = (quote_spanned!(span=> ::tenantry::__private::bind), quote_spanned!(span=> &));
            quote!(let __query = #bind(__query, #borrow #ident);)
        }
    })
}
