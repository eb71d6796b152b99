//! The sampling loop of `record` as three steps: [`Recorder::start`] (make the target ready,
//! decide how often `smaps_rollup` is read, write the header), [`Recorder::tick`] (one sample,
//! OOM-kill events, the end of the target) and [`Recorder::finish`] (stop a command still
//! running, the recorder's own stats, the summary).
//! One concept, the sampling loop, kept in one file (a little over 600 lines) so the three
//! steps read together.
//!
//! A sample holds only what was read: a process that has exited (a zombie's `statm` is all
//! zeros) contributes nothing, a command's cgroup is not sampled once the command has no live
//! process, and PSS/USS are written only when `smaps_rollup` was readable for every process
//! summed; absent means unknown, never 0 (docs/json.md "The trace format").

use std::path::Path;
use std::time::{Duration, Instant};

use super::cgroup::{self, OomKillFile, OomWatch};
use super::target::{self, Ready};
use super::{Options, Summary, Target};
use crate::error::Result;
use crate::sample::cgroup::MemoryHierarchy;
use crate::sample::kept::KeptFiles;
use crate::sample::pidfiles::{Miss, PidFiles};
use crate::trace::write::TraceWriter;
use crate::trace::{Event, Header, Sample};

/// Why recording stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The command `record` started exited (or was killed).
    CommandExited,
    /// The `--pid` process exited.
    ProcessExited,
    /// `--duration` ended.
    Duration,
    /// The stop flag was set (SIGTERM, Ctrl-C).
    Interrupted,
}

impl Stop {
    /// The summary's `stopped_by` text.
    pub fn as_str(self) -> &'static str {
        match self {
            Stop::CommandExited => "the command exited",
            Stop::ProcessExited => "the process exited (its exit status belongs to its parent)",
            Stop::Duration => "the duration ended",
            Stop::Interrupted => "interrupted",
        }
    }
}

/// Running sums for the least-squares slope of the main metric (O(1) state, for progress).
#[derive(Debug, Default, Clone, Copy)]
pub struct Slope {
    n: f64,
    st: f64,
    sv: f64,
    stt: f64,
    stv: f64,
}

impl Slope {
    /// Add the value `v` at time `t`.
    pub fn add(&mut self, t: f64, v: f64) {
        self.n += 1.0;
        self.st += t;
        self.sv += v;
        self.stt += t * t;
        self.stv += t * v;
    }

    /// Units of `v` per unit of `t`; `None` before three points or for equal times.
    pub fn slope(&self) -> Option<f64> {
        let den = self.n * self.stt - self.st * self.st;
        (self.n >= 3.0 && den > 0.0).then(|| (self.n * self.stv - self.st * self.sv) / den)
    }
}

/// The tick to wake at after `tick`, on the grid start + k·interval, skipping ticks already
/// past (`elapsed_s`) so a slow sample does not make the next ones bunch up.
pub fn next_tick(tick: u64, elapsed_s: f64, interval_s: f64) -> u64 {
    let next = tick + 1;
    if (next as f64) * interval_s < elapsed_s {
        (elapsed_s / interval_s).ceil() as u64
    } else {
        next
    }
}

/// How often to read `smaps_rollup`, given what one pass over `processes` cost: at most 0.2 %
/// of the interval on average, and with more than 10 processes at most every 10 samples.
pub fn pss_every(cost_s: f64, interval_s: f64, processes: usize) -> u64 {
    let floor = if processes > 10 { 10 } else { 1 };
    ((cost_s / (0.002 * interval_s)).ceil() as u64).clamp(floor, 60)
}

/// A recording in progress.
pub struct Recorder<'a> {
    o: Options<'a>,
    files: KeptFiles,
    hierarchy: Option<MemoryHierarchy>,
    ready: Ready,
    w: TraceWriter,
    start: Instant,
    pss_every: u64,
    samples: u64,
    tick: u64,
    /// The processes summed: the target, and its descendants as last walked.
    family: Vec<i32>,
    /// Those of `family` alive in the last sample (reused, no allocation per sample).
    alive: Vec<i32>,
    /// What the last sample saw of the target itself: alive (`Some(true)`), exited or a zombie
    /// (`Some(false)`), or not known (`None`: read `status` to decide).
    root_alive: Option<bool>,
    /// PSS and USS summed over `family` when `start` measured what reading them costs: the
    /// first sample's, when every process of the family is still alive then.
    first_pss: Option<(u64, u64)>,
    slope: Slope,
    oom: OomWatch,
    oom_file: OomKillFile,
    oom_kills: u64,
    exit: (Option<i32>, Option<i32>),
    notes: Vec<String>,
    /// Whether the note that `smaps_rollup` is denied was given (it is given once).
    pss_denied: bool,
}

