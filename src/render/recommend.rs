//! Output of `clw-diag recommend`: the table and JSON model ([`RecommendReport`]), and the
//! `--emit` snippets: a Kubernetes `resources:` block, a VPA object in recommendation-only mode,
//! docker-compose service memory settings, a systemd drop-in, an OpenClaw Workload, and a short
//! JSON document. Quantities are rounded up to whole MiB: `Mi`/`Gi` for Kubernetes and
//! OpenClaw, `m` for compose (docker's binary megabytes), `M` for systemd (1024²).

use std::io::{self, Write};

use serde::Serialize;

use super::units::{duration, iec};
use super::{col, Cell, Report, Table};
use crate::analysis::recommend::{Policy, Status, Target};

pub use crate::analysis::recommend::RecommendReport;

fn short(name: &str) -> &str {
    name.rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(name)
}

impl Report for RecommendReport {
    /// One CSV is one table: the recommendations (the back-test is in `--json`).
    fn csv_tables(&self, table: Option<&str>) -> io::Result<Vec<Table>> {
        match table {
            None | Some("recommendations") => Ok(self.tables().into_iter().take(1).collect()),
            Some(t) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("recommend has no table {t:?} (recommendations)"),
            )),
        }
    }

    fn tables(&self) -> Vec<Table> {
        let mut notes = Vec::new();
        let mut rows = Vec::new();
        let mut bt_rows = Vec::new();
        for t in &self.targets {
            // A saved Prometheus answer: "FILE namespace/pod/container"; the file's last
            // component is enough here (JSON keeps the whole name).
            let name = match t.target.split_once(' ') {
                Some((file, key)) => format!("{} {key}", short(file)),
                // A workload's name (`ns/pod/container`) is whole, not a path to cut.
                None if t.source == crate::analysis::recommend::Source::Prometheus
                    || t.identity.is_some() =>
                {
                    t.target.clone()
                }
                None => short(&t.target).to_string(),
            };
            let name = name.as_str();
            notes.push(format!(
                "{name}: {} samples of {} in {} intervals of {}, history {}{}",
                t.samples,
                t.metric,
                t.intervals,
                duration(t.interval_s),
                duration(t.history_s),
                t.leak_verdict
                    .map(|v| format!(", leak verdict {}", v.as_str()))
                    .unwrap_or_default()
            ));
            for r in &t.recommendations {
                rows.push(vec![
                    Cell::path(name, 80),
                    Cell::text(r.policy.as_str()),
                    Cell::Quantity(r.request_bytes),
                    Cell::Quantity(r.limit_bytes),
                    Cell::Bytes(t.p95_bytes),
                    Cell::Bytes(t.peak_bytes),
                    Cell::Int(Some(t.oom_kills as i64)),
                    Cell::text(match r.status {
                        Status::Ok => "ok",
                        Status::InsufficientData => "insufficient-data",
                    }),
                ]);
                notes.push(format!("{name}: {}: {}", r.policy.as_str(), r.basis));
            }
            for w in &t.warnings {
                notes.push(format!("{name}: warning: {w}"));
            }
            if let Some(b) = &t.backtest {
                for p in &b.policies {
                    bt_rows.push(vec![
                        Cell::path(name, 80),
                        Cell::text(p.policy.as_str()),
                        Cell::Int(Some(b.fit_intervals as i64)),
                        Cell::Int(Some(b.replayed_intervals as i64)),
                        Cell::Quantity(p.request_bytes),
                        Cell::Quantity(p.limit_bytes),
                        Cell::Int(p.intervals_above_request.map(|x| x as i64)),
                        Cell::Int(p.intervals_above_limit.map(|x| x as i64)),
                        Cell::text(
                            p.slack_gib_hours
                                .map(|s| format!("{s:.3}"))
                                .unwrap_or_else(|| "-".into()),
                        ),
                    ]);
                }
            }
        }
        notes.extend(self.warnings.iter().map(|w| format!("warning: {w}")));
        let mut tables = vec![Table {
            title: None,
            columns: vec![
                col("TARGET", "target"),
                col("POLICY", "policy"),
                col("REQUEST", "request_bytes"),
                col("LIMIT", "limit_bytes"),
                col("P95", "p95_bytes"),
                col("PEAK", "peak_bytes"),
                col("OOM KILLS", "oom_kills"),
                col("STATUS", "status"),
            ],
            rows,
            notes: if bt_rows.is_empty() {
                notes.clone()
            } else {
                Vec::new()
            },
        }];
        if !bt_rows.is_empty() {
            tables.push(Table {
                title: Some(
                    "Back-test: fitted on the first intervals, replayed on the rest".into(),
                ),
                columns: vec![
                    col("TARGET", "target"),
                    col("POLICY", "policy"),
                    col("FIT", "fit_intervals"),
                    col("REPLAYED", "replayed_intervals"),
                    col("REQUEST", "request_bytes"),
                    col("LIMIT", "limit_bytes"),
                    col("> REQUEST", "intervals_above_request"),
                    col("> LIMIT (OOM)", "intervals_above_limit"),
                    col("SLACK GiB·h", "slack_gib_hours"),
                ],
                rows: bt_rows,
                notes,
            });
        }
        tables
    }
}

