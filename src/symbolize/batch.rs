//! `clw-diag symbolize -e BIN ADDR..`: many addresses of one binary answered at once: typed
//! frames per address, from which `render/symbolize.rs` makes the text (`addr2line -f -i -C`
//! compatible) and the JSON.
//!
//! Each batch is looked up in address order, each distinct address once, and kept in input
//! order through an index: neighbouring addresses share line-table rows and DIEs, so in
//! address order the lookups stay in cache (on 100,000 random libc addresses this halves the
//! time). Addresses are hexadecimal, with or without `0x`, as binutils `addr2line` reads them
//! (`binutils/addr2line.c` `translate_addresses`).

use std::path::Path;

use super::{Frame, Symbolizer};
use crate::error::{Error, Result};

/// Whether `s` is written as a hexadecimal address (with or without `0x`) but does not fit in
/// 64 bits: a typo or a truncated paste, refused rather than answered `??:0`.
fn too_wide(s: &str) -> bool {
    let t = s.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    let digits = t.trim_start_matches('0');
    t.bytes().all(|b| b.is_ascii_hexdigit()) && digits.len() > 16
}

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

/// The order of a batch of input tokens: which distinct address each one asks about. The
/// frames of each address are handed out once, in ascending address order, while the batch is
/// resolved ([`Symbolizer::resolve_batch`]), so that a renderer can format them and drop them
/// (100,000 libc addresses' frames kept whole would be 45 MiB).
#[derive(Debug, Default)]
pub struct Batch<'t> {
    /// The tokens, in input order, as given.
    pub tokens: Vec<&'t str>,
    /// Each distinct address, ascending.
    pub addresses: Vec<u64>,
    /// For each token, the index of its address in `addresses`; `None` when the token is not
    /// a hexadecimal address.
    pub which: Vec<Option<usize>>,
}

impl Symbolizer {
    /// Resolve every one of `tokens` (addresses in `bin`'s own address space, see
    /// [`parse_address`]): `answer(address, frames)` is called once per distinct address, in
    /// ascending order (the k-th call is `addresses[k]` of the result), with its frames,
    /// innermost inline frame first; `demangle` turns C++ and Rust names readable.
    ///
    /// Errors: a token written as a hexadecimal address does not fit in 64 bits
    /// ([`Error::Usage`]); `bin` cannot be read or parsed, or it shrank while it was read.
    pub fn resolve_batch<'t>(
        &mut self,
        bin: &Path,
        tokens: &[&'t str],
        demangle: bool,
        mut answer: impl FnMut(u64, &[Frame]),
    ) -> Result<Batch<'t>> {
        if let Some(t) = tokens.iter().find(|t| too_wide(t)) {
            return Err(Error::Usage(format!(
                "{t}: not an address: more than 64 bits (at most 16 hexadecimal digits)"
            )));
        }
        let mut jobs: Vec<(u64, usize)> = tokens
            .iter()
            .enumerate()
            .filter_map(|(i, t)| parse_address(t).map(|a| (a, i)))
            .collect();
        jobs.sort_unstable();
        let mut addresses: Vec<u64> = Vec::with_capacity(jobs.len());
        let mut which = vec![None; tokens.len()];
        for &(addr, i) in &jobs {
            if addresses.last() != Some(&addr) {
                answer(addr, &self.frames(bin, addr, demangle)?);
                addresses.push(addr);
            }
            which[i] = Some(addresses.len() - 1);
        }
        Ok(Batch {
            tokens: tokens.to_vec(),
            addresses,
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
        assert!(too_wide("0x1ffffffffffffffff") && too_wide("ffffffffffffffffffff"));
        assert!(!too_wide("0x000000000000000000ff") && !too_wide("zz") && !too_wide("0x"));
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
        let mut seen = Vec::new();
        let b = sym
            .resolve_batch(exe, &toks, true, |a, f| seen.push((a, f.len())))
            .unwrap();
        assert_eq!(b.addresses, [0x10, 0x20]);
        assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), [0x10, 0x20]);
        assert!(
            seen.iter().all(|s| s.1 >= 1),
            "one frame at least: {seen:?}"
        );
        assert_eq!(b.which, [Some(1), None, Some(0), Some(1)]);
    }
}
