//! triage on real log excerpts from public sources (tests/fixtures/triage/, each file's header
//! names its source and kernel or tool version) and on a report captured here
//! (tests/fixtures/triage-live/). Values asserted are the ones the logs print.

mod common;

use clw_diag::triage::correlate::correlate;
use clw_diag::triage::event::{Cause, Event, Kind};
use clw_diag::triage::scan::{Mode, Scanner};
use common::fixtures;

/// The excerpt of a fixture: everything after its `# ` header block and the blank line.
fn excerpt(name: &str) -> String {
    let text = std::fs::read_to_string(fixtures().join("triage").join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    match text.find("\n\n") {
        Some(i) if text.starts_with("# ") => text[i + 2..].to_string(),
        _ => text,
    }
}

fn events(name: &str) -> Vec<Event> {
    let mut s = Scanner::new(name, Mode::Text);
    s.scan(excerpt(name).as_bytes()).unwrap();
    correlate(s.events)
}

fn kinds(ev: &[Event]) -> Vec<Kind> {
    ev.iter().map(|e| e.kind).collect()
}

fn one(name: &str, kind: Kind) -> Event {
    let ev = events(name);
    let hits: Vec<&Event> = ev.iter().filter(|e| e.kind == kind).collect();
    assert_eq!(
        hits.len(),
        1,
        "{name}: expected one {kind:?}, got {:?}",
        kinds(&ev)
    );
    hits[0].clone()
}

#[test]
fn every_fixture_parses_without_panic() {
    let dir = fixtures().join("triage");
    let mut n = 0;
    for f in std::fs::read_dir(&dir).unwrap() {
        let name = f.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".md") {
            continue;
        }
        let _ = events(&name);
        n += 1;
    }
    assert!(n > 50, "only {n} fixtures");
}

#[test]
fn kernel_3_4_global_oom_whole_report() {
    let e = one(
        "lkml-2012-davej-kernel-3.4-rc4-global-oom-whole-report-syslog.log",
        Kind::KernelOomKill,
    );
    assert_eq!(e.pid, Some(355));
    assert_eq!(e.process.as_deref(), Some("systemd-stdout-"));
    assert_eq!(e.total_vm_kb, Some(23208));
    assert_eq!(e.anon_rss_kb, Some(0));
    assert_eq!(e.file_rss_kb, Some(4));
    assert_eq!(e.badness_score, Some(1));
    assert_eq!(e.trigger.as_ref().unwrap().process, "modprobe");
    assert!(
        e.top_consumers.len() >= 5,
        "task table read: {:?}",
        e.top_consumers
    );
}

#[test]
fn kernel_5_3_memcg_report_with_printk_caller_ids() {
    let e = one(
        "lkml-2019-handa-kernel-5.3-rc3-memcg-whole-report-printk-caller.log",
        Kind::CgroupOomKill,
    );
    assert_eq!(e.pid, Some(6736));
    assert_eq!(e.process.as_deref(), Some("leaker"));
    assert_eq!(e.memcg.as_deref(), Some("/leaker"));
    assert_eq!(e.oom_memcg.as_deref(), Some("/leaker"));
    assert_eq!(e.usage_kb, Some(524288));
    assert_eq!(e.limit_kb, Some(524288));
    assert_eq!(e.failcnt, Some(660235));
    assert_eq!(e.anon_rss_kb, Some(521704));
    assert_eq!(e.trigger.as_ref().unwrap().pid, Some(6736));
    assert_eq!(e.monotonic_s, Some(50.056749));
}

