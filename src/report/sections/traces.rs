//! The memory traces section: for each `--trace` series, the leak verdict of
//! `analyze memory-trace` and the recommendation of `recommend --policy clw`, made by the same
//! library call as `recommend` ([`crate::analysis::recommend::sources::from_file_with_leaks`]),
//! so the report can never advise another limit than the command.

use super::{Facts, Outcome};
use crate::analysis::leak::Verdict;
use crate::analysis::recommend::sources::{self, Plan};
use crate::analysis::recommend::Policy;
use crate::render;
use crate::report::model::{FindingKind, Options, SectionData, SectionId, Status, TraceAssessment};

/// The plan `recommend FILE --policy clw` runs with no other flags.
fn plan(o: &Options) -> Plan {
    Plan {
        policies: vec![Policy::Clw],
        interval_s: None,
        backtest: None,
        metric: None,
        host_total_bytes: crate::sample::host::read_host(&o.proc_root)
            .ok()
            .map(|h| h.total_bytes),
    }
}

/// Leak verdict and clw recommendation of each trace.
pub fn traces(o: &Options) -> Outcome {
    if o.traces.is_empty() {
        return Outcome::empty("no memory trace given (--trace FILE)".into());
    }
    let plan = plan(o);
    let mut facts = Facts::default();
    let mut data = Vec::new();
    let mut notes = Vec::new();
    for f in &o.traces {
        let targets = match sources::from_file_with_leaks(f, &plan) {
            Ok(t) => t,
            Err(e) => {
                notes.push(e.to_string());
                continue;
            }
        };
        for (target, leak) in targets {
            let rec = target
                .recommendations
                .iter()
                .find(|r| r.policy == Policy::Clw)
                .cloned();
            let name = &target.target;
            if leak.as_ref().is_some_and(|l| l.verdict == Verdict::Leak) {
                facts.find(
                    SectionId::Traces,
                    FindingKind::Leak,
                    format!(
                        "{name} is leaking ({}): a bigger limit only delays the next OOM",
                        target.metric
                    ),
                    format!("traces: {}", f.display()),
                );
                // The process still runs: the heap profiler can say which stacks hold it.
                let live = crate::analysis::analyze::read_series(f, None)
                    .ok()
                    .and_then(|series| {
                        series.iter().find_map(|s| {
                            let r = leak.as_ref()?;
                            crate::analysis::analyze::live_leaker(s, r, f, &o.proc_root)
                        })
                    });
                match live {
                    Some(pid) => facts
                        .next_steps
                        .push(crate::analysis::analyze::leaks_step(name, pid)),
                    None => facts.next_steps.push(format!(
                        "find the leak in {name}: `clw-diag analyze memory-trace {} --plot \
                         leak.svg`, then `clw-diag vmmap PID` and `clw-diag leaks PID` on the \
                         live process",
                        f.display()
                    )),
                }
            } else if let Some(l) = rec.as_ref().and_then(|r| r.limit_bytes) {
                facts.next_steps.push(format!(
                    "size {name}'s limit from its history: {} MiB (clw policy; `clw-diag recommend {} \
                     --policy all` compares policies)",
                    render::units::mib_up(l),
                    f.display()
                ));
            }
            data.push(TraceAssessment {
                file: f.clone(),
                leak,
                recommendation: rec,
                target,
            });
        }
    }
    let failed = data.is_empty() && !notes.is_empty();
    let mut out = Outcome::ok(SectionData::Traces(data), facts);
    if failed {
        out.status = Status::Failed;
    }
    out.notes = notes;
    out
}
