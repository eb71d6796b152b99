//! Stability of the leak verdict on live recordings (issue 15: "one leaker and one non-leaker
//! recorded live ten times each; at least 9 of 10 give the right verdict"). The leaker is
//! tests/helpers/leak-corpus/py_linear.py (~2.5 MiB/s), the non-leaker c_churn.c (malloc/free
//! churn over a bounded ring, flat after its first second): py_lru and c_churn are both right
//! 6 of 6 on the committed corpus, and c_churn fills its bound in 1 s where py_lru takes ~8 s,
//! a third of a short recording. A leaker's verdict is right when it is "leak"; a
//! non-leaker's when it is neither "leak" nor "suspected" (both alarm the person on call: at
//! 25 s c_churn was "suspected" ten times of ten, for its allocator's ~2 % creep while it
//! settles; at 45 s it was "no-leak" ten times of ten). Each is recorded with
//! `clw-diag record -i 250ms -d 45s --memory-limit 512Mi` (a limited memory cgroup, so no run
//! can take the host's memory), ten recordings at a time, and analysed with the default
//! metric. Needs root and a memory cgroup
//! hierarchy; it prints SKIP otherwise.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use common::{cmd, have, is_root, json, skip};

const RUNS: usize = 10;
const AT_ONCE: usize = 10;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/helpers/leak-corpus")
}

fn cgroups_available() -> bool {
    Path::new("/sys/fs/cgroup/memory/memory.usage_in_bytes").exists()
        || std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers")
            .is_ok_and(|c| c.contains("memory"))
}

fn start(program: &[String], out: &Path) -> Child {
    cmd()
        .args([
            "record",
            "-q",
            "-i",
            "250ms",
            "-d",
            "45s",
            "--memory-limit",
            "512Mi",
            "-o",
        ])
        .arg(out)
        .arg("--")
        .args(program)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start clw-diag record")
}

#[test]
fn ten_live_recordings_each_give_the_right_verdict() {
    if !is_root() || !cgroups_available() {
        skip("recording under --memory-limit needs root and a memory cgroup hierarchy");
        return;
    }
    if !have("python3") || !have("gcc") {
        skip("python3 and gcc are needed for the corpus programs");
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let churn = tmp.path().join("c_churn");
    let built = std::process::Command::new("gcc")
        .args(["-O2", "-o"])
        .arg(&churn)
        .arg(corpus().join("c_churn.c"))
        .status()
        .expect("run gcc");
    assert!(built.success(), "gcc c_churn.c failed");
    let py = corpus().join("py_linear.py");
    let programs: [(&str, bool, Vec<String>); 2] = [
        (
            "py_linear",
            true,
            vec!["python3".into(), py.to_string_lossy().into_owned()],
        ),
        ("c_churn", false, vec![churn.to_string_lossy().into_owned()]),
    ];
    let mut jobs = Vec::new();
    for i in 0..RUNS {
        for (name, leak, argv) in &programs {
            jobs.push((
                *name,
                *leak,
                argv.clone(),
                tmp.path().join(format!("{name}-{i}.jsonl")),
            ));
        }
    }
    for batch in jobs.chunks(AT_ONCE) {
        let children: Vec<Child> = batch
            .iter()
            .map(|(_, _, argv, out)| start(argv, out))
            .collect();
        for (child, (name, ..)) in children.into_iter().zip(batch) {
            let o = child.wait_with_output().expect("wait for clw-diag record");
            assert!(
                o.status.success(),
                "record of {name} failed ({:?}): {}",
                o.status,
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
    let mut lines = Vec::new();
    let mut right = [0usize; 2];
    for (name, leak, _, out) in &jobs {
        let o = cmd()
            .args(["analyze", "memory-trace", "--json", "-q"])
            .arg(out)
            .output()
            .expect("run clw-diag analyze");
        let r = &json(&o)["results"][0];
        let verdict = r["verdict"].as_str().unwrap_or("?");
        let ok = if *leak {
            verdict == "leak"
        } else {
            verdict != "leak" && verdict != "suspected"
        };
        right[usize::from(!leak)] += usize::from(ok);
        lines.push(format!(
            "{name:10} {verdict:18} confidence {:5} growth {:>6}%  {}  {}",
            r["confidence"],
            r["growth_pct"]
                .as_f64()
                .map_or("-".into(), |g| format!("{g:.1}")),
            if ok { "right" } else { "WRONG" },
            r["notes"]
        ));
    }
    let report = format!(
        "py_linear right {}/{RUNS}, c_churn right {}/{RUNS}\n{}",
        right[0],
        right[1],
        lines.join("\n")
    );
    eprintln!("{report}");
    assert!(right[0] >= 9, "the leaker's verdict is unstable: {report}");
    assert!(
        right[1] >= 9,
        "the non-leaker's verdict is unstable: {report}"
    );
}
