//! `--save-bodies` and `--body-limit` applied to the pool.

use super::SetupError;
use super::args::OutputArgs;
use crate::PoolBuilder;

/// Applies the body flags of `args` to `builder`, creating the
/// `--save-bodies` directory if need be.
pub fn apply(builder: PoolBuilder, args: &OutputArgs) -> Result<PoolBuilder, SetupError> {
    let mut builder = builder;
    if let Some(limit) = args.body_limit {
        builder = builder.body_limit(limit);
    }
    if let Some(dir) = &args.save_bodies {
        std::fs::create_dir_all(dir).map_err(|e| {
            SetupError::new(format!(
                "cannot create the --save-bodies directory {}: {e}",
                dir.display()
            ))
        })?;
        builder = builder.save_bodies(dir);
    }
    Ok(builder)
}
