//! The memory pressure state of a cgroup or host: the runbooks' `clw-memory-pressure` leading
//! indicator.
//!
//! - `critical`: working set at or above 95 % of the (effective) limit, or the OOM-kill counter
//!   rose since the previous sample (only known with `--watch`).
//! - `warning`: working set at or above 85 % of the limit, PSI `some` rising (10 s average at
//!   least 1 % and above the 60 s average), or OOM kills recorded since the cgroup was created.
//! - `ok` otherwise.
//!
//! The working set (usage − inactive file) is used rather than raw usage because the kernel
//! reclaims inactive page cache before it OOM-kills; kubelet evicts on the same figure.
//!
//! `sample`'s model ([`Snapshot`]) is the readings of [`crate::sample::snapshot::read`] with
//! these verdicts added ([`take`]); the readers in `sample/` stay raw.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::Result;
use crate::identity::{Identity, Resolver};
use crate::sample::cgroup::{CgroupMemory, CgroupVersion};
use crate::sample::files::Psi;
use crate::sample::host::HostMemory;
use crate::sample::process::ProcessMemory;
use crate::sample::snapshot::{RawSnapshot, SampleRequest, Skipped};

/// Pressure state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PressureState {
    /// No threshold crossed.
    Ok,
    /// Working set ≥ 85 % of the limit, PSI `some` rising, or OOM kills since the counter began.
    Warning,
    /// Working set ≥ 95 % of the limit, or the OOM-kill counter rose since the previous sample.
    Critical,
}

impl PressureState {
    /// Stable key, as in JSON: `ok`, `warning` or `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            PressureState::Ok => "ok",
            PressureState::Warning => "warning",
            PressureState::Critical => "critical",
        }
    }
}

/// Percent of the limit at which the state becomes `warning`.
pub const WARNING_PCT: f64 = 85.0;
/// Percent of the limit at which the state becomes `critical`.
pub const CRITICAL_PCT: f64 = 95.0;

/// A state with the reasons that produced it.
#[derive(Debug, Clone, Serialize)]
pub struct Pressure {
    /// The worst state any rule raised.
    pub state: PressureState,
    /// Why, in words; empty when `ok`.
    pub reasons: Vec<String>,
}

/// What the assessment looks at.
#[derive(Debug, Clone, Copy, Default)]
pub struct PressureInput<'a> {
    /// Working set (or used memory for the host) as a percent of the limit.
    pub used_pct: Option<f64>,
    /// Memory PSI (`/proc/pressure/memory` or the cgroup's `memory.pressure`); `None` when not
    /// available (v1, no CONFIG_PSI), which skips the PSI rule.
    pub psi: Option<&'a Psi>,
    /// OOM-kill counter now.
    pub oom_kills: Option<u64>,
    /// OOM-kill counter at the previous sample (`--watch`); `None` for a one-shot sample.
    pub oom_kills_before: Option<u64>,
    /// What `used_pct` measures, for the reason text ("working set", "used memory").
    pub used_what: &'a str,
    /// Since when the OOM-kill counter counts ("boot" for the host, "cgroup creation").
    pub counted_since: &'a str,
}

/// PSI `some` is rising when its 10 s average is at least 1 % and above the 60 s average:
/// stalls are recent and growing, the leading indicator used by the runbooks.
pub fn psi_rising(psi: &Psi) -> bool {
    psi.some.avg10_pct >= 1.0 && psi.some.avg10_pct > psi.some.avg60_pct
}

/// Assess the pressure state.
pub fn assess(input: PressureInput<'_>) -> Pressure {
    let mut state = PressureState::Ok;
    let mut reasons = Vec::new();
    let mut raise = |s: PressureState, why: String| {
        state = state.max(s);
        reasons.push(why);
    };
    if let Some(p) = input.used_pct {
        if p >= CRITICAL_PCT {
            raise(
                PressureState::Critical,
                format!(
                    "{} at {p:.1}% of the limit (>= {CRITICAL_PCT}%)",
                    input.used_what
                ),
            );
        } else if p >= WARNING_PCT {
            raise(
                PressureState::Warning,
                format!(
                    "{} at {p:.1}% of the limit (>= {WARNING_PCT}%)",
                    input.used_what
                ),
            );
        }
    }
    if let Some(psi) = input.psi {
        if psi_rising(psi) {
            raise(
                PressureState::Warning,
                format!(
                    "PSI some rising: avg10 {:.2}% > avg60 {:.2}%",
                    psi.some.avg10_pct, psi.some.avg60_pct
                ),
            );
        }
    }
    match (input.oom_kills, input.oom_kills_before) {
        (Some(now), Some(before)) if now > before => raise(
            PressureState::Critical,
            format!("{} new OOM kill(s)", now - before),
        ),
        (Some(now), None) if now > 0 => raise(
            PressureState::Warning,
            format!(
                "{now} OOM kill(s) since {} (use --watch to see new ones)",
                input.counted_since
            ),
        ),
        _ => {}
    }
    Pressure { state, reasons }
}

