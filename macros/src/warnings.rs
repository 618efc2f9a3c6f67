//! Warnings from a stable proc macro, which has no API for them: each is a
//! `#[deprecated(note = "...")]` function the expansion calls, under the trait's name, so
//! that rustc's `deprecated` lint shows the note there:
//!
//! ```text
//! warning: use of deprecated function `Invoices::tenantry_warning`:
//!              countries: is declared global twice
//!              fix: remove one of them (...)
//!              (a tenantry warning, shown through the `deprecated` lint: `#[allow(deprecated)]` on the trait silences it)
//!  --> src/lib.rs:5:11
//!   |
//! 5 | pub trait Invoices {
//!   |           ^^^^^^^^
//! ```
//!
//! It is a real `deprecated` warning, so `-D warnings` makes it an error (said, not
//! silent). `#[allow(deprecated)]` on the trait silences it (the trait's lint attributes
//! are copied onto the function), as does a crate-wide `#![allow(deprecated)]`. No other
//! lint carries a message of the macro's on stable Rust.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::{Attribute, Ident};
use tenantry_analyzer::schema::Finding;

/// The items that show `findings` as warnings on the trait `ident`, whose attributes
/// are `attrs` (their lint levels and `cfg`s apply to the warnings too). Empty when
/// there are no findings.
pub fn warnings(ident: &Ident, attrs: &[Attribute], findings: &[Finding]) -> TokenStream {
    if findings.is_empty() {
        return TokenStream::new();
    }
    let levels = attrs
        .iter()
        .filter(|a| ["allow", "warn", "deny", "forbid", "cfg", "cfg_attr"].iter().any(|name| a.path().is_ident(name)));
    let each = findings.iter().map(|f| {
        let note = note(f);
        // The trait's span, so that the warning points at the trait's name.
        let name = Ident::new("tenantry_warning", ident.span());
        quote_spanned! {ident.span()=>
            {
                #[deprecated(note = #note)]
                fn #name() {}
                #name();
            }
        }
    });
    // Named after the trait (a function and a trait live in different namespaces), so
    // that the warning's headline reads `Invoices::tenantry_warning`.
    let function = Ident::new(&ident.to_string(), ident.span());
    quote! {
        #(#levels)*
        #[allow(non_snake_case, dead_code)]
        fn #function() {
            #(#each)*
        }
    }
}

/// The warning's text: rustc prints it after `use of deprecated function ...: `, each
/// line indented under the headline (as proc-macro-warning lays its warnings out).
fn note(f: &Finding) -> String {
    format!(
        "\n    {}: {}\n    fix: {}\n    (a tenantry warning, shown through the `deprecated` lint: `#[allow(deprecated)]` on the trait silences it)",
        f.table, f.problem, f.fix
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::format_ident;

    fn finding() -> Finding {
        Finding {
            table: "pages".into(),
            problem: "has no tenant column".into(),
            fix: "ALTER TABLE pages ADD tenant_id".into(),
        }
    }

    #[test]
    fn no_findings_no_items() {
        assert!(warnings(&format_ident!("Invoices"), &[], &[]).is_empty());
    }

    #[test]
    fn a_finding_is_a_deprecated_function_called_under_the_traits_name() {
        let attrs: Vec<Attribute> = vec![
            syn::parse_quote!(#[allow(deprecated)]),
            syn::parse_quote!(#[doc = "x"]),
            syn::parse_quote!(#[cfg(test)]),
        ];
        let out = warnings(&format_ident!("Invoices"), &attrs, &[finding(), finding()]).to_string();
        let expected = quote! {
            #[allow(deprecated)]
            #[cfg(test)]
            #[allow(non_snake_case, dead_code)]
            fn Invoices() {
                {
                    #[deprecated(note = "\n    pages: has no tenant column\n    fix: ALTER TABLE pages ADD tenant_id\n    (a tenantry warning, shown through the `deprecated` lint: `#[allow(deprecated)]` on the trait silences it)")]
                    fn tenantry_warning() {}
                    tenantry_warning();
                }
                {
                    #[deprecated(note = "\n    pages: has no tenant column\n    fix: ALTER TABLE pages ADD tenant_id\n    (a tenantry warning, shown through the `deprecated` lint: `#[allow(deprecated)]` on the trait silences it)")]
                    fn tenantry_warning() {}
                    tenantry_warning();
                }
            }
        };
        assert_eq!(out, expected.to_string());
    }
}
