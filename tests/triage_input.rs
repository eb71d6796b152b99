//! triage on awkward input: compressed files, stdin, JSON, truncation, garbage, invalid UTF-8,
//! CRLF/CR, huge lines, missing files; and the output contract (--fail-on, --format github).

mod common;

use std::io::Write;
use std::process::Stdio;

use common::*;

const VICTIM: &str = "[  323.151867] Memory cgroup out of memory: Killed process 4803 (python3) total-vm:221368kB, anon-rss:65152kB, file-rss:6604kB, shmem-rss:0kB, UID:0 pgtables:204kB oom_score_adj:0\n";

fn tmp_with(name: &str, bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    (d, p)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn events(o: &std::process::Output) -> Vec<serde_json::Value> {
    json(o)["events"].as_array().unwrap().clone()
}

#[test]
fn gzip_and_zstd_and_stdin() {
    let mut text = "noise\n".repeat(1000);
    text.push_str(VICTIM);
    let (_d, gz) = tmp_with("kern.log.1.gz", &gzip(text.as_bytes()));
    let ev = events(&run(&["triage", gz.to_str().unwrap(), "--json"]));
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["pid"], 4803);
    assert_eq!(ev[0]["source"]["line"], 1001);
    if let Ok(out) = std::process::Command::new("zstd")
        .args(["-q", "-c"])
        .arg(&gz)
        .output()
    {
        // zstd of the gzip file is not what we want; compress the text when zstd exists.
        let _ = out;
        let (_d2, plain) = tmp_with("kern.log", text.as_bytes());
        let z = std::process::Command::new("zstd")
            .args(["-q", "-f"])
            .arg(&plain)
            .status();
        if z.is_ok_and(|s| s.success()) {
            let zst = plain.with_extension("log.zst");
            let ev = events(&run(&["triage", zst.to_str().unwrap(), "--json"]));
            assert_eq!(ev.len(), 1, "zstd input");
        }
    }
    let mut child = cmd()
        .args(["triage", "-", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(events(&o)[0]["source"]["file"], "<stdin>");
}

#[test]
fn truncated_gzip_prints_what_was_found_and_exits_2() {
    let mut text = String::from(VICTIM);
    for i in 0..50_000 {
        text.push_str(&format!(
            "noise line {i} with some words to compress poorly {}\n",
            i * 7919
        ));
    }
    let gz = gzip(text.as_bytes());
    let (_d, p) = tmp_with("cut.gz", &gz[..gz.len() / 2]);
    let o = run(&["triage", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stdout(&o).contains("python3[4803]"),
        "events before the cut are printed: {}",
        stdout(&o)
    );
    let err = stderr(&o);
    assert!(err.contains("cut.gz") && err.contains("truncated"), "{err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn missing_file_is_named_and_others_still_read() {
    let (_d, good) = tmp_with("good.log", VICTIM.as_bytes());
    let o = run(&["triage", "/nonexistent/kern.log", good.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent/kern.log: no such file"));
    assert!(stdout(&o).contains("python3[4803]"));
}

#[test]
fn nothing_to_read_is_a_usage_error() {
    let o = run(&["triage"]);
    assert_error(&o, &["nothing to read"]);
}

#[test]
fn garbage_invalid_utf8_crlf_cr_and_huge_lines_never_panic() {
    let mut v: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
        .collect();
    v.extend_from_slice(b"\n\xff\xfe invalid \xc3\x28 utf8\nKilled process 1 (\xff) total-vm:1kB, anon-rss:1kB, file-rss:0kB\r\n");
    v.extend_from_slice(&vec![b'y'; 10 << 20]);
    v.extend_from_slice(b"\r\n");
    v.extend_from_slice(VICTIM.replace('\n', "\r\n").as_bytes());
    let (_d, p) = tmp_with("garbage.log", &v);
    let o = run(&["triage", p.to_str().unwrap(), "--json"]);
    let j = json(&o);
    let ev = j["events"].as_array().unwrap();
    assert!(ev.iter().any(|e| e["pid"] == 4803));
    assert!(ev
        .iter()
        .any(|e| e["pid"] == 1 && e["process"] == "\u{FFFD}"));
    assert_eq!(j["inputs"][0]["long_lines"], 1);
    // CR-only line ends.
    let cr = format!("first\r{}\rlast", VICTIM.trim_end());
    let (_d, p) = tmp_with("cr.log", cr.as_bytes());
    let ev = events(&run(&["triage", p.to_str().unwrap(), "--json"]));
    assert_eq!(ev[0]["source"]["line"], 2);
}

#[test]
fn random_bytes_and_mutated_reports_never_panic() {
    // A deterministic fuzz: mutate a real report byte by byte and run the scanner in-process.
    let report =
        std::fs::read_to_string(fixtures().join("triage-live/kernel-6.18-cgroup-v1-oom.log"))
            .unwrap();
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..300 {
        let mut b = report.clone().into_bytes();
        for _ in 0..(next() % 40) {
            let i = (next() as usize) % b.len();
            b[i] = next() as u8;
        }
        let cut = (next() as usize) % b.len();
        b.truncate(cut);
        let mut s =
            clw_diag::triage::scan::Scanner::new("fuzz", clw_diag::triage::scan::Mode::Text);
        s.scan(&b[..]).unwrap();
        let _ = clw_diag::triage::correlate::correlate(s.events);
    }
    for _ in 0..200 {
        let len = (next() % 5000) as usize;
        let b: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let mut s =
            clw_diag::triage::scan::Scanner::new("fuzz", clw_diag::triage::scan::Mode::JournalJson);
        s.scan(&b[..]).unwrap();
    }
}

#[test]
fn fail_on_and_github_annotations() {
    let (_d, p) = tmp_with(
        "ci.log",
        format!(
            "{VICTIM}2024-04-14T22:05:23.8605906Z ##[error]Process completed with exit code 137.\n"
        )
        .as_bytes(),
    );
    let f = p.to_str().unwrap();
    assert_eq!(
        run(&["triage", f, "--fail-on", "oom"]).status.code(),
        Some(1)
    );
    assert_eq!(
        run(&["triage", f, "--fail-on", "crash"]).status.code(),
        Some(0)
    );
    assert_eq!(run(&["triage", f]).status.code(), Some(0));
    let o = run(&["triage", f, "--format", "github"]);
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let error = lines
        .iter()
        .find(|l| l.starts_with("::error file="))
        .expect("an OOM is an error");
    assert!(
        error.contains(",line=1,") && error.contains("cgroup_oom_kill"),
        "{out}"
    );
    let warning = lines
        .iter()
        .find(|l| l.starts_with("::warning file="))
        .expect("an exit with unknown cause is a warning");
    assert!(
        warning.contains(",line=2,") && warning.contains("cause unknown"),
        "{out}"
    );
    assert_eq!(
        run(&["vmmap", "self", "--format", "github"]).status.code(),
        Some(2)
    );
}

#[test]
fn since_drops_old_dated_events_and_keeps_undated_ones() {
    let text = format!(
        "2020-01-01T00:00:00Z host kernel: Out of memory: Killed process 1 (old) total-vm:1kB, anon-rss:1kB, file-rss:0kB\n{VICTIM}"
    );
    let (_d, p) = tmp_with("s.log", text.as_bytes());
    let j = json(&run(&[
        "triage",
        p.to_str().unwrap(),
        "--since",
        "1d",
        "--json",
    ]));
    assert_eq!(j["events"].as_array().unwrap().len(), 1);
    assert_eq!(j["events"][0]["pid"], 4803);
    assert_eq!(j["summary"]["before_since"], 1);
    assert_eq!(
        run(&["triage", "-", "--since", "yesterday-ish"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn syslog_and_journal_duplicates_collapse() {
    let a = "Apr 15 10:22:01 node1 kernel: [  518.050606] Out of memory: Killed process 77 (java) total-vm:10kB, anon-rss:5kB, file-rss:0kB, shmem-rss:0kB\n";
    let (_d, p1) = tmp_with("syslog", a.as_bytes());
    let (_d2, p2) = tmp_with("messages", format!("{a}{a}").as_bytes());
    let j = json(&run(&[
        "triage",
        p1.to_str().unwrap(),
        p2.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(j["events"].as_array().unwrap().len(), 1);
    assert!(j["events"][0]["evidence"]
        .to_string()
        .contains("(duplicate)"));
}

#[test]
fn mapped_and_streamed_reads_agree_across_segment_boundaries() {
    // > 16 MiB so the file is memory-mapped and searched by two threads in 1 MiB segments,
    // and > 24 MiB so the search reaches the end of its window ahead of the parsing;
    // whole kernel reports are placed so that some straddle segment boundaries.
    let report =
        std::fs::read_to_string(fixtures().join("triage-live/kernel-6.18-cgroup-v1-oom.log"))
            .unwrap();
    let report: Vec<&str> = report
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let noise = "Nov 21 10:00:01 node1 app[123]: level=info msg=\"request served\" path=/api/v1/items status=200 exit code 0\n";
    let mut text = String::new();
    let mut k = 0;
    while text.len() < 40 << 20 {
        let target = (k + 1) * (8 << 20) - 2000 + k * 37;
        while text.len() < target {
            text.push_str(noise);
        }
        for l in &report {
            text.push_str(&l.replace("4803", &(50_000 + k).to_string()));
            text.push('\n');
        }
        k += 1;
    }
    text.push_str(
        "Out of memory: Killed process 9 (last) total-vm:1kB, anon-rss:1kB, file-rss:0kB",
    ); // no final newline
    let (_d, p) = tmp_with("big.log", text.as_bytes());
    let mapped = json(&run(&["triage", p.to_str().unwrap(), "--json"]));
    let mut child = cmd()
        .args(["triage", "-", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
    let streamed = json(&child.wait_with_output().unwrap());
    writer.join().unwrap().unwrap();
    let key = |j: &serde_json::Value| -> Vec<(String, i64, i64, i64)> {
        j["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["kind"].as_str().unwrap().to_string(),
                    e["pid"].as_i64().unwrap_or(-1),
                    e["source"]["line"].as_i64().unwrap(),
                    e["top_consumers"].as_array().map_or(0, |t| t.len() as i64),
                )
            })
            .collect()
    };
    assert_eq!(key(&mapped), key(&streamed));
    assert_eq!(mapped["inputs"][0]["lines"], streamed["inputs"][0]["lines"]);
    let ev = key(&mapped);
    assert_eq!(ev.len(), k + 1, "{ev:?}");
    assert!(
        ev.iter()
            .take(k)
            .all(|e| e.0 == "cgroup_oom_kill" && e.3 == 1),
        "full reports, task table included"
    );
    assert_eq!(ev.last().unwrap().1, 9);
}

/// Structured inputs, written as the tools print them (shapes per the Kubernetes core/v1 Pod
/// and Event API, the Docker Engine ContainerInspect response and journald's JSON export
/// format), and correlation across sources.
#[test]
fn kubectl_docker_and_journal_json_with_cross_source_links() {
    let pods = r#"{
    "apiVersion": "v1",
    "items": [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "web-7d4", "namespace": "prod", "uid": "6f1f5a3e-4b2c-4d1e-9e8f-0a1b2c3d4e5f"},
            "status": {
                "containerStatuses": [
                    {
                        "name": "app",
                        "containerID": "containerd://2e9d2b0f8c1a4f3e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e",
                        "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": "2024-04-15T10:22:03Z"}},
                        "state": {"running": {"startedAt": "2024-04-15T10:22:05Z"}}
                    },
                    {
                        "name": "sidecar",
                        "containerID": "containerd://aaaabbbbccccddddeeeeffff000011112222333344445555666677778888",
                        "lastState": {"terminated": {"exitCode": 137, "reason": "Error", "finishedAt": "2024-04-15T10:22:03Z"}}
                    }
                ]
            }
        }
    ],
    "kind": "List"
}
"#;
    let events = r#"{"apiVersion":"v1","items":[{"apiVersion":"v1","kind":"Event","reason":"OOMKilling","message":"System OOM encountered, victim process: java, pid: 4242","involvedObject":{"kind":"Node","name":"node-1"},"lastTimestamp":"2024-04-15T10:22:02Z"}],"kind":"List"}"#;
    let inspect = r#"[
    {
        "Id": "7f3c2a1b9d8e7f3c2a1b9d8e7f3c2a1b9d8e7f3c2a1b9d8e7f3c2a1b9d8e7f3c",
        "Name": "/worker",
        "State": {"Status": "exited", "OOMKilled": true, "ExitCode": 137, "FinishedAt": "2024-04-15T10:22:01.5Z"}
    }
]
"#;
    let docker_events = "2024-04-15T10:22:01.400000000Z container die 7f3c2a1b9d8e7f3c2a1b9d8e7f3c2a1b9d8e7f3c2a1b9d8e7f3c2a1b9d8e7f3c (exitCode=137, image=app:1, name=worker)\n";
    // The kernel's record of the sidecar's death: a cgroup OOM in the pod's memcg.
    let kern = "2024-04-15T10:22:02.900000+00:00 node-1 kernel: oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=x,mems_allowed=0,oom_memcg=/kubepods/burstable/pod6f1f5a3e-4b2c-4d1e-9e8f-0a1b2c3d4e5f,task_memcg=/kubepods/burstable/pod6f1f5a3e-4b2c-4d1e-9e8f-0a1b2c3d4e5f/aaaabbbbccccddddeeeeffff000011112222333344445555666677778888,task=envoy,pid=777,uid=0\n\
                2024-04-15T10:22:02.900100+00:00 node-1 kernel: Memory cgroup out of memory: Killed process 777 (envoy) total-vm:100kB, anon-rss:90kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:4kB oom_score_adj:999\n";
    let journal = "{\"__REALTIME_TIMESTAMP\":\"1713176522000000\",\"_TRANSPORT\":\"stdout\",\"SYSLOG_IDENTIFIER\":\"systemd\",\"_PID\":\"1\",\"MESSAGE\":\"app.service: A process of this unit has been killed by the OOM killer.\"}\n\
                   {\"__REALTIME_TIMESTAMP\":\"1713176522100000\",\"_TRANSPORT\":\"kernel\",\"MESSAGE\":[79,117,116,32,111,102,32,109,101,109,111,114,121,58,32,75,105,108,108,101,100,32,112,114,111,99,101,115,115,32,49,50,51,32,40,120,41,32,116,111,116,97,108,45,118,109,58,49,107,66,44,32,97,110,111,110,45,114,115,115,58,49,107,66,44,32,102,105,108,101,45,114,115,115,58,48,107,66]}\n";
    let d = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (name, text) in [
        ("pods.json", pods),
        ("events.json", events),
        ("inspect.json", inspect),
        ("docker-events.log", docker_events),
        ("kern.log", kern),
        ("journal.json", journal),
    ] {
        let p = d.path().join(name);
        std::fs::write(&p, text).unwrap();
        paths.push(p.to_str().unwrap().to_string());
    }
    let mut args = vec!["triage", "--json"];
    args.extend(paths.iter().map(String::as_str));
    let j = json(&run(&args));
    let ev = j["events"].as_array().unwrap();
    let find = |kind: &str, f: &dyn Fn(&serde_json::Value) -> bool| {
        ev.iter()
            .find(|e| e["kind"] == kind && f(e))
            .unwrap_or_else(|| panic!("no {kind} in {ev:#?}"))
            .clone()
    };
    let oomk = find("k8s_oomkilled", &|e| e["container"] == "app");
    assert_eq!(oomk["pod"], "web-7d4");
    assert_eq!(oomk["namespace"], "prod");
    assert_eq!(oomk["exit_code"], 137);
    assert!(oomk["source"]["file"]
        .as_str()
        .unwrap()
        .ends_with("pods.json"));
    assert!(
        oomk["source"]["line"].as_u64().unwrap() > 1,
        "points at the object's line"
    );
    // The sidecar's Error/137 is explained by the kernel's memcg OOM of its container.
    let side = find("sigkill_exit", &|e| e["container"] == "sidecar");
    assert_eq!(side["cause"], "oom");
    assert_eq!(side["linked_to"]["by"], "container");
    assert_eq!(side["linked_to"]["kind"], "cgroup_oom_kill");
    let sys = find("k8s_system_oom", &|_| true);
    assert_eq!(
        (sys["pid"].as_i64(), sys["process"].as_str()),
        (Some(4242), Some("java"))
    );
    // docker inspect OOMKilled and docker events die 137 of the same container: linked.
    let doom = find("docker_oom", &|_| true);
    assert_eq!(doom["container"], "worker");
    let die = find("sigkill_exit", &|e| {
        e["source"]["file"]
            .as_str()
            .unwrap()
            .ends_with("docker-events.log")
    });
    assert_eq!(die["cause"], "oom");
    assert_eq!(die["linked_to"]["kind"], "docker_oom");
    // journald JSON: a string MESSAGE and a byte-array MESSAGE from the kernel transport.
    let unit = find("systemd_unit_oom", &|_| true);
    assert_eq!(unit["unit"], "app.service");
    assert_eq!(unit["timestamp"], "2024-04-15T10:22:02Z");
    let k = find("kernel_oom_kill", &|e| e["pid"] == 123);
    assert_eq!(k["process"], "x");
    assert_eq!(j["inputs"].as_array().unwrap().len(), 6);
}

/// Regression (issue 12, "an input that cannot be read is not a clean result"): `triage
/// /missing.log` printed "no OOM kills … found in 0 lines" on stdout before the error. Now the
/// error is printed once, on stderr, with exit 2 and nothing on stdout, in every format.
#[test]
fn unreadable_input_is_not_a_clean_result() {
    for fmt in ["table", "json", "csv", "github"] {
        let o = run(&["triage", "/nonexistent/missing.log", "--format", fmt]);
        assert_error(&o, &["/nonexistent/missing.log: no such file"]);
        assert_eq!(stdout(&o), "", "no verdict for an input not read ({fmt})");
    }
    let d = tempfile::tempdir().unwrap();
    let o = run(&["triage", d.path().to_str().unwrap(), "--fail-on", "any"]);
    assert_error(&o, &["is a directory"]);
    assert_eq!(stdout(&o), "");
}

/// Regression (same defect): with one input read and one not, the verdict names only the read
/// one, the other is an error on stderr (once), and the exit code is 2 even when --fail-on
/// matched in what was read (ripgrep's rule).
#[test]
fn unreadable_input_is_left_out_of_the_verdict_of_the_others() {
    let (_d, clean) = tmp_with("clean.log", b"Apr 15 10:22:01 n cron[1]: job done\n");
    let clean = clean.to_str().unwrap();
    let o = run(&["triage", "/nonexistent/missing.log", clean]);
    assert_eq!(o.status.code(), Some(2));
    let out = stdout(&o);
    assert!(
        out.contains(&format!(
            "found in 1 lines of {clean} (1 input(s) could not be read"
        )),
        "{out}"
    );
    assert!(
        !out.contains("missing.log"),
        "the unread input is no part of the verdict: {out}"
    );
    assert_eq!(
        stderr(&o).matches("missing.log: no such file").count(),
        1,
        "{}",
        stderr(&o)
    );

    let (_d2, bad) = tmp_with("oom.log", VICTIM.as_bytes());
    let o = run(&[
        "triage",
        "/nonexistent/missing.log",
        bad.to_str().unwrap(),
        "--fail-on",
        "oom",
    ]);
    assert_eq!(o.status.code(), Some(2), "an error wins over --fail-on");
    assert!(stdout(&o).contains("python3[4803]"), "{}", stdout(&o));

    let o = cmd()
        .args(["triage", "/nonexistent/missing.log", clean, "--json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["summary"]["inputs_read"], 1);
    assert_eq!(j["summary"]["inputs_not_read"], 1);
    assert_eq!(j["inputs"][0]["read"], false);
    assert_eq!(
        j["inputs"][0]["error"],
        "/nonexistent/missing.log: no such file"
    );
    assert_eq!(j["inputs"][1]["read"], true);
    assert_eq!(j["inputs"][1]["error"], serde_json::Value::Null);
}

/// Regression (issue 12, `--format` means the same everywhere): CSV is one table, one row per
/// event with fixed columns, also with -v (whose evidence blocks are table-format only).
#[test]
fn csv_is_one_table_of_events() {
    let dir = fixtures().join("triage");
    let files = [
        dir.join("aks-5434-kubectl-get-events-oomkilling-node.txt"),
        dir.join("gha-gene-hints-25-bash-killed-process-completed-137.log"),
        dir.join("systemd-cloudpanel-333-kernel-global-oom-then-mariadb-failed-oom-kill.log"),
    ];
    let mut args: Vec<&str> = vec!["triage"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let want = events(&run(&[&args[..], &["--json"]].concat())).len();
    assert!(want >= 5, "{want}");
    for verbose in [false, true] {
        let mut a = args.clone();
        a.extend(["--format", "csv"]);
        if verbose {
            a.push("-v");
        }
        let o = run(&a);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let text = stdout(&o);
        assert!(!text.contains("\n\n"), "one table, no second one: {text}");
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
        assert_eq!(
            header,
            [
                "timestamp",
                "kind",
                "victim",
                "place",
                "anon_rss_bytes",
                "limit_bytes",
                "cause",
                "source"
            ]
        );
        let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), want, "one row per event");
        assert!(rows.iter().all(|row| row.len() == header.len()));
        assert!(rows
            .iter()
            .any(|row| &row[1] == "cgroup_oom_kill" && &row[2] == "bash[19023]"));
    }
}

/// Progress is drawn on stderr only on a terminal: never when stderr is redirected; a spinner
/// for standard input and a byte bar for files under a pseudo-terminal (`script`).
#[test]
fn progress_only_on_a_terminal() {
    let mut big = String::with_capacity(21 << 20);
    while big.len() < 20 << 20 {
        big.push_str("Dec  1 10:00:00 host app[1]: routine noise, nothing to see here at all\n");
    }
    big.push_str(VICTIM);
    let (_d, p) = tmp_with("big.log", big.as_bytes());
    let o = run(&["triage", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stderr(&o), "", "no progress off a terminal");
    if !have("script") {
        skip("util-linux script(1) is not installed");
        return;
    }
    let on_tty = |line: String| on_pty(&line).unwrap_or_default();
    let tty = on_tty(format!(
        "{} triage '{}' --json >/dev/null",
        bin(),
        p.display()
    ));
    assert!(
        tty.contains("clw-diag: triage:") && tty.contains("MiB"),
        "{tty}"
    );
    let tty = on_tty(format!(
        "(echo start; sleep 1; echo end) | {} triage - --json >/dev/null",
        bin()
    ));
    assert!(
        tty.contains("clw-diag: triage:") && tty.contains("read"),
        "{tty}"
    );
    let tty = on_tty(format!(
        "{} triage -q '{}' --json >/dev/null",
        bin(),
        p.display()
    ));
    assert!(!tty.contains("clw-diag: triage:"), "-q silences it: {tty}");
}
