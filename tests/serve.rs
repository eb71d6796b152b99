//! `clw-diag serve`: the exposition on the cgroup v2 fixture tree (values against the fixture's
//! own files, format rules), HTTP behaviour (404, 405, garbage requests, /healthz), bad
//! arguments, and a live test with a real Prometheus (Debian's `prometheus` package) scraping a
//! real memory cgroup holding 64 MiB, its stored series compared with the cgroup's own files;
//! then `recommend --prometheus` against that Prometheus, its peak and krr limit checked
//! against the samples the test queries itself.
//!
//! [`Prometheus`] and [`Serve`] (tests/common/prom.rs) start them and let Drop stop them by pid.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::prom::*;
use common::*;

fn v2_roots() -> (PathBuf, PathBuf) {
    let t = fixtures().join("v2");
    (t.join("proc"), t.join("sys/fs/cgroup"))
}

fn serve_v2(args: &[&str]) -> Serve {
    let (p, c) = v2_roots();
    Serve::start(
        &[
            "--proc-root",
            p.to_str().unwrap(),
            "--cgroup-root",
            c.to_str().unwrap(),
        ],
        args,
    )
}

const CTR: &str = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0f1e2d3c_4b5a_6978_8877_665544332211.slice/cri-containerd-4f9a2c1be07d.scope";

fn fixture_num(dir: &Path, file: &str, key: Option<&str>) -> f64 {
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    match key {
        None => text.trim().parse().unwrap(),
        Some(k) => text
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{k} ")))
            .unwrap()
            .trim()
            .parse()
            .unwrap(),
    }
}