#[test]
fn kernel_6_12_global_oom_with_rss_columns() {
    let e = one(
        "pitxu-kernel-6.12.62-rpi-global-oom-whole-report-bare.log",
        Kind::KernelOomKill,
    );
    assert_eq!(e.pid, Some(996));
    assert_eq!(e.process.as_deref(), Some("python"));
    assert_eq!(e.anon_rss_kb, Some(122228));
    assert_eq!(e.uid, Some(1000));
    assert_eq!(e.pgtables_kb, Some(1156));
    assert_eq!(e.oom_memcg, None, "global_oom");
    assert_eq!(e.trigger.as_ref().unwrap().process, "cron");
    // The victim's task-table row gives the page size: anon-rss kB / rss_anon pages.
    assert_eq!(e.page_size, Some(4096));
    assert!(e.top_consumers.iter().any(|t| t.pid == 996));
}

#[test]
fn kernel_6_18_captured_here() {
    let text =
        std::fs::read_to_string(fixtures().join("triage-live/kernel-6.18-cgroup-v1-oom.log"))
            .unwrap();
    let mut s = Scanner::new("live", Mode::Text);
    s.scan(text.as_bytes()).unwrap();
    let ev = correlate(s.events);
    assert_eq!(kinds(&ev), vec![Kind::CgroupOomKill]);
    let e = &ev[0];
    assert_eq!(
        (e.pid, e.process.as_deref(), e.memcg.as_deref()),
        (Some(4803), Some("python3"), Some("/clw-fixture"))
    );
    assert_eq!(
        (e.usage_kb, e.limit_kb, e.failcnt),
        (Some(65536), Some(65536), Some(69))
    );
    assert_eq!(e.anon_rss_kb, Some(65152));
    assert_eq!(e.constraint.as_deref(), Some("CONSTRAINT_MEMCG"));
    assert_eq!(e.top_consumers[0].rss_anon_kb, Some(16288 * 4));
}

#[test]
fn kubernetes_memcg_kill_of_pause_names_pod_and_container() {
    let e = one(
        "lkml-yafang-k8s-kubepods-memcg-pause-killed-task-table.log",
        Kind::CgroupOomKill,
    );
    assert_eq!(e.pid, Some(5740));
    assert_eq!(e.process.as_deref(), Some("pause"));
    assert_eq!(
        e.oom_memcg.as_deref(),
        Some("/kubepods/podf1c273d3-9b36-11ea-b3df-246e9693c184")
    );
    assert_eq!(
        e.pod_uid.as_deref(),
        Some("f1c273d3-9b36-11ea-b3df-246e9693c184")
    );
    assert!(e.container_id.is_some());
    assert_eq!(e.top_consumers.len(), 5);
    assert!(e
        .top_consumers
        .iter()
        .all(|t| t.oom_score_adj == Some(-998)));
}

#[test]
fn rhel7_kill_process_score_then_a_different_child_is_killed() {
    let e = one(
        "k8s-56891-rhel7-3.10.0-327-dmesg-T-kubepods-memcg-sacrifice-child.log",
        Kind::CgroupOomKill,
    );
    assert_eq!(
        e.pid,
        Some(28438),
        "the killed child, not the chosen parent 24572"
    );
    assert_eq!(e.anon_rss_kb, Some(466160));
    assert_eq!(e.file_rss_kb, Some(13684));
    assert!(e.timestamp.is_some(), "dmesg -T time");
}

#[test]
fn rhel6_and_centos7_uid_variants() {
    let e = one(
        "cpanel-ssp-76-centos-6.7-2.6.32-killed-process-uid.log",
        Kind::KernelOomKill,
    );
    assert_eq!(
        (e.pid, e.uid, e.process.as_deref(), e.anon_rss_kb),
        (Some(11726), Some(498), Some("mysqld"), Some(2539268))
    );
    let e = one(
        "gocd-2079-rhel6-style-killed-process-uid.log",
        Kind::KernelOomKill,
    );
    assert_eq!(
        (e.pid, e.uid, e.anon_rss_kb),
        (Some(26942), Some(498), Some(637012))
    );
    let e = one(
        "doris-3525-centos7-style-memcg-killed-process-uid-docker-messages.log",
        Kind::CgroupOomKill,
    );
    assert_eq!(
        (e.pid, e.uid, e.process.as_deref(), e.anon_rss_kb),
        (Some(18177), Some(0), Some("palo_be"), Some(45563572))
    );
    let ev = events("ltp-1080-rhel7-style-memcg-multiple-kills-uid.log");
    let pids: Vec<i64> = ev.iter().filter_map(|e| e.pid).collect();
    for p in [42452, 42453, 42474, 42471, 42468] {
        assert!(pids.contains(&p), "{p} in {pids:?}");
    }
}