/// `--emit` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    /// A Kubernetes container `resources:` block (memory request and limit, in `Mi`/`Gi`).
    K8s,
    /// A VerticalPodAutoscaler (`updateMode: "Off"`) bounding memory between the request and the
    /// limit; its `targetRef` is guessed from the pod name.
    Vpa,
    /// A Docker Compose service: `mem_reservation`/`mem_limit` and `deploy.resources`, in whole
    /// MiB.
    Compose,
    /// A systemd drop-in: `MemoryHigh` at the request, `MemoryMax` at the limit, in whole MiB.
    Systemd,
    /// An openclaw `Workload` with the container's memory request and limit.
    Openclaw,
    /// Every target's recommendations as one JSON document (`request_bytes`, `limit_bytes`; all
    /// policies).
    Json,
}

/// A Kubernetes quantity: whole `Mi` rounded up, `Gi` when a whole number of GiB.
pub fn k8s_quantity(b: u64) -> String {
    let mi = super::units::mib_up(b);
    if mi > 0 && mi.is_multiple_of(1024) {
        format!("{}Gi", mi / 1024)
    } else {
        format!("{mi}Mi")
    }
}

/// A DNS-1123 label from `s` (lower case, `[a-z0-9-]`, at most 63 characters).
pub fn dns_label(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out: String = out.trim_matches('-').chars().take(63).collect();
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "workload".into()
    } else {
        out
    }
}

/// The workload name of a target: the container, else the file's stem or the cgroup's last
/// component.
fn workload(t: &Target) -> String {
    if let Some(c) = t.labels.get("container") {
        return dns_label(c);
    }
    let base = short(t.target.split(" {").next().unwrap_or(&t.target));
    let base = base.split('#').next().unwrap_or(base);
    let stem = base.rsplit_once('.').map_or(base, |(a, _)| a);
    dns_label(stem)
}

/// The comment naming the pod and container (or the compose service, the unit) a target's
/// identity or Prometheus labels give, with the cgroup path; `None` when nothing names it.
fn who(t: &Target) -> Option<String> {
    use crate::analysis::recommend::target::TargetIdentity;
    let l = |k: &str| t.labels.get(k).map(String::as_str);
    let mut out = match (l("namespace"), l("pod"), l("container")) {
        (Some(ns), Some(pod), Some(c)) => format!("pod {ns}/{pod}, container {c}"),
        (Some(ns), Some(pod), None) => format!("pod {ns}/{pod}"),
        _ => String::new(),
    };
    let (workload, cgroup) = match &t.identity {
        Some(TargetIdentity::Live(i)) => (i.workload(), Some(i.cgroup.clone())),
        Some(TargetIdentity::Trace(i)) => (i.workload.clone(), i.cgroup.clone()),
        None => (None, None),
    };
    if out.is_empty() {
        out = workload
            .map(|w| format!("workload {w}"))
            .unwrap_or_default();
    }
    if let Some(c) = cgroup.filter(|_| !out.is_empty()) {
        out.push_str(&format!(" (cgroup {c})"));
    }
    (!out.is_empty()).then_some(out)
}

/// The Deployment behind a pod name (`web-5d8f7c9b4-x2x9z` → `web`), else the pod name.
fn owner_of_pod(pod: &str) -> String {
    let parts: Vec<&str> = pod.split('-').collect();
    let alnum = |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric());
    if parts.len() >= 3 {
        let (h, r) = (parts[parts.len() - 2], parts[parts.len() - 1]);
        if r.len() == 5 && alnum(r) && (6..=10).contains(&h.len()) && alnum(h) {
            return parts[..parts.len() - 2].join("-");
        }
    }
    pod.to_string()
}

