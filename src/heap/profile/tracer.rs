//! The trace itself: the BPF programs loaded and attached, the ring buffer drained as events
//! arrive (stacks unwound and interned then, modules re-read when a pc falls outside them), the
//! target watched for its end, and the detach before anything is named.

use super::*;

/// What is traced.
pub(super) enum Target {
    Attach,
    /// The held child and the command's name as given.
    Launch(Held, String),
}

/// A sampled allocation still outstanding.
pub(super) struct Live {
    pub(super) stack: usize,
    pub(super) weight: f64,
    pub(super) var: f64,
    pub(super) count: f64,
    pub(super) ts_ns: u64,
}

/// A distinct stack (its pcs), as unwound.
pub(super) struct Stack {
    pub(super) unwound: Unwound,
    pub(super) truncated: Option<String>,
}

/// The state of one trace.
pub(super) struct Tracer {
    pub(super) pid: i32,
    pub(super) fp: bool,
    pub(super) sample_bytes: u64,
    pub(super) stack_bytes: u32,
    pub(super) symbols: Options,
    pub(super) lopts: LiveOptions,
    pub(super) target: Option<LiveTarget>,
    pub(super) last_refresh: Option<Instant>,
    pub(super) stacks: Vec<Stack>,
    pub(super) by_pcs: HashMap<Vec<u64>, usize>,
    pub(super) by_stackid: HashMap<i64, usize>,
    pub(super) live: HashMap<u64, Live>,
    pub(super) outstanding: f64,
    pub(super) warnings: Vec<String>,
}

impl Tracer {
    /// Re-read the process's modules (a launched command after `execve`, a `dlopen`), at
    /// most every 100 ms; false when the process is gone.
    pub(super) fn refresh(&mut self, force: bool) -> bool {
        if !force
            && self
                .last_refresh
                .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return self.target.is_some();
        }
        self.last_refresh = Some(Instant::now());
        match LiveTarget::open(self.pid, &self.symbols, &self.lopts) {
            Ok(t) => {
                self.target = Some(t);
                true
            }
            Err(_) => false,
        }
    }

    pub(super) fn covered(&self, pc: u64) -> bool {
        self.target.as_ref().is_some_and(|t| {
            crate::coredump::modules::module_at(&t.modules, pc.saturating_sub(1)).is_some()
        })
    }

    pub(super) fn intern(&mut self, unwound: Unwound) -> usize {
        let pcs: Vec<u64> = unwound.frames.iter().map(|f| f.pc).collect();
        if let Some(&i) = self.by_pcs.get(&pcs) {
            return i;
        }
        let i = self.stacks.len();
        self.stacks.push(Stack {
            unwound,
            truncated: None,
        });
        self.by_pcs.insert(pcs, i);
        i
    }

    pub(super) fn stack_of(&mut self, stack: bpf::StackReader<'_>, a: &bpf::Alloc<'_>) -> usize {
        if !self.fp && !self.covered(a.regs[0]) {
            self.refresh(false);
        }
        if self.fp {
            if let Some(&i) = self.by_stackid.get(&a.stackid) {
                return i;
            }
            let ips = if a.stackid >= 0 {
                stack(a.stackid as u32).unwrap_or_default()
            } else {
                Vec::new()
            };
            if ips.first().is_some_and(|&pc| !self.covered(pc)) {
                self.refresh(false);
            }
            let mut u = stacks::fp_frames(&ips);
            if ips.is_empty() {
                u.stop_reason = "the kernel could not record this stack".into();
            }
            let i = self.intern(u);
            if ips.is_empty() {
                self.stacks[i].truncated = Some(
                    "the kernel could not record this stack (its stack map was full, or the \
                     walk failed)"
                        .into(),
                );
            }
            if a.stackid >= 0 {
                self.by_stackid.insert(a.stackid, i);
            }
            i
        } else {
            let u = match &self.target {
                Some(t) => stacks::unwind_copy(&t.process, &t.modules, a),
                None => Unwound {
                    frames: Vec::new(),
                    stop_reason: "the process's modules could not be read".into(),
                },
            };
            self.intern(u)
        }
    }

    pub(super) fn on_event(&mut self, st: bpf::StackReader<'_>, e: Event<'_>) {
        match e {
            Event::Alloc(a) => {
                let stack = self.stack_of(st, &a);
                let s = a.size as f64;
                let (weight, var, count) = if self.sample_bytes <= 1 {
                    (s, 0.0, 1.0)
                } else {
                    let p = -(-s / self.sample_bytes as f64).exp_m1();
                    let p = p.max(f64::MIN_POSITIVE);
                    let w = s / p;
                    (w, w * w * (1.0 - p), 1.0 / p)
                };
                self.outstanding += weight;
                self.live.insert(
                    a.seq,
                    Live {
                        stack,
                        weight,
                        var,
                        count,
                        ts_ns: a.ts_ns,
                    },
                );
            }
            Event::Free { seq, .. } => {
                if let Some(l) = self.live.remove(&seq) {
                    self.outstanding -= l.weight;
                }
            }
        }
    }
}