#[test]
fn node_problem_detector_480_kernel_4_19_and_5_4() {
    let e = one(
        "npd-480-kernel-4.19.112-memcg-sacrifice-child.log",
        Kind::CgroupOomKill,
    );
    assert_eq!(
        (e.pid, e.process.as_deref(), e.anon_rss_kb, e.badness_score),
        (Some(4015), Some("python"), Some(23588), Some(1923))
    );
    let e = one(
        "npd-480-kernel-5.4.49-memcg-killed-process-uid-pgtables.log",
        Kind::CgroupOomKill,
    );
    assert_eq!(
        (e.pid, e.anon_rss_kb, e.pgtables_kb, e.oom_score_adj),
        (Some(4249), Some(23856), Some(112), Some(994))
    );
}

#[test]
fn cadvisor_2417_wrapped_oom_kill_line_is_a_cgroup_oom_not_a_system_oom() {
    let e = one(
        "cadvisor-2417-kernel-5.0-ubuntu-18.04-oom-kill-constraint-wrapped.log",
        Kind::CgroupOomKill,
    );
    assert_eq!(e.pid, Some(966));
    assert_eq!(e.process.as_deref(), Some("manager"));
    assert_eq!(
        e.pod_uid.as_deref(),
        Some("fbdfe8e3-1c87-4ff2-907c-b2ec8e25d012"),
        "rejoined across the wrap"
    );
    assert!(e
        .container_id
        .as_deref()
        .unwrap()
        .starts_with("ef807430361e"));
}

#[test]
fn global_oom_kill_line_alone_names_the_docker_container() {
    let e = one(
        "dyrnq-install-docker-14-global-oom-kill-line-docker-scope.log",
        Kind::KernelOomKill,
    );
    assert_eq!((e.pid, e.process.as_deref()), (Some(7134), Some("java")));
    assert!(e
        .container_id
        .as_deref()
        .unwrap()
        .starts_with("00748bf4e957"));
}

#[test]
fn memory_oom_group_fan_out() {
    let ev = events("lkml-2018-gushchin-memory-oom-group-first-output.log");
    let group: Vec<i64> = ev
        .iter()
        .filter(|e| e.kind == Kind::OomGroupKill)
        .filter_map(|e| e.pid)
        .collect();
    assert_eq!(group, vec![1217, 1218, 1219, 1220, 1221, 1222]);
    assert!(ev
        .iter()
        .any(|e| e.kind == Kind::OomReaped && e.pid == Some(1222)));
}

#[test]
fn names_with_parentheses_spaces_and_brackets() {
    let ev = events("docker-for-linux-1001-ubuntu-19.10-global-oom-reaper-syslog.log");
    let e = ev
        .iter()
        .find(|e| e.pid == Some(15925) && e.kind == Kind::KernelOomKill)
        .expect("15925");
    assert_eq!(e.process.as_deref(), Some("(resolved)"));
    assert_eq!(e.anon_rss_kb, Some(4064));
    assert_eq!(ev.iter().filter(|e| e.kind == Kind::OomReaped).count(), 4);
}

#[test]
fn no_killable_processes_panics() {
    one(
        "panic-xiangshan-doc-9-kernel-4.18-no-killable-processes.log",
        Kind::OomNoVictim,
    );
    one(
        "panic-nuc980-94-no-killable-processes-bare.log",
        Kind::OomNoVictim,
    );
}