#[test]
fn v2_fixture_values_match_the_cgroup_files() {
    let s = serve_v2(&[]);
    let (status, head, body) = http_get(&s.url("/metrics")).unwrap();
    assert_eq!(status, 200);
    assert!(
        head.contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    assert!(!body.contains("# EOF"));
    let m = samples(&body);
    let dir = v2_roots().1.join(CTR.trim_start_matches('/'));
    // The cgroup's series: `cgroup` first, then the workload labels (tests/identity_serve.rs).
    let get = |name: &str, extra: &str| {
        let head = format!("{name}{{cgroup=\"{CTR}\",id=\"{CTR}\",");
        let tail = format!("{extra}}}");
        *m.iter()
            .find(|(k, _)| {
                k.starts_with(&head)
                    && k.ends_with(&tail)
                    && k.matches('=').count() == 7 + extra.matches('=').count()
            })
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no {head}…{tail} in\n{body}"))
    };
    let usage = fixture_num(&dir, "memory.current", None);
    assert_eq!(get("clw_cgroup_memory_usage_bytes", ""), usage);
    let inactive = fixture_num(&dir, "memory.stat", Some("inactive_file"));
    assert_eq!(
        get("clw_cgroup_memory_working_set_bytes", ""),
        usage - inactive
    );
    assert_eq!(
        get("clw_cgroup_memory_limit_bytes", ""),
        fixture_num(&dir, "memory.max", None)
    );
    assert_eq!(
        get("clw_cgroup_memory_peak_bytes", ""),
        fixture_num(&dir, "memory.peak", None)
    );
    assert_eq!(
        get("clw_cgroup_memory_rss_bytes", ""),
        fixture_num(&dir, "memory.stat", Some("anon"))
    );
    assert_eq!(
        get("clw_cgroup_memory_cache_bytes", ""),
        fixture_num(&dir, "memory.stat", Some("file"))
    );
    for (metric, key) in [
        ("clw_cgroup_memory_oom_kill_total", "oom_kill"),
        ("clw_cgroup_memory_oom_total", "oom"),
        ("clw_cgroup_memory_max_total", "max"),
        ("clw_cgroup_memory_high_total", "high"),
    ] {
        assert_eq!(
            get(metric, ""),
            fixture_num(&dir, "memory.events", Some(key)),
            "{metric}"
        );
    }
    // memory.pressure: some avg10=12.50 total=9876543 (µs).
    assert_eq!(
        get("clw_cgroup_memory_pressure_avg10_ratio", ",kind=\"some\""),
        0.125
    );
    assert_eq!(
        get(
            "clw_cgroup_memory_pressure_stalled_seconds_total",
            ",kind=\"full\""
        ),
        6.54321
    );
    // Host PSI and meminfo.
    assert!(m.contains_key("clw_host_memory_pressure_stalled_seconds_total{kind=\"some\"}"));
    let meminfo = std::fs::read_to_string(v2_roots().0.join("meminfo")).unwrap();
    assert_eq!(
        m["clw_host_memory_total_bytes"],
        kb_field(&meminfo, "MemTotal:") as f64
    );
    // The fixture's one process, with status's VmRSS and oom_score_adj.
    let status = std::fs::read_to_string(v2_roots().0.join("31337/status")).unwrap();
    let key = "{pid=\"31337\",comm=\"python3\"}";
    assert_eq!(
        m[&format!("clw_process_rss_bytes{key}")],
        kb_field(&status, "VmRSS:") as f64
    );
    assert!(m.contains_key(&format!("clw_process_oom_score_adj{key}")));
    assert_eq!(m["clw_scrape_errors"], 0.0);
}

#[test]
fn exposition_rules_hold_in_both_formats() {
    let s = serve_v2(&["--pss"]);
    for accept in [
        None,
        Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
    ] {
        let om = accept.is_some();
        let (status, head, body) = http_get_accept(&s.url("/metrics"), accept).unwrap();
        assert_eq!(status, 200);
        let ctype = if om {
            "application/openmetrics-text; version=1.0.0"
        } else {
            "text/plain; version=0.0.4"
        };
        assert!(head.contains(&format!("content-type: {ctype}")), "{head}");
        assert_eq!(body.ends_with("# EOF\n"), om);
        let mut help = BTreeSet::new();
        let mut types: BTreeMap<String, String> = BTreeMap::new();
        let mut current: Option<String> = None;
        let mut finished = BTreeSet::new();
        for line in body.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let name = rest.split(' ').next().unwrap().to_string();
                assert!(help.insert(name.clone()), "two HELP lines for {name}");
                if let Some(prev) = current.replace(name) {
                    finished.insert(prev);
                }
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert!(
                    types.insert(name.into(), kind.into()).is_none(),
                    "two TYPE lines for {name}"
                );
            } else if let Some(rest) = line.strip_prefix("# UNIT ") {
                assert!(om, "UNIT only in OpenMetrics");
                let (name, unit) = rest.split_once(' ').unwrap();
                assert!(name.ends_with(&format!("_{unit}")), "{line}");
            } else if line == "# EOF" {
                assert!(om);
            } else {
                let name = line.split(['{', ' ']).next().unwrap();
                assert!(name.starts_with("clw_"), "{line}");
                let fam = current.as_deref().unwrap();
                assert!(!finished.contains(fam), "samples of {fam} are not together");
                match types[fam].as_str() {
                    "counter" => {
                        assert!(
                            name.ends_with("_total"),
                            "counter sample {name} lacks _total"
                        );
                        let expect = if om {
                            format!("{fam}_total")
                        } else {
                            fam.to_string()
                        };
                        assert_eq!(name, expect);
                    }
                    "gauge" => {
                        assert_eq!(name, fam);
                        assert!(!name.ends_with("_total"), "gauge {name} ends in _total");
                    }
                    t => panic!("unexpected type {t}"),
                }
            }
        }
        assert_eq!(help, types.keys().cloned().collect::<BTreeSet<_>>());
        // --pss reads smaps_rollup of the top processes.
        assert!(
            body.contains("clw_process_pss_bytes{pid=\"31337\",comm=\"python3\"}"),
            "{body}"
        );
    }
}

