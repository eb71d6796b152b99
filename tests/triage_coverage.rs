//! triage misses no OOM record: kubelet's and node-problem-detector's memory wordings as
//! people paste them (tests/fixtures/triage-kubelet/), kernel OOM reports of which only a part
//! is in the input (tests/fixtures/triage-partial/), and a dedupe that merges the same kill seen
//! twice but never two kills. Every fixture's README names its public source.

mod common;

use clw_diag::triage::correlate::correlate;
use clw_diag::triage::event::{Event, Kind, SourceRef};
use clw_diag::triage::scan::{Mode, Scanner};
use common::fixtures;

/// The excerpt of `dir/name`: everything after its `# ` header block and the blank line.
fn excerpt(dir: &str, name: &str) -> String {
    let text = std::fs::read_to_string(fixtures().join(dir).join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    match text.find("\n\n") {
        Some(i) if text.starts_with("# ") => text[i + 2..].to_string(),
        _ => text,
    }
}

fn events(dir: &str, name: &str) -> Vec<Event> {
    let mut s = Scanner::new(name, Mode::Text);
    s.scan(excerpt(dir, name).as_bytes()).unwrap();
    correlate(s.events)
}

fn kinds(ev: &[Event]) -> Vec<Kind> {
    ev.iter().map(|e| e.kind).collect()
}

fn victims(ev: &[Event]) -> Vec<(Kind, Option<i64>, Option<&str>)> {
    ev.iter()
        .map(|e| (e.kind, e.pid, e.process.as_deref()))
        .collect()
}

fn kubelet(name: &str) -> Vec<Event> {
    events("triage-kubelet", name)
}

/// Every line of a kubelet fixture through the parsers, past the prefilter: what the rules
/// recognise in lines that no prefilter literal brings to them (see `scan::KEYWORDS`).
fn kubelet_every_line(name: &str) -> Vec<Event> {
    every_line("triage-kubelet", name)
}

fn every_line(dir: &str, name: &str) -> Vec<Event> {
    let mut s = Scanner::new(name, Mode::Text);
    for line in excerpt(dir, name).lines() {
        s.lines += 1;
        s.feed_line(line.as_bytes());
    }
    s.finish();
    correlate(s.events)
}

fn codes(ev: &[Event]) -> Vec<(Kind, Option<&str>)> {
    ev.iter().map(|e| (e.kind, e.code.as_deref())).collect()
}

fn partial(name: &str) -> Vec<Event> {
    events("triage-partial", name)
}

#[test]
fn every_fixture_is_listed_in_its_readme_and_asserted_here() {
    let me = include_str!("triage_coverage.rs");
    for dir in ["triage-kubelet", "triage-partial"] {
        let readme = std::fs::read_to_string(fixtures().join(dir).join("README.md")).unwrap();
        for f in std::fs::read_dir(fixtures().join(dir)).unwrap() {
            let name = f.unwrap().file_name().into_string().unwrap();
            if name == "README.md" {
                continue;
            }
            assert!(readme.contains(&name), "{dir}/{name} not in its README");
            assert!(
                me.contains(&format!("\"{name}\"")),
                "{dir}/{name} not tested"
            );
        }
    }
}

#[test]
fn system_oom_before_and_after_the_victim_was_added() {
    // Three kills before kubelet 1.16 named the victim: three events, none merged.
    let ev = kubelet("k8s-pr-78174-describe-node-systemoom-without-victim.txt");
    assert_eq!(victims(&ev), vec![(Kind::K8sSystemOom, None, None); 3]);
    // One row for four kills: one event, saying so.
    let ev = kubelet("k3s-838-describe-node-systemoom-repeated-count.txt");
    assert_eq!(victims(&ev), vec![(Kind::K8sSystemOom, None, None)]);
    assert!(
        ev[0].notes.iter().any(|n| n.contains("4 events over 25m")),
        "{:?}",
        ev[0].notes
    );
    let ev = kubelet("kubeeye-readme-events-systemoom-and-npd-kill-process-killed-process.txt");
    assert_eq!(
        victims(&ev),
        vec![
            (Kind::K8sSystemOom, Some(16713), Some("stress")),
            (Kind::KernelOomKill, Some(16711), Some("stress")),
        ],
        "different pids are different kills"
    );
    // The pre-4.19 "Kill process … score 205 or sacrifice child Killed process …" quoted by
    // node-problem-detector: a global OOM ("Out of memory"), its score and sizes.
    assert_eq!(
        (ev[1].badness_score, ev[1].anon_rss_kb, ev[1].uid),
        (Some(205), Some(819296), Some(0))
    );
    assert_eq!(ev[1].code.as_deref(), Some("OOMKilling"));
}

#[test]
fn kubelet_and_node_problem_detector_seeing_one_kill_make_one_event() {
    let ev = kubelet("dynatrace-aks-describe-node-systemoom-and-npd-oomkilling.txt");
    assert_eq!(
        victims(&ev),
        vec![
            (Kind::KernelOomKill, Some(3103923), Some("stress-ng-vm")),
            (Kind::KernelOomKill, Some(3106306), Some("stress-ng-vm")),
        ]
    );
    assert_eq!(ev[0].anon_rss_kb, Some(14369596));
    assert!(ev[0].evidence.iter().any(|l| l.contains("(duplicate)")));
    assert!(ev[1].evidence.iter().any(|l| l.contains("(duplicate)")));
}

#[test]
fn node_problem_detector_event_json_fragment() {
    let ev = kubelet("npd-766-event-watch-json-oomkilling-fragment.json.txt");
    assert_eq!(
        victims(&ev),
        vec![(Kind::CgroupOomKill, Some(3504804), Some("kubectl"))]
    );
    assert_eq!(
        (ev[0].anon_rss_kb, ev[0].oom_score_adj),
        (Some(58776), Some(999))
    );
}

#[test]
fn memory_pressure_is_reported_but_is_no_kill() {
    // "Attempting to reclaim memory", NodeHasInsufficientMemory and the condition all reach
    // the parser ("emory" with its gate in the prefilter), as line by line.
    let name = "dynatrace-eks-describe-node-eviction-threshold-insufficient-memory.txt";
    let ev = kubelet(name);
    assert_eq!(
        codes(&ev),
        vec![
            (Kind::K8sMemoryPressure, Some("EvictionThresholdMet")),
            (Kind::K8sMemoryPressure, Some("NodeHasInsufficientMemory")),
        ]
    );
    assert!(ev.iter().all(|e| !e.kind.is_oom()));
    assert_eq!(codes(&kubelet_every_line(name)), codes(&ev));
    // The wrapped condition row: its second half says it.
    let ev = kubelet("k8s-52386-describe-node-memorypressure-wrapped-and-klog.txt");
    assert_eq!(
        codes(&ev),
        vec![(Kind::K8sMemoryPressure, Some("MemoryPressure"))]
    );
    assert_eq!(ev[0].source.line, 2);
    // kubelet's klog: both lines reach the parser, as line by line.
    let name = "k8s-58541-journal-kubelet-1.9-eviction-manager-russian-locale.log";
    assert_eq!(codes(&kubelet(name)), codes(&kubelet_every_line(name)));
    let ev = kubelet(name);
    let got: Vec<(Option<&str>, Option<&str>, Option<&str>)> = ev
        .iter()
        .map(|e| (e.code.as_deref(), e.pod.as_deref(), e.namespace.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                Some("AdmissionRefused"),
                Some("kube-proxy-bbrr6"),
                Some("kube-system")
            ),
            (Some("EvictionThresholdMet"), None, None),
        ]
    );
    assert_eq!(
        ev[0].pod_uid.as_deref(),
        Some("860629c4-fd5e-11e7-880c-6c626d3ed96f")
    );
}

