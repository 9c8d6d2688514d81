//! The output flags that reach the pool: `--save-bodies`, `--body-limit`
//! and `--order`.

use std::fs::DirBuilder;
use std::path::Path;

use super::SetupError;
use super::args::{Order, OutputArgs};
use tb_host::PoolBuilder;

/// Applies the output flags of `args` to `builder`, creating the
/// `--save-bodies` directory if need be. Whether bodies may be saved there
/// is the pool's to check when it starts (see
/// [`PoolBuilder::save_bodies`]): a set-up error too.
pub fn apply(builder: PoolBuilder, args: &OutputArgs) -> Result<PoolBuilder, SetupError> {
    let mut builder = builder;
    if let Some(limit) = args.body_limit {
        builder = builder.body_limit(limit);
    }
    if let Some(dir) = &args.save_bodies {
        create_dir(dir).map_err(|e| {
            SetupError::new(format!(
                "cannot create the --save-bodies directory {}: {e}",
                dir.display()
            ))
        })?;
        builder = builder.save_bodies(dir);
    }
    if args.order == Order::Input {
        builder = builder.in_input_order();
    }
    Ok(builder)
}

/// Creates `dir` and its missing parents. On unix they get mode 0755 (less
/// what the umask takes away) rather than the usual 0777: a directory the
/// group could write to, under a umask of 002, would then be refused.
fn create_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o755);
    }
    builder.create(dir)
}