#[test]
fn http_paths_methods_and_garbage() {
    let s = serve_v2(&[]);
    let (st, _, body) = http_get(&s.url("/")).unwrap();
    assert_eq!(st, 200);
    assert!(body.contains("href=\"metrics\""), "{body}");
    assert_eq!(http_get(&s.url("/healthz")).unwrap().2, "ok\n");
    assert_eq!(http_get(&s.url("/nope")).unwrap().0, 404);
    assert_eq!(http_get(&s.url("/metrics?debug=1")).unwrap().0, 200);
    let (st, head, _) = raw_http(
        &s.addr,
        b"POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
    )
    .unwrap();
    assert_eq!(st, 405);
    assert!(head.contains("allow: get, head"), "{head}");
    // Garbage, a truncated request and a huge header do not take the server down.
    let _ = raw_http(&s.addr, b"\x00\x01\x02 garbage\r\n\r\n");
    if let Ok(mut c) = TcpStream::connect(&s.addr) {
        let _ = c.write_all(b"GET /metr");
    }
    let big = format!(
        "GET /metrics HTTP/1.0\r\nX-Big: {}\r\n\r\n",
        "a".repeat(200_000)
    );
    // Past the 16 KiB head cap: 431, or a reset when the server closes on the unread rest.
    match raw_http(&s.addr, big.as_bytes()) {
        Ok((st, _, _)) => assert!(st == 431 || st == 0, "a 200 kB header got {st}"),
        Err(e) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ),
            "{e}"
        ),
    }
    assert_eq!(http_get(&s.url("/healthz")).unwrap().0, 200);
    // HEAD: the headers of a scrape, no body.
    let (st, head, body) = raw_http(&s.addr, b"HEAD /metrics HTTP/1.0\r\n\r\n").unwrap();
    assert_eq!(st, 200);
    assert!(head.contains("content-length: "), "{head}");
    assert!(body.is_empty(), "{body:.100}");
    // Keep-alive: two requests on one HTTP/1.1 connection, answered in order.
    let (_, _, both) = raw_http(
        &s.addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    assert!(both.starts_with("ok\nHTTP/1.1 404"), "{both}");
}