#[test]
fn evictions_for_memory_in_every_wording_and_none_for_disk() {
    let ev = kubelet("k8s-112927-describe-pod-evicted-message-container-request.txt");
    assert_eq!(kinds(&ev), vec![Kind::K8sEvicted]);
    assert_eq!(ev[0].container.as_deref(), Some("citadel"));
    // The admission refusal and the eviction event both reach the parser, as line by line.
    let name = "k8s-30550-klog-1.3-admit-refused-and-evicted-event.log";
    let ev = kubelet(name);
    assert_eq!(kinds(&ev), vec![Kind::K8sMemoryPressure, Kind::K8sEvicted]);
    assert_eq!(kinds(&kubelet_every_line(name)), kinds(&ev));
    assert_eq!(ev[0].pod.as_deref(), Some("cadvisor"));
    assert_eq!(
        (ev[1].pod.as_deref(), ev[1].namespace.as_deref()),
        (Some("cadvisor"), Some("e2e-tests-density-test-43bif"))
    );
    assert!(ev[1]
        .timestamp
        .as_deref()
        .unwrap()
        .ends_with("-08-18T03:35:27.856536Z"));
    let ev = kubelet("k8s-132001-jsonpath-and-journal-ephemeral-storage-eviction-not-memory.log");
    assert!(ev.is_empty(), "{:?}", kinds(&ev));
    let ev = kubelet("k8s-105467-pod-yaml-disruption-target-ephemeral-storage-not-memory.yaml.txt");
    assert!(ev.is_empty(), "{:?}", kinds(&ev));
    // `-o yaml` status messages of 1.6: "[MemoryPressure]" and "memory." without a container.
    let ev = kubelet("k8s-48632-pod-yaml-status-evicted-memorypressure-and-memory.yaml.txt");
    let lines: Vec<(Kind, u64)> = ev.iter().map(|e| (e.kind, e.source.line)).collect();
    assert_eq!(lines, vec![(Kind::K8sEvicted, 2), (Kind::K8sEvicted, 7)]);
    // 1.3/1.4's message named no resource: memory was the only one evicted for.
    let ev = kubelet("k8s-31397-node-e2e-event-evicted-low-on-compute-resources.log");
    assert_eq!(kinds(&ev), vec![Kind::K8sEvicted]);
    assert_eq!(ev[0].code.as_deref(), Some("Evicted"));
}

