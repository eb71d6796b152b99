//! Unit tests of the parent module, kept apart so the module stays one concept to read.

use super::*;

fn input(rss: u64, adj: i32) -> BadnessInput {
    BadnessInput {
        rss_pages: rss,
        swap_pages: 0,
        pgtables_pages: 0,
        oom_score_adj: adj,
    }
}

#[test]
fn badness_follows_oom_badness() {
    // 1 GiB limit = 262144 pages: adj 1000 adds 262 × 1000.
    assert_eq!(badness(input(100, 0), 262_144), Some(100));
    assert_eq!(badness(input(100, 1000), 262_144), Some(100 + 262_000));
    assert_eq!(badness(input(100, -500), 262_144), Some(100 - 131_000));
    assert_eq!(badness(input(100, -1000), 262_144), None);
    let all = BadnessInput {
        rss_pages: 10,
        swap_pages: 5,
        pgtables_pages: 2,
        oom_score_adj: 0,
    };
    assert_eq!(badness(all, 1000), Some(17));
}

#[test]
fn garbled_huge_inputs_saturate_rather_than_overflow() {
    let huge = BadnessInput {
        rss_pages: u64::MAX,
        swap_pages: u64::MAX,
        pgtables_pages: u64::MAX,
        oom_score_adj: 1000,
    };
    assert_eq!(badness(huge, u64::MAX), Some(i64::MAX));
    let _ = proc_oom_score(Some(i64::MAX), 1);
    let _ = proc_oom_score(Some(i64::MIN + 1), 1);
}

#[test]
fn proc_oom_score_scaling() {
    // A process holding a quarter of memory: (1000 + 250) × 2 / 3 = 833.
    assert_eq!(proc_oom_score(Some(250), 1000), 833);
    assert_eq!(proc_oom_score(None, 1000), 0);
    // Negative badness truncates toward zero, as C does.
    assert_eq!(proc_oom_score(Some(-1), 3), (1000 + -333) * 2 / 3);
}

#[test]
fn inherited_adj_is_flagged_only_for_a_parent_first() {
    let c = |pid, ppid, b: i64, adj, age| Candidate {
        pid,
        name: format!("p{pid}"),
        command: String::new(),
        ppid: Some(ppid),
        age_s: Some(age),
        cgroup: None,
        identity: None,
        badness_pages: Some(b),
        badness_bytes: Some(b * 4096),
        rss_bytes: 0,
        swap_bytes: 0,
        page_tables_bytes: 0,
        oom_score_adj: adj,
        kernel_oom_score: None,
        computed_oom_score: 0,
        unkillable: false,
    };
    let parent_first = [c(10, 1, 500, 0, 100.0), c(11, 10, 100, 0, 5.0)];
    assert_eq!(inherited_adj_warnings(&parent_first).len(), 1);
    let child_first = [c(11, 10, 900, 1000, 5.0), c(10, 1, 500, 0, 100.0)];
    assert!(inherited_adj_warnings(&child_first).is_empty());
    let raised = [c(10, 1, 500, 0, 100.0), c(11, 10, 100, 1000, 5.0)];
    assert!(inherited_adj_warnings(&raised).is_empty());
}
