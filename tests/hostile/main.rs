//! Issue 13: clw-diag as a guest on a sick, hostile machine. Each defect of
//! `../shared/notes/reliability-2026-12.md` (D1–D17) is reproduced by a test named after it, in
//! the module of its area:
//!
//! | module | defects |
//! |---|---|
//! | `serve` | D1: idle connections, slowloris, huge headers, pid and fd limits |
//! | `files` | D2, D11, D13, D10, D12: outputs that are not ours, symlinked inputs, record's clean-up, bundle size |
//! | `sigbus` | D3: mapped files truncated while read |
//! | `redact` | D4: secret forms in every place a string leaves the process |
//! | `bounds` | D6, D8, D9, D16: endless and huge inputs, bounded memory and time |
//! | `trees` | D5, D7, D14, D15, D17: copied `/proc` trees, partial reads, absurd numbers, messages |

#[path = "../common/mod.rs"]
mod common;

mod bounds;
mod files;
mod redact;
mod serve;
mod sigbus;
mod trees;
