//! From the outstanding allocations to the model: summed per stack with their variance, cut
//! where untrustworthy, named once each, and the process's workload.

use super::*;

/// The memory cgroup of `pid` and its workload's name.
pub(super) fn workload_of(
    proc_root: &std::path::Path,
    pid: i32,
) -> (Option<String>, Option<String>) {
    let Ok(text) = std::fs::read_to_string(proc_root.join(format!("{pid}/cgroup"))) else {
        return (None, None);
    };
    use crate::sample::cgroup::{memory_cgroup_of, CgroupVersion};
    let cg = memory_cgroup_of(&text, CgroupVersion::V1)
        .or_else(|| memory_cgroup_of(&text, CgroupVersion::V2));
    // Named as `sample` names it: the runtimes' and kubelet's files under `/`.
    let name = cg.as_deref().and_then(|c| {
        crate::identity::Resolver::new(std::path::Path::new("/"))
            .resolve(c)
            .workload()
    });
    (name, cg)
}

/// Per stack: bytes, variance, allocations, samples, first and last time (ns).
#[derive(Default)]
pub(super) struct Sum {
    pub(super) bytes: f64,
    pub(super) var: f64,
    pub(super) count: f64,
    pub(super) samples: u64,
    pub(super) first: u64,
    pub(super) last: u64,
}

/// A frame's name for the folded form and the function list.
pub(super) fn frame_name(f: &Frame) -> String {
    match (&f.function, &f.module, f.module_offset) {
        (Some(n), _, _) => n.clone(),
        (None, Some(m), Some(o)) => format!("{}+{o:#x}", m.rsplit('/').next().unwrap_or(m)),
        _ => format!("{:#x}", f.pc),
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn finish(
    mut tracer: Tracer,
    target: &Target,
    stats: bpf::Stats,
    probes: Vec<ProbedFunction>,
    unwind_why: String,
    opts: &HeapOptions,
    start_ns: u64,
    traced_s: f64,
    attach_ms: f64,
    ended: String,
    exit_status: Option<String>,
) -> Result<HeapProfile> {
    let mut sums: HashMap<usize, Sum> = HashMap::new();
    for l in tracer.live.values() {
        let s = sums.entry(l.stack).or_default();
        if s.samples == 0 || l.ts_ns < s.first {
            s.first = l.ts_ns;
        }
        s.last = s.last.max(l.ts_ns);
        s.bytes += l.weight;
        s.var += l.var;
        s.count += l.count;
        s.samples += 1;
    }
    let mut order: Vec<(usize, Sum)> = sums.into_iter().collect();
    order.sort_by(|a, b| b.1.bytes.total_cmp(&a.1.bytes).then(a.0.cmp(&b.0)));
    let stacks_total = order.len();
    let total_bytes: f64 = order.iter().map(|o| o.1.bytes).sum();
    let total_var: f64 = order.iter().map(|o| o.1.var).sum();
    let total_count: f64 = order.iter().map(|o| o.1.count).sum();
    if opts.top > 0 {
        order.truncate(opts.top);
    }
    // Cut each stack where it stops being trustworthy, then name them all at once.
    let fp = tracer.fp;
    let copied = tracer.stack_bytes.min(bpf::STACK_MAX) as usize;
    let mut cut: Vec<(Unwound, Option<String>)> = Vec::new();
    for (i, _) in &order {
        let st = &tracer.stacks[*i];
        let mut u = st.unwound.clone();
        let why = match (&st.truncated, &tracer.target) {
            (Some(w), _) => Some(w.clone()),
            (None, Some(t)) => stacks::trust(&mut u, &t.modules, fp, copied),
            (None, None) => Some("the process's modules could not be read".into()),
        };
        cut.push((u, why));
    }
    let named = match &mut tracer.target {
        Some(t) => t.name(&cut.iter().map(|c| &c.0).collect::<Vec<_>>()),
        None => cut.iter().map(|_| Vec::new()).collect(),
    };
    let mut out_stacks = Vec::new();
    for (((_, sum), (_, mut why)), frames) in order.iter().zip(cut).zip(named) {
        let functions: Vec<String> = frames.iter().map(frame_name).collect();
        // A frame-pointer stack that was not cut must still end where threads start.
        if why.is_none() && fp {
            let bottom = frames
                .last()
                .and_then(|f| f.function.as_deref())
                .is_some_and(|n| stacks::BOTTOM.contains(&n));
            if !bottom {
                let no_fp = match (frames.last(), &tracer.target) {
                    (Some(f), Some(t)) => {
                        crate::coredump::unwind::frame_pointer_frame(
                            &t.modules,
                            f.pc.saturating_sub(1),
                        ) == Some(false)
                    }
                    _ => false,
                };
                let last = functions.last().map_or("the first frame", String::as_str);
                why = Some(if no_fp {
                    format!(
                        "the frame-pointer chain cannot be followed past {last}: its code keeps \
                         no frame pointer (built with -fomit-frame-pointer); --unwind cfi \
                         unwinds it"
                    )
                } else {
                    format!("the frame-pointer chain ends at {last} before the start of the thread")
                });
            }
        }
        let mut folded = String::new();
        for f in functions.iter().rev() {
            if !folded.is_empty() {
                folded.push(';');
            }
            folded.push_str(&f.replace(';', ":"));
        }
        if why.is_some() {
            folded.insert_str(0, "[truncated];");
        }
        let rel = |ns: u64| ns.saturating_sub(start_ns) as f64 / 1e9;
        out_stacks.push(HeapStack {
            bytes: sum.bytes.round() as u64,
            bytes_error: (1.96 * sum.var.sqrt()).round() as u64,
            allocations: sum.count.round() as u64,
            samples: sum.samples,
            first_s: rel(sum.first),
            last_s: rel(sum.last),
            truncated: why,
            frames,
            functions,
            folded,
        });
    }
    let mut warnings = std::mem::take(&mut tracer.warnings);
    if matches!(target, Target::Attach) {
        warnings.insert(
            0,
            "only allocations made since the probes were attached are counted: memory \
             allocated before is not seen, and frees of it are ignored"
                .into(),
        );
    }
    if stats.lost > 0 || stats.live_full > 0 {
        warnings.push(format!(
            "{} sampled events were lost (the ring buffer or the live map was full): the \
             figures are low",
            stats.lost + stats.live_full
        ));
    }
    if ended == "exited" && exit_status.is_none() {
        warnings.push(format!(
            "process {} exited after {traced_s:.1} s: the figures are up to its exit",
            tracer.pid
        ));
    }
    let (command, args) = match &tracer.target {
        Some(t) => (t.process.command.clone(), t.process.args.clone()),
        None => (String::new(), String::new()),
    };
    if let Some(t) = &mut tracer.target {
        t.finish()?;
        warnings.append(&mut t.warnings);
    }
    let (workload, cgroup) = workload_of(&opts.proc_root, tracer.pid);
    Ok(HeapProfile {
        pid: tracer.pid,
        command,
        args,
        workload,
        cgroup,
        mode: "attach",
        unwind: if fp { Unwind::Fp } else { Unwind::Cfi },
        unwind_why,
        sample_bytes: tracer.sample_bytes,
        traced_s,
        attach_ms,
        ended,
        exit_status,
        calls: stats.calls,
        frees: stats.frees,
        sampled: stats.sampled,
        lost: stats.lost + stats.live_full,
        outstanding_bytes: total_bytes.round() as u64,
        outstanding_bytes_error: (1.96 * total_var.sqrt()).round() as u64,
        outstanding_allocations: total_count.round() as u64,
        stacks_total,
        stacks: out_stacks,
        probes,
        warnings,
    })
}
