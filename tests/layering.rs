//! The layering of `src/` (DESIGN.md, "Architecture"; ARCHITECTURE.md): top-level modules
//! import only downwards,
//!
//! `base`, `error` < `sample`, `trace`, `coredump`, `symbolize`, `triage`, `heap` < `analysis`,
//! `record`, `serve` < `render` < `report` < `cli` (the binary: `src/main.rs`, `src/cli/`),
//!
//! and no two top-level modules import each other, directly or around a cycle.
//!
//! The scanner reads every `.rs` file under `src/` with comments and string literals blanked
//! (except a string that is a whole `crate::…` path, as serde's `serialize_with = "…"` names
//! a function), and collects `crate::X…` paths (in `use`, grouped `use crate::{a, b::c}`, and
//! inside code), `super::X` paths that climb to the crate root (resolved through the file's
//! module path and its inline `mod name { … }` blocks), and, in the binary, `clw_diag::X`.
//! Names that `lib.rs` re-exports (`crate::Error`) count as their module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layer of each top-level module; lower numbers are lower layers.
const LAYERS: &[(&str, u8)] = &[
    ("base", 0),
    ("error", 0),
    ("sample", 1),
    ("trace", 1),
    ("coredump", 1),
    ("symbolize", 1),
    ("triage", 1),
    ("heap", 1),
    ("identity", 1),
    ("analysis", 2),
    ("record", 2),
    ("serve", 2),
    ("render", 3),
    ("report", 4),
    ("cli", 5),
];

fn layer(m: &str) -> Option<u8> {
    LAYERS.iter().find(|(n, _)| *n == m).map(|&(_, l)| l)
}

/// One cross-module reference.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Import {
    /// `src/…` path of the file.
    file: String,
    line: usize,
    /// Top-level module of the file.
    from: String,
    /// Top-level module referred to.
    to: String,
    /// The path as written, resolved (`crate::analysis::pressure`).
    path: String,
}