#[test]
fn container_oom_killed_in_the_2014_wording() {
    // A fragment pasted as text: its `"exitCode": 137` line is an exit of its own (nothing in
    // the fragment names the container to link it by), its reason the OOM kill.
    let ev = kubelet("k8s-pr-3044-kubelet-2014-container-status-oom-killed.json.txt");
    assert_eq!(kinds(&ev), vec![Kind::SigkillExit, Kind::K8sOomkilled]);
    assert_eq!((ev[0].exit_code, ev[1].source.line), (Some(137), 5));
}

#[test]
fn a_partial_memcg_report_is_never_called_global() {
    let ev = partial("handa-5.3-memcg-victim-line-only.log");
    assert_eq!(
        victims(&ev),
        vec![(Kind::CgroupOomKill, Some(6736), Some("leaker"))]
    );
    let ev = partial("handa-5.3-memcg-oom-kill-line-only.log");
    assert_eq!(
        victims(&ev),
        vec![(Kind::CgroupOomKill, Some(6736), Some("leaker"))]
    );
    assert_eq!(ev[0].oom_memcg.as_deref(), Some("/leaker"));
    // Before 4.19 the victim line has no prefix; the "Kill process" line before it does (and
    // names the parent it chose, not the child it killed).
    let ev = partial("moby-15654-3.19-memcg-tail-kill-process-then-child-victim.log");
    assert_eq!(
        victims(&ev),
        vec![(Kind::CgroupOomKill, Some(19715), Some("java"))]
    );
    // Only from "Memory cgroup stats for /0" on.
    let ev = partial("ltp-1080-3.10-el7-memcg-tail-from-stats.log");
    assert_eq!(
        victims(&ev),
        vec![(Kind::CgroupOomKill, Some(42424), Some("memcg_test_1"))]
    );
    // The stats line names /0, and opens the report.
    assert_eq!(ev[0].memcg.as_deref(), Some("/0"));
    // Trigger lost, victim line lost. Its "Task in … killed" line names the kill: a memcg kill
    // of an unknown task (never a global one), with both cgroups, as line by line.
    let name = "k8s-56891-3.10-headless-memcg-report-from-task-in.log";
    assert_eq!(
        victims(&partial(name)),
        victims(&every_line("triage-partial", name))
    );
    let ev = partial(name);
    assert_eq!(victims(&ev), vec![(Kind::CgroupOomKill, None, None)]);
    let cg = "/kubepods/pod95387fa4-da9c-11e7-9d36-5254b24cbf5e/e84ed2eecf157a08df53ca510418796ccf5173f5d71e42133320e9178b9c8447";
    assert_eq!(
        (ev[0].memcg.as_deref(), ev[0].oom_memcg.as_deref()),
        (Some(cg), Some(cg))
    );
    assert_eq!(
        (ev[0].usage_kb, ev[0].limit_kb, ev[0].failcnt),
        (Some(524092), Some(524288), Some(164324))
    );
}

