//! Plugins from a manifest: the file that says, in one place, which
//! component a plugin is and what it may do (its configuration and which
//! values are secret, granted variables, allowed origins, deadline, memory
//! cap), loaded into a runtime and handed to a pool as a hook. The same
//! TOML file `tb-host run --plugin-manifest FILE` reads.
//!
//! ```sh
//! cat > bearer.toml <<'TOML'
//! path = "target/wasm/wasm32-wasip2/plugin/bearer_auth.wasm"
//! [config]
//! token = "env:API_TOKEN"
//! TOML
//! API_TOKEN=s3cr3t cargo run -p tb-host --example plugins_from_manifest -- \
//!     http://127.0.0.1:8080 bearer.toml
//! ```

use std::path::Path;

use tb_host::plugin::{Manifest, PluginRuntime};
use tb_host::{Pool, RequestDefaults};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(base), Some(file)) = (args.next(), args.next()) else {
        return Err("usage: plugins_from_manifest BASE_URL MANIFEST.toml".into());
    };
    let manifest = Manifest::read(Path::new(&file))?;
    // One runtime compiles each component once; every worker of the pool
    // then gets an instance of its own.
    let plugin = PluginRuntime::new()?.load(manifest)?;
    println!("loaded {} {}", plugin.name(), plugin.version());
    let mut pool = Pool::builder()
        .threads(2)
        .hook(plugin)
        .keep_bodies(true)
        .from_urls(
            [format!("{base}/echo/manifest")],
            &RequestDefaults::default(),
        )?;
    pool.join_all();
    for response in pool.responses() {
        let echoed: serde_json::Value = response.json()?;
        println!("sent {}", echoed["headers"]["authorization"]);
    }
    for failure in pool.exceptions() {
        println!("failure {}: {}", failure.kind(), failure.message());
    }
    Ok(())
}
