//! `#[derive(Trace)]` for `gc-core`.
//!
//! Use it through the re-export `gc_core::Trace`, which names both the trait
//! and this derive. The generated `unsafe impl` reports every field's edges by
//! calling `Trace::trace` on each field in declaration order (for an enum, on
//! the fields of the active variant), and sets `Trace::TRACKED` to whether any
//! field type is tracked, so a type made only of numbers and strings is never
//! watched by the cycle collector. A field whose type names the type itself
//! (`Self` or its own name, as in `Option<Gc<Self>>`) makes it tracked
//! outright: such a type can form cycles, and asking that field's type for
//! `TRACKED` would ask the type itself, which does not compile.
//!
//! ```ignore
//! use gc_core::{Gc, Trace};
//!
//! #[derive(Trace)]
//! struct Node {
//!     value: i64,
//!     next: Option<Gc<Node>>,
//! }
//!
//! #[derive(Trace)]
//! enum Expr {
//!     Literal(f64),
//!     Add { lhs: Gc<Expr>, rhs: Gc<Expr> },
//! }
//! ```
//!
//! Unions are rejected.
//!
//! # Attributes
//!
//! ## `#[gc(skip)]` on a field
//!
//! The field is neither traced nor required to implement `Trace`, and its type
//! does not count towards `TRACKED`. The field must not own a `Gc`: one that
//! it does is never reported, so a cycle through it is never collected (a
//! leak, not unsoundness).
//!
//! ```ignore
//! #[derive(Trace)]
//! struct Connection {
//!     peer: Gc<Peer>,
//!     #[gc(skip)]
//!     socket: std::net::TcpStream,
//! }
//! ```
//!
//! ## `#[gc(bound = "...")]` on the type
//!
//! By default the impl requires `T: Trace` for every type parameter `T`, in
//! addition to the type's own where-clause. `bound` replaces those inferred
//! bounds with exactly the given where-predicates; `bound = ""` adds none.
//!
//! ```ignore
//! #[derive(Trace)]
//! #[gc(bound = "")]
//! struct Handle<T> {
//!     target: Gc<Slot>,
//!     #[gc(skip)]
//!     marker: std::marker::PhantomData<T>,
//! }
//! ```
//!
//! ## `#[gc(finalize)]` on the type
//!
//! Sets `Trace::FINALIZER` to the type's `Finalize::finalize`, which must be
//! implemented by hand: the collector's finalizer hook, like Python's
//! `__del__`. Without this attribute `FINALIZER` keeps its default, `None`.
//!
//! ```ignore
//! use gc_core::{Finalize, Gc, Trace};
//!
//! #[derive(Trace)]
//! #[gc(finalize)]
//! struct TempFile {
//!     path: String,
//! }
//!
//! impl Finalize for TempFile {
//!     fn finalize(this: &Gc<Self>) {
//!         let _ = std::fs::remove_file(&this.path);
//!     }
//! }
//! ```
//!
//! Options combine within one attribute or across several:
//! `#[gc(finalize, bound = "T: Trace + Send")]`.

mod attr;

use proc_macro::TokenStream;
use proc_macro2::{TokenStream as TokenStream2, TokenTree};
use quote::{format_ident, quote, ToTokens};
use syn::{parse_macro_input, parse_quote, Data, DeriveInput, Fields, Ident, Member, Type};

use crate::attr::ContainerAttrs;

/// Derives `gc_core::Trace`; see the crate documentation for the `gc` attributes.
#[proc_macro_derive(Trace, attributes(gc))]
pub fn derive_trace(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let attrs = ContainerAttrs::parse(&input.attrs)?;

    // Types of all traced fields, and the body of `trace`.
    let (field_types, body): (Vec<&Type>, TokenStream2) = match &input.data {
        Data::Struct(data) => {
            let (members, types): (Vec<_>, Vec<_>) =
                traced_fields(&data.fields)?.into_iter().unzip();
            let body = quote! { #(::gc_core::Trace::trace(&self.#members, tracer);)* };
            (types, body)
        }
        Data::Enum(data) => {
            let mut types = Vec::new();
            let mut arms = Vec::new();
            for variant in &data.variants {
                attr::reject_on_variant(&variant.attrs)?;
                let (members, variant_types): (Vec<_>, Vec<_>) =
                    traced_fields(&variant.fields)?.into_iter().unzip();
                let bindings: Vec<_> = (0..members.len())
                    .map(|i| format_ident!("__field{}", i))
                    .collect();
                let name = &variant.ident;
                arms.push(quote! {
                    Self::#name { #(#members: #bindings,)* .. } => {
                        #(::gc_core::Trace::trace(#bindings, tracer);)*
                    }
                });
                types.extend(variant_types);
            }
            (types, quote! { match self { #(#arms)* } })
        }
        Data::Union(data) => {
            return Err(syn::Error::new_spanned(
                data.union_token,
                "`Trace` cannot be derived for unions",
            ))
        }
    };

    let mut generics = input.generics.clone();
    let where_clause = generics.make_where_clause();
    match attrs.bound {
        Some(bound) => where_clause.predicates.extend(bound),
        None => {
            for param in input.generics.type_params() {
                let ident = &param.ident;
                where_clause
                    .predicates
                    .push(parse_quote!(#ident: ::gc_core::Trace));
            }
        }
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();

    let finalizer = attrs.finalize.then(|| {
        quote! {
            const FINALIZER: ::core::option::Option<fn(&::gc_core::Gc<Self>)> =
                ::core::option::Option::Some(<Self as ::gc_core::Finalize>::finalize);
        }
    });

    // Without traced fields the body is empty and would leave `tracer` unused.
    let (tracer, body) = if field_types.is_empty() {
        (format_ident!("_tracer"), TokenStream2::new())
    } else {
        (format_ident!("tracer"), body)
    };

    let name = &input.ident;
    let tracked = field_types.iter().map(|ty| {
        if names_itself(ty.to_token_stream(), name) {
            quote!(true)
        } else {
            quote!(<#ty as ::gc_core::Trace>::TRACKED)
        }
    });
    Ok(quote! {
        #[automatically_derived]
        unsafe impl #impl_generics ::gc_core::Trace for #name #ty_generics #where_clause {
            const TRACKED: bool = false #(|| #tracked)*;
            #finalizer
            #[inline]
            fn trace(&self, #tracer: &mut ::gc_core::Tracer<'_>) {
                #body
            }
        }
    })
}

/// The non-skipped fields in declaration order, as (`self.<member>`, type) pairs.
fn traced_fields(fields: &Fields) -> syn::Result<Vec<(Member, &Type)>> {
    let mut traced = Vec::new();
    for (index, field) in fields.iter().enumerate() {
        if !attr::is_skipped(&field.attrs)? {
            let member = match &field.ident {
                Some(ident) => Member::Named(ident.clone()),
                None => Member::Unnamed(index.into()),
            };
            traced.push((member, &field.ty));
        }
    }
    Ok(traced)
}

/// Whether a field type mentions `Self` or the deriving type's own name.
fn names_itself(tokens: TokenStream2, name: &Ident) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Ident(ident) => ident == "Self" || ident == *name,
        TokenTree::Group(group) => names_itself(group.stream(), name),
        TokenTree::Punct(_) | TokenTree::Literal(_) => false,
    })
}