#[test]
fn a_bare_victim_line_says_its_kind_is_unknown() {
    let ev = partial("k8s-56891-3.10-bare-victim-line-only.log");
    assert_eq!(
        victims(&ev),
        vec![(Kind::KernelOomKill, Some(28438), Some("java"))]
    );
    assert!(
        ev[0].notes.iter().any(|n| n.contains("unknown")),
        "{:?}",
        ev[0].notes
    );
}

#[test]
fn a_global_report_missing_its_victim_is_not_lent_to_the_next_memcg_kill() {
    let ev = partial("pitxu-global-without-victim-then-handa-memcg-victim.log");
    assert_eq!(
        victims(&ev),
        vec![
            (Kind::KernelOomKill, Some(996), Some("python")),
            (Kind::CgroupOomKill, Some(6736), Some("leaker")),
        ]
    );
    assert!(
        ev[1].trigger.is_none(),
        "the cron trigger was the global OOM's"
    );
}

fn kill(kind: Kind, line: u64, pid: i64, comm: &str) -> Event {
    let mut e = Event::new(kind, "Killed process", SourceRef::line("f", line));
    e.pid = Some(pid);
    e.process = Some(comm.into());
    e
}

#[test]
fn dedupe_never_merges_two_kills() {
    // Same pid and comm, 30 s apart: two kills.
    let mut a = kill(Kind::CgroupOomKill, 1, 4242, "java");
    a.time_us = Some(1_700_000_000_000_000);
    let mut b = kill(Kind::CgroupOomKill, 2, 4242, "java");
    b.time_us = Some(1_700_000_030_000_000);
    assert_eq!(correlate(vec![a.clone(), b]).len(), 2);
    // Same pid, comm and time, different cgroups (pid 1 of two containers' namespaces is not
    // this; two containers' tasks printed with the same global pid cannot be one kill).
    let mut c = a.clone();
    c.source.line = 3;
    a.set_memcg("/kubepods/burstable/poda/c1");
    c.set_memcg("/kubepods/burstable/podb/c2");
    assert_eq!(correlate(vec![a.clone(), c]).len(), 2);
    // Raw dmesg: no wall time, seconds since boot differ.
    let mut d = kill(Kind::KernelOomKill, 1, 77, "stress");
    d.monotonic_s = Some(100.5);
    let mut e = d.clone();
    e.source.line = 9;
    e.monotonic_s = Some(160.25);
    assert_eq!(correlate(vec![d.clone(), e]).len(), 2);
    // The same record read twice (dmesg and the journal): one.
    let mut j = d.clone();
    j.source = SourceRef::line("journal", 4);
    j.monotonic_s = None;
    j.time_us = Some(1_700_000_000_000_000);
    let out = correlate(vec![d, j]);
    assert_eq!(out.len(), 1);
    // kubelet's SystemOOM and the kernel's line of that kill: one, the kernel's kept.
    let mut s = kill(Kind::K8sSystemOom, 5, 4242, "java");
    s.time_us = Some(1_700_000_002_000_000);
    let out = correlate(vec![s.clone(), a.clone()]);
    assert_eq!(kinds(&out), vec![Kind::CgroupOomKill]);
    assert!(out[0]
        .evidence
        .iter()
        .any(|l| l.contains("f:5 (duplicate)")));
    // … but not when kubelet names another pid.
    s.pid = Some(4243);
    assert_eq!(correlate(vec![s, a]).len(), 2);
}
