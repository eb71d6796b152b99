//! clw-diag: memory diagnostics for Linux hosts, containers and Kubernetes nodes.
//!
//! The library knows nothing of command-line flags: readers ([`sample`]) return typed models,
//! analyses ([`analysis`]) derive verdicts, and [`render`] turns any model into a table, JSON or
//! CSV. Data flows one way: read → model → analyse → render (see DESIGN.md).

#![warn(missing_docs)]

pub mod analysis;
pub mod base;
pub mod coredump;
pub mod error;
pub mod heap;
pub mod identity;
pub mod record;
pub mod render;
pub mod report;
pub mod sample;
pub mod serve;
pub mod symbolize;
pub mod trace;
pub mod triage;

pub use error::{Error, Result};
