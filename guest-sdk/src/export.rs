//! The component glue `#[plugin]` expands to when compiling for `wasm32`:
//! the `hooks` exports of the WIT world, backed by one plugin instance per
//! thread. Not for direct use.

use std::cell::RefCell;
use std::panic::PanicHookInfo;
use std::sync::Once;
use std::thread::LocalKey;

use crate::plugin::{info, instantiate};
use crate::{Attempt, Decision, Outcome, Plugin, PluginInfo, Request};

/// Where the generated glue keeps the plugin instance.
pub type State<T> = LocalKey<RefCell<Option<T>>>;

/// Exports `$plugin` (which implements `Plugin`) as the component's
/// `hooks`. Expanded by `#[plugin]`; not for direct use.
#[doc(hidden)]
#[macro_export]
macro_rules! __guest_sdk_export {
    ($plugin:ty) => {
        const _: () = {
            ::std::thread_local! {
                static STATE: ::core::cell::RefCell<::core::option::Option<$plugin>> =
                    const { ::core::cell::RefCell::new(::core::option::Option::None) };
            }

            struct Export;

            impl $crate::bindings::exports::toolbelt::plugin::hooks::Guest for Export {
                fn describe() -> ::core::result::Result<$crate::PluginInfo, ::std::string::String> {
                    $crate::export::describe(&STATE)
                }
                fn init_session(
                    session: $crate::SessionSettings,
                ) -> ::core::result::Result<$crate::SessionSettings, ::std::string::String>
                {
                    $crate::export::call(&STATE, |plugin| {
                        $crate::Plugin::init_session(plugin, session)
                    })
                }
                fn auth_session(
                    session: $crate::SessionSettings,
                ) -> ::core::result::Result<$crate::SessionSettings, ::std::string::String>
                {
                    $crate::export::call(&STATE, |plugin| {
                        $crate::Plugin::auth_session(plugin, session)
                    })
                }
                fn authorize(
                    request: &$crate::bindings::toolbelt::plugin::types::Request,
                ) -> ::core::result::Result<(), ::std::string::String> {
                    $crate::export::authorize(&STATE, request)
                }
                fn decide_retry(
                    request: &$crate::bindings::toolbelt::plugin::types::Request,
                    outcome: &$crate::bindings::toolbelt::plugin::types::AttemptOutcome,
                    attempt: $crate::Attempt,
                ) -> ::core::result::Result<$crate::Decision, ::std::string::String> {
                    $crate::export::decide_retry(&STATE, request, outcome, attempt)
                }
            }

    $crate::bindings::export!(Export with_types_in $crate::bindings);
        };
    };
}

/// The `describe` export: makes a fresh, configured instance and says what
/// the plugin is, or why its configuration is refused.
pub fn describe<T: Plugin>(state: &'static State<T>) -> Result<PluginInfo, String> {
    install_panic_hook();
    let plugin = instantiate::<T>()?;
    let info = info(&plugin);
    state.set(Some(plugin));
    Ok(info)
}

/// Runs `hook` on the instance, making it first (as `describe` does) if
/// no `describe` came before.
pub fn call<T: Plugin, R>(
    state: &'static State<T>,
    hook: impl FnOnce(&mut T) -> Result<R, String>,
) -> Result<R, String> {
    state.with_borrow_mut(|slot| {
        if let Some(plugin) = slot.as_mut() {
            return hook(plugin);
        }
        install_panic_hook();
        hook(slot.insert(instantiate::<T>()?))
    })
}

/// The `authorize` export: lends the host's request to the plugin.
pub fn authorize<T: Plugin>(
    state: &'static State<T>,
    request: &crate::bindings::toolbelt::plugin::types::Request,
) -> Result<(), String> {
    let mut handle = request;
    call(state, |plugin| {
        plugin.authorize(&mut Request::new(&mut handle))
    })
}

/// The `decide-retry` export: lends the host's request and outcome.
pub fn decide_retry<T: Plugin>(
    state: &'static State<T>,
    request: &crate::bindings::toolbelt::plugin::types::Request,
    outcome: &crate::bindings::toolbelt::plugin::types::AttemptOutcome,
    attempt: Attempt,
) -> Result<Decision, String> {
    let mut handle = request;
    let request = Request::new(&mut handle);
    let outcome = Outcome::new(outcome);
    call(state, |plugin| {
        plugin.decide_retry(&request, &outcome, &attempt)
    })
}

/// Makes panics log their message to the host at error level before the
/// instance traps: the host adds the plugin's last error log to the trap's
/// message, so the operator sees why.
fn install_panic_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| std::panic::set_hook(Box::new(log_panic)));
}

/// The panic hook: one error log line with the message and the place.
fn log_panic(panic: &PanicHookInfo<'_>) {
    let message = panic.payload_as_str().unwrap_or("(no message)");
    let message = match panic.location() {
        Some(location) => format!("panicked at {location}: {message}"),
        None => format!("panicked: {message}"),
    };
    crate::log::error(&message);
}
