//! The [`Plugin`] trait a plugin type implements, and [`Described`], which
//! `#[plugin]` implements for it. `Plugin` requires `Described`, so an
//! `impl Plugin` block without the attribute does not compile: it would
//! otherwise build into a component that exports no hooks, refused by the
//! host at load.

use crate::{
    Attempt, ConfigKey, Decision, HookSet, Outcome, PluginInfo, Request, RetryBudget,
    SessionSettings,
};

/// A tb-host plugin: one type, one instance per worker thread.
///
/// Every method has a neutral default, so a plugin defines only the hooks
/// it needs, in one `impl Plugin for YourType` block marked
/// [`#[guest_sdk::plugin]`](crate::plugin). That attribute tells the host
/// which of [`init_session`](Plugin::init_session),
/// [`auth_session`](Plugin::auth_session), [`authorize`](Plugin::authorize)
/// and [`decide_retry`](Plugin::decide_retry) the block defines, and the
/// host calls only those.
///
/// The host makes the instance with [`Default::default`] and then calls
/// [`configure`](Plugin::configure), once, before any hook. The instance
/// serves one worker's session, one call at a time, so it may keep state
/// (a cached token, a counter) in `&mut self`. After a hook traps, runs
/// past its deadline or exceeds its memory cap, the host throws the
/// instance away and starts a fresh one, configured anew.
///
/// An `Err(message)` from any method fails what the host was doing with
/// that message, as the documentation of each method says.
///
/// The attribute refuses anything but a plain impl of this trait for a
/// concrete type, with an error that says so:
///
/// ```compile_fail
/// #[derive(Default)]
/// struct NotAnImpl;
///
/// #[guest_sdk::plugin]
/// impl NotAnImpl {}
/// ```
///
/// ```compile_fail
/// #[guest_sdk::plugin]
/// #[derive(Default)]
/// struct NotAnImpl;
/// ```
///
/// The attribute is what implements [`Described`], which this trait
/// requires, so a block without it fails to compile, saying the attribute
/// is missing, instead of building a component that exports nothing:
///
/// ```compile_fail,E0277
/// use guest_sdk::Plugin;
///
/// #[derive(Default)]
/// struct Forgotten;
///
/// impl Plugin for Forgotten {}
/// ```
///
/// ```compile_fail
/// #[derive(Default)]
/// struct Cloned;
///
/// #[guest_sdk::plugin]
/// impl Clone for Cloned {
///     fn clone(&self) -> Self { Cloned }
/// }
/// ```
pub trait Plugin: Described + Default + 'static {
    /// Reads and checks the configuration ([`crate::config`]), when the host
    /// loads the plugin and whenever it starts a fresh instance. An error
    /// refuses the plugin at load, with this message shown to the operator:
    /// say which key is wrong and why. Keys the plugin does not know must
    /// be ignored: the operator's `--plugin-config` keys reach every plugin.
    fn configure(&mut self) -> Result<(), String> {
        Ok(())
    }

    /// Once per worker session, when the host makes it (Python's
    /// `initializer`): returns the session settings, changed as the plugin
    /// likes. An error fails the request that needed the session; the next
    /// request tries again.
    fn init_session(&mut self, session: SessionSettings) -> Result<SessionSettings, String> {
        Ok(session)
    }

    /// Once per worker session, after every plugin's
    /// [`init_session`](Plugin::init_session) (Python's `auth_generator`):
    /// adds credentials that hold for the whole session.
    fn auth_session(&mut self, session: SessionSettings) -> Result<SessionSettings, String> {
        Ok(session)
    }

    /// Before every attempt, retries included: edits the request to send,
    /// for example with a fresh token or a signature. An error fails the
    /// job without sending it.
    ///
    /// [`Request::url`] is the URL the server gets, byte for byte, so a
    /// signature over it holds; a redirect is a new request, authorized
    /// again with its own URL (and only if it stays on the job's origin or
    /// goes to one granted to this plugin). The request stays in the host:
    /// read only what you need, and each edit is checked as you make it
    /// (see [`Request`] for the rules); return a refused edit's error.
    fn authorize(&mut self, _request: &mut Request) -> Result<(), String> {
        Ok(())
    }

    /// After every attempt: retry after a delay, stop, or leave the choice
    /// to the next plugin ([`Decision::Defer`], the default). Plugins are
    /// asked in command-line order and the first answer that is not
    /// `Defer` wins; if all defer, the job is done. An error fails the job
    /// with this message, and so does a retry asked for more than a day
    /// ahead.
    fn decide_retry(
        &mut self,
        _request: &Request,
        _outcome: &Outcome,
        _attempt: &Attempt,
    ) -> Result<Decision, String> {
        Ok(Decision::Defer)
    }

    /// Which attempts [`decide_retry`](Plugin::decide_retry) is asked
    /// about, how much of each body it sees, and the retry budget it spends
    /// from ([`crate::budget`]). Read once, right after
    /// [`configure`](Plugin::configure), so it may follow the
    /// configuration. The default asks about every attempt, with no body
    /// and no budget; saying which statuses matter spares a call for every
    /// other response.
    fn retry_interest(&self) -> RetryInterest {
        RetryInterest::default()
    }

    /// The configuration keys the plugin reads, if it declares them
    /// ([`ConfigKey::new`]): the host then warns the operator about a key
    /// given that is none of them (a misspelt optional key is otherwise
    /// ignored), and `tb-host plugin inspect` lists them. `None`, the
    /// default, declares nothing.
    ///
    /// ```
    /// # use guest_sdk::ConfigKey;
    /// fn config_keys() -> Option<Vec<ConfigKey>> {
    ///     Some(vec![
    ///         ConfigKey::new("token", "text", "the bearer token").required().secret(),
    ///         ConfigKey::new("header.*", "text", "a header to send, by name"),
    ///     ])
    /// }
    /// # assert_eq!(config_keys().unwrap()[0].name, "token");
    /// ```
    fn config_keys() -> Option<Vec<ConfigKey>> {
        None
    }
}