/// `CLOCK_MONOTONIC` now, nanoseconds (the clock of `bpf_ktime_get_ns`).
pub(super) fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes the current time into a local.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

impl Tracer {
    pub(super) fn new(pid: i32, fp: bool, opts: &HeapOptions, lopts: LiveOptions) -> Tracer {
        Tracer {
            pid,
            fp,
            sample_bytes: opts.sample_bytes.max(1),
            stack_bytes: opts.stack_bytes,
            symbols: opts.symbols.clone(),
            lopts,
            target: None,
            last_refresh: None,
            stacks: Vec::new(),
            by_pcs: HashMap::new(),
            by_stackid: HashMap::new(),
            live: HashMap::new(),
            outstanding: 0.0,
            warnings: Vec::new(),
        }
    }
}

pub(super) fn config(opts: &HeapOptions, fp: bool, pid: i32) -> bpf::Config {
    bpf::Config {
        sample_bytes: opts.sample_bytes.max(1),
        copy_stack: !fp,
        stack_bytes: opts.stack_bytes,
        tgid: pid as u32,
        // Room for about 8,000 copied stacks of 8 KiB, or 500,000 frame-pointer events: the
        // reader is woken as records arrive, this is for when it is slow to be scheduled.
        ring_bytes: if fp { 32 << 20 } else { 64 << 20 },
        max_live: 1 << 20,
    }
}

/// Attach every probe: the function's probe and, for an allocating one, its uretprobe.
pub(super) fn attach_all(p: &mut Probes, probes: &[ProbedFunction], pid: i32) -> Result<()> {
    for f in probes {
        p.attach(f.program, &f.file, f.file_offset, pid as u32)?;
        if f.program != Program::Free {
            p.attach(Program::Return, &f.file, f.entry_offset, pid as u32)?;
        }
    }
    Ok(())
}

/// The poll interval of the ring buffer and of the target's state.
pub(super) const POLL: Duration = Duration::from_millis(10);

