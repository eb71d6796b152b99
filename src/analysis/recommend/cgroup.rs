//! History from a live memory cgroup: one point (its working set, else its usage), so the
//! policies answer `insufficient-data`, but the limit, `memory.peak` and `memory.events`
//! `oom_kill` still give warnings and the least limit that should be chosen (cgroup v1 and v2,
//! through `sample::cgroup`).

use std::path::Path;

use super::history::{History, IntervalPeak};
use super::policies::oom_bump;
use super::sources::{Plan, DEFAULT_INTERVAL_S};
use super::target::{Source, Target};
use super::{bytes, mib};
use crate::error::Result;
use crate::identity::Resolver;
use crate::sample::cgroup::MemoryHierarchy;

/// A live memory cgroup: one point (its working set, else its usage), so the policies answer
/// `insufficient-data`, but its limit, `memory.peak` and `memory.events` `oom_kill` give the
/// warnings and the least limit that should be chosen.
///
/// `cgroup` is a path or a workload name ([`MemoryHierarchy::find_workload`], the node's
/// files read under `host_root`); the target is named by its workload (`ns/pod/container`,
/// `project/service`, …) when one is known, else by its path, and carries the identity, with
/// `namespace`, `pod` and `container` in its labels when known.
///
/// Errors: [`crate::Error::NoMemoryHierarchy`] under `cgroup_root`,
/// [`crate::Error::NoSuchWorkload`] (neither a cgroup nor one workload's name), or the
/// cgroup's files cannot be read.
pub fn from_cgroup(
    cgroup_root: &Path,
    host_root: &Path,
    cgroup: &str,
    plan: &Plan,
) -> Result<Target> {
    let hier = MemoryHierarchy::detect(cgroup_root)?;
    let (_, rel, identity) = hier.find_workload(&mut Resolver::new(host_root), cgroup)?;
    let m = hier.read(&rel)?;
    let current = m.working_set_bytes.or(m.usage_bytes);
    let metric = if m.working_set_bytes.is_some() {
        "working_set_bytes"
    } else {
        "usage_bytes"
    };
    let interval_s = plan.interval_s.unwrap_or(DEFAULT_INTERVAL_S);
    let h = History {
        peaks: current
            .map(|c| {
                vec![IntervalPeak {
                    start_s: 0.0,
                    peak_bytes: c as f64,
                    peak_at_s: 0.0,
                    first_s: 0.0,
                    last_s: 0.0,
                    samples: 1,
                }]
            })
            .unwrap_or_default(),
        interval_s,
        ooms: Vec::new(),
        limit_bytes: m.limit_bytes.map(|l| l as f64),
    };
    let mut t = Target::assess(
        identity.workload().unwrap_or_else(|| m.path.clone()),
        Source::Cgroup,
        metric.into(),
        &h,
        &plan.policies,
        plan.backtest,
    );
    t.current_bytes = current;
    t.peak_bytes = m.peak_bytes.or(current);
    t.oom_kills = m.oom_kill_count.unwrap_or(0);
    t.current_limit_bytes = m.limit_bytes;
    t.set_identity(identity);
    match m.limit_bytes {
        None => t.warnings.push(format!(
            "cgroup {} has no memory limit of its own ({}): nothing stops it but the host",
            m.path,
            m.effective_limit_bytes
                .map(|e| format!("an ancestor limits it to {}", mib(e as f64)))
                .unwrap_or_else(|| "unlimited".into())
        )),
        Some(l) => {
            if let Some(p) = m.peak_bytes {
                if p as f64 >= 0.95 * l as f64 {
                    t.warnings.push(format!(
                        "the peak {} reached {:.0} % of the limit {}",
                        mib(p as f64),
                        p as f64 * 100.0 / l as f64,
                        mib(l as f64)
                    ));
                }
            }
        }
    }
    if t.oom_kills > 0 {
        t.warnings.push(format!(
            "{} OOM kill(s) in this cgroup (memory.events oom_kill): the limit {} is too small for this workload",
            t.oom_kills,
            m.limit_bytes.map(|l| mib(l as f64)).unwrap_or_else(|| "-".into())
        ));
    }
    if let Some(p) = t.peak_bytes {
        let mut floor = p as f64 * 1.15;
        if t.oom_kills > 0 {
            if let Some(l) = m.limit_bytes {
                floor = floor.max(oom_bump(l as f64));
            }
        }
        t.warnings.push(format!(
            "whatever limit is chosen should be at least {} (peak × 1.15{}); record a trace (clw-diag record --cgroup {}) for a recommendation",
            mib(bytes(floor) as f64),
            if t.oom_kills > 0 { ", bumped after OOM kills" } else { "" },
            m.path
        ));
    }
    Ok(t)
}