/// Blank comments and string/char literals (keeping newlines, so lines still count), except
/// strings whose whole content is a `crate::`/`clw_diag::` path: those stay, unquoted.
fn strip(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let blank = |out: &mut String, s: &[char]| {
        for &ch in s {
            out.push(if ch == '\n' { '\n' } else { ' ' });
        }
    };
    let is_ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut i = 0;
    while i < c.len() {
        let prev_ident = i > 0 && is_ident(c[i - 1]);
        if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            let end = c[i..]
                .iter()
                .position(|&x| x == '\n')
                .map_or(c.len(), |p| i + p);
            blank(&mut out, &c[i..end]);
            i = end;
        } else if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            let (mut j, mut depth) = (i + 2, 1);
            while j < c.len() && depth > 0 {
                if c[j] == '/' && c.get(j + 1) == Some(&'*') {
                    depth += 1;
                    j += 2;
                } else if c[j] == '*' && c.get(j + 1) == Some(&'/') {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            blank(&mut out, &c[i..j.min(c.len())]);
            i = j;
        } else if !prev_ident && (c[i] == 'r' || c[i] == 'b' || c[i] == 'c' || c[i] == '"') {
            // A string: "…", b"…", c"…", r"…", r#"…"#, br#"…"#.
            let mut j = i;
            if c[j] == 'b' || c[j] == 'c' {
                j += 1;
            }
            let raw = c.get(j) == Some(&'r');
            if raw {
                j += 1;
            }
            let mut hashes = 0;
            while raw && c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                // Not a string after all (an identifier starting with r, b or c).
                let end = c[i..]
                    .iter()
                    .position(|&x| !is_ident(x))
                    .map_or(c.len(), |p| i + p);
                let end = end.max(i + 1);
                out.extend(&c[i..end]);
                i = end;
                continue;
            }
            let body_start = j + 1;
            let mut k = body_start;
            loop {
                if k >= c.len() {
                    break;
                }
                if !raw && c[k] == '\\' {
                    k += 2;
                    continue;
                }
                if c[k] == '"'
                    && c[k + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|&&h| h == '#')
                        .count()
                        == hashes
                {
                    break;
                }
                k += 1;
            }
            let body: String = c[body_start..k.min(c.len())].iter().collect();
            let end = (k + 1 + hashes).min(c.len());
            if is_path_string(&body) {
                // Same length: blanks for the quotes and prefix, the path itself in between.
                blank(&mut out, &c[i..body_start]);
                out.push_str(&body);
                blank(&mut out, &c[k.min(c.len())..end]);
            } else {
                blank(&mut out, &c[i..end]);
            }
            i = end;
        } else if c[i] == '\'' {
            // A char literal ('x', '\n', '\u{1F600}', '\'') or a lifetime ('a).
            if c.get(i + 1) == Some(&'\\') {
                let mut j = i + 2;
                while j < c.len() && c[j] != '\'' {
                    j += 1;
                }
                if c.get(i + 2) == Some(&'\'') {
                    j = i + 3; // '\''
                    while j < c.len() && c[j] != '\'' {
                        j += 1;
                    }
                }
                blank(&mut out, &c[i..(j + 1).min(c.len())]);
                i = j + 1;
            } else if c.get(i + 2) == Some(&'\'') {
                blank(&mut out, &c[i..i + 3]);
                i += 3;
            } else {
                out.push('\'');
                i += 1;
            }
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

fn is_path_string(s: &str) -> bool {
    let Some(rest) = s
        .strip_prefix("crate::")
        .or_else(|| s.strip_prefix("clw_diag::"))
    else {
        return false;
    };
    !rest.is_empty()
        && rest
            .split("::")
            .all(|seg| !seg.is_empty() && seg.chars().all(|ch| ch.is_alphanumeric() || ch == '_'))
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    PathSep,
    Punct(char),
}

fn tokens(stripped: &str) -> Vec<(Tok, usize)> {
    let c: Vec<char> = stripped.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push((Tok::Ident(c[start..i].iter().collect()), line));
        } else if ch.is_ascii_digit() {
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push((Tok::PathSep, line));
            i += 2;
        } else {
            out.push((Tok::Punct(ch), line));
            i += 1;
        }
    }
    out
}

/// A source file and what it belongs to.
struct SourceFile {
    /// `src/…`, for messages.
    name: String,
    /// Top-level module (`cli` for the binary).
    top: String,
    /// Module path inside its crate (`["sample", "snapshot"]`; `[]` for lib.rs/main.rs).
    module: Vec<String>,
    /// Whether it belongs to the binary (main.rs, cli/).
    binary: bool,
}

fn classify(rel: &Path) -> Option<SourceFile> {
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    // rel is relative to src/.
    let name = format!("src/{}", parts.join("/"));
    let mut module: Vec<String> = parts.clone();
    let last = module.pop()?;
    let stem = last.strip_suffix(".rs")?.to_string();
    if stem != "mod" && !(module.is_empty() && (stem == "lib" || stem == "main")) {
        module.push(stem.clone());
    }
    let binary = (module.is_empty() && stem == "main") || parts[0] == "cli";
    let top = if binary {
        "cli".to_string()
    } else if module.is_empty() {
        return None; // lib.rs: the crate root declares modules and re-exports.
    } else {
        module[0].clone()
    };
    Some(SourceFile {
        name,
        top,
        module,
        binary,
    })
}

/// The path that starts at token `k` (`x::y::z`, stopping at anything else), as text.
fn path_from(toks: &[(Tok, usize)], mut k: usize) -> String {
    let mut p = String::new();
    while let Some((Tok::Ident(x), _)) = toks.get(k) {
        if !p.is_empty() {
            p.push_str("::");
        }
        p.push_str(x);
        if toks.get(k + 1).map(|t| &t.0) != Some(&Tok::PathSep) {
            break;
        }
        k += 2;
    }
    p
}

