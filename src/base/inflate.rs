//! How much a compressed ELF section (`SHF_COMPRESSED`, `Elf64_Chdr`, gABI "Section
//! Compression") may inflate to: its declared size is checked against its compressed bytes and
//! a ceiling per file before anything is inflated, so a section claiming a gigabyte from a
//! megabyte of zeros is refused with a message instead of being allocated. Used for every
//! section this crate inflates: symbolize's DWARF and names, backtrace's `.debug_frame`.

use object::ObjectSection;

/// Largest believable ratio of a section's declared uncompressed size to its compressed bytes:
/// deflate's maximum (RFC 1951: a 258-byte match per code of at least 2 bits, about 1032:1).
/// Zstandard can go further (long runs of one byte), but real debug sections compress 3 to 10
/// times, so the same bound applies to both.
pub const MAX_RATIO: u64 = 1032;

/// Most bytes inflated for one file's debug sections, in all: 512 MiB (Debian's libc6-dbg
/// `.debug_info` is 5.8 MB compressed, about 30 MB inflated).
pub const MAX_INFLATED: u64 = 512 << 20;

/// Check the declared size of `section` (named `name`) if it is compressed, and add it to
/// `total` (bytes declared so far for the file). `Ok(())` for plain sections.
///
/// Errors: a message naming the section when the declared size is above [`MAX_RATIO`] times
/// the compressed bytes, or `total` goes past [`MAX_INFLATED`].
pub fn check_compressed(
    name: &str,
    section: &object::Section<'_, '_>,
    total: &mut u64,
) -> Result<(), String> {
    let Ok(c) = section.compressed_data() else {
        return Ok(());
    };
    if c.format == object::CompressionFormat::None {
        return Ok(());
    }
    let packed = c.data.len() as u64;
    let mib = |b: u64| {
        if b >= 1 << 20 {
            format!("{:.1} MiB", b as f64 / 1048576.0)
        } else {
            format!("{b} bytes")
        }
    };
    if c.uncompressed_size > packed.saturating_mul(MAX_RATIO).max(4096) {
        return Err(format!(
            "{name} claims {} uncompressed from {} compressed, more than the {MAX_RATIO}:1 compression allows (a decompression bomb?); not inflated",
            mib(c.uncompressed_size),
            mib(packed)
        ));
    }
    *total = total.saturating_add(c.uncompressed_size);
    if *total > MAX_INFLATED {
        return Err(format!(
            "{name} takes the debug sections past {} inflated in all ({} declared for it); not inflated",
            mib(MAX_INFLATED),
            mib(c.uncompressed_size)
        ));
    }
    Ok(())
}