#[test]
fn segfault_lines_including_wrapped_and_dmesg_h() {
    let e = one(
        "segfault-shellinabox-389-libc-2.12-centos6.log",
        Kind::Segfault,
    );
    assert_eq!(
        (e.pid, e.process.as_deref()),
        (Some(9571), Some("shellinaboxd"))
    );
    assert!(e.module.as_deref().unwrap().starts_with("libc-2.12.so"));
    let e = one(
        "segfault-opensmtpd-250-dmesg-wrapped-libc-2.17.log",
        Kind::Segfault,
    );
    assert_eq!(
        (e.pid, e.module.as_deref()),
        (Some(6287), Some("libc-2.17.so"))
    );
    assert_eq!(e.ip.as_deref(), Some("0x0000668e2fd5dee1"));
    let ev = events("segfault-lact-204-kernel-6.7.3-dmesg-H-likely-on-cpu.log");
    assert_eq!(
        ev.iter().filter_map(|e| e.pid).collect::<Vec<_>>(),
        vec![523318, 523329]
    );
    assert_eq!(
        events("segfault-propolis-427-ubuntu-22.04-systemd-dmesg-code-lines.log").len(),
        3
    );
}

#[test]
fn kubernetes_describe_events_and_go_templates() {
    let e = one(
        "kubectl-describe-elastic-agent-3641-last-state-oomkilled-137.txt",
        Kind::K8sOomkilled,
    );
    assert_eq!(e.exit_code, Some(137));
    // An OOMKilled with exit code 0 is still an OOM kill.
    let e = one(
        "kubectl-describe-k8s-131530-state-oomkilled-exit-code-0.txt",
        Kind::K8sOomkilled,
    );
    assert_eq!(e.exit_code, Some(0));
    // Reason Error with 137 is a SIGKILL of unknown cause, not an OOM.
    let e = one(
        "kubectl-describe-k8s-122256-last-state-error-137-not-oom.txt",
        Kind::SigkillExit,
    );
    assert_eq!(e.cause, Some(Cause::Unknown));
    let ev = events("aks-5434-kubectl-get-events-oomkilling-node.txt");
    let v: Vec<(Option<i64>, Option<&str>)> =
        ev.iter().map(|e| (e.pid, e.process.as_deref())).collect();
    assert_eq!(
        v,
        vec![
            (Some(19023), Some("bash")),
            (Some(19024), Some("python")),
            (Some(20649), Some("Flink-RocksDBSt"))
        ]
    );
    // node-problem-detector quotes the kernel: its "Memory cgroup out of memory" says memcg.
    assert!(ev.iter().all(|e| e.kind == Kind::CgroupOomKill));
    assert!(ev.iter().all(|e| e.code.as_deref() == Some("OOMKilling")));
    assert_eq!(ev[2].anon_rss_kb, Some(4861148));
    let e = one(
        "kubectl-describe-node-kubernikus-321-podoomkilling-event.txt",
        Kind::CgroupOomKill,
    );
    assert_eq!(
        (e.pid, e.process.as_deref()),
        (Some(25169), Some("hyperkube"))
    );
    // Both the 1.11+ "low on resource: memory. Container egg …" and the admission's
    // "The node had condition: [MemoryPressure]." (before, only the first was found).
    let ev = events("kubectl-get-events-kubefate-64-evicted-memory-pressure.txt");
    let evicted: Vec<&Event> = ev.iter().filter(|e| e.kind == Kind::K8sEvicted).collect();
    assert_eq!(evicted.len(), 2, "{:?}", kinds(&ev));
    assert_eq!(evicted[0].container.as_deref(), Some("egg"));
    one(
        "oc-get-pods-openshift-release-76967-evicted-threshold-message.txt",
        Kind::K8sEvicted,
    );
    let e = one(
        "kubectl-go-template-rancher-26819-laststate-oomkilled-137.txt",
        Kind::K8sOomkilled,
    );
    assert_eq!(e.exit_code, Some(137));
}