/// The first segment (and the whole path) of each item of a group `{a::b, c, d::{e}}` whose
/// `{` is token `k`.
fn group_items(toks: &[(Tok, usize)], k: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let (mut depth, mut expect) = (0, true);
    for j in k..toks.len() {
        match &toks[j].0 {
            Tok::Punct('{') => {
                depth += 1;
                expect = depth == 1;
            }
            Tok::Punct('}') => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            Tok::Punct(',') if depth == 1 => expect = true,
            Tok::Ident(s) if depth == 1 && expect => {
                expect = false;
                out.push((s.clone(), path_from(toks, j)));
            }
            _ => {}
        }
    }
    out
}

/// The references from one file to top-level modules.
fn scan(file: &SourceFile, src: &str, aliases: &BTreeMap<String, String>) -> Vec<Import> {
    let toks = tokens(&strip(src));
    let mut out = Vec::new();
    // Inline modules: (brace depth inside the block, name).
    let mut inline: Vec<(usize, String)> = Vec::new();
    let mut depth = 0usize;
    let ident = |k: usize| match toks.get(k) {
        Some((Tok::Ident(s), _)) => Some(s.as_str()),
        _ => None,
    };
    let is = |k: usize, t: &Tok| toks.get(k).map(|(x, _)| x) == Some(t);
    for i in 0..toks.len() {
        let (tok, line) = &toks[i];
        let w = match tok {
            Tok::Punct('{') => {
                depth += 1;
                continue;
            }
            Tok::Punct('}') => {
                if inline.last().is_some_and(|(d, _)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
                continue;
            }
            Tok::Ident(w) => w.as_str(),
            _ => continue,
        };
        if w == "mod" {
            if let (Some(name), true) = (ident(i + 1), is(i + 2, &Tok::Punct('{'))) {
                inline.push((depth + 1, name.to_string()));
            }
            continue;
        }
        // Only the start of a path: not `a::crate`, not `$crate`.
        if i > 0 && (is(i - 1, &Tok::PathSep) || is(i - 1, &Tok::Punct('$'))) {
            continue;
        }
        // The token after the prefix that reaches the crate root.
        let first = match w {
            "crate" if !file.binary && is(i + 1, &Tok::PathSep) => i + 2,
            "clw_diag" if file.binary && is(i + 1, &Tok::PathSep) => i + 2,
            "super" if !file.binary => {
                let mut here: Vec<String> = file.module.clone();
                here.extend(inline.iter().map(|(_, n)| n.clone()));
                let mut k = i;
                let mut climbed_out = false;
                while ident(k) == Some("super") && is(k + 1, &Tok::PathSep) {
                    climbed_out |= here.pop().is_none();
                    k += 2;
                }
                // Only a climb to the crate root leaves the module family.
                if climbed_out || !here.is_empty() {
                    continue;
                }
                k
            }
            _ => continue,
        };
        let items = if is(first, &Tok::Punct('{')) {
            group_items(&toks, first)
        } else if let Some(s) = ident(first) {
            vec![(s.to_string(), path_from(&toks, first))]
        } else {
            Vec::new()
        };
        let prefix = if w == "clw_diag" { "clw_diag" } else { "crate" };
        for (seg, path) in items {
            if seg == "self" || seg == "super" || seg == "crate" {
                continue;
            }
            let to = aliases.get(&seg).cloned().unwrap_or(seg);
            out.push(Import {
                file: file.name.clone(),
                line: *line,
                from: file.top.clone(),
                to,
                path: format!("{prefix}::{path}"),
            });
        }
    }
    out
}

/// `pub use error::{Error, Result};` in lib.rs: `Error` → `error`, `Result` → `error`.
fn lib_aliases(lib: &str) -> BTreeMap<String, String> {
    let toks = tokens(&strip(lib));
    let mut out = BTreeMap::new();
    for i in 0..toks.len().saturating_sub(2) {
        if let [(Tok::Ident(u), _), (Tok::Ident(m), _), (Tok::PathSep, _)] = &toks[i..i + 3] {
            if u == "use" {
                for (t, _) in toks[i + 3..]
                    .iter()
                    .take_while(|(t, _)| *t != Tok::Punct(';'))
                {
                    if let Tok::Ident(name) = t {
                        out.insert(name.clone(), m.clone());
                    }
                }
            }
        }
    }
    out
}

/// Wrong-way imports and cycles, as messages (empty when the layering holds).
fn check(imports: &[Import]) -> Vec<String> {
    let mut problems = Vec::new();
    // Edges between distinct top-level modules, with every place that makes them.
    let mut edges: BTreeMap<(String, String), Vec<&Import>> = BTreeMap::new();
    for im in imports {
        if im.from == im.to {
            continue;
        }
        let (Some(lf), Some(lt)) = (layer(&im.from), layer(&im.to)) else {
            let unknown = if layer(&im.from).is_none() {
                &im.from
            } else {
                &im.to
            };
            problems.push(format!(
                "{}:{}: {unknown:?} is not a module of the layer table ({} -> {}: {})",
                im.file, im.line, im.from, im.to, im.path
            ));
            continue;
        };
        if lf < lt {
            problems.push(format!(
                "{}:{}: wrong-way import: {} (layer {lf}) uses {} (layer {lt}): {}",
                im.file, im.line, im.from, im.to, im.path
            ));
        }
        edges
            .entry((im.from.clone(), im.to.clone()))
            .or_default()
            .push(im);
    }
    for (walk, component) in cycles(&edges.keys().cloned().collect::<Vec<_>>()) {
        let mut msg = format!("import cycle: {}", walk.join(" -> "));
        if component.len() > walk.len() - 1 {
            let names: Vec<&str> = component.iter().map(String::as_str).collect();
            msg.push_str(&format!(" (one of the cycles among {})", names.join(", ")));
        }
        // The imports inside the cycle's component that do not go down a layer: a cycle
        // needs at least one of them, so one of these is the one to remove.
        for ((a, b), places) in &edges {
            if component.contains(a) && component.contains(b) && layer(a) <= layer(b) {
                for im in places {
                    msg.push_str(&format!(
                        "\n    {}:{}: {a} -> {b}: {}",
                        im.file, im.line, im.path
                    ));
                }
            }
        }
        problems.push(msg);
    }
    problems
}

/// Cycles of the module graph: one per strongly connected component of two or more modules,
/// as a shortest closed walk `a -> b -> … -> a` through it, with the component's modules.
fn cycles(edges: &[(String, String)]) -> Vec<(Vec<String>, BTreeSet<String>)> {
    let nodes: BTreeSet<&String> = edges.iter().flat_map(|(a, b)| [a, b]).collect();
    let succ = |n: &str| -> Vec<&String> {
        edges
            .iter()
            .filter(|(a, _)| a == n)
            .map(|(_, b)| b)
            .collect()
    };
    let reach = |from: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(n) = stack.pop() {
            for s in succ(&n) {
                if seen.insert(s.clone()) {
                    stack.push(s.clone());
                }
            }
        }
        seen
    };
    let reach_of: BTreeMap<&String, BTreeSet<String>> =
        nodes.iter().map(|n| (*n, reach(n))).collect();
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    for n in &nodes {
        if done.contains(*n) || !reach_of[n].contains(*n) {
            continue;
        }
        let scc: BTreeSet<String> = nodes
            .iter()
            .filter(|m| reach_of[n].contains(**m) && reach_of[*m].contains(*n))
            .map(|m| (*m).clone())
            .collect();
        done.extend(scc.iter().cloned());
        // A shortest walk from n back to n inside the component (BFS).
        let mut parent: BTreeMap<String, String> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([(*n).clone()]);
        let mut last = None;
        'bfs: while let Some(x) = queue.pop_front() {
            for s in succ(&x) {
                if *s == **n {
                    last = Some(x.clone());
                    break 'bfs;
                }
                if scc.contains(s) && !parent.contains_key(s) {
                    parent.insert(s.clone(), x.clone());
                    queue.push_back(s.clone());
                }
            }
        }
        let mut walk = vec![(*n).clone()];
        let mut at = last.expect("n is in a cycle");
        while at != **n {
            walk.push(at.clone());
            at = parent[&at].clone();
        }
        walk.push((*n).clone());
        walk.reverse();
        out.push((walk, scc));
    }
    out
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn scan_tree(src: &Path) -> Vec<Import> {
    let aliases = lib_aliases(&std::fs::read_to_string(src.join("lib.rs")).unwrap());
    let mut files = Vec::new();
    rs_files(src, &mut files);
    let mut imports = Vec::new();
    for p in files {
        let rel = p.strip_prefix(src).unwrap();
        let Some(f) = classify(rel) else { continue };
        let text = std::fs::read_to_string(&p).unwrap();
        imports.extend(scan(&f, &text, &aliases));
    }
    imports
}

