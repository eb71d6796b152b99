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
        skip("util-linux script(1) is not installed");
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

/// `setup; clw-diag ARGS` on a pseudo-terminal (util-linux `script`), stdout with `\r`
/// removed; `None` (and a SKIP line) when `script` is missing.
fn on_a_pty(setup: &str, args: &str) -> Option<String> {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        skip("util-linux script(1) is not installed");
        return None;
    }
    let line = format!("{setup}; {} {args}", bin());
    let o = std::process::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env_remove("COLUMNS")
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(o.status.success(), "{line}: {}", stderr(&o));
    Some(String::from_utf8_lossy(&o.stdout).replace('\r', ""))
}

/// The v2 fixture's `sample` and `oom-rank` tables at `width`: no line longer, and every data
/// row on one line with its last cell (no cell wrapped inside itself or split across lines).
fn assert_tables_fit(setup: &str, width: usize) {
    let tree = fixtures().join("v2");
    let roots = format!(
        "--proc-root {0}/proc --cgroup-root {0}/sys/fs/cgroup --color never -q",
        tree.display()
    );
    let Some(sample) = on_a_pty(setup, &format!("{roots} sample")) else {
        return;
    };
    for l in sample.lines() {
        assert!(l.chars().count() <= width, "{setup}: {l:?}\n{sample}");
    }
    // The four cgroups of the fixture, each on one line ending with its state.
    let cgroups: Vec<&str> = sample
        .lines()
        .filter(|l| l.ends_with(" ok") || l.ends_with(" warning"))
        .collect();
    assert_eq!(cgroups.len(), 5, "host + 4 cgroups, {setup}:\n{sample}");
    let proc_line = sample.lines().find(|l| l.contains("31337")).unwrap();
    assert!(
        proc_line.contains("python3") && proc_line.contains("MiB"),
        "{setup}: {sample}"
    );
    // No cell split across lines: no line of only a unit or a word fragment.
    assert!(
        !sample
            .lines()
            .any(|l| matches!(l.trim(), "MiB" | "GiB" | "ing")),
        "{setup}:\n{sample}"
    );
    let Some(rank) = on_a_pty(setup, &format!("{roots} oom-rank")) else {
        return;
    };
    for l in rank.lines() {
        assert!(l.chars().count() <= width, "{setup}: {l:?}\n{rank}");
    }
    assert_eq!(
        rank.lines().filter(|l| l.contains("31337")).count(),
        1,
        "{rank}"
    );
}

#[test]
fn tables_at_80_columns_do_not_wrap_cells() {
    assert_tables_fit("stty cols 80", 80);
}

#[test]
fn tables_on_a_pty_with_no_size_use_80_columns() {
    // A pty whose size was never set reports 0 columns: that used to give one character per
    // column, each cell wrapped over many lines.
    assert_tables_fit("stty cols 0", 80);
}

#[test]
fn tables_honour_columns() {
    assert_tables_fit("stty cols 200; export COLUMNS=60", 60);
}

#[test]
fn long_cgroup_paths_keep_their_end_and_commands_their_start() {
    let tree = fixtures().join("v2");
    let roots = format!(
        "--proc-root {0}/proc --cgroup-root {0}/sys/fs/cgroup --color never -q",
        tree.display()
    );
    let Some(s) = on_a_pty("stty cols 100", &format!("{roots} sample")) else {
        return;
    };
    let p = s.lines().find(|l| l.contains("31337")).unwrap();
    // The WORKLOAD label (here the unresolved container's runtime and ID) keeps its end too.
    assert!(p.contains("…9a2c1be07d (unresolved)"), "{s}");
    assert!(p.contains("/root/.pyenv"), "{s}");
}

#[test]
fn sample_notes_go_to_stderr_and_quiet_silences_them() {
    let tree = fixtures().join("v2");
    let o = run_fixture(&tree, &["sample"]);
    assert!(o.status.success());
    let note = "working set at 93.4% of the limit";
    assert!(
        !stdout(&o).contains(note),
        "a note on stdout:\n{}",
        stdout(&o)
    );
    assert!(stderr(&o).contains(note), "{}", stderr(&o));
    let o = run_fixture(&tree, &["-q", "sample"]);
    assert!(o.status.success());
    assert_eq!(stderr(&o), "", "-q must silence notes");
    assert!(stdout(&o).contains("31337"));
}