#[test]
fn docker_events_and_inspect_fragments() {
    let e = one(
        "docker-events-for-linux-670-container-oom-k8s-wrapped.txt",
        Kind::DockerOom,
    );
    assert!(e
        .container_id
        .as_deref()
        .unwrap()
        .starts_with("29d72966e0be"));
    let e = one(
        "docker-inspect-cli-2665-state-exit-137-oomkilled-false.json.txt",
        Kind::SigkillExit,
    );
    assert_eq!(e.exit_code, Some(137));
    assert_eq!(e.cause, Some(Cause::Unknown), "OOMKilled false: not an OOM");
}

#[test]
fn systemd_oomd_and_earlyoom() {
    let ev = events("systemd-cloudpanel-333-kernel-global-oom-then-mariadb-failed-oom-kill.log");
    assert_eq!(
        kinds(&ev),
        vec![Kind::KernelOomKill, Kind::SystemdUnitOom],
        "the two unit notices collapse into one"
    );
    assert_eq!(
        ev[0].memcg.as_deref(),
        Some("/system.slice/mariadb.service")
    );
    assert_eq!(ev[1].unit.as_deref(), Some("mariadb.service"));
    let ev = events("systemd-oomd-pr-20690-killed-due-to-memory-pressure-journal.log");
    let oomd: Vec<&Event> = ev.iter().filter(|e| e.kind == Kind::OomdKill).collect();
    assert_eq!(
        oomd.iter().filter_map(|e| e.pid).collect::<Vec<_>>(),
        vec![63, 66]
    );
    let cg = oomd
        .iter()
        .find(|e| e.memcg.is_some())
        .expect("the cgroup kill");
    assert!(cg
        .memcg
        .as_deref()
        .unwrap()
        .ends_with("testsuite-55-testbloat.service"));
    // The unit's SIGKILL exit is explained by the oomd kill of its cgroup.
    let exit = ev.iter().find(|e| e.kind == Kind::SigkillExit).unwrap();
    assert_eq!(exit.cause, Some(Cause::Oom));
    assert_eq!(exit.linked_to.as_ref().unwrap().by, "unit");
    let e = one(
        "systemd-openprescribing-5431-unit-killed-by-oom-killer-rfc3339.log",
        Kind::SystemdUnitOom,
    );
    assert_eq!(e.unit.as_deref(), Some("user@1021.service"));
    let e = one(
        "earlyoom-321-v1.7-journal-sigterm-then-earlyoom-core-dump.log",
        Kind::EarlyoomKill,
    );
    assert_eq!(
        (e.pid, e.process.as_deref(), e.signal),
        (Some(2595764), Some("cellxgene"), Some(15))
    );
    // Old earlyoom wording and Russian month names in journal lines.
    let ev = events("earlyoom-121-old-output-and-russian-locale-journal-kernel-oom.log");
    let k = ev
        .iter()
        .find(|e| e.kind == Kind::KernelOomKill)
        .expect("kernel kill");
    assert_eq!((k.pid, k.anon_rss_kb), (Some(27541), Some(8098448)));
    assert!(k.timestamp.as_deref().unwrap().contains("-04-28T01:23:30"));
    assert!(ev
        .iter()
        .any(|e| e.kind == Kind::EarlyoomKill && e.pid == Some(27541) && e.signal == Some(15)));
}

