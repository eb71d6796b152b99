//! The kernel's victim line and the `oom-kill:` summary, as `__oom_kill_process` and
//! `dump_oom_summary` in mm/oom_kill.c print them (and their older spellings): `Killed process N
//! (comm) total-vm:…kB, anon-rss:…kB, file-rss:…kB, shmem-rss:…kB, UID:… pgtables:…kB
//! oom_score_adj:…` (5.x/6.x), `Killed process N, UID U, (comm) total-vm:…` (RHEL 6), and
//! `oom-kill:constraint=…,task_memcg=…,task=…,pid=…,uid=…` (4.19 and later).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::Regex;

use super::re;
use crate::triage::event::{Event, Kind, SourceRef};

/// The victim line of every kernel era; the groups are read by [`fill_victim`].
pub(super) const VICTIM: &str = r"^(?:(Out of memory|Memory cgroup out of memory)(?: \(oom_kill_allocating_task\))?: )?Killed process (\d+),? (?:UID (\d+), )?\((.*)\),? (?:UID (\d+), )?(?:total-vm|vsz):(\d+)kB, anon-rss:(\d+)kB, file-rss:(\d+)kB(?:, shmem-rss:(\d+)kB)?(?:,? UID:(\d+))?(?: pgtables:(\d+)kB)?(?: oom_score_adj:(-?\d+))?";

/// A victim line without sizes (some 2.6 and 3.x kernels): `Killed process N (comm)`.
pub(super) const VICTIM_SHORT: &str = r"^(?:(Out of memory|Memory cgroup out of memory): )?Killed process (\d+),? (?:UID (\d+), )?\((.*)\)\.?\s*$";

pub(super) fn kb(s: Option<regex::Match<'_>>) -> Option<u64> {
    s.and_then(|m| m.as_str().parse().ok())
}

pub(super) fn int(s: Option<regex::Match<'_>>) -> Option<i64> {
    s.and_then(|m| m.as_str().parse().ok())
}

/// Parse the comma-separated `key=value` list of the `oom-kill:` line. A value may itself contain
/// commas (a task name), so a comma splits only when `key=` follows it.
pub fn parse_kv(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut parts: Vec<String> = Vec::new();
    for piece in s.split(',') {
        let starts_key = piece
            .split_once('=')
            .map(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(false);
        if starts_key || parts.is_empty() {
            parts.push(piece.to_string());
        } else if let Some(last) = parts.last_mut() {
            last.push(',');
            last.push_str(piece);
        }
    }
    for p in parts {
        match p.split_once('=') {
            Some((k, v)) => out.insert(k.trim().to_string(), v.trim().to_string()),
            None => out.insert(p.trim().to_string(), String::new()),
        };
    }
    out
}

/// The kernel's victim line ("Killed process N (comm) total-vm:…") anywhere in `text`, as an
/// event of `kind` (used for lines that quote it, such as Kubernetes OOMKilling events).
pub fn victim_in(text: &str, kind: Kind, src: &SourceRef) -> Option<Event> {
    static ANY: OnceLock<Regex> = OnceLock::new();
    let i = text.find("Killed process")?;
    let start = text[..i]
        .rfind("Memory cgroup out of memory")
        .or_else(|| text[..i].rfind("Out of memory"))
        .unwrap_or(i);
    // The prefix belongs to this line only when nothing else (a quoted "Kill process … or
    // sacrifice child" before it) stands between them.
    let c = re(&ANY, VICTIM)
        .captures(&text[start..])
        .or_else(|| re(&ANY, VICTIM).captures(&text[i..]))?;
    let mut e = Event::new(kind, text.trim(), src.clone());
    fill_victim(&mut e, &c);
    Some(e)
}

/// Set the fields of a victim line's captures (see [`VICTIM`]'s groups).
pub(super) fn fill_victim(e: &mut Event, c: &regex::Captures<'_>) {
    e.pid = int(c.get(2));
    e.process = c.get(4).map(|m| m.as_str().to_string());
    e.uid = int(c.get(3)).or(int(c.get(5))).or(int(c.get(10)));
    e.total_vm_kb = kb(c.get(6));
    e.anon_rss_kb = kb(c.get(7));
    e.file_rss_kb = kb(c.get(8));
    e.shmem_rss_kb = kb(c.get(9));
    e.pgtables_kb = kb(c.get(11));
    e.oom_score_adj = int(c.get(12));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_values_with_commas() {
        let kv =
            parse_kv("constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,task=a,b,pid=5,uid=0");
        assert_eq!(kv["task"], "a,b");
        assert_eq!(kv["pid"], "5");
    }

    #[test]
    fn a_quoted_victim_line_anywhere_in_the_text() {
        // tests/fixtures/triage/aks-5434-kubectl-get-events-oomkilling-node.txt
        let src = SourceRef::line("t", 1);
        let e = victim_in("22m         Warning   OOMKilling           node/aks-flink-19626538-vmss0000q2          Memory cgroup out of memory: Killed process 20649 (Flink-RocksDBSt) total-vm:6490924kB, anon-rss:4861148kB, file-rss:26308kB, shmem-rss:0kB, UID:9999 pgtables:10912kB oom_score_adj:921", Kind::K8sSystemOom, &src).unwrap();
        assert_eq!(
            (e.pid, e.process.as_deref()),
            (Some(20649), Some("Flink-RocksDBSt"))
        );
        assert_eq!(
            (e.anon_rss_kb, e.uid, e.oom_score_adj),
            (Some(4861148), Some(9999), Some(921))
        );
        assert_eq!(e.pgtables_kb, Some(10912));
        assert!(victim_in("no victim here", Kind::K8sSystemOom, &src).is_none());
    }
}
