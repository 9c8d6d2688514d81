//! Builds WebAssembly component plugins from this workspace, for the build
//! scripts of `tb-host` (the bundled example plugins) and `tb-host-tests`
//! (the examples plus the hostile fixtures).
//!
//! The components are built by a nested `cargo build --target wasm32-wasip2`
//! into `target/wasm`, a target directory of their own, so the outer build's
//! lock, flags and wrappers (clippy, coverage) do not reach them.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The target triple plugins are built for.
const TARGET: &str = "wasm32-wasip2";

/// The cargo profile plugins are built with (see the root `Cargo.toml`).
const PROFILE: &str = "plugin";

/// Variables of the outer build that must not leak into the nested one:
/// they carry host flags, wrappers and a target directory meant for it.
const OUTER_ONLY: &[&str] = &[
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTFLAGS",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_MAKEFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_PRIMARY_PACKAGE",
];

/// The workspace root: the nearest directory above the calling crate's
/// that holds `wit/`, the contract every plugin is built against.
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"));
    manifest
        .ancestors()
        .skip(1)
        .find(|dir| dir.join("wit").is_dir() && dir.join("Cargo.toml").is_file())
        .expect("the crate lives inside the tb-host workspace")
        .to_path_buf()
}

/// Builds the given workspace packages as components and returns the path
/// of each `.wasm`, in the same order. `watch` lists the directories
/// (relative to the workspace root) whose changes must rebuild them.
pub fn build_components(packages: &[&str], watch: &[&str]) -> Vec<PathBuf> {
    let root = workspace_root();
    for dir in watch.iter().chain(&["wit", "guest-sdk", "Cargo.lock"]) {
        println!("cargo::rerun-if-changed={}", root.join(dir).display());
    }
    let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir).join("wasm"),
        None => root.join("target").join("wasm"),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(&root)
        .args(["build", "--quiet", "--profile", PROFILE, "--target", TARGET])
        .arg("--target-dir")
        .arg(&target_dir);
    for package in packages {
        command.args(["-p", package]);
    }
    for name in OUTER_ONLY {
        command.env_remove(name);
    }
    let status = command
        .status()
        .unwrap_or_else(|error| panic!("cannot run cargo to build the plugins: {error}"));
    if !status.success() {
        panic!(
            "building the plugins {packages:?} for {TARGET} failed (see above). \
             Is the target installed? `rustup target add {TARGET}`"
        );
    }
    packages
        .iter()
        .map(|package| component_path(&target_dir, package))
        .collect()
}

/// Where cargo puts the component of `package`.
fn component_path(target_dir: &Path, package: &str) -> PathBuf {
    let file = format!("{}.wasm", package.replace('-', "_"));
    let path = target_dir.join(TARGET).join(PROFILE).join(file);
    assert!(path.is_file(), "cargo built no {}", path.display());
    path
}