/// A cgroup with its pressure state.
#[derive(Debug, Clone, Serialize)]
pub struct CgroupSample {
    /// The cgroup's readings, flattened into the object in JSON.
    #[serde(flatten)]
    pub memory: CgroupMemory,
    /// Usage as a percent (0–100) of `effective_limit_bytes`; `None` when unlimited or unknown.
    pub usage_pct: Option<f64>,
    /// Working set (usage − inactive file) as a percent of `effective_limit_bytes`; `None` when
    /// unlimited or unknown.
    pub working_set_pct: Option<f64>,
    /// The cgroup's pressure state.
    pub pressure: Pressure,
    /// The WORKLOAD label of `identity` (`ns/pod/container`, `project/service`,
    /// `docker:name`, a unit, `… (sandbox)`, `docker 4f9a2c1be07d (unresolved)`); `null` for a
    /// cgroup that is no workload's (a slice, `/`).
    pub workload: Option<String>,
    /// Whose cgroup it is: container, pod, compose service or unit, every field `null` where
    /// unknown, `unresolved` saying why ([`crate::identity::Identity`]).
    pub identity: Identity,
}

/// The host with its pressure state.
#[derive(Debug, Clone, Serialize)]
pub struct HostSample {
    /// The host's `/proc/meminfo` readings, flattened into the object in JSON.
    #[serde(flatten)]
    pub memory: HostMemory,
    /// `used_bytes / total_bytes` (MemTotal − MemAvailable over MemTotal) as a percent (0–100);
    /// `None` without MemAvailable.
    pub used_pct: Option<f64>,
    /// The host's pressure state (OOM kills count only when they rise under `--watch`).
    pub pressure: Pressure,
}

/// One snapshot: `sample`'s model.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// Seconds since the Unix epoch when the snapshot was taken.
    pub timestamp_s: f64,
    /// `null` when the sample was restricted to pids or cgroups.
    pub host: Option<HostSample>,
    /// `v1` or `v2`; `null` when no memory cgroup hierarchy was found.
    pub cgroup_version: Option<CgroupVersion>,
    /// Memory cgroups: with no arguments those with a limit of their own (pod sandboxes and
    /// conmon cgroups only with `--all`), else the ones asked for.
    pub cgroups: Vec<CgroupSample>,
    /// Limited cgroups left out because they are pod sandboxes or conmon (`--all` shows them).
    pub hidden_cgroups: usize,
    /// Processes, largest first by `--sort`, cut to `--top`.
    pub processes: Vec<ProcessMemory>,
    /// Processes considered before the top-N cut.
    pub processes_total: usize,
    /// Processes that vanished or could not be read, counted.
    pub skipped: Skipped,
    /// Notes about what could not be read.
    pub notes: Vec<String>,
}

/// Counters from the previous snapshot, so `--watch` can see OOM kills rise.
#[derive(Debug, Clone, Default)]
pub struct Previous {
    /// The host's `oom_kill` of `/proc/vmstat` at the previous sample; `None` when not read.
    pub host_oom_kills: Option<u64>,
    /// Each cgroup's `oom_kill` counter at the previous sample, by path relative to the
    /// hierarchy root; cgroups without a counter are absent.
    pub cgroup_oom_kills: BTreeMap<String, u64>,
}

impl Previous {
    /// The counters of `s`, to compare the next snapshot with.
    pub fn from_snapshot(s: &Snapshot) -> Previous {
        Previous {
            host_oom_kills: s.host.as_ref().and_then(|h| h.memory.oom_kill_count),
            cgroup_oom_kills: s
                .cgroups
                .iter()
                .filter_map(|c| Some((c.memory.path.clone(), c.memory.oom_kill_count?)))
                .collect(),
        }
    }
}

/// Assess a cgroup.
pub fn cgroup_sample(
    memory: CgroupMemory,
    identity: Identity,
    prev: Option<&Previous>,
) -> CgroupSample {
    let pressure = assess(PressureInput {
        used_pct: memory.working_set_pct(),
        psi: memory.psi.as_ref(),
        oom_kills: memory.oom_kill_count,
        oom_kills_before: prev.and_then(|p| p.cgroup_oom_kills.get(&memory.path).copied()),
        used_what: "working set",
        counted_since: "cgroup creation",
    });
    CgroupSample {
        usage_pct: memory.usage_pct(),
        working_set_pct: memory.working_set_pct(),
        pressure,
        memory,
        workload: identity.workload(),
        identity,
    }
}

