//! The command-line contract: generated completions and man pages match the CLI, exit codes,
//! closed pipes, colour.

mod common;

use std::path::Path;
use std::process::Stdio;

use common::*;

fn assert_same_tree(generated: &Path, committed: &Path, what: &str) {
    let mut names: Vec<_> = std::fs::read_dir(generated)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    let mut committed_names: Vec<_> = std::fs::read_dir(committed)
        .unwrap_or_else(|_| panic!("{} is missing", committed.display()))
        .map(|e| e.unwrap().file_name())
        .collect();
    committed_names.sort();
    assert_eq!(
        names, committed_names,
        "{what} drifted: regenerate with `cargo run -- {what} --dir {what}`"
    );
    for n in names {
        let a = std::fs::read(generated.join(&n)).unwrap();
        let b = std::fs::read(committed.join(&n)).unwrap();
        assert!(
            a == b,
            "{}/{} differs from the CLI: regenerate with `cargo run -- {what} --dir {what}`",
            committed.display(),
            n.to_string_lossy()
        );
    }
}

#[test]
fn committed_completions_match_the_cli() {
    let t = tempfile::tempdir().unwrap();
    let o = run(&["completions", "--dir", t.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_tree(
        t.path(),
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("completions"),
        "completions",
    );
}

#[test]
fn committed_man_pages_match_the_cli() {
    let t = tempfile::tempdir().unwrap();
    let o = run(&["man", "--dir", t.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let pages: Vec<_> = std::fs::read_dir(t.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    for p in [
        "clw-diag.1",
        "clw-diag-sample.1",
        "clw-diag-vmmap.1",
        "clw-diag-triage.1",
    ] {
        assert!(
            pages.contains(&p.to_string()),
            "{p} not generated: {pages:?}"
        );
    }
    assert_same_tree(
        t.path(),
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("man"),
        "man",
    );
}

#[test]
fn completions_for_one_shell_on_stdout() {
    let o = run(&["completions", "bash"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("_clw__diag()"));
    assert_eq!(run(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn help_and_version_exit_0() {
    let o = run(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("sample") && stdout(&o).contains("vmmap"));
    let o = run(&["--version"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("clw-diag "));
}

#[test]
fn every_command_of_the_design_is_listed() {
    let help = stdout(&run(&["--help"]));
    for c in [
        "sample",
        "vmmap",
        "triage",
        "record",
        "analyze",
        "oom-rank",
        "recommend",
        "report",
        "backtrace",
        "symbolize",
        "serve",
        "completions",
        "man",
    ] {
        assert!(help.contains(&format!("  {c} ")), "{c} not listed:\n{help}");
    }
}

#[test]
fn closed_pipe_exits_0_quietly() {
    for args in [
        &["vmmap", "--mappings", "self"][..],
        &["vmmap", "--mappings", "--json", "self"],
    ] {
        // The read end is closed before the child starts, so its first write fails with EPIPE.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let o = cmd()
            .args(args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}: stderr: {}", stderr(&o));
        assert_eq!(stderr(&o), "", "{args:?}");
    }
}

#[test]
fn color_always_and_never() {
    let tree = fixtures().join("v2");
    let o = run_fixture(&tree, &["--color", "always", "sample"]);
    assert!(
        stdout(&o).contains("\x1b["),
        "no ANSI escape with --color always"
    );
    let o = run_fixture(&tree, &["--color", "never", "sample"]);
    assert!(!stdout(&o).contains('\x1b'));
    // Piped output under "auto" has no colour.
    let o = run_fixture(&tree, &["sample"]);
    assert!(!stdout(&o).contains('\x1b'));
}

#[test]
fn no_color_is_honoured_on_a_terminal() {
    // `script` gives the command a pseudo-terminal, where "auto" would colour.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIP: util-linux script(1) is not installed");
        return;
    }
    let tree = fixtures().join("v2");
    let line = format!(
        "{} --proc-root {}/proc --cgroup-root {}/sys/fs/cgroup sample",
        bin(),
        tree.display(),
        tree.display()
    );
    let tty = |no_color: bool| {
        let mut c = std::process::Command::new("script");
        c.args(["-qec", &line, "/dev/null"]);
        if no_color {
            c.env("NO_COLOR", "1");
        } else {
            c.env_remove("NO_COLOR");
        }
        String::from_utf8_lossy(&c.output().unwrap().stdout).into_owned()
    };
    assert!(
        tty(false).contains("\x1b[3"),
        "expected colour on a terminal"
    );
    assert!(
        !tty(true).contains("\x1b[3"),
        "NO_COLOR must disable colour"
    );
}

#[test]
fn json_shorthand_equals_format_json() {
    let tree = fixtures().join("v1-hybrid");
    let a = stdout(&run_fixture(&tree, &["vmmap", "4242", "--json"]));
    let b = stdout(&run_fixture(&tree, &["--format", "json", "vmmap", "4242"]));
    assert_eq!(a, b);
}
