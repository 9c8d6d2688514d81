//! The example plugins of `plugins/`, built for the benchmarks and the
//! examples' tests of this crate as the end-to-end tests build them (the
//! library itself has no build script that would).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The release build of the plugin crate `package` (built now if it is
/// not yet), under the workspace's `target/wasm`.
pub fn plugin_file(package: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = root.join("target/wasm");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .current_dir(&root)
        .args([
            "build",
            "-q",
            "--profile",
            "plugin",
            "--target",
            "wasm32-wasip2",
        ])
        .arg("--target-dir")
        .arg(&target)
        .args(["-p", package])
        .status()
        .expect("run cargo to build the plugin");
    assert!(status.success(), "building plugin {package} failed");
    target
        .join("wasm32-wasip2/plugin")
        .join(format!("{}.wasm", package.replace('-', "_")))
}