/// Write the `--emit` output of `report` for `policy` (`None` with `--policy all`: JSON only).
pub fn emit(
    report: &RecommendReport,
    kind: Emit,
    policy: Option<Policy>,
    out: &mut dyn Write,
) -> io::Result<()> {
    if kind == Emit::Json {
        #[derive(Serialize)]
        struct Rec<'a> {
            target: &'a str,
            policy: &'static str,
            status: Status,
            request_bytes: Option<u64>,
            limit_bytes: Option<u64>,
        }
        #[derive(Serialize)]
        struct Doc<'a> {
            recommendations: Vec<Rec<'a>>,
        }
        let doc = Doc {
            recommendations: report
                .targets
                .iter()
                .flat_map(|t| {
                    t.recommendations.iter().map(|r| Rec {
                        target: &t.target,
                        policy: r.policy.as_str(),
                        status: r.status,
                        request_bytes: r.request_bytes,
                        limit_bytes: r.limit_bytes,
                    })
                })
                .collect(),
        };
        serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
        return out.write_all(b"\n");
    }
    for (i, t) in report.targets.iter().enumerate() {
        let Some(r) = t.recommendations.iter().find(|r| Some(r.policy) == policy) else {
            continue;
        };
        let sep = if i > 0 && kind != Emit::Systemd {
            "---\n"
        } else {
            ""
        };
        let mut head = format!(
            "# clw-diag recommend: {} (policy {}; {} intervals, peak {})",
            t.target.replace('\n', " "),
            r.policy.as_str(),
            t.intervals,
            t.peak_bytes.map(iec).unwrap_or_else(|| "-".into())
        );
        if let Some(who) = who(t) {
            head.push_str(&format!("\n# {}", super::one_line(&who)));
        }
        let (Some(req), Some(lim)) = (r.request_bytes, r.limit_bytes) else {
            writeln!(
                out,
                "{sep}{head}\n# insufficient data: no recommendation ({})",
                r.basis
            )?;
            continue;
        };
        let name = workload(t);
        match kind {
            Emit::K8s => write!(
                out,
                "{sep}{head}\nresources:\n  requests:\n    memory: {}\n  limits:\n    memory: {}\n",
                k8s_quantity(req),
                k8s_quantity(lim)
            )?,
            Emit::Vpa => {
                let target = t
                    .labels
                    .get("pod")
                    .map(|p| dns_label(&owner_of_pod(p)))
                    .unwrap_or_else(|| name.clone());
                let container = t
                    .labels
                    .get("container")
                    .cloned()
                    .unwrap_or_else(|| "*".into());
                write!(
                    out,
                    "{sep}{head}\n# targetRef is a guess from the pod name: check it\n\
                     apiVersion: autoscaling.k8s.io/v1\nkind: VerticalPodAutoscaler\nmetadata:\n  name: {target}\n{ns}\
                     spec:\n  targetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: {target}\n  \
                     updatePolicy:\n    updateMode: \"Off\"\n  resourcePolicy:\n    containerPolicies:\n      \
                     - containerName: \"{container}\"\n        controlledResources: [\"memory\"]\n        \
                     minAllowed:\n          memory: {}\n        maxAllowed:\n          memory: {}\n",
                    k8s_quantity(req),
                    k8s_quantity(lim),
                    ns = t
                        .labels
                        .get("namespace")
                        .map(|n| format!("  namespace: {}\n", dns_label(n)))
                        .unwrap_or_default(),
                )?
            }
            Emit::Compose => write!(
                out,
                "{sep}{head}\nservices:\n  {name}:\n    mem_limit: {l}m\n    mem_reservation: {r}m\n    \
                 deploy:\n      resources:\n        limits:\n          memory: {l}M\n        \
                 reservations:\n          memory: {r}M\n",
                l = super::units::mib_up(lim),
                r = super::units::mib_up(req)
            )?,
            Emit::Systemd => write!(
                out,
                "{}{head}\n# /etc/systemd/system/{name}.service.d/memory.conf\n\
                 # MemoryHigh: reclaim (throttling) above the request; MemoryMax: the hard limit (OOM kill)\n\
                 [Service]\nMemoryAccounting=yes\nMemoryHigh={}M\nMemoryMax={}M\n",
                if i > 0 { "\n" } else { "" },
                super::units::mib_up(req),
                super::units::mib_up(lim)
            )?,
            Emit::Openclaw => write!(
                out,
                "{sep}{head}\napiVersion: openclaw.io/v1\nkind: Workload\nmetadata:\n  name: {name}\n\
                 spec:\n  containers:\n    - name: {name}\n      resources:\n        requests:\n          \
                 memory: {}\n        limits:\n          memory: {}\n",
                k8s_quantity(req),
                k8s_quantity(lim)
            )?,
            Emit::Json => unreachable!("handled above"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_and_names() {
        assert_eq!(k8s_quantity(1), "1Mi");
        assert_eq!(k8s_quantity(1 << 20), "1Mi");
        assert_eq!(k8s_quantity((1 << 20) + 1), "2Mi");
        assert_eq!(k8s_quantity(2 << 30), "2Gi");
        assert_eq!(k8s_quantity(0), "0Mi");
        assert_eq!(dns_label("My_App.v2"), "my-app-v2");
        assert_eq!(dns_label("///"), "workload");
        assert_eq!(owner_of_pod("web-5d8f7c9b4-x2x9z"), "web");
        assert_eq!(owner_of_pod("db-0"), "db-0");
    }
}
