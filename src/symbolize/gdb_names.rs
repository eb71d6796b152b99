//! Function names of backtrace frames as gdb prints them in `bt` (gdb 13 `gdb/stack.c`
//! `find_frame_funname`): for DWARF functions of C++ and Rust the qualified source name
//! ([`QualifiedNames`], read only from the units that hold the frames), for C the name DWARF
//! gives, without DWARF gdb's minimal symbol demangled with its parameters.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::names::{demangle_minimal, QualifiedNames};
use super::spelling::{cplus_frame_name, gdb_function_name};
use super::{Frame, Symbolizer};

/// Whether a raw symbol name is mangled (Itanium C++ `_Z`, Rust v0 `_R`).
fn is_mangled(n: &str) -> bool {
    n.starts_with("_Z") || n.starts_with("_R")
}

/// Function names as gdb prints them in `bt`: for DWARF functions of C++ and Rust the qualified
/// source name ([`QualifiedNames`], built per module the first time a mangled name shows up);
/// for C the symbol name DWARF gives (the linkage name, e.g. `__GI_raise`); without DWARF gdb's
/// minimal symbol, demangled with its parameters.
#[derive(Default)]
pub(super) struct GdbNames {
    by_file: HashMap<PathBuf, QualifiedNames>,
    /// File addresses that will be looked up, per module file.
    pub(super) wanted: HashMap<PathBuf, Vec<u64>>,
}

impl GdbNames {
    fn qualified(&mut self, sym: &mut Symbolizer, file: &Path) -> &QualifiedNames {
        let addrs = self.wanted.get(file).map(Vec::as_slice).unwrap_or(&[]);
        self.by_file
            .entry(file.to_path_buf())
            .or_insert_with(|| sym.qualified_names(file, addrs))
    }

    /// Frames (innermost inline first) for `svma` in `file`, named as gdb names them.
    pub(super) fn frames(&mut self, sym: &mut Symbolizer, file: &Path, svma: u64) -> Vec<Frame> {
        let mut frames = sym.dwarf_frames(file, svma).unwrap_or_default();
        if frames.is_empty() {
            let Some(raw) = sym.minimal_symbol(file, svma) else {
                return Vec::new();
            };
            return vec![Frame {
                function: Some(demangle_minimal(&raw)),
                file: None,
                line: None,
                column: None,
                inlined: false,
            }];
        }
        let n = frames.len();
        for (k, f) in frames.iter_mut().enumerate() {
            let Some(raw) = f.function.take() else {
                continue;
            };
            let name = if is_mangled(&raw) {
                let q = self.qualified(sym, file);
                let found = if k + 1 == n {
                    q.get(&raw)
                } else {
                    q.get_inline(&raw)
                };
                match found {
                    Some(n) => n.to_string(),
                    None => gdb_function_name(&demangle_minimal(&raw)),
                }
            } else if k + 1 == n {
                // A C++ function without a linkage name (a lambda's operator()): gdb prints the
                // minimal symbol at the pc, demangled with its parameters.
                match sym.minimal_symbol(file, svma) {
                    Some(m) if m.starts_with("_Z") => match cplus_frame_name(&m) {
                        Some(d) if d.contains("{lambda") || d.contains(raw.as_str()) => d,
                        _ => raw,
                    },
                    _ => raw,
                }
            } else if raw.contains('<') {
                // An inlined C++ template without a linkage name: its qualified DWARF name.
                let q = self.qualified(sym, file);
                q.get_inline(&raw).map(str::to_string).unwrap_or(raw)
            } else {
                raw
            };
            f.function = Some(name);
        }
        frames
    }
}
