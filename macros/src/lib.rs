//! Procedural macros of [tenantry](https://docs.rs/tenantry). Use them through the
//! `tenantry` crate, which re-exports them with everything generated code needs.
//!
//! One pipeline, as in thiserror and sqlx: `model` parses the trait into plain data,
//! `validate` checks every statement and signature (errors accumulate, each on its own
//! span), `expand` writes the code. A method that fails validation still expands, to a
//! stub, so that the user sees the real error and no follow-on noise.

mod expand;
mod model;
mod options;
mod shape;
mod validate;
mod warnings;

use proc_macro::TokenStream;

/// Turns a trait of `#[sql("...")]` methods into a tenant-confined repository.
///
/// See the `tenantry` crate and its README for the full documentation.
///
/// # Options
///
/// `backends(...)` (required), `global(...)` (alias `shared(...)`: added to
/// `tenantry.toml`'s `global`), `allow_functions(...)`, and, overriding `tenantry.toml`
/// for this trait: `tenant_column = "..."`, `tenant_table = "..."`, `migrations = "..."`.
///
/// # `tenantry.toml`
///
/// Read from `CARGO_MANIFEST_DIR` when the macro expands; the defaults without it:
///
/// ```toml
/// migrations = "migrations"
/// tenant_column = "tenant_id"
/// tenant_table = "tenants"
/// global = ["countries", "currencies"]
///
/// [tables.jobs]
/// tenant_column = "tenantId"
/// ```
///
/// # Paths
///
/// A path is relative to the file it is written in, as for `include_str!`: `migrations`
/// in `tenantry.toml` to the crate's folder; `migrations = "..."` on the trait to the
/// folder of the source file holding the trait (`CARGO_MANIFEST_DIR` when the compiler
/// names no file). So a trybuild case, which trybuild compiles inside a project it
/// generates under `target/tests/trybuild/` (its `CARGO_MANIFEST_DIR`; nothing but
/// `Cargo.lock` is copied there), can name a folder beside its own `.rs` file. A folder
/// named explicitly must exist; the default `migrations` may be missing (no catalog).
///
/// # Recompiling
///
/// The expansion `include_bytes!`s `tenantry.toml` and every migration it read, so that
/// changing one recompiles the trait. A *new* migration is not seen that way (rustc
/// tracks only the files it was given); as for sqlx's `migrate!`, a build script makes
/// Cargo rebuild the crate whenever anything in the folder changes:
///
/// ```text
/// // build.rs
/// fn main() {
///     println!("cargo:rerun-if-changed=migrations");
/// }
/// ```
///
/// (Do not name a `tenantry.toml` that does not exist in `rerun-if-changed`: Cargo then
/// rebuilds the crate on every build.)
///
/// # Warnings
///
/// Stable proc macros cannot emit warnings, so the macro's warnings (the schema lint's
/// findings) are `deprecated` warnings on the trait's name:
///
/// ```text
/// warning: use of deprecated function `Invoices::tenantry_warning`:
///              countries: is declared global twice
///              fix: remove one of them (...)
///              (a tenantry warning, shown through the `deprecated` lint: `#[allow(deprecated)]` on the trait silences it)
/// ```
///
/// Under `-D warnings` they are errors; `#[allow(deprecated)]` on the trait (or on the
/// crate) silences them.
#[proc_macro_attribute]
pub fn tenant_repository(args: TokenStream, input: TokenStream) -> TokenStream {
    let args = proc_macro2::TokenStream::from(args);
    let input = proc_macro2::TokenStream::from(input);
    run(args, input, &options::Context::current()).into()
}

fn run(
    args: proc_macro2::TokenStream,
    input: proc_macro2::TokenStream,
    context: &options::Context,
) -> proc_macro2::TokenStream {
    let mut errors: Option<syn::Error> = None;
    let mut check_methods = true;
    let options = options::Options::parse(args, context).unwrap_or_else(|failure| {
        let failure = *failure;
        errors = Some(failure.error);
        check_methods = failure.check_methods;
        failure.fallback
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
    if !check_methods {
        // The configuration is wrong: its error is the one to read, and what the methods'
        // checks would say under it is noise. They expand to stubs.
        repo.methods.iter_mut().for_each(|m| m.ok = false);
    }
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