#[test]
fn layers_import_only_downwards_and_without_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let imports = scan_tree(&src);
    // The scanner saw the tree: base is used, and cli uses the library.
    assert!(
        imports.iter().any(|i| i.to == "base"),
        "no import of base found"
    );
    assert!(imports.iter().any(|i| i.from == "cli" && i.to == "render"));
    let problems = check(&imports);
    assert!(
        problems.is_empty(),
        "{} layering problem(s) (layers: base, error < sample, trace, coredump, symbolize, triage, identity, heap < analysis, record, serve < render < report < cli):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

// The scanner itself, on planted sources.

fn file(name: &str) -> SourceFile {
    classify(Path::new(name)).unwrap()
}

fn scan_one(name: &str, src: &str) -> Vec<Import> {
    let aliases = lib_aliases("pub use error::{Error, Result};\n");
    scan(&file(name), src, &aliases)
}

fn targets(v: &[Import]) -> Vec<(String, usize)> {
    v.iter().map(|i| (i.to.clone(), i.line)).collect()
}

#[test]
fn a_planted_wrong_way_import_is_reported_with_file_and_line() {
    let src = "//! A reader.\n\nuse crate::error::Result;\nuse crate::render::units::iec;\n";
    let im = scan_one("sample/planted.rs", src);
    assert_eq!(targets(&im), [("error".into(), 3), ("render".into(), 4)]);
    let p = check(&im);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("src/sample/planted.rs:4: wrong-way import: sample (layer 1) uses render (layer 3): crate::render::units::iec"),
        "{}",
        p[0]
    );
}

