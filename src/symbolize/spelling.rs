//! Demangled names spelled as gdb prints them: GNU libiberty's spelling where the
//! `cpp_demangle` crate differs, C++ frame names without parameters and return type
//! (`cp_remove_params`, `DMGL_RET_DROP`), Rust legacy and v0 names as libiberty prints them,
//! and symbol-table names demangled with their parameters (gdb's minimal symbols).
//! Sources: gdb 13 `gdb/cp-support.c`, `gdb/stack.c` (`find_frame_funname`), libiberty
//! `cp-demangle.c` and `rust-demangle.c`.

use gimli::constants;

/// How gdb prints a function name that comes from the symbol table only (no DWARF), as in
/// `#3  0x... in std::terminate() ()`: C++ names fully demangled, parameters (and a template
/// function's return type) included; Rust legacy names (`_ZN...17h<hash>E`) without the hash,
/// v0 names (`_R...`) with their crates' disambiguators as libiberty prints them
/// (`<crash[bd18f341e4a6687b]::Store>::poke`). Anything else is returned unchanged.
pub fn demangle_minimal(name: &str) -> String {
    let lang = if name.starts_with("_R") || is_rust_legacy(name) {
        constants::DW_LANG_Rust
    } else if name.starts_with("_Z") {
        constants::DW_LANG_C_plus_plus
    } else {
        return name.to_string();
    };
    // libiberty prints v0 crate roots with their disambiguator hash (`crash[bd18f341e4a6687b]`)
    // and legacy paths without the trailing `::h…` hash: rustc-demangle's plain format for v0,
    // its alternate format (which addr2line uses) for legacy.
    if name.starts_with("_R") {
        if let Ok(d) = rustc_demangle::try_demangle(name) {
            return d.to_string();
        }
    }
    match addr2line::demangle(name, lang) {
        Some(d) if lang == constants::DW_LANG_C_plus_plus => libiberty_style(d),
        Some(d) => d,
        None => name.to_string(),
    }
}

/// `_ZN` ... `17h` + 16 hex digits + `E`, optionally followed by a `.suffix`: the legacy Rust
/// mangling, which libiberty recognises by that hash component.
fn is_rust_legacy(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("_ZN") else {
        return false;
    };
    let rest = rest.split('.').next().unwrap_or(rest);
    let Some(body) = rest.strip_suffix('E') else {
        return false;
    };
    body.len() >= 19
        && body[body.len() - 19..].starts_with("17h")
        && body[body.len() - 16..]
            .bytes()
            .all(|c| c.is_ascii_hexdigit())
}

/// gdb's frame name for a C++ function with this linkage name: the demangled name without the
/// return type (`DMGL_RET_DROP`) and without the parameter list and its qualifiers
/// (`cp_remove_params`). A linkage name that is not mangled is its own name; None when a
/// mangled name does not demangle.
pub(crate) fn cplus_frame_name(linkage: &str) -> Option<String> {
    if !linkage.starts_with("_Z") {
        return Some(linkage.to_string());
    }
    let demangled = libiberty_style(addr2line::demangle(
        linkage,
        constants::DW_LANG_C_plus_plus,
    )?);
    // gdb's `cp_remove_params` cannot parse names with lambda closure types
    // (`…::{lambda(int)#1}::operator()(int) const`) and then keeps the whole name.
    let without = remove_params(&demangled)?;
    if demangled.contains("{lambda") {
        return Some(demangled[name_start(without)..].to_string());
    }
    Some(without[name_start(without)..].to_string())
}

