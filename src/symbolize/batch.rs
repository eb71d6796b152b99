//! `clw-diag symbolize -e BIN ADDR..`: many addresses of one binary answered at once, the
//! typed model its text (`addr2line -f -i -C` compatible, `render/symbolize.rs`) and JSON
//! renderings are made from.
//!
//! Each batch is looked up in address order, each distinct address once, and kept in input
//! order through an index: neighbouring addresses share line-table rows and DIEs, so in
//! address order the lookups stay in cache (on 100,000 random libc addresses this halves the
//! time). Addresses are hexadecimal, with or without `0x`, as binutils `addr2line` reads them
//! (`binutils/addr2line.c` `translate_addresses`).

use std::path::Path;

use serde::Serialize;

use super::{Frame, Symbolizer};
use crate::error::Result;

/// A token as `addr2line` reads an address: hexadecimal, with or without `0x`; `None` when it
/// is not one.
pub fn parse_address(s: &str) -> Option<u64> {
    let t = s.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    u64::from_str_radix(t, 16).ok()
}

/// The answers for a batch of input tokens.
#[derive(Debug, Default)]
pub struct Batch<'t> {
    /// The tokens, in input order, as given.
    pub tokens: Vec<&'t str>,
    /// Each distinct address, ascending, with its frames (innermost inline frame first).
    pub answers: Vec<(u64, Vec<Frame>)>,
    /// For each token, the index of its answer in `answers`; `None` when the token is not a
    /// hexadecimal address.
    pub which: Vec<Option<usize>>,
}

/// One token's answer, as JSON shows it (`docs/json.md`, `symbolize`).
#[derive(Debug, Serialize)]
pub struct Resolved<'a> {
    /// The token as given.
    pub input: &'a str,
    /// The address looked up, in the ELF file's own address space (hex string); `null` when
    /// the token is not a hexadecimal address.
    #[serde(serialize_with = "crate::base::hex::hex_opt")]
    pub address: Option<u64>,
    /// Innermost inline frame first, the function they were inlined into last; empty when the
    /// token is not an address.
    pub frames: &'a [Frame],
}

impl Batch<'_> {
    /// The answers in input order.
    pub fn resolved(&self) -> impl Iterator<Item = Resolved<'_>> {
        self.tokens.iter().zip(&self.which).map(|(t, w)| {
            let a = w.map(|k| &self.answers[k]);
            Resolved {
                input: t,
                address: a.map(|a| a.0),
                frames: a.map_or(&[][..], |a| a.1.as_slice()),
            }
        })
    }
}

impl Symbolizer {
    /// Answer every one of `tokens` (addresses in `bin`'s own address space, see
    /// [`parse_address`]); `demangle` turns C++ and Rust names readable.
    ///
    /// Errors: `bin` cannot be read or parsed.
    pub fn resolve_batch<'t>(
        &mut self,
        bin: &Path,
        tokens: &[&'t str],
        demangle: bool,
    ) -> Result<Batch<'t>> {
        let mut jobs: Vec<(u64, usize)> = tokens
            .iter()
            .enumerate()
            .filter_map(|(i, t)| parse_address(t).map(|a| (a, i)))
            .collect();
        jobs.sort_unstable();
        let mut answers: Vec<(u64, Vec<Frame>)> = Vec::with_capacity(jobs.len());
        let mut which = vec![None; tokens.len()];
        for &(addr, i) in &jobs {
            if answers.last().is_none_or(|a| a.0 != addr) {
                answers.push((addr, self.frames(bin, addr, demangle)?));
            }
            which[i] = Some(answers.len() - 1);
        }
        Ok(Batch {
            tokens: tokens.to_vec(),
            answers,
            which,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_as_addr2line_reads_them() {
        assert_eq!(parse_address("0x401136"), Some(0x401136));
        assert_eq!(parse_address("401136"), Some(0x401136));
        assert_eq!(parse_address("0X1f"), Some(0x1f));
        assert_eq!(parse_address("zz"), None);
        assert_eq!(parse_address("0x"), None);
        assert_eq!(parse_address("0x1ffffffffffffffff"), None);
    }

    #[test]
    fn tokens_keep_their_order_and_share_answers() {
        let mut sym = Symbolizer::new();
        let exe = Path::new("/bin/true");
        if !exe.is_file() {
            eprintln!("SKIP: needs /bin/true");
            return;
        }
        let toks = ["0x20", "nope", "0x10", "20"];
        let b = sym.resolve_batch(exe, &toks, true).unwrap();
        assert_eq!(
            b.answers.iter().map(|a| a.0).collect::<Vec<_>>(),
            [0x10, 0x20]
        );
        assert_eq!(b.which, [Some(1), None, Some(0), Some(1)]);
        let r: Vec<_> = b.resolved().map(|r| (r.input, r.address)).collect();
        assert_eq!(
            r,
            [
                ("0x20", Some(0x20)),
                ("nope", None),
                ("0x10", Some(0x10)),
                ("20", Some(0x20))
            ]
        );
    }
}