#[test]
fn grouped_nested_and_inline_paths() {
    let src = "use crate::{analysis::leak, base::{size, time}, Error};\n\
               fn f() { let x = crate::trace::read::x(); }\n\
               pub(crate) use crate::sample::files as f2;\n";
    let im = scan_one("record/x.rs", src);
    assert_eq!(
        targets(&im),
        [
            ("analysis".into(), 1),
            ("base".into(), 1),
            ("error".into(), 1),
            ("trace".into(), 2),
            ("sample".into(), 3)
        ]
    );
    assert_eq!(im[0].path, "crate::analysis::leak");
    assert_eq!(im[3].path, "crate::trace::read::x");
}

#[test]
fn comments_and_strings_are_not_imports_but_serde_paths_are() {
    let src = "// use crate::render::x;\n\
               /* crate::report::y /* nested */ crate::cli */\n\
               const S: &str = \"see crate::render::table\";\n\
               const R: &str = r#\"a \"quote\" and crate::report::z\"#;\n\
               const C: char = '\"'; const L: &'static str = \"\";\n\
               #[serde(serialize_with = \"crate::base::hex::hex\")]\n\
               /// Docs naming [`crate::render`].\n\
               fn g<'a>(x: &'a u8) -> char { let _ = crate::trace::t; '\\'' }\n";
    let im = scan_one("sample/y.rs", src);
    assert_eq!(targets(&im), [("base".into(), 6), ("trace".into(), 8)]);
}

