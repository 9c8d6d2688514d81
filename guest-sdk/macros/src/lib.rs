//! The `#[plugin]` attribute of [guest-sdk], re-exported there as
//! `guest_sdk::plugin`. Depend on `guest-sdk`, not on this crate.
//!
//! [guest-sdk]: ../guest_sdk/index.html

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::{ToTokens, quote};
use syn::spanned::Spanned;
use syn::{Error, ImplItem, Item, ItemImpl, parse_macro_input};

/// The hooks of `guest_sdk::Plugin` the host may call, with the `HookSet`
/// flag that tells the host a plugin implements each.
const HOOKS: &[(&str, &str)] = &[
    ("init_session", "INIT_SESSION"),
    ("auth_session", "AUTH_SESSION"),
    ("authorize", "AUTHORIZE"),
    ("decide_retry", "DECIDE_RETRY"),
];

/// How the attribute is used, for error messages.
const USAGE: &str =
    "#[guest_sdk::plugin] goes on the block `impl guest_sdk::Plugin for YourType { ... }`";

/// Exports a type as a tb-host plugin. Goes on the one
/// `impl guest_sdk::Plugin for YourType { ... }` block of a plugin crate.
///
/// The impl is kept as written. The attribute adds an implementation of
/// `guest_sdk::Described`, whose hook set lists exactly the hooks this
/// block defines (the host calls no others), and, when compiling for
/// `wasm32`, the component exports that run the plugin. Use it once per
/// crate: a component exports one plugin. See the
/// `guest_sdk` crate documentation for a whole example.
#[proc_macro_attribute]
pub fn plugin(args: TokenStream, item: TokenStream) -> TokenStream {
    if !args.is_empty() {
        let args = proc_macro2::TokenStream::from(args);
        return Error::new(args.span(), "#[guest_sdk::plugin] takes no arguments")
            .to_compile_error()
            .into();
    }
    let item = match parse_macro_input!(item as Item) {
        Item::Impl(item) => item,
        other => {
            return Error::new(other.span(), format!("{USAGE}; this is not an impl block"))
                .to_compile_error()
                .into();
        }
    };
    match expand(&item) {
        Ok(tokens) => tokens.into(),
        Err(error) => {
            let mut tokens = error.to_compile_error();
            item.to_tokens(&mut tokens);
            tokens.into()
        }
    }
}

/// The impl block followed by the code the attribute generates for it.
fn expand(item: &ItemImpl) -> syn::Result<proc_macro2::TokenStream> {
    check_shape(item)?;
    let plugin = &item.self_ty;
    let defined: Vec<String> = item
        .items
        .iter()
        .filter_map(|member| match member {
            ImplItem::Fn(function) => Some(function.sig.ident.to_string()),
            _ => None,
        })
        .collect();
    let flags: Vec<proc_macro2::Ident> = HOOKS
        .iter()
        .filter(|(hook, _)| defined.iter().any(|name| name == hook))
        .map(|(_, flag)| proc_macro2::Ident::new(flag, Span::call_site()))
        .collect();
    let hooks = if flags.is_empty() {
        quote!(::guest_sdk::HookSet::empty())
    } else {
        quote!(#(::guest_sdk::HookSet::#flags)|*)
    };
    Ok(quote! {
        #item

        impl ::guest_sdk::Described for #plugin {
            const NAME: &'static str = ::core::env!("CARGO_PKG_NAME");
            const VERSION: &'static str = ::core::env!("CARGO_PKG_VERSION");
            fn hooks() -> ::guest_sdk::HookSet {
                #hooks
            }
        }

        #[cfg(target_arch = "wasm32")]
        ::guest_sdk::__guest_sdk_export!(#plugin);

        // Off wasm32 nothing exports the plugin; this does what the exports
        // do there (make and configure it), so the plugin type and what it
        // uses are not dead code in native builds and tests.
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn() -> ::core::result::Result<
            ::guest_sdk::testing::Instance<#plugin>,
            ::std::string::String,
        > =
            ::guest_sdk::testing::run::<#plugin>;
    })
}

/// Checks that `item` is a plain `impl Plugin for Type` block.
fn check_shape(item: &ItemImpl) -> syn::Result<()> {
    let Some((negative, path, _)) = &item.trait_ else {
        return Err(Error::new(
            item.self_ty.span(),
            format!("{USAGE}; this is an inherent impl, not an impl of `Plugin`"),
        ));
    };
    let names_plugin = path
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "Plugin" && segment.arguments.is_empty());
    if !names_plugin {
        return Err(Error::new(
            path.span(),
            format!("{USAGE}; this implements `{}`", path_text(path)),
        ));
    }
    if negative.is_some() || item.unsafety.is_some() {
        return Err(Error::new(path.span(), USAGE));
    }
    if !item.generics.params.is_empty() {
        return Err(Error::new(
            item.generics.span(),
            "a plugin type cannot be generic: the component exports one concrete type",
        ));
    }
    Ok(())
}

/// `path` as written, without the spaces of a token stream.
fn path_text(path: &syn::Path) -> String {
    let segments: Vec<String> = path
        .segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect();
    let root = if path.leading_colon.is_some() {
        "::"
    } else {
        ""
    };
    format!("{root}{}", segments.join("::"))
}