impl ConfigKey {
    /// A key named `name` (ending in `*` for every key that starts with
    /// what comes before), whose values look like `kind` (`text`,
    /// `integer`, `number`, `boolean`, `list`, `milliseconds`), doing
    /// what `about` says in one line; optional and not secret.
    pub fn new(name: &str, kind: &str, about: &str) -> ConfigKey {
        ConfigKey {
            name: name.to_owned(),
            kind: kind.to_owned(),
            required: false,
            secret: false,
            about: about.to_owned(),
        }
    }

    /// The plugin refuses to load without it.
    pub fn required(mut self) -> ConfigKey {
        self.required = true;
        self
    }

    /// Its value is a credential.
    pub fn secret(mut self) -> ConfigKey {
        self.secret = true;
        self
    }
}

/// What a plugin's [`Plugin::decide_retry`] asks of the host; see
/// [`Plugin::retry_interest`].
///
/// ```
/// use guest_sdk::{RetryBudget, RetryInterest};
///
/// // 429 and every 5xx; the first 256 bytes of those bodies; at most 10
/// // retries in a burst, then one per five jobs that end.
/// let interest = RetryInterest {
///     statuses: vec![(429, 429), (500, 599)],
///     body_prefix: 256,
///     budget: Some(RetryBudget { capacity: 10, refill: 200 }),
/// };
/// assert!(interest.wants(503) && !interest.wants(200));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetryInterest {
    /// Inclusive ranges of the response statuses it is asked about; empty
    /// for every response. Attempts without a response are always asked.
    pub statuses: Vec<(u16, u16)>,
    /// How many leading bytes of each body it sees in
    /// [`Outcome::body_prefix`], at most 65536.
    pub body_prefix: u32,
    /// A token bucket shared by this plugin's instances on every worker:
    /// see [`crate::budget`].
    pub budget: Option<RetryBudget>,
}

impl RetryInterest {
    /// Whether a response with `status` is asked about.
    pub fn wants(&self, status: u16) -> bool {
        self.statuses.is_empty()
            || self
                .statuses
                .iter()
                .any(|&(low, high)| (low..=high).contains(&status))
    }
}

/// What a plugin's `describe` export reports. Implemented by
/// [`#[guest_sdk::plugin]`](crate::plugin), along with the component's
/// exports: do not implement it by hand. [`Plugin`] requires it so that an
/// `impl Plugin` block without the attribute is a compile error rather
/// than a component with no hooks.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not exported as a plugin: its `impl Plugin` block lacks `#[guest_sdk::plugin]`",
    label = "this type's `impl Plugin` block needs `#[guest_sdk::plugin]`",
    note = "write `#[guest_sdk::plugin]` on the line above `impl Plugin for {Self}`: \
            it exports the plugin's hooks to the host and says which ones it defines"
)]
pub trait Described {
    /// The plugin's name: its package name.
    const NAME: &'static str;
    /// The plugin's version: its package version.
    const VERSION: &'static str;
    /// The hooks the plugin's `impl Plugin` block defines.
    fn hooks() -> HookSet;
}

/// Makes a plugin the way the host's first call does: the default value,
/// then [`Plugin::configure`].
pub(crate) fn instantiate<T: Plugin>() -> Result<T, String> {
    let mut plugin = T::default();
    plugin.configure()?;
    Ok(plugin)
}

/// What `describe` answers for `plugin`, a configured `T`.
pub(crate) fn info<T: Plugin>(plugin: &T) -> PluginInfo {
    let interest = plugin.retry_interest();
    PluginInfo {
        name: T::NAME.to_owned(),
        version: T::VERSION.to_owned(),
        hooks: T::hooks(),
        config: T::config_keys(),
        retry_statuses: interest.statuses,
        body_prefix: interest.body_prefix,
        retry_budget: interest.budget,
    }
}