#[test]
fn super_resolves_through_mod_rs_and_inline_modules() {
    // In sample/mod.rs, `super::` is the crate root: `super::render` is a top-level module.
    let im = scan_one(
        "sample/mod.rs",
        "use super::render::x;\nmod tests { use super::*; use super::files; }\n",
    );
    assert_eq!(targets(&im), [("render".into(), 1)]);
    // In a leaf file, one `super::` stays in the family; two climb to the root.
    let im = scan_one(
        "sample/cgroup.rs",
        "use super::files;\nuse super::super::analysis::x;\nmod tests { use super::super::files; use super::super::super::report::y; }\n",
    );
    assert_eq!(targets(&im), [("analysis".into(), 2), ("report".into(), 3)]);
    let p = check(&im);
    assert_eq!(p.len(), 2, "{p:?}");
}

#[test]
fn the_binary_imports_through_clw_diag() {
    let im = scan_one(
        "cli/sample.rs",
        "use clw_diag::render::{self, Format};\nuse crate::cli::x;\nuse super::GlobalArgs;\n",
    );
    assert_eq!(targets(&im), [("render".into(), 1)]);
    assert_eq!(file("main.rs").top, "cli");
    assert!(check(&im).is_empty());
    // The library never names the binary: a `clw_diag::` path in the library is not parsed
    // as one, and `crate::cli` from the library is a wrong-way import.
    let im = scan_one("render/x.rs", "use crate::cli::y;\n");
    assert_eq!(check(&im).len(), 1);
}

#[test]
fn a_planted_cycle_is_reported_with_both_edges() {
    let mut im = scan_one("symbolize/a.rs", "use crate::coredump::x;\n");
    im.extend(scan_one("coredump/b.rs", "\n\nuse crate::symbolize::y;\n"));
    let p = check(&im);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("import cycle: coredump -> symbolize -> coredump"),
        "{}",
        p[0]
    );
    assert!(p[0].contains("src/coredump/b.rs:3: coredump -> symbolize: crate::symbolize::y"));
    assert!(p[0].contains("src/symbolize/a.rs:1: symbolize -> coredump: crate::coredump::x"));
    // A three-module cycle inside one layer.
    let mut im = scan_one("sample/a.rs", "use crate::trace::x;\n");
    im.extend(scan_one("trace/b.rs", "use crate::triage::y;\n"));
    im.extend(scan_one("triage/c.rs", "use crate::sample::z;\n"));
    let p = check(&im);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("import cycle: sample -> trace -> triage -> sample"),
        "{}",
        p[0]
    );
    // Two separate cycles are two problems.
    let mut im = scan_one("symbolize/a.rs", "use crate::coredump::x;\n");
    im.extend(scan_one("coredump/b.rs", "use crate::symbolize::y;\n"));
    im.extend(scan_one("sample/a.rs", "use crate::trace::x;\n"));
    im.extend(scan_one("trace/b.rs", "use crate::sample::y;\n"));
    assert_eq!(check(&im).len(), 2);
    // No cycle: a chain.
    let mut im = scan_one("sample/a.rs", "use crate::trace::x;\n");
    im.extend(scan_one("trace/b.rs", "use crate::triage::y;\n"));
    assert!(check(&im).is_empty());
}

#[test]
fn unknown_top_level_names_are_reported() {
    let im = scan_one("sample/a.rs", "use crate::frobnicate::x;\n");
    let p = check(&im);
    assert_eq!(p.len(), 1);
    assert!(
        p[0].contains("\"frobnicate\" is not a module of the layer table"),
        "{}",
        p[0]
    );
}