#[test]
fn oom_rank_notes_go_to_stderr_and_quiet_silences_them() {
    let tree = fixtures().join("v2");
    let o = run_fixture(&tree, &["oom-rank"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stdout(&o).contains("totalpages"), "{}", stdout(&o));
    assert!(stderr(&o).contains("totalpages"), "{}", stderr(&o));
    let o = run_fixture(&tree, &["-q", "oom-rank"]);
    assert_eq!(stderr(&o), "");
    assert!(stdout(&o).contains("31337"));
}

#[test]
fn analyze_notes_go_to_stderr_and_quiet_silences_them() {
    let d = tempfile::tempdir().unwrap();
    let mut text = String::from("time,rss_kb\n");
    for i in 0..200 {
        text.push_str(&format!("{},{}\n", i * 5, 200_000 + i * 40));
    }
    let p = d.path().join("t.csv");
    std::fs::write(&p, text).unwrap();
    let args = ["analyze", "memory-trace", p.to_str().unwrap()];
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("t.csv"), "{}", stdout(&o));
    for note in ["Mann-Kendall", "metric rss_bytes"] {
        assert!(!stdout(&o).contains(note), "{}", stdout(&o));
        assert!(stderr(&o).contains(note), "{}", stderr(&o));
    }
    let o = run(&[&["-q"], &args[..]].concat());
    assert!(o.status.success());
    assert_eq!(stderr(&o), "");
}

#[test]
fn sample_format_github_is_refused_before_any_work() {
    // The proc root does not exist: a check after sampling would report that instead.
    let o = run(&[
        "--proc-root",
        "/nonexistent-proc",
        "sample",
        "--format",
        "github",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "clw-diag: error: --format github is not available for sample: github is only for \
         triage (GitHub Actions annotations)\n"
    );
    assert_eq!(stdout(&o), "");
}

#[test]
fn csv_is_refused_up_front_where_a_command_has_no_table() {
    for args in [
        &["report", "--format", "csv"][..],
        &["--format", "csv", "--since", "1h"],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert_eq!(
            stderr(&o),
            "clw-diag: error: csv is not available for report; use --json\n",
            "{args:?}"
        );
        assert_eq!(stdout(&o), "");
    }
}

#[test]
fn sample_csv_is_one_table_per_stream() {
    let tree = fixtures().join("v2");
    let header = |table: Option<&str>| {
        let mut args = vec!["sample", "--format", "csv"];
        if let Some(t) = table {
            args.extend(["--table", t]);
        }
        let o = run_fixture(&tree, &args);
        assert!(o.status.success(), "{}", stderr(&o));
        let s = stdout(&o);
        assert!(!s.contains("\n\n"), "more than one table: {s}");
        let rows = s.lines().count();
        (s.lines().next().unwrap().to_string(), rows)
    };
    let (procs, n) = header(None);
    assert!(procs.starts_with("pid,name,rss_bytes"), "{procs}");
    assert_eq!(n, 2);
    assert_eq!(header(Some("processes")).0, procs);
    let (cg, n) = header(Some("cgroups"));
    assert!(cg.starts_with("path,usage_bytes"), "{cg}");
    assert_eq!(n, 5);
    let (host, n) = header(Some("host"));
    assert!(host.starts_with("total_bytes,used_bytes"), "{host}");
    assert_eq!(n, 2);
    // CSV keeps text whole: the table's elision is for people.
    let o = run_fixture(&tree, &["sample", "--format", "csv"]);
    assert!(stdout(&o).contains(
        ",/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0f1e2d3c_4b5a_6978_8877_665544332211.slice/cri-containerd-4f9a2c1be07d.scope,"
    ), "{}", stdout(&o));
}

#[test]
fn vmmap_mappings_csv_is_one_table() {
    let o = run_fixture(
        &fixtures().join("v1-hybrid"),
        &["vmmap", "4242", "--mappings", "--format", "csv"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    assert!(!s.contains("\n\n"), "{s}");
    assert!(s.starts_with("start,end,perms,offset"));
    assert!(!s.contains("category,virtual_bytes"), "{s}");
}

#[test]
fn man_on_stdout_equals_the_committed_page() {
    let o = run(&["man"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let committed =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("man/clw-diag.1")).unwrap();
    assert!(
        o.stdout == committed,
        "`clw-diag man` differs from man/clw-diag.1: regenerate with `cargo run -- man --dir man`"
    );
}
