//! `tb-host plugin inspect FILE`: what a plugin component is, for an
//! operator deciding whether to run it: its name, version and hooks, the
//! contract version it was built for, everything it imports (what it could
//! ask the host for), its size and how long it takes to compile; and the
//! manifest it was given (`--plugin-manifest`, `--plugin-config`): its
//! configuration keys with the values that are not secret, its grants and
//! its limits.
//!
//! A file that is not a component, or a component built for another
//! version of the contract, is a set-up error (exit status 2). A plugin
//! that refuses to start without its configuration is still shown, with
//! its own message in place of its name.

use std::fmt::Write;
use std::path::Path;

use tb_host::hooks::{HookName, RetryInterest};
use tb_host::plugin::manifest::{DEFAULT_MEMORY, DEFAULT_TIMEOUT};
use tb_host::plugin::{Inspection, Manifest, PluginError, PluginRuntime, WIT_PACKAGE, WIT_VERSION};

use crate::SetupError;
use crate::args::InspectArgs;
use crate::logging::Hidden;
use crate::plugins::add_config;

/// The width of the report's labels, colon included.
const LABEL_WIDTH: usize = 14;

/// Runs `tb-host plugin inspect`, with the plugin's secrets put in
/// `hidden` before it is loaded.
pub fn run(args: InspectArgs, hidden: &Hidden) -> anyhow::Result<()> {
    let mut manifest = match (&args.plugin_manifest, args.file) {
        (Some(file), _) => Manifest::read(file).map_err(|e| SetupError::new(e.to_string()))?,
        (None, Some(file)) => Manifest::new(file),
        (None, None) => unreachable!("clap requires FILE or --plugin-manifest"),
    };
    for (key, raw) in &args.plugin_config {
        add_config(&mut manifest, key, raw)
            .map_err(|why| SetupError::new(format!("--plugin-config {key}: {why}")))?;
    }
    hidden.hide(std::slice::from_ref(&manifest));
    let runtime = PluginRuntime::new()?;
    let inspection = runtime
        .inspect(manifest.clone())
        .map_err(|e| SetupError::new(e.to_string()))?;
    print!(
        "{}",
        report(&manifest, args.plugin_manifest.as_deref(), &inspection)
    );
    match inspection.plugin {
        Err(error @ (PluginError::Link { .. } | PluginError::NoHooks { .. })) => {
            Err(SetupError::new(error.to_string()).into())
        }
        _ => Ok(()),
    }
}

/// One declared configuration key, for the report: `token (text,
/// required, secret): the bearer token`.
fn config_key(key: &tb_host::plugin::ConfigKey) -> String {
    let mut traits = vec![key.kind.as_str()];
    if key.required {
        traits.push("required");
    }
    if key.secret {
        traits.push("secret");
    }
    format!("{} ({}): {}", key.name, traits.join(", "), key.about)
}

