//! `clw-diag recommend` on real inputs: a trace recorded by `clw-diag record` of a small Python
//! process, a CSV written here whose figures are checked by hand, the answer of a real
//! Prometheus 2.42 server (tests/fixtures/recommend/capture-prometheus.sh), a live memory
//! cgroup; every --emit format, --backtest, --plot, bad input, and an unreachable Prometheus.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const MIB: u64 = 1 << 20;

fn prom_fixture() -> PathBuf {
    fixtures().join("recommend/prometheus-query-range.json")
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The target whose name ends with `key`.
fn target<'a>(j: &'a Value, key: &str) -> &'a Value {
    j["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["target"].as_str().unwrap().ends_with(key))
        .unwrap_or_else(|| panic!("no target {key} in {j}"))
}

fn rec<'a>(t: &'a Value, policy: &str) -> &'a Value {
    t["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["policy"] == policy)
        .unwrap_or_else(|| panic!("no {policy} in {t}"))
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

/// 1.15 × x rounded up, as the policies do.
fn times(x: u64, f: f64) -> u64 {
    (x as f64 * f * (1.0 - 1e-12)).ceil() as u64
}

#[test]
fn recorded_trace_of_a_python_process() {
    let d = tempfile::tempdir().unwrap();
    let trace = d.path().join("py.json");
    let py = "import time\nb=[]\nfor i in range(6):\n    b.append(bytearray(8<<20)); time.sleep(0.25)\ntime.sleep(1)";
    let o = run(&[
        "-q",
        "record",
        "-i",
        "50ms",
        "-o",
        path(&trace),
        "--",
        "python3",
        "-c",
        py,
    ]);
    assert!(o.status.success(), "record failed: {}", stderr(&o));
    let j = json(&run(&[
        "recommend",
        path(&trace),
        "--interval",
        "250ms",
        "--policy",
        "all",
        "--json",
    ]));
    let t = &j["targets"][0];
    assert_eq!(t["source"], "file");
    // The peak is the trace's own maximum of the metric, read here from the JSON Lines.
    let text = std::fs::read_to_string(&trace).unwrap();
    let metric = t["metric"].as_str().unwrap().to_string();
    let max = text
        .lines()
        .skip(1)
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v.get(&metric).and_then(Value::as_u64))
        .max()
        .unwrap();
    assert_eq!(u(&t["peak_bytes"]), max);
    assert!(max >= 48 * MIB, "six 8 MiB buffers: {max}");
    assert!(u(&t["intervals"]) >= 8, "{t}");
    assert_eq!(u(&rec(t, "krr")["limit_bytes"]), times(max, 1.15));
    assert_eq!(rec(t, "krr")["request_bytes"], rec(t, "krr")["limit_bytes"]);
    assert_eq!(u(&rec(t, "clw")["limit_bytes"]), times(max, 1.15));
    assert!(u(&rec(t, "clw")["request_bytes"]) <= u(&rec(t, "clw")["limit_bytes"]));
    let p95 = u(&t["p95_bytes"]);
    assert_eq!(u(&rec(t, "seed")["request_bytes"]), times(p95, 1.1));
    assert_eq!(u(&rec(t, "seed")["limit_bytes"]), times(p95, 1.5));
    let warnings = t["warnings"].to_string();
    assert!(warnings.contains("history is short"), "{warnings}");
    assert!(warnings.contains("request equals limit"), "{warnings}");
    assert!(t["leak_verdict"].is_string() || t["leak_verdict"].is_null());
}

/// Ten hourly samples (GiB): seven at 1, then 1, 2 and 0.5; figures worked out by hand.
fn hand_csv(dir: &Path) -> PathBuf {
    let p = dir.join("hand.csv");
    let gib = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 0.5];
    let mut s = String::from("time,usage_mib\n");
    for (i, g) in gib.iter().enumerate() {
        s.push_str(&format!("{},{}\n", i * 3600, g * 1024.0));
    }
    std::fs::write(&p, s).unwrap();
    p
}