/// Assess the host.
pub fn host_sample(memory: HostMemory, prev: Option<&Previous>) -> HostSample {
    let pressure = assess(PressureInput {
        used_pct: memory.used_pct(),
        psi: memory.psi.as_ref(),
        // The host counter includes every cgroup's kills since boot: only a rise (--watch)
        // says something about the host now.
        oom_kills: prev.and(memory.oom_kill_count),
        oom_kills_before: prev.and_then(|p| p.host_oom_kills),
        used_what: "used memory",
        counted_since: "boot",
    });
    HostSample {
        used_pct: memory.used_pct(),
        pressure,
        memory,
    }
}

/// Add the pressure verdicts to a snapshot's readings.
pub fn assess_snapshot(raw: RawSnapshot, prev: Option<&Previous>) -> Snapshot {
    Snapshot {
        timestamp_s: raw.timestamp_s,
        host: raw.host.map(|h| host_sample(h, prev)),
        cgroup_version: raw.cgroup_version,
        cgroups: raw
            .cgroups
            .into_iter()
            .map(|(c, id)| cgroup_sample(c, id, prev))
            .collect(),
        hidden_cgroups: raw.hidden_cgroups,
        processes: raw.processes,
        processes_total: raw.processes_total,
        skipped: raw.skipped,
        notes: raw.notes,
    }
}

/// Take one snapshot (`clw-diag sample`): [`crate::sample::snapshot::read`], then the verdicts.
///
/// Errors: those of [`crate::sample::snapshot::read`].
pub fn take(req: &SampleRequest, prev: Option<&Previous>) -> Result<Snapshot> {
    Ok(assess_snapshot(crate::sample::snapshot::read(req)?, prev))
}

/// [`take`] naming workloads through `resolver`, kept across `--watch` ticks (the caller
/// [`Resolver::refresh`]es it per tick).
///
/// Errors: those of [`crate::sample::snapshot::read_with`].
pub fn take_with(
    req: &SampleRequest,
    prev: Option<&Previous>,
    resolver: &mut Resolver,
) -> Result<Snapshot> {
    Ok(assess_snapshot(
        crate::sample::snapshot::read_with(req, resolver)?,
        prev,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_and_oom_rise() {
        let s = |pct: f64| {
            assess(PressureInput {
                used_pct: Some(pct),
                ..Default::default()
            })
            .state
        };
        assert_eq!(s(84.9), PressureState::Ok);
        assert_eq!(s(85.0), PressureState::Warning);
        assert_eq!(s(95.0), PressureState::Critical);
        let p = assess(PressureInput {
            used_pct: Some(10.0),
            oom_kills: Some(3),
            oom_kills_before: Some(2),
            ..Default::default()
        });
        assert_eq!(p.state, PressureState::Critical);
        let p = assess(PressureInput {
            oom_kills: Some(3),
            ..Default::default()
        });
        assert_eq!(p.state, PressureState::Warning);
    }

    #[test]
    fn psi_rise() {
        let p = |avg10_pct, avg60_pct| Psi {
            some: crate::sample::files::PsiLine {
                avg10_pct,
                avg60_pct,
                avg300_pct: 0.0,
                total_us: 0,
            },
            full: None,
        };
        assert!(psi_rising(&p(5.1, 1.0)));
        assert!(!psi_rising(&p(0.9, 0.1)));
        assert!(!psi_rising(&p(2.0, 2.0)));
        let a = assess(PressureInput {
            psi: Some(&p(5.1, 1.0)),
            ..Default::default()
        });
        assert_eq!(a.state, PressureState::Warning);
        assert_eq!(a.reasons, ["PSI some rising: avg10 5.10% > avg60 1.00%"]);
    }

    #[test]
    fn host_kills_count_only_when_they_rise() {
        let raw = crate::sample::host::read_host(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/v2/proc"
        )))
        .unwrap();
        // The fixture's vmstat says `oom_kill 1`: since boot, so no verdict on its own.
        assert_eq!(raw.oom_kill_count, Some(1));
        let one_shot = host_sample(raw.clone(), None);
        assert!(one_shot.pressure.reasons.iter().all(|r| !r.contains("OOM")));
        let before = Previous {
            host_oom_kills: Some(0),
            ..Default::default()
        };
        let watched = host_sample(raw.clone(), Some(&before));
        assert_eq!(watched.pressure.state, PressureState::Critical);
        assert!(watched
            .pressure
            .reasons
            .contains(&"1 new OOM kill(s)".to_string()));
        let same = Previous {
            host_oom_kills: Some(1),
            ..Default::default()
        };
        let quiet = host_sample(raw, Some(&same));
        assert!(quiet.pressure.reasons.iter().all(|r| !r.contains("OOM")));
    }
}
