//! `clw-diag report`: one diagnostics report combining the other commands, and its raw-input bundle.

pub mod bundle;
pub mod incident;
pub mod redact;
