//! Procedural macros of [tenantry](https://docs.rs/tenantry). Use them through the
//! `tenantry` crate, which re-exports them with everything generated code needs.
//!
//! One pipeline, as in thiserror and sqlx: [`model`] parses the trait into plain data,
//! [`validate`] checks every statement and signature (errors accumulate, each on its own
//! span), [`expand`] writes the code. A method that fails validation still expands, to a
//! stub, so that the user sees the real error and no follow-on noise.

mod expand;
mod model;
mod options;
mod shape;
mod validate;

use proc_macro::TokenStream;

/// Turns a trait of `#[sql("...")]` methods into a tenant-confined repository.
///
/// See the `tenantry` crate for the full documentation.
#[proc_macro_attribute]
pub fn tenant_repository(args: TokenStream, input: TokenStream) -> TokenStream {
    let args = proc_macro2::TokenStream::from(args);
    let input = proc_macro2::TokenStream::from(input);
    run(args, input).into()
}

fn run(args: proc_macro2::TokenStream, input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let mut errors: Option<syn::Error> = None;
    let options = options::Options::parse(args).unwrap_or_else(|e| {
        errors = Some(e);
        options::Options::fallback()
    });
    let item: syn::ItemTrait = match syn::parse2(input) {
        Ok(item) => item,
        Err(e) => {
            let mut e = e;
            if let Some(prev) = errors {
                e.combine(prev);
            }
            return e.to_compile_error();
        }
    };
    let (mut repo, trait_errors) = model::Repo::parse(item, options);
    validate::validate(&mut repo);
    let method_errors = repo.methods.iter().flat_map(|m| m.errors.iter().cloned());
    for e in trait_errors.into_iter().chain(method_errors) {
        match &mut errors {
            Some(all) => all.combine(e),
            None => errors = Some(e),
        }
    }
    let mut out = expand::expand(&repo);
    if let Some(e) = errors {
        out.extend(e.to_compile_error());
    }
    out
}
