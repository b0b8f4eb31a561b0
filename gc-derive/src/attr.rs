//! Parsing of the `#[gc(...)]` helper attributes.

use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::punctuated::Punctuated;
use syn::{Attribute, LitStr, Token, WherePredicate};

/// Options given on the deriving type itself.
#[derive(Default)]
pub struct ContainerAttrs {
    /// `#[gc(finalize)]`: use `Finalize::finalize` as the finalizer.
    pub finalize: bool,
    /// `#[gc(bound = "...")]`: where-predicates replacing the inferred `T: Trace` bounds.
    pub bound: Option<Punctuated<WherePredicate, Token![,]>>,
}

impl ContainerAttrs {
    pub fn parse(attrs: &[Attribute]) -> syn::Result<Self> {
        let mut parsed = Self::default();
        for attr in gc_attrs(attrs) {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("finalize") {
                    if parsed.finalize {
                        return Err(meta.error("duplicate `gc(finalize)` attribute"));
                    }
                    parsed.finalize = true;
                } else if meta.path.is_ident("bound") {
                    if parsed.bound.is_some() {
                        return Err(meta.error("duplicate `gc(bound)` attribute"));
                    }
                    let bound: LitStr = meta.value()?.parse()?;
                    parsed.bound = Some(bound.parse_with(Punctuated::parse_terminated)?);
                } else {
                    return Err(unknown(&meta, "`finalize` or `bound = \"...\"`"));
                }
                Ok(())
            })?;
        }
        Ok(parsed)
    }
}

/// Whether a field is marked `#[gc(skip)]`.
pub fn is_skipped(attrs: &[Attribute]) -> syn::Result<bool> {
    let mut skip = false;
    for attr in gc_attrs(attrs) {
        attr.parse_nested_meta(|meta| {
            if !meta.path.is_ident("skip") {
                return Err(unknown(&meta, "`skip`"));
            }
            if skip {
                return Err(meta.error("duplicate `gc(skip)` attribute"));
            }
            skip = true;
            Ok(())
        })?;
    }
    Ok(skip)
}

/// Rejects `#[gc(...)]` on an enum variant, which takes no options.
pub fn reject_on_variant(attrs: &[Attribute]) -> syn::Result<()> {
    match gc_attrs(attrs).next() {
        Some(attr) => Err(syn::Error::new_spanned(
            attr,
            "`gc` attributes are not supported on enum variants; put `#[gc(skip)]` on fields",
        )),
        None => Ok(()),
    }
}

fn gc_attrs(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs.iter().filter(|attr| attr.path().is_ident("gc"))
}

fn unknown(meta: &ParseNestedMeta<'_>, expected: &str) -> syn::Error {
    let key = meta.path.to_token_stream().to_string().replace(' ', "");
    meta.error(format_args!(
        "unknown `gc` attribute `{key}`; expected {expected}"
    ))
}