/// The report on `inspection` of the plugin of `manifest` (read from the
/// file `from`, if any), one `label: value` per line.
fn report(manifest: &Manifest, from: Option<&Path>, inspection: &Inspection) -> String {
    let mut out = String::new();
    let mut line = |label: &str, value: &str| {
        let _ = writeln!(out, "{:<LABEL_WIDTH$} {value}", format!("{label}:"));
    };
    match &inspection.plugin {
        Ok(plugin) => {
            line("name", plugin.name());
            line("version", plugin.version());
            let hooks: Vec<String> = HookName::ALL
                .into_iter()
                .filter(|hook| plugin.hooks().contains(hook.flag()))
                .map(|hook| format!("{hook} ({})", when(hook)))
                .collect();
            line("hooks", &listed(&hooks, "none: the host never calls it"));
            if plugin.hooks().contains(HookName::DecideRetry.flag()) {
                line("decides on", &retry_interest(plugin.retry_interest()));
            }
            let keys = match plugin.config_keys() {
                Some(keys) => keys.iter().map(config_key).collect(),
                None => vec!["(not declared: every key is passed on)".to_owned()],
            };
            line("config", &keys.join("; "));
        }
        Err(PluginError::Start { reason, .. }) => line(
            "name",
            &format!(
                "? (it refused to start: {reason}; pass what it needs with \
                 --plugin-config KEY=VALUE)"
            ),
        ),
        Err(error) => line("name", &format!("? ({error})")),
    }
    let built_for = match inspection.interfaces.wit_version() {
        Some(version) => format!("{WIT_PACKAGE}@{version}"),
        None => format!("no {WIT_PACKAGE} interface"),
    };
    line(
        "built for",
        &format!("{built_for} (this host speaks {WIT_PACKAGE}@{WIT_VERSION})"),
    );
    line("file", &manifest.path.display().to_string());
    if let Some(from) = from {
        line("manifest", &from.display().to_string());
    }
    line(
        "size",
        &format!(
            "{} bytes ({:.1} KiB)",
            inspection.size,
            inspection.size as f64 / 1024.0
        ),
    );
    line(
        "compile time",
        &format!("{:.1} ms", inspection.compile_time.as_secs_f64() * 1000.0),
    );
    line("imports", &listed(&inspection.interfaces.imports, "none"));
    line("exports", &listed(&inspection.interfaces.exports, "none"));
    let config: Vec<String> = manifest
        .shown_config()
        .map(|(key, value)| match value {
            Some(value) => format!("{key} = {value}"),
            None => format!("{key} (secret, not shown)"),
        })
        .collect();
    line("config", &listed(&config, "none"));
    let env: Vec<String> = manifest
        .env
        .iter()
        .map(|(name, _)| format!("{name} (value secret, not shown)"))
        .collect();
    line("env", &listed(&env, "none"));
    let hosts: Vec<String> = manifest
        .allowed_hosts
        .iter()
        .map(|h| h.to_string())
        .collect();
    line("allowed hosts", &listed(&hosts, "none"));
    line(
        "timeout",
        &format!(
            "{} ms per call{}",
            manifest.deadline().as_millis(),
            default_if(manifest.deadline() == DEFAULT_TIMEOUT)
        ),
    );
    line(
        "memory",
        &format!(
            "{} MiB per instance{}",
            manifest.memory_cap() >> 20,
            default_if(manifest.memory_cap() == DEFAULT_MEMORY)
        ),
    );
    out
}

/// ` (the default)` when `default`, for a limit.
fn default_if(default: bool) -> &'static str {
    if default { " (the default)" } else { "" }
}

/// What a plugin's `decide-retry` is asked about, in an operator's words:
/// `failures and statuses 429, 500-599; first 64 bytes of bodies; retry
/// budget of 10 tokens, 0.2 per job`.
fn retry_interest(interest: &RetryInterest) -> String {
    let mut parts = Vec::new();
    if interest.statuses.is_empty() {
        parts.push("every attempt".to_owned());
    } else {
        let statuses: Vec<String> = interest
            .statuses
            .iter()
            .map(|&(low, high)| match low == high {
                true => low.to_string(),
                false => format!("{low}-{high}"),
            })
            .collect();
        parts.push(format!("failures and statuses {}", statuses.join(", ")));
    }
    if interest.body_prefix > 0 {
        parts.push(format!("first {} bytes of bodies", interest.body_prefix));
    }
    if let Some(budget) = &interest.budget {
        parts.push(format!("retry budget of {budget}"));
    }
    parts.join("; ")
}

/// `items` one per line, aligned under the first, or `empty`.
fn listed(items: &[String], empty: &str) -> String {
    if items.is_empty() {
        return empty.to_owned();
    }
    items.join(&format!("\n{:<LABEL_WIDTH$} ", ""))
}

/// When the host calls `hook`, in an operator's words.
fn when(hook: HookName) -> &'static str {
    match hook {
        HookName::InitSession => "once per worker session",
        HookName::AuthSession => "once per worker session, after init-session",
        HookName::Authorize => "before every attempt",
        HookName::DecideRetry => "after every attempt",
    }
}
