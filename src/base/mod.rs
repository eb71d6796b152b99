//! The base layer: primitives that belong to no one domain (a memory-mapped file, opening
//! and bounded reading of inputs that may be devices, FIFOs or endless, writing outputs that
//! never replace what is not ours, RFC 3339 time, text escaped for one line, the duration,
//! instant and size grammars of every flag, the page size, serde hex).
//!
//! Every other module may use these; this folder imports nothing from the crate but
//! [`crate::error`] (`tests/layering.rs` enforces it), as addr2line keeps its `loader.rs`
//! apart from the DWARF logic.

mod decimal;
pub mod duration;
pub mod hex;
pub mod inflate;
pub mod input;
pub mod mmap;
pub mod output;
pub mod page;
pub mod size;
pub mod text;
pub mod time;
