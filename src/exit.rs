//! Exit codes shared by all commands, and the error kinds that select them.
//!
//! 0 success / no changes; 1 changes found; 2 bad input or usage; 3 environment failure.

use std::fmt;

pub const OK: u8 = 0;
pub const CHANGES: u8 = 1;
pub const INPUT: u8 = 2;
pub const ENVIRONMENT: u8 = 3;

/// An environment failure (kubectl missing, cluster unreachable, deploy failed): exit 3.
#[derive(Debug)]
pub struct EnvError(pub String);

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EnvError {}

/// The exit code an error maps to: 3 when an `EnvError` is anywhere in its chain, else 2.
pub fn code_for(err: &anyhow::Error) -> u8 {
    if err.chain().any(|e| e.downcast_ref::<EnvError>().is_some()) {
        ENVIRONMENT
    } else {
        INPUT
    }
}