/// Spell a demangled C++ name as GNU libiberty (gdb's demangler) does where the `cpp_demangle`
/// crate differs: integer template arguments as literals with suffixes (`(unsigned long)0` →
/// `0ul`, `(long)3600` → `3600l`, `(int)3` → `3`, `(bool)1` → `true`) and no separator left by
/// an empty parameter pack (`f<void, >` → `f<void>`).
pub(crate) fn libiberty_style(s: String) -> String {
    use std::sync::OnceLock;
    static LIT: OnceLock<regex::Regex> = OnceLock::new();
    if !s.contains('(') && !s.contains(", >") {
        return s;
    }
    let lit = LIT.get_or_init(|| {
        regex::Regex::new(
            r"\((unsigned long long|long long|unsigned long|long|unsigned int|int|bool)\)(-?[0-9]+)",
        )
        .expect("valid regex")
    });
    let out = lit.replace_all(&s, |c: &regex::Captures<'_>| {
        let (ty, n) = (&c[1], &c[2]);
        match ty {
            "bool" => (if n == "0" { "false" } else { "true" }).to_string(),
            "int" => n.to_string(),
            "unsigned int" => format!("{n}u"),
            "long" => format!("{n}l"),
            "unsigned long" => format!("{n}ul"),
            "long long" => format!("{n}ll"),
            _ => format!("{n}ull"),
        }
    });
    out.replace(", >", ">")
}

/// `f<int>(int, char) const &` → `f<int>`; None when there is no trailing parameter list.
fn remove_params(s: &str) -> Option<&str> {
    let mut s = s.trim_end();
    // A clone suffix of a demangled `.cold` / `.isra.0` symbol.
    if s.ends_with(']') {
        if let Some(k) = s.rfind(" [clone ") {
            s = s[..k].trim_end();
        }
    }
    loop {
        let t = [
            " const",
            " volatile",
            " &&",
            " &",
            " restrict",
            " noexcept",
            " transaction_safe",
        ]
        .iter()
        .find_map(|q| s.strip_suffix(q));
        match t {
            Some(t) => s = t,
            None => break,
        }
    }
    let b = s.as_bytes();
    if b.last() != Some(&b')') {
        return None;
    }
    let mut depth = 0i32;
    for k in (0..b.len()).rev() {
        match b[k] {
            b')' => depth += 1,
            b'(' => {
                depth -= 1;
                if depth == 0 {
                    return (k > 0).then(|| &s[..k]);
                }
            }
            _ => {}
        }
    }
    None
}