#[allow(clippy::too_many_arguments)]
pub(super) fn trace(
    mut tracer: Tracer,
    mut target: Target,
    probes: Vec<ProbedFunction>,
    notes: Vec<String>,
    unwind_why: String,
    opts: &HeapOptions,
    t0: Instant,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(&Progress),
) -> Result<HeapProfile> {
    let pid = tracer.pid;
    let mut p = match Probes::load(&config(opts, tracer.fp, pid)) {
        Ok(p) => p,
        Err(e) => {
            if let Target::Launch(h, _) = &mut target {
                h.kill(libc::SIGKILL);
            }
            return Err(e);
        }
    };
    if let Err(e) = attach_all(&mut p, &probes, pid) {
        if let Target::Launch(h, _) = &mut target {
            h.kill(libc::SIGKILL);
        }
        return Err(e);
    }
    if let Target::Launch(h, name) = &mut target {
        seize_for_exit(h.pid);
        h.release(name)?;
    }
    let attach_ms = t0.elapsed().as_secs_f64() * 1e3;
    progress(&Progress {
        attached: Some((p.attached, attach_ms)),
        ..Progress::default()
    });
    let start_ns = monotonic_ns();
    let start = Instant::now();
    tracer.warnings.extend(notes);
    let ended;
    let mut exit_status = None;
    let mut rate_checked = false;
    let free_stepped = probes
        .iter()
        .any(|f| f.program == Program::Free && f.offset_in_function == 0);
    let mut last_progress = Instant::now();
    loop {
        p.drain(&mut |e, st| tracer.on_event(st, e));
        let done = match &mut target {
            Target::Attach => {
                let gone = crate::sample::stat::read(&opts.proc_root, pid)
                    .map(|s| s.has_exited())
                    .unwrap_or(true);
                gone.then(|| "exited".to_string())
            }
            Target::Launch(h, _) => match poll_child(h) {
                Child::Running => None,
                Child::AtExit => {
                    // Its modules while they are still mapped, and every event before its end.
                    tracer.refresh(true);
                    p.drain(&mut |e, st| tracer.on_event(st, e));
                    cont(h.pid);
                    None
                }
                Child::Ended(s) => {
                    exit_status = Some(s);
                    Some("exited".to_string())
                }
            },
        };
        if let Some(d) = done {
            ended = d;
            break;
        }
        if stop.load(Ordering::Relaxed) {
            ended = "interrupted".into();
            break;
        }
        if opts.duration.is_some_and(|d| start.elapsed() >= d) {
            ended = "duration".into();
            break;
        }
        if !rate_checked && start.elapsed() >= Duration::from_secs(1) {
            rate_checked = true;
            let s = p.stats();
            let secs = start.elapsed().as_secs_f64();
            let free_us = if free_stepped {
                FREE_STEPPED_TRAP_US
            } else {
                FREE_TRAP_US
            };
            let share = (s.calls as f64 * ALLOC_TRAP_US + s.frees as f64 * free_us) / 1e6 / secs;
            if share > opts.max_overhead {
                let w = format!(
                    "the probes cost about {:.0} % of a core in the target ({:.0} allocator calls/s \
                     and {:.0} frees/s at about {ALLOC_TRAP_US} and {free_us} µs per trap): it runs \
                     that much slower while traced; sampling does not remove the traps",
                    share * 100.0,
                    s.calls as f64 / secs,
                    s.frees as f64 / secs
                );
                progress(&Progress {
                    elapsed_s: start.elapsed().as_secs_f64(),
                    calls: s.calls,
                    outstanding_bytes: (!tracer.fp).then(|| tracer.outstanding.max(0.0) as u64),
                    note: Some(w.clone()),
                    attached: None,
                    naming: false,
                });
                tracer.warnings.push(w);
            }
        }
        if last_progress.elapsed() >= Duration::from_millis(200) {
            last_progress = Instant::now();
            progress(&Progress {
                elapsed_s: start.elapsed().as_secs_f64(),
                calls: p.stats().calls,
                outstanding_bytes: (!tracer.fp).then(|| tracer.outstanding.max(0.0) as u64),
                note: None,
                attached: None,
                naming: false,
            });
        }
        p.wait(POLL);
    }
    let traced_s = start.elapsed().as_secs_f64();
    // Detach before naming: the target runs at full speed again.
    p.drain(&mut |e, st| tracer.on_event(st, e));
    if tracer.fp {
        // Frame-pointer mode sends no events: what is outstanding is in the `live` map.
        p.outstanding(&mut |addr, r, st| {
            tracer.on_event(
                st,
                Event::Alloc(bpf::Alloc {
                    seq: r.seq,
                    tid: 0,
                    addr,
                    size: r.size,
                    ts_ns: r.ts_ns,
                    stackid: r.stackid,
                    regs: [0; 8],
                    stack: &[],
                }),
            )
        });
    }
    let stats = p.stats();
    drop(p);
    progress(&Progress {
        naming: true,
        ..Progress::default()
    });
    if let Target::Launch(h, _) = &mut target {
        if exit_status.is_none() {
            exit_status = Some(finish_child(h));
        }
    }
    finish(
        tracer,
        &target,
        stats,
        probes,
        unwind_why,
        opts,
        start_ns,
        traced_s,
        attach_ms,
        ended,
        exit_status,
    )
}
