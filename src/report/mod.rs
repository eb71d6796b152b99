//! `clw-diag report`: one diagnostics report combining the other commands, and its raw-input
//! bundle.
//!
//! - [`model`]: the typed report (sections, findings, summary) — also its JSON;
//! - [`sections`]: one library call per section, the same as the command it stands for;
//! - [`summary`]: the verdict and next steps from the findings' kinds;
//! - [`run`]: sections on their own threads with a time budget;
//! - [`text`]: the plain-text layout;
//! - [`redact`] and [`bundle`]: secrets out of everything printed or bundled, the 0600 `.tar.gz`.

pub mod bundle;
pub mod model;
pub mod redact;
pub mod run;
pub mod sections;
pub mod summary;
pub mod text;

pub use model::{Options, Report, SectionId, WORKER_LOG_GLOBS};
pub use run::{build, build_with_progress};