fn is_ident(c: Option<&u8>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// Where the function name starts in `RET NAME` (a template function's demangled name has its
/// return type first): after the last space outside brackets, operator names excepted.
fn name_start(s: &str) -> usize {
    let b = s.as_bytes();
    let (mut depth, mut start, mut k) = (0i32, 0usize, 0usize);
    while k < b.len() {
        match b[k] {
            b'(' | b'<' | b'[' | b'{' => depth += 1,
            b')' | b'>' | b']' | b'}' => depth -= 1,
            // `operator< <int>` has a space before its template arguments.
            b' ' if depth == 0 && b.get(k + 1) != Some(&b'<') => start = k + 1,
            b'o' if s[k..].starts_with("operator")
                && (k == 0 || !is_ident(b.get(k - 1)))
                && !is_ident(b.get(k + 8)) =>
            {
                k += 8;
                let rest = &b[k..];
                if rest.starts_with(b"()") || rest.starts_with(b"[]") {
                    k += 2;
                } else if rest.first() == Some(&b' ') {
                    // `operator new`, `operator delete[]`, a conversion: the rest is the name.
                    return start;
                } else {
                    k += rest
                        .iter()
                        .take_while(|c| b"<>=!+-*/%^&|~,".contains(c))
                        .count();
                }
                continue;
            }
            _ => {}
        }
        k += 1;
    }
    start
}

/// A demangled name as gdb prints a frame's function: without the parameter list, cv-qualifiers
/// and (for template functions) the return type. `app::Box<long>::get() const` →
/// `app::Box<long>::get`; `int foo<int>(int)` → `foo<int>`; `Foo::operator()(int)` →
/// `Foo::operator()`.
pub fn gdb_function_name(name: &str) -> String {
    // gdb cannot take names with lambda closure types apart and prints them whole.
    if name.contains("{lambda") {
        return name.to_string();
    }
    let b = name.as_bytes();
    // Find the last top-level parenthesised group (the parameters).
    let (mut depth_angle, mut depth_paren) = (0i32, 0i32);
    let mut params_start = None;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'<' => depth_angle += 1,
            b'>' if depth_angle > 0 => depth_angle -= 1,
            b'(' => {
                if depth_paren == 0 && depth_angle == 0 {
                    // `operator()` itself is not the parameter list.
                    if !name[..i].ends_with("operator") {
                        params_start = Some(i);
                    }
                }
                depth_paren += 1;
            }
            b')' => depth_paren -= 1,
            _ => {}
        }
    }
    let Some(p) = params_start else {
        return name.to_string();
    };
    // Rust closures `{closure#0}` and anonymous namespaces `(anonymous namespace)` are
    // parenthesised names, not parameters: keep them when a `::` follows.
    if name[p..].contains(")::") {
        return name.to_string();
    }
    let head = &name[..p];
    // A return type before a template function's name: the last top-level space.
    let mut depth = 0i32;
    let mut cut = 0;
    for (i, c) in head.char_indices() {
        match c {
            '<' | '(' => depth += 1,
            '>' | ')' => depth -= 1,
            ' ' if depth == 0
                && !head[..i].ends_with("operator")
                && !head[i..].starts_with(" const") =>
            {
                cut = i + 1
            }
            _ => {}
        }
    }
    head[cut..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_and_return_type_are_removed() {
        let f = |s: &str| {
            let w = remove_params(s).unwrap();
            w[name_start(w)..].to_string()
        };
        assert_eq!(f("app::Box<long>::get() const"), "app::Box<long>::get");
        assert_eq!(f("app::Op::operator()(int) const"), "app::Op::operator()");
        assert_eq!(
            f("unsigned long long sizer<char>(char const*, unsigned short)"),
            "sizer<char>"
        );
        assert_eq!(
            f("std::vector<int, std::allocator<int> >::size() const"),
            "std::vector<int, std::allocator<int> >::size"
        );
        assert_eq!(
            f("bool operator< <int>(A<int> const&, A<int> const&)"),
            "operator< <int>"
        );
        assert_eq!(f("A::operator<<(int)"), "A::operator<<");
        assert_eq!(f("A::operator->() const"), "A::operator->");
        assert_eq!(f("A::operator new(unsigned long)"), "A::operator new");
        assert_eq!(
            f("A::operator unsigned long() const"),
            "A::operator unsigned long"
        );
        assert_eq!(
            f("main::{lambda(int)#1}::operator()(int) const"),
            "main::{lambda(int)#1}::operator()"
        );
        assert_eq!(
            f("(anonymous namespace)::hidden(int)"),
            "(anonymous namespace)::hidden"
        );
        assert_eq!(f("foo::bar() [clone .cold]"), "foo::bar");
        assert_eq!(remove_params("main"), None);
    }

    #[test]
    fn minimal_names() {
        assert_eq!(demangle_minimal("_ZSt9terminatev"), "std::terminate()");
        assert_eq!(demangle_minimal("main"), "main");
        assert_eq!(
            demangle_minimal("_ZN3std2rt10lang_start17h0123456789abcdefE"),
            "std::rt::lang_start"
        );
        assert!(is_rust_legacy(
            "_ZN3std2rt10lang_start17h0123456789abcdefE.llvm.123"
        ));
        assert!(!is_rust_legacy("_ZN3app6Widget4makeEi"));
    }

    #[test]
    fn frame_names_as_gdb_prints_them() {
        let g = gdb_function_name;
        assert_eq!(g("main"), "main");
        assert_eq!(g("app::Box<long>::get() const"), "app::Box<long>::get");
        assert_eq!(g("int foo<int>(int)"), "foo<int>");
        assert_eq!(g("Foo::operator()(int)"), "Foo::operator()");
        assert_eq!(
            g("std::vector<int, std::allocator<int> >::size() const"),
            "std::vector<int, std::allocator<int> >::size"
        );
        assert_eq!(g("operator new(unsigned long)"), "operator new");
        assert_eq!(
            g("(anonymous namespace)::f(int)"),
            "(anonymous namespace)::f"
        );
        assert_eq!(
            g("std::rt::lang_start::{{closure}}"),
            "std::rt::lang_start::{{closure}}"
        );
    }
}