impl<'a> Recorder<'a> {
    /// Make the target ready and write the header.
    ///
    /// Errors: see [`target::prepare`]; [`crate::Error::Io`] when the trace cannot be created.
    pub fn start(o: Options<'a>) -> Result<Recorder<'a>> {
        let mut notes = Vec::new();
        if !o.keep_oom_score {
            // Be the first OOM victim, not the workload (DESIGN.md "a guest on a sick machine").
            if std::fs::write("/proc/self/oom_score_adj", "1000").is_err() {
                notes.push("could not raise the recorder's own oom_score_adj to 1000".into());
            }
        }
        let hierarchy = MemoryHierarchy::detect(&o.cgroup_root).ok();
        // What killed recorders left behind: their cgroups and what still runs in them.
        if let Some(h) = &hierarchy {
            notes.extend(cgroup::reap_stale(h));
        }
        let mut files = KeptFiles::new(&o.proc_root);
        let mut pss_denied = false;
        let ready = target::prepare(
            &o.target,
            &o.proc_root,
            &o.cgroup_root,
            hierarchy.as_ref(),
            &mut files,
            &mut crate::identity::Resolver::new(&o.host_root),
        )?;
        let limit = match (&hierarchy, &ready.cgroup) {
            (Some(h), Some(rel)) => h.read(rel).ok().and_then(|c| c.effective_limit_bytes),
            _ => None,
        };
        // Room for the descriptors kept per process (after the command was started: it
        // runs with the limits it was given).
        raise_nofile();
        // What reading smaps_rollup costs decides how often it is read.
        let mut family = Vec::new();
        let mut first_pss = None;
        let every = match ready.pid {
            Some(p) => {
                if ready.children {
                    files.family(p, &mut family);
                } else {
                    family.push(p);
                }
                let pids = &family;
                let t0 = Instant::now();
                let mut sum = Some((0u64, 0u64));
                for q in pids {
                    let r = files.rollup(*q);
                    if r == Err(Miss::Denied) && !pss_denied {
                        pss_denied = true;
                        notes.push(pss_denied_note(&o.proc_root, *q));
                    }
                    sum = match (sum, r) {
                        (Some((a, b)), Ok(Some(r))) => Some((a + r.pss_bytes, b + r.uss_bytes)),
                        _ => None,
                    };
                }
                // Read milliseconds before the first sample: its PSS and USS.
                first_pss = sum;
                pss_every(
                    t0.elapsed().as_secs_f64(),
                    o.interval.as_secs_f64(),
                    pids.len(),
                )
            }
            None => 1,
        };
        if every > 1 {
            notes.push(format!(
                "smaps_rollup is costly for this target: PSS/USS read every {every} samples"
            ));
        }
        let header = Header {
            clw_trace: crate::trace::FORMAT_VERSION,
            target: ready.header.clone(),
            host: read_trimmed("/proc/sys/kernel/hostname"),
            kernel: read_trimmed("/proc/sys/kernel/osrelease"),
            interval_s: Some(o.interval.as_secs_f64()),
            limit_bytes: limit,
            host_total_bytes: crate::sample::host::read_host(&o.proc_root)
                .ok()
                .map(|h| h.total_bytes),
            started_at: Some(crate::base::time::now_rfc3339()),
            metrics: metrics(&o.target, ready.sampled_cgroup.is_some()),
            pss_every: Some(every),
            recorder: Some(format!("clw-diag {}", env!("CARGO_PKG_VERSION"))),
            identity: ready
                .identity
                .as_ref()
                .filter(|i| i.is_workload())
                .map(crate::trace::TraceIdentity::from),
        };
        let mut ready = ready;
        let w = match TraceWriter::create(&o.output, &header) {
            Ok(w) => w,
            Err(e) => {
                // Do not leave the command running unrecorded.
                if let Some(mut c) = ready.child.take() {
                    let _ = c.kill();
                    let _ = c.wait();
                }
                return Err(e);
            }
        };
        Ok(Recorder {
            o,
            files,
            hierarchy,
            ready,
            w,
            start: Instant::now(),
            pss_every: every,
            samples: 0,
            tick: 0,
            alive: Vec::with_capacity(family.len()),
            family,
            root_alive: None,
            first_pss,
            slope: Slope::default(),
            oom: OomWatch::default(),
            oom_file: OomKillFile::default(),
            oom_kills: 0,
            exit: (None, None),
            notes,
            pss_denied,
        })
    }

    fn elapsed_s(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// The process figures summed over the target's processes; `None` when none is alive.
    fn processes(&mut self, p: i32, s: &mut Sample) -> Option<u64> {
        if self.family.is_empty() {
            self.family.push(p);
        }
        // statm every sample (cheap for the kernel to generate): RSS and anon. status (the
        // file/shmem split, swap) every sample for a few processes, every 10 for many.
        let n = self.family.len();
        let with_status = n <= 10 || self.samples.is_multiple_of(10);
        self.alive.clear();
        let (mut rss, mut anon) = (0u64, 0u64);
        let (mut file, mut shmem, mut swap) = (Some(0u64), Some(0u64), Some(0u64));
        for i in 0..n {
            let q = self.family[i];
            // RSS and anon, bytes; from status when statm is missing or garbled in a live
            // process (a copied tree: status has the same figures, VmRSS and RssAnon).
            let m = match self.files.statm(q) {
                Ok(m) => Ok(m.map(|m| (m.resident_bytes, m.anon_bytes()))),
                Err(Miss::Garbled) => self
                    .files
                    .status(q)
                    .map(|st| st.rss_bytes.zip(st.anon_bytes)),
                Err(e) => Err(e),
            };
            if q == p {
                self.root_alive = match m {
                    Ok(Some(_)) => Some(true),
                    Ok(None) => Some(false),
                    Err(e) if e.is_gone() => Some(false),
                    Err(_) => None,
                };
            }
            // Gone, or a zombie (no memory map): not part of this sample.
            let Ok(Some((m_rss, m_anon))) = m else {
                continue;
            };
            self.alive.push(q);
            rss += m_rss;
            anon += m_anon;
            if with_status {
                let st = self.files.status(q).ok();
                let add = |sum: &mut Option<u64>, v: Option<u64>| {
                    *sum = sum.zip(v).map(|(a, b)| a + b);
                };
                add(&mut file, st.as_ref().and_then(|s| s.file_bytes));
                add(&mut shmem, st.as_ref().and_then(|s| s.shmem_bytes));
                add(&mut swap, st.as_ref().and_then(|s| s.swap_bytes));
            }
        }
        if self.alive.is_empty() {
            return None;
        }
        s.rss_bytes = Some(rss);
        s.anon_bytes = Some(anon);
        if with_status {
            (s.file_bytes, s.shmem_bytes, s.swap_bytes) = (file, shmem, swap);
        }
        s.pid = Some(i64::from(p));
        s.pids = Some(self.alive.len() as u64);
        if self.samples.is_multiple_of(self.pss_every) {
            // A sum with a process missing (smaps_rollup denied, or it exited meanwhile) is not
            // the target's PSS: leave it out.
            let first = self.first_pss.take();
            let mut sum = Some((0u64, 0u64));
            let fresh = first.is_some() && self.samples == 0 && self.alive.len() == n;
            for i in 0..if fresh { 0 } else { self.alive.len() } {
                let q = self.alive[i];
                let r = self.files.rollup(q);
                if r == Err(Miss::Denied) && !self.pss_denied {
                    self.pss_denied = true;
                    self.notes.push(pss_denied_note(&self.o.proc_root, q));
                }
                sum = match (sum, r) {
                    (Some((a, b)), Ok(Some(r))) => Some((a + r.pss_bytes, b + r.uss_bytes)),
                    _ => None,
                };
            }
            if fresh {
                sum = first;
            }
            if let Some((pss, uss)) = sum {
                s.pss_bytes = Some(pss);
                s.uss_bytes = Some(uss);
            }
        }
        // The descendants for the next samples, every 10 samples (new ones are adopted, those
        // gone forgotten). After the sample: with many processes this is when status was
        // just read, whose thread count says which children files to read.
        if self.ready.children && self.samples.is_multiple_of(10) {
            self.files.family(p, &mut self.family);
        }
        Some(anon)
    }

    /// Take one sample, write it and any OOM-kill event, and say whether recording stops.
    ///
    /// Errors: [`crate::Error::Io`] when the trace cannot be written.
    pub fn tick(&mut self) -> Result<Option<Stop>> {
        let t = self.elapsed_s();
        let mut s = Sample {
            t: (t * 1000.0).round() / 1000.0,
            ..Sample::default()
        };
        let mut main = match self.ready.pid {
            Some(p) => self.processes(p, &mut s),
            None => None,
        };
        let is_cgroup_target = matches!(self.o.target, Target::Cgroup { .. });
        // A command's cgroup is sampled while the command has a live process: after it
        // ended, the empty cgroup's figures would read as the workload dropping to 0.
        let sample_cgroup = is_cgroup_target || main.is_some();
        if let Some(h) = &self.hierarchy {
            let (count, source) = match (&self.ready.sampled_cgroup, &self.ready.cgroup) {
                (Some(rel), _) if sample_cgroup => (
                    cgroup::sample_into(h, rel, is_cgroup_target, &mut s),
                    "memory cgroup events".to_string(),
                ),
                (Some(rel), _) => (
                    self.oom_file.read(h, rel),
                    "memory cgroup events".to_string(),
                ),
                // A process target: watch its memory cgroup's OOM-kill counter without
                // recording the cgroup's figures.
                (None, Some(rel)) => (self.oom_file.read(h, rel), format!("memory cgroup {rel}")),
                (None, None) => (None, String::new()),
            };
            if is_cgroup_target {
                main = s.anon_bytes;
            }
            if let Some(rise) = self.oom.rise(count) {
                self.oom_kills += rise;
                self.w.event(
                    t,
                    Event::OomKill {
                        count: rise,
                        source: Some(source),
                    },
                )?;
            }
        }
        if !s.is_empty() {
            self.w.sample(&s)?;
            self.samples += 1;
            if let Some(v) = main {
                self.slope.add(t, v as f64);
            }
            let slope = self.slope.slope();
            if let Some(cb) = self.o.progress.as_deref_mut() {
                cb(t, main, slope);
            }
        }
        self.ended()
    }

    /// Did the target end, the duration pass or a stop come?
    fn ended(&mut self) -> Result<Option<Stop>> {
        if let Some(c) = self.ready.child.as_mut() {
            if let Ok(Some(st)) = c.try_wait() {
                use std::os::unix::process::ExitStatusExt;
                self.exit = (st.code(), st.signal());
                let t = self.elapsed_s();
                self.w.event(
                    t,
                    Event::TargetExited {
                        exit_code: st.code(),
                        signal: st.signal(),
                    },
                )?;
                return Ok(Some(Stop::CommandExited));
            }
        } else if let Some(p) = self.ready.pid {
            let exited = match self.root_alive {
                Some(alive) => !alive,
                None => !self.files.status(p).is_ok_and(|s| s.has_mm()),
            };
            if exited {
                self.files.forget(p);
                let t = self.elapsed_s();
                self.w.event(
                    t,
                    Event::TargetExited {
                        exit_code: None,
                        signal: None,
                    },
                )?;
                return Ok(Some(Stop::ProcessExited));
            }
        }
        if self.o.duration.is_some_and(|d| self.start.elapsed() >= d) {
            return Ok(Some(Stop::Duration));
        }
        if self.stopped() {
            return Ok(Some(Stop::Interrupted));
        }
        Ok(None)
    }

    fn stopped(&self) -> bool {
        self.o.stop.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Sleep until the next tick of the grid (or a stop).
    pub fn wait(&mut self) {
        let interval = self.o.interval;
        self.tick = next_tick(self.tick, self.elapsed_s(), interval.as_secs_f64());
        let wake = self.start + interval.mul_f64(self.tick as f64);
        while !self.stopped() {
            let left = wake.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            // At most a second per sleep (at 1 Hz, one wake-up per sample): SIGINT and SIGTERM
            // end it at once (nanosleep(2) returns EINTR, never restarted), a stop flag set
            // otherwise is seen within a second.
            nap(left.min(Duration::from_secs(1)));
        }
    }

    /// Stop a command still running, write the recorder's stats, remove the cgroup created.
    ///
    /// Errors: [`crate::Error::Io`] when the trace cannot be written.
    pub fn finish(mut self, stop: Stop) -> Result<Summary> {
        if let Some(mut c) = self.ready.child.take() {
            if self.exit == (None, None) {
                // We started it; stop it so its cgroup can go.
                let _ = c.kill();
                let _ = c.wait();
                self.notes.push(
                    "the command was still running and was killed when recording stopped".into(),
                );
            }
        }
        if self.files.unkept() > 0 {
            self.notes.push(format!(
                "{} process(es) of the family were not recorded: the recorder's descriptor \
                 limit (RLIMIT_NOFILE) was reached",
                self.files.unkept()
            ));
        }
        let (cpu, hwm) = self_stats();
        let t = self.elapsed_s();
        self.w.event(
            t,
            Event::RecorderStats {
                cpu_s: Some(cpu),
                peak_rss_bytes: hwm,
                samples: Some(self.samples),
            },
        )?;
        drop(self.ready.owned.take());
        Ok(Summary {
            output: self.o.output.display().to_string(),
            samples: self.samples,
            duration_s: self.elapsed_s(),
            exit_code: self.exit.0,
            signal: self.exit.1,
            oom_kills: self.oom_kills,
            stopped_by: stop.as_str().to_string(),
            failure_status: match stop {
                Stop::CommandExited => target::failure_status(self.exit.0, self.exit.1),
                _ => None,
            },
            notes: self.notes,
        })
    }
}

/// The header's `metrics`: the sample fields this target has.
fn metrics(target: &Target, sampled_cgroup: bool) -> Vec<String> {
    let m: &[&str] = match target {
        Target::Cgroup { .. } => &[
            "usage_bytes",
            "working_set_bytes",
            "anon_bytes",
            "file_bytes",
            "limit_bytes",
        ],
        _ => &[
            "rss_bytes",
            "anon_bytes",
            "file_bytes",
            "shmem_bytes",
            "swap_bytes",
            "pss_bytes",
            "uss_bytes",
        ],
    };
    let mut m: Vec<String> = m.iter().map(|s| s.to_string()).collect();
    if sampled_cgroup && !matches!(target, Target::Cgroup { .. }) {
        m.extend(["usage_bytes".into(), "working_set_bytes".into()]);
    }
    m
}

/// Why PSS and USS are absent from the trace: `smaps_rollup` of `pid` is denied.
fn pss_denied_note(proc_root: &Path, pid: i32) -> String {
    format!(
        "PSS and USS are not recorded (absent in the trace, not 0): {}: permission denied{}",
        proc_root
            .join(pid.to_string())
            .join("smaps_rollup")
            .display(),
        crate::error::PTRACE_HINT
    )
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .ok()
}

/// Sleep `d`, or less when a signal handler runs (unlike `std::thread::sleep`, which sleeps
/// on after one).
fn nap(d: Duration) {
    let ts = libc::timespec {
        tv_sec: d.as_secs() as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    };
    // SAFETY: nanosleep with a valid timespec and no remainder wanted.
    unsafe { libc::nanosleep(&ts, std::ptr::null_mut()) };
}

/// Raise the soft `RLIMIT_NOFILE` to the hard one: [`KeptFiles`] keeps up to five
/// descriptors per process recorded. Left as it is when that fails.
fn raise_nofile() {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit on a struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur < r.rlim_max {
            r.rlim_cur = r.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

/// The recorder's own CPU time (user + system, seconds) and peak RSS (`VmHWM`, bytes).
fn self_stats() -> (f64, Option<u64>) {
    // SAFETY: getrusage on our own process with a zeroed struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let cpu = ru.ru_utime.tv_sec as f64
        + ru.ru_utime.tv_usec as f64 / 1e6
        + ru.ru_stime.tv_sec as f64
        + ru.ru_stime.tv_usec as f64 / 1e6;
    let hwm = PidFiles::new(Path::new("/proc"))
        .read(std::process::id() as i32, c"status")
        .ok()
        .and_then(|s| crate::sample::pidfiles::parse_status(s)?.peak_rss_bytes);
    (cpu, hwm)
}

#[cfg(test)]
mod tests;