#[test]
fn runtimes() {
    let rt = |name: &str| {
        let ev = events(name);
        ev.iter()
            .filter_map(|e| e.runtime)
            .next()
            .unwrap_or_else(|| panic!("{name}: {:?}", kinds(&ev)))
    };
    assert_eq!(
        rt("java-littlebit-2-heap-space-glued-to-output-jdk8.log"),
        "java"
    );
    assert_eq!(
        rt("docker-compose-openj9-8552-jvmdump-oom-wrapped-prefix.log"),
        "java"
    );
    assert_eq!(
        rt("node-gemini-cli-4359-reached-heap-limit-linux.log"),
        "node"
    );
    assert_eq!(
        rt("go-alice-lg-25-fatal-error-runtime-out-of-memory.log"),
        "go"
    );
    assert_eq!(
        rt("go-golang-53576-out-of-memory-sysmapos-tab-indented.log"),
        "go"
    );
    assert_eq!(
        rt("python-tldrifybot-7-logging-traceback-memoryerror.log"),
        "python"
    );
    assert_eq!(
        rt("python-numpy-keypointfusion-3-array-memory-error.log"),
        "python"
    );
    assert_eq!(
        rt("rust-cargo-tally-100-memory-allocation-failed-aborted.log"),
        "rust"
    );
    assert_eq!(
        rt("rust-bitiodine-16-allocation-failed-aborted-no-newline.log"),
        "rust"
    );
    assert_eq!(
        rt("cpp-painter-35-bad-alloc-aborted-core-dumped.log"),
        "cxx"
    );
    assert_eq!(
        rt("jemalloc-spades-570-error-in-malloc-out-of-memory.log"),
        "jemalloc"
    );
    // Node on Windows: the OOM and the exit code 134 it caused.
    let ev = events("node-unibest-235-reached-heap-limit-windows-elifecycle-134.log");
    assert!(ev
        .iter()
        .any(|e| e.kind == Kind::AbortExit && e.exit_code == Some(134)));
}

#[test]
fn ci_output_sigkills_are_not_called_ooms() {
    for f in [
        "gha-freebsd-vm-81-killed-exit-code-137-timestamps.log",
        "gha-gene-hints-25-bash-killed-process-completed-137.log",
        "gha-fastapi-tdd-docker-6-process-completed-137.log",
        "make-rust-20577-killed-error-137.log",
    ] {
        let e = one(f, Kind::SigkillExit);
        assert_eq!(e.exit_code, Some(137), "{f}");
        assert_eq!(
            e.cause,
            Some(Cause::Unknown),
            "{f}: no OOM record, cause unknown"
        );
    }
    let e = one(
        "gha-freebsd-vm-81-killed-exit-code-137-timestamps.log",
        Kind::SigkillExit,
    );
    assert_eq!(e.timestamp.as_deref(), Some("2024-04-14T22:05:47.763030Z"));
    let e = one(
        "gcc-strfry-41-killed-signal-cc1plus-make-error-1.log",
        Kind::SigkillExit,
    );
    assert_eq!(e.process.as_deref(), Some("cc1plus"));
    let e = one(
        "gcc-forgottenserver-3317-localized-morto-signal-lto1.log",
        Kind::SigkillExit,
    );
    assert_eq!(
        e.process.as_deref(),
        Some("lto1"),
        "Portuguese 'Morto signal terminated program'"
    );
    let e = one(
        "ld-openttd-9690-german-locale-signal-9-getoetet.log",
        Kind::SigkillExit,
    );
    assert_eq!(e.signal, Some(9));
    assert_eq!(
        events("bitbake-meta-oe-410-ld-signal-9-killed-pipe-prefix.log").len(),
        3
    );
}

#[test]
fn reports_without_a_victim_line_make_no_kill() {
    for f in [
        "containerd-cgroups-74-kernel-4.19.4-elrepo-trigger-header-syslog.log",
        "k8s-efs-csi-1940-dmesg-T-2026-trigger-and-6.x-task-rows.log",
        "openj9-4050-kernel-4.4.0-119-ubuntu-k8s-comm-with-space-trigger.log",
        "rsyslog-ceph-check-rhel7-012-escaped-traceback.log",
    ] {
        assert!(events(f).is_empty(), "{f}: {:?}", kinds(&events(f)));
    }
}