#[test]
fn backtest_figures_checked_by_hand() {
    let d = tempfile::tempdir().unwrap();
    let csv = hand_csv(d.path());
    let j = json(&run(&[
        "recommend",
        path(&csv),
        "--interval",
        "1h",
        "--policy",
        "all",
        "--backtest",
        "--json",
    ]));
    let b = &j["targets"][0]["backtest"];
    assert_eq!(
        (u(&b["fit_intervals"]), u(&b["replayed_intervals"])),
        (7, 3)
    );
    assert_eq!(b["replayed_s"].as_f64(), Some(3.0 * 3600.0));
    let pol = |name: &str| {
        b["policies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["policy"] == name)
            .unwrap()
            .clone()
    };
    // seed on seven 1 GiB peaks: request 1.1 GiB, limit 1.5 GiB. Replayed 1, 2, 0.5 GiB: one
    // above each; slack (1.5 − 1) + 0 + (1.5 − 0.5) = 1.5 GiB·h.
    let s = pol("seed");
    assert_eq!(u(&s["request_bytes"]), times(1 << 30, 1.1));
    assert_eq!(u(&s["limit_bytes"]), 3 << 29);
    assert_eq!(
        (
            u(&s["intervals_above_request"]),
            u(&s["intervals_above_limit"])
        ),
        (1, 1)
    );
    assert!((s["slack_gib_hours"].as_f64().unwrap() - 1.5).abs() < 1e-6);
    // krr and clw: 1.15 GiB; slack 0.15 + 0 + 0.65 = 0.8 GiB·h.
    for name in ["krr", "clw"] {
        let k = pol(name);
        assert_eq!(u(&k["limit_bytes"]), times(1 << 30, 1.15));
        assert_eq!(u(&k["intervals_above_limit"]), 1);
        assert!((k["slack_gib_hours"].as_f64().unwrap() - 0.8).abs() < 1e-6);
    }
    // --backtest 0.5: five fitted, five replayed.
    let j = json(&run(&[
        "recommend",
        path(&csv),
        "--interval",
        "1h",
        "--backtest",
        "0.5",
        "--json",
    ]));
    assert_eq!(u(&j["targets"][0]["backtest"]["replayed_intervals"]), 5);
    // The table shows the back-test too.
    let o = run(&["recommend", path(&csv), "--interval", "1h", "--backtest"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("Back-test"), "{}", stdout(&o));
}

#[test]
fn prometheus_query_range_fixture() {
    let j = json(&run(&[
        "recommend",
        path(&prom_fixture()),
        "--policy",
        "all",
        "--json",
    ]));
    let targets = j["targets"].as_array().unwrap();
    // The pod-level series (no container label) is left out; two duplicates of web merged.
    assert_eq!(targets.len(), 2, "{j}");
    let db = target(&j, "shop/db-0/postgres");
    assert_eq!(db["source"], "prometheus");
    assert_eq!(db["labels"]["container"], "postgres");
    assert_eq!(u(&db["intervals"]), 576);
    // 800 MiB all along, 1000 MiB for ten minutes.
    assert_eq!(u(&db["peak_bytes"]), 1000 * MIB);
    assert_eq!(u(&db["p95_bytes"]), 800 * MIB);
    assert_eq!(u(&rec(db, "clw")["request_bytes"]), times(800 * MIB, 1.1));
    assert_eq!(u(&rec(db, "clw")["limit_bytes"]), times(1000 * MIB, 1.15));
    assert_eq!(u(&rec(db, "krr")["limit_bytes"]), times(1000 * MIB, 1.15));
    // seed's limit (P95 × 1.5 = 1200 MiB) is above the peak; no warning about it.
    assert!(!db["warnings"]
        .to_string()
        .contains("below the observed peak"));
    let vpa = rec(db, "vpa");
    assert!(
        u(&vpa["request_bytes"]) >= times(1000 * MIB, 1.15),
        "P90 of two daily peaks of 1000 MiB"
    );
    assert!(u(&vpa["limit_bytes"]) > u(&vpa["request_bytes"]));
    let web = target(&j, "shop/web-5d8f7c9b4-x2x9z/web");
    assert!(u(&web["peak_bytes"]) > 370 * MIB && u(&web["peak_bytes"]) < 390 * MIB);
}

#[test]
fn every_emit_format() {
    let f = prom_fixture();
    let emit = |fmt: &str, policy: &str| {
        let o = run(&["recommend", path(&f), "--emit", fmt, "--policy", policy]);
        assert!(o.status.success(), "{fmt}: {}", stderr(&o));
        stdout(&o)
    };
    // clw for postgres: request 880 MiB, limit 1150 MiB (1000 × 1.15).
    let k8s = emit("k8s", "clw");
    assert!(
        k8s.contains("resources:\n  requests:\n    memory: 880Mi\n  limits:\n    memory: 1150Mi\n"),
        "{k8s}"
    );
    assert_eq!(k8s.matches("resources:").count(), 2);
    assert!(k8s.contains("\n---\n"));
    let vpa = emit("vpa", "vpa");
    assert!(vpa.contains("kind: VerticalPodAutoscaler"), "{vpa}");
    assert!(vpa.contains("updateMode: \"Off\""));
    assert!(
        vpa.contains("    name: web\n"),
        "Deployment from the pod name: {vpa}"
    );
    assert!(vpa.contains("  namespace: shop\n"));
    assert!(vpa.contains("containerName: \"postgres\""));
    let compose = emit("compose", "clw");
    assert!(
        compose
            .contains("services:\n  postgres:\n    mem_limit: 1150m\n    mem_reservation: 880m\n"),
        "{compose}"
    );
    assert!(compose.contains("deploy:\n      resources:\n        limits:\n          memory: 1150M"));
    let sd = emit("systemd", "clw");
    assert!(
        sd.contains("[Service]\nMemoryAccounting=yes\nMemoryHigh=880M\nMemoryMax=1150M\n"),
        "{sd}"
    );
    let oc = emit("openclaw", "clw");
    assert!(
        oc.contains("apiVersion: openclaw.io/v1\nkind: Workload\n"),
        "{oc}"
    );
    assert!(oc.contains("spec:\n  containers:\n    - name: postgres\n      resources:\n        requests:\n          memory: 880Mi\n        limits:\n          memory: 1150Mi\n"), "{oc}");
    let j: Value = serde_json::from_str(&emit("json", "all")).unwrap();
    let recs = j["recommendations"].as_array().unwrap();
    assert_eq!(recs.len(), 8);
    let clw = recs
        .iter()
        .find(|r| r["policy"] == "clw" && r["target"].as_str().unwrap().ends_with("postgres"))
        .unwrap();
    assert_eq!(u(&clw["request_bytes"]), times(800 * MIB, 1.1));
    assert_eq!(u(&clw["limit_bytes"]), times(1000 * MIB, 1.15));
    // A YAML snippet needs one policy.
    assert_error(
        &run(&["recommend", path(&f), "--emit", "k8s", "--policy", "all"]),
        &["--emit", "one --policy"],
    );
}

#[test]
fn plots_are_valid_svg_and_png() {
    let d = tempfile::tempdir().unwrap();
    let svg = d.path().join("r.svg");
    let png = d.path().join("r.png");
    for p in [&svg, &png] {
        let o = run(&[
            "recommend",
            path(&prom_fixture()),
            "--policy",
            "all",
            "--plot",
            path(p),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let s = std::fs::read_to_string(&svg).unwrap();
    assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
    assert!(s.contains("clw limit"), "legend names the lines");
    let b = std::fs::read(&png).unwrap();
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n");
    assert_error(
        &run(&[
            "recommend",
            path(&prom_fixture()),
            "--plot",
            path(&d.path().join("r.gif")),
        ]),
        &[".svg or .png"],
    );
}

#[test]
fn bad_input_is_exit_2_or_insufficient_data_never_a_panic() {
    let d = tempfile::tempdir().unwrap();
    let w = |name: &str, text: &str| {
        let p = d.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let nan = w("nan.csv", "t,rss_bytes\n0,100\n1,NaN\n");
    assert_error(&run(&["recommend", path(&nan)]), &["nan.csv:3"]);
    let empty = w("empty.csv", "");
    assert_error(&run(&["recommend", path(&empty)]), &["empty.csv", "empty"]);
    let garbage = w("garbage.bin", "\u{1}\u{2}garbage\u{0}\n\u{7f}");
    let o = run(&["recommend", path(&garbage)]);
    assert_error(&o, &["garbage.bin"]);
    assert_error(
        &run(&["recommend", "/nonexistent/trace.json"]),
        &["/nonexistent/trace.json"],
    );
    // No input at all: clap's usage error (exit 2, several lines as for every command).
    let o = run(&["recommend"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!stderr(&o).contains("panicked"));
    assert_eq!(
        run(&["recommend", path(&nan), "--backtest", "1.5"])
            .status
            .code(),
        Some(2)
    );
    // Prometheus: NaN and +Inf are skipped and counted; all-NaN or empty results are errors.
    let fixture = std::fs::read_to_string(prom_fixture()).unwrap();
    let some_nan = w(
        "some-nan.json",
        &fixture.replacen("\"838860800\"]", "\"NaN\"]", 1).replacen(
            "\"838860800\"]",
            "\"+Inf\"]",
            1,
        ),
    );
    let j = json(&run(&["recommend", path(&some_nan), "--json"]));
    let db = target(&j, "postgres");
    assert_eq!(u(&db["skipped_non_finite"]), 2);
    assert_eq!(u(&db["intervals"]), 574);
    assert!(db["warnings"]
        .to_string()
        .contains("2 NaN/Inf values skipped"));
    let all_nan = w(
        "all-nan.json",
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"pod":"a","container":"b"},"values":[[1,"NaN"],[2,"+Inf"]]}]}}"#,
    );
    assert_error(
        &run(&["recommend", path(&all_nan)]),
        &["all-nan.json", "NaN/Inf"],
    );
    let no_series = w(
        "empty-result.json",
        r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#,
    );
    assert_error(
        &run(&["recommend", path(&no_series)]),
        &["empty-result.json", "empty result"],
    );
    // Two samples: an answer, insufficient-data, without numbers.
    let two = w("two.csv", "t,rss_bytes\n0,100\n1,200\n");
    let j = json(&run(&[
        "recommend",
        path(&two),
        "--policy",
        "all",
        "--json",
    ]));
    for r in j["targets"][0]["recommendations"].as_array().unwrap() {
        assert_eq!(r["status"], "insufficient-data");
        assert!(r["request_bytes"].is_null() && r["limit_bytes"].is_null());
    }
    // An --emit snippet of comments only is no configuration: exit 2, nothing on stdout.
    let o = run(&["recommend", path(&two), "--emit", "k8s"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("insufficient data"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
}

#[test]
fn unreachable_prometheus_is_a_clear_error_within_the_timeout() {
    let t = Instant::now();
    let o = run(&[
        "recommend",
        "--prometheus",
        "http://127.0.0.1:1",
        "--selector",
        "namespace=\"shop\"",
        "--timeout",
        "3s",
    ]);
    assert_error(
        &o,
        &[
            "http://127.0.0.1:1/api/v1/query_range",
            "cannot reach Prometheus",
        ],
    );
    assert!(t.elapsed() < Duration::from_secs(10));
    // A port that accepts and never answers: the timeout.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let t = Instant::now();
    let o = run(&["recommend", "--prometheus", &url, "--timeout", "1s"]);
    assert_error(&o, &[&url, "within 1 s"]);
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
    drop(l);
}

#[test]
fn live_cgroup_gives_warnings_not_numbers() {
    let Some(cg) = TestCgroup::create("clw-recommend", 64 * MIB) else {
        return;
    };
    let j = json(&run(&[
        "recommend",
        "--cgroup",
        &cg.rel,
        "--policy",
        "all",
        "--json",
    ]));
    let t = &j["targets"][0];
    assert_eq!(t["source"], "cgroup");
    assert_eq!(u(&t["current_limit_bytes"]), 64 * MIB);
    for r in t["recommendations"].as_array().unwrap() {
        assert_eq!(r["status"], "insufficient-data", "{r}");
    }
    assert!(t["warnings"].to_string().contains("at least"), "{t}");
    // The root cgroup has no limit of its own.
    let j = json(&run(&["recommend", "--cgroup", "/", "--json"]));
    assert!(
        j["targets"][0]["warnings"]
            .to_string()
            .contains("no memory limit"),
        "{j}"
    );
    assert_error(
        &run(&["recommend", "--cgroup", "/no-such-cgroup-here"]),
        &["no-such-cgroup-here"],
    );
}

/// The table and `--emit` round a recommendation the same way (whole MiB, rounded up): the
/// table once said `1.12 GiB` and `435 MiB` where the snippet said `1150Mi` and `436Mi`.
#[test]
fn table_and_emit_round_the_same_way() {
    let f = prom_fixture();
    let table = stdout(&run(&["recommend", f.to_str().unwrap()]));
    let emitted = stdout(&run(&["recommend", f.to_str().unwrap(), "--emit", "k8s"]));
    let j = json(&run(&["recommend", f.to_str().unwrap(), "--json"]));
    let targets = j["targets"].as_array().unwrap();
    assert!(targets.len() >= 2);
    for t in targets {
        let r = &t["recommendations"][0];
        for key in ["request_bytes", "limit_bytes"] {
            let mib = r[key].as_u64().unwrap().div_ceil(1 << 20);
            assert!(
                table.contains(&format!(" {mib} MiB ")),
                "{key} {mib} MiB not in the table:\n{table}"
            );
            let q = if mib % 1024 == 0 {
                format!("memory: {}Gi", mib / 1024)
            } else {
                format!("memory: {mib}Mi")
            };
            assert!(emitted.contains(&q), "{q} not in:\n{emitted}");
        }
    }
}

/// One CSV stream is one table: with `--backtest` the recommendations only (it once wrote the
/// back-test table after them in the same stream, with other columns).
#[test]
fn csv_is_one_table_also_with_a_backtest() {
    let f = prom_fixture();
    let o = run(&[
        "recommend",
        f.to_str().unwrap(),
        "--backtest",
        "--format",
        "csv",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "target,policy,request_bytes,limit_bytes,p95_bytes,peak_bytes,oom_kills,status"
    );
    assert_eq!(lines.len(), 3, "a header and one row per target:\n{out}");
    assert!(lines.iter().all(|l| !l.is_empty()), "{out}");
}

/// A device given as a trace (`/dev/zero` has no end) is refused at once with exit 2, by
/// `recommend`, `analyze` and `report --trace` alike, instead of being read until the machine
/// runs out of memory.
#[test]
fn a_device_is_not_read_as_a_trace() {
    for dev in ["/dev/zero", "/dev/urandom"] {
        let t = Instant::now();
        assert_error(&run(&["recommend", dev]), &[dev, "not a regular file"]);
        assert_error(
            &run(&["analyze", "memory-trace", dev]),
            &[dev, "not a regular file"],
        );
        let o = run(&["report", "--trace", dev, "--since", "1m", "--json"]);
        let j = json(&o);
        let tr = j["sections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == "traces")
            .unwrap()
            .clone();
        assert_eq!(tr["status"], "failed", "{tr:#}");
        assert!(
            tr["notes"][0]
                .as_str()
                .unwrap()
                .contains("not a regular file"),
            "{tr:#}"
        );
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "{dev}: took {:?}",
            t.elapsed()
        );
    }
    assert_error(&run(&["recommend", "/tmp"]), &["is a directory"]);
}

/// At 80 columns the TARGET cell keeps its end (the container), so two containers of one saved
/// answer stay apart: it once kept the file name's start and both rows read
/// `prometheus-query-…`.
#[test]
fn targets_stay_apart_at_80_columns() {
    let line = format!(
        "COLUMNS=80 {} -q --color never recommend {}",
        bin(),
        prom_fixture().display()
    );
    let Some(tty) = on_pty(&line) else {
        return;
    };
    let rows: Vec<&str> = tty.lines().filter(|l| l.contains(" clw ")).collect();
    assert_eq!(rows.len(), 2, "{tty}");
    assert!(
        rows[0].contains("postgres") && rows[1].contains("/web"),
        "{tty}"
    );
    assert!(
        tty.lines().all(|l| l.trim_end().chars().count() <= 80),
        "{tty}"
    );
}
