//! `#[guest_sdk::plugin]` as a plugin crate uses it: the hook set it
//! derives from the impl block, and `describe` as `testing` runs it.

use guest_sdk::{
    Attempt, Decision, HookSet, Outcome, Plugin, Request, SessionSettings, config, testing,
};

/// Defines no hook at all.
#[derive(Default)]
struct Silent;

#[guest_sdk::plugin]
impl Plugin for Silent {}

/// Defines every hook, and counts its calls.
#[derive(Default)]
struct Everything {
    calls: u32,
}

#[guest_sdk::plugin]
impl Plugin for Everything {
    fn configure(&mut self) -> Result<(), String> {
        if config::get("refuse").is_some() {
            return Err("refused as asked".to_owned());
        }
        Ok(())
    }
    fn init_session(&mut self, session: SessionSettings) -> Result<SessionSettings, String> {
        self.calls += 1;
        Ok(session)
    }
    fn auth_session(&mut self, session: SessionSettings) -> Result<SessionSettings, String> {
        self.calls += 1;
        Ok(session)
    }
    fn authorize(&mut self, _: &mut Request) -> Result<(), String> {
        self.calls += 1;
        Ok(())
    }
    fn decide_retry(&mut self, _: &Request, _: &Outcome, _: &Attempt) -> Result<Decision, String> {
        self.calls += 1;
        Ok(Decision::Done)
    }
}

/// Defines two hooks and a helper method outside the trait.
#[derive(Default)]
struct Two;

#[guest_sdk::plugin]
impl Plugin for Two {
    fn auth_session(&mut self, session: SessionSettings) -> Result<SessionSettings, String> {
        Ok(session)
    }
    fn decide_retry(&mut self, _: &Request, _: &Outcome, _: &Attempt) -> Result<Decision, String> {
        Ok(Decision::Defer)
    }
}

#[test]
fn hook_set_lists_exactly_the_defined_hooks() {
    testing::set_config(&[]);
    assert_eq!(
        testing::describe::<Silent>().unwrap().hooks,
        HookSet::empty()
    );
    assert_eq!(
        testing::describe::<Two>().unwrap().hooks,
        HookSet::AUTH_SESSION | HookSet::DECIDE_RETRY
    );
    assert_eq!(
        testing::describe::<Everything>().unwrap().hooks,
        HookSet::INIT_SESSION | HookSet::AUTH_SESSION | HookSet::AUTHORIZE | HookSet::DECIDE_RETRY
    );
}

#[test]
fn name_and_version_are_the_packages() {
    testing::set_config(&[]);
    let info = testing::describe::<Silent>().unwrap();
    assert_eq!(info.name, env!("CARGO_PKG_NAME"));
    assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
}

#[test]
fn a_configure_error_refuses_the_plugin() {
    testing::set_config(&[("refuse", "yes")]);
    assert_eq!(
        testing::describe::<Everything>().err().as_deref(),
        Some("refused as asked")
    );
    assert!(testing::run::<Everything>().is_err());
}

#[test]
fn default_hooks_are_neutral() {
    testing::set_config(&[]);
    let mut plugin = testing::run::<Silent>().unwrap();
    let session = testing::session(2);
    assert_eq!(plugin.init_session(session.clone()).unwrap(), session);
    assert_eq!(plugin.auth_session(session.clone()).unwrap(), session);
    let request = testing::request("GET", "http://example.test/");
    assert_eq!(plugin.authorized(request.clone()).unwrap(), request);
    let outcome = testing::response(503, &[]);
    let decision = plugin.decide_retry(&request, &outcome, &testing::attempt(1, 3));
    assert_eq!(decision.unwrap(), Decision::Defer);
}

#[test]
fn defined_hooks_are_the_ones_called() {
    testing::set_config(&[]);
    let mut plugin = testing::run::<Everything>().unwrap();
    let request = testing::request("GET", "http://example.test/");
    plugin.authorized(request.clone()).unwrap();
    let outcome = testing::failure(guest_sdk::AttemptFailureKind::Reset, "reset");
    let decision = plugin.decide_retry(&request, &outcome, &testing::attempt(1, 3));
    assert_eq!(decision.unwrap(), Decision::Done);
    assert_eq!(plugin.calls, 2);
}