#[test]
fn bad_arguments_exit_2_with_one_line() {
    // clap's usage errors (as for every subcommand): exit 2, naming the value.
    let o = run(&["serve", "--listen", "not-an-address"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("\"not-an-address\" is not an address"),
        "{}",
        stderr(&o)
    );
    assert_error(
        &run(&[
            "--proc-root",
            "/nonexistent-clw",
            "serve",
            "--listen",
            "127.0.0.1:0",
        ]),
        &["/nonexistent-clw"],
    );
    let (p, c) = v2_roots();
    let o = run(&[
        "--proc-root",
        p.to_str().unwrap(),
        "--cgroup-root",
        c.to_str().unwrap(),
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--cgroup",
        "/no-such-cgroup",
    ]);
    assert_error(&o, &["no-such-cgroup"]);
    let o = run(&["serve", "--listen", "127.0.0.1:0", "--max-connections", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--max-connections"), "{}", stderr(&o));
    // csv/github: refused before listening (the data is the HTTP exposition).
    for format in ["csv", "github"] {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        drop(l);
        assert_error(
            &run(&["--format", format, "serve", "--listen", &addr]),
            &["not available for serve"],
        );
    }
    // A port already in use.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    assert_error(
        &run(&["serve", "--listen", &addr]),
        &["cannot listen", &addr],
    );
}

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn prometheus_scrapes_a_real_cgroup_and_recommend_reads_it_back() {
    let Some(cg) = TestCgroup::create("clw-serve-test", 256 << 20) else {
        return;
    };
    if mapper_bin().is_none() {
        skip("gcc is needed to build tests/helpers/mapper.c");
        return;
    }
    let mapper = Mapper::start(&["64", "0", "-", "0", "0", "0"], Some(&cg.procs()));
    let serve = Serve::start(&[], &["--top", "20"]);
    let Some(prom) = Prometheus::start(&[&serve.addr]) else {
        return;
    };
    let usage_file = if cg.v2 {
        "memory.current"
    } else {
        "memory.usage_in_bytes"
    };
    let sel = format!("{{cgroup=\"{}\"}}", cg.rel);
    let usage_q = format!("clw_cgroup_memory_usage_bytes{sel}");
    assert!(
        prom.wait_for(&usage_q, Duration::from_secs(60)),
        "no samples of {usage_q}; targets: {:?}\nlog:\n{}",
        prom.targets(),
        prom.log()
    );
    // Read the cgroup's own file once a second for 5 s, then compare with what Prometheus stored
    // from the scrape nearest in time.
    let mut direct = Vec::new();
    for _ in 0..5 {
        direct.push((now_s(), cg.read_u64(usage_file) as f64));
        std::thread::sleep(Duration::from_secs(1));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let (t0, t1) = (direct[0].0 - 2.0, direct.last().unwrap().0 + 2.0);
    let series = prom.query_range(&usage_q, t0, t1, 1.0);
    assert_eq!(series.len(), 1, "{series:?}");
    let points: Vec<(f64, f64)> = series[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_f64().unwrap(),
                p[1].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    assert!(points.len() >= 4, "too few points: {points:?}");
    for (t, want) in &direct {
        let (_, got) = points
            .iter()
            .min_by(|a, b| (a.0 - t).abs().total_cmp(&(b.0 - t).abs()))
            .unwrap();
        let tol = (want * 0.10).max(8.0 * 1048576.0);
        assert!(
            (got - want).abs() <= tol,
            "at {t}: prometheus {got} vs {usage_file} {want} (tolerance {tol})"
        );
        assert!(
            *got >= 60.0 * 1048576.0,
            "the mapper's 64 MiB are missing: {got}"
        );
    }
    // Limit exactly as set; working set no more than usage.
    let one = |q: &str| -> f64 {
        let r = prom.query(q);
        assert_eq!(r.len(), 1, "{q}: {r:?}");
        r[0]["value"][1].as_str().unwrap().parse().unwrap()
    };
    assert_eq!(
        one(&format!("clw_cgroup_memory_limit_bytes{sel}")),
        (256u64 << 20) as f64
    );
    assert!(
        one(&format!("clw_cgroup_memory_working_set_bytes{sel}"))
            <= one(&usage_q) + 8.0 * 1048576.0
    );
    // Counters and PSI series exist.
    one(&format!("clw_cgroup_memory_oom_kill_total{sel}"));
    one(&format!("clw_cgroup_memory_max_total{sel}"));
    if std::fs::read_to_string("/proc/pressure/memory").is_ok() {
        assert_eq!(
            prom.query("clw_host_memory_pressure_stalled_seconds_total")
                .len(),
            2,
            "some and full"
        );
        assert!(!prom
            .query("clw_host_memory_pressure_avg10_ratio")
            .is_empty());
    } else {
        eprintln!("note: no /proc/pressure/memory here; PSI series not checked");
    }
    if cg.v2 {
        one(&format!(
            "clw_cgroup_memory_pressure_stalled_seconds_total{{cgroup=\"{}\",kind=\"some\"}}",
            cg.rel
        ));
    }
    assert!(!prom.query("clw_host_oom_kill_total").is_empty());
    let procs = prom.query("clw_process_rss_bytes");
    assert!(
        !procs.is_empty() && procs.len() <= 20,
        "{} process series",
        procs.len()
    );
    // `recommend --prometheus` over the same series: its peak is the largest sample Prometheus
    // holds for the window (queried here with the same step), and krr's limit is that + 15 %.
    let since_s = now_s() - t0 + 1.0;
    let o = run(&[
        "recommend",
        "--prometheus",
        &prom.url(),
        "--query",
        &usage_q,
        "--since",
        &format!("{}s", since_s.ceil() as u64),
        "--interval",
        "1s",
        "--policy",
        "krr",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rec = json(&o);
    let target = &rec["targets"][0];
    assert_eq!(target["source"], "prometheus", "{rec}");
    assert_eq!(rec["targets"].as_array().unwrap().len(), 1, "{rec}");
    let peak = target["peak_bytes"].as_f64().unwrap();
    let end = now_s();
    let mine = prom.query_range(&usage_q, end - since_s, end, 1.0);
    let max = mine[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_str().unwrap().parse::<f64>().unwrap())
        .fold(0.0, f64::max);
    assert!(
        (peak - max).abs() <= (max * 0.02).max(1048576.0),
        "recommend's peak {peak} vs the largest sample {max}"
    );
    assert!(target["samples"].as_u64().unwrap() >= 4, "{target}");
    let krr = &target["recommendations"][0];
    assert_eq!(krr["policy"], "krr");
    assert_eq!(krr["status"], "ok", "{krr}");
    let limit = krr["limit_bytes"].as_f64().unwrap();
    assert!(
        (limit - peak * 1.15).abs() <= 1048576.0,
        "krr limit {limit} vs peak {peak} x 1.15"
    );
    assert!(
        target["warnings"].to_string().contains("short"),
        "a minute of history must be called short: {}",
        target["warnings"]
    );

    // Prometheus negotiated OpenMetrics and parsed every scrape without error.
    let targets = prom.targets();
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0]["health"], "up", "{:?}", targets[0]);
    assert_eq!(targets[0]["lastError"], "", "{:?}", targets[0]);
    drop(prom);
    drop(serve);
    mapper.stop();
}
