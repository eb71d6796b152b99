//! `clw-diag report`: one incident report from everything the other commands read, for the
//! runbook's `clw-diag --worker-logs --cores=/tmp --since=1h > diag.txt`.
//!
//! Sections run one after the other, each on its own thread with a time budget: a section that
//! fails or runs out of time is reported as such (with why) and the others go on. The sections:
//! the host and its limited cgroups with pressure states (`sample`); the OOM killer's top
//! candidates (`oom-rank`); the kernel log (`triage` of `/dev/kmsg`) and the worker logs
//! (`triage` of `/var/log/clw/*.log`, `/var/log/claw/*.log` and `--logs` globs) since `--since`;
//! core files newer than `--since` in the `--cores` directories, each with its crash signature
//! and crashing thread (`backtrace`); a leak verdict and a memory recommendation for each
//! `--trace`; and a closing summary that says what most likely happened and what to do next,
//! citing the section and the line or file each finding comes from.
//!
//! Everything the report prints goes through [`super::redact`] first.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::Value;

use crate::render::{self, Format, Style};

/// What to put in the report.
#[derive(Debug, Clone)]
pub struct Options {
    pub proc_root: PathBuf,
    pub cgroup_root: PathBuf,
    /// Read the usual worker logs (`/var/log/clw/*.log`, `/var/log/claw/*.log`).
    pub worker_logs: bool,
    /// The worker-log globs used with `worker_logs` (the defaults above; tests point them
    /// elsewhere).
    pub worker_log_globs: Vec<String>,
    /// More log globs (`--logs`).
    pub logs: Vec<String>,
    /// Directories searched for core files (`--cores`).
    pub cores: Vec<PathBuf>,
    /// The start of the window, µs since the epoch, and how the user said it.
    pub since_us: i64,
    pub since_label: String,
    /// Memory traces for a leak verdict (`--trace`).
    pub traces: Vec<PathBuf>,
    /// The memory cgroup the incident is about (`--cgroup`), for the snapshot and `oom-rank`.
    pub cgroup: Option<String>,
    /// The kernel log device (`/dev/kmsg`).
    pub kmsg: PathBuf,
    /// Time budget of each section.
    pub budget: Duration,
}

/// The defaults of `--worker-logs`.
pub const WORKER_LOG_GLOBS: [&str; 2] = ["/var/log/clw/*.log", "/var/log/claw/*.log"];

/// How a section went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Read and shown.
    Ok,
    /// Nothing to read (no files match, no cores, no traces given).
    Empty,
    /// Could not be read; `error` says why.
    Failed,
    /// Did not finish within its budget.
    Timeout,
}

/// One section of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    /// Stable id: `snapshot`, `oom_rank`, `kernel_log`, `worker_logs`, `cores`, `traces`.
    pub id: &'static str,
    pub title: &'static str,
    pub status: Status,
    pub elapsed_ms: u64,
    /// Why the section failed or is empty, or what it could not read.
    pub notes: Vec<String>,
    /// The section's data: the same JSON as the command it runs.
    pub data: Value,
    /// The section as people read it.
    #[serde(skip)]
    pub text: String,
}

/// A finding of the summary, with where it comes from.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub what: String,
    /// The section and the line, file or process it is based on.
    pub evidence: String,
}

/// The closing summary.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// One sentence: what most likely happened.
    pub verdict: String,
    pub findings: Vec<Finding>,
    pub next_steps: Vec<String>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// RFC 3339, UTC.
    pub generated_at: String,
    pub hostname: Option<String>,
    pub kernel: Option<String>,
    /// The start of the window, RFC 3339, and as given.
    pub since: String,
    pub since_arg: String,
    pub sections: Vec<Section>,
    pub summary: Summary,
    /// Raw inputs for `--bundle`: (path in the bundle, text).
    #[serde(skip)]
    pub raw: Vec<(String, String)>,
}

impl Report {
    /// True when at least one section read something (the exit code is 2 otherwise).
    pub fn read_anything(&self) -> bool {
        self.sections.iter().any(|s| s.status == Status::Ok)
    }
}

/// What a section found, for the summary and the bundle.
#[derive(Debug, Default)]
struct Facts {
    findings: Vec<Finding>,
    next_steps: Vec<String>,
    raw: Vec<(String, String)>,
}

struct Outcome {
    status: Status,
    notes: Vec<String>,
    data: Value,
    text: String,
    facts: Facts,
}

impl Outcome {
    fn ok(data: Value, text: String, facts: Facts) -> Outcome {
        Outcome {
            status: Status::Ok,
            notes: Vec::new(),
            data,
            text,
            facts,
        }
    }

    fn empty(note: String) -> Outcome {
        Outcome {
            status: Status::Empty,
            notes: vec![note.clone()],
            data: Value::Null,
            text: format!("{note}\n"),
            facts: Facts::default(),
        }
    }

    fn failed(note: String) -> Outcome {
        Outcome {
            status: Status::Failed,
            notes: vec![note.clone()],
            data: Value::Null,
            text: format!("could not be read: {note}\n"),
            facts: Facts::default(),
        }
    }
}

fn table_text<R: render::Report + ?Sized>(r: &R) -> String {
    let mut out = Vec::new();
    let _ = render::render(r, Format::Table, Style::default(), &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Run `f` on its own thread for at most `budget`.
fn run_section(
    id: &'static str,
    title: &'static str,
    budget: Duration,
    f: impl FnOnce() -> Outcome + Send + 'static,
) -> (Section, Facts) {
    let t0 = Instant::now();
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name(format!("report-{id}"))
        .spawn(move || {
            let _ = tx.send(f());
        });
    let outcome = match spawned {
        Err(e) => Outcome::failed(format!("cannot start a thread: {e}")),
        Ok(_) => match rx.recv_timeout(budget) {
            Ok(o) => o,
            Err(mpsc::RecvTimeoutError::Timeout) => Outcome {
                status: Status::Timeout,
                notes: vec![format!(
                    "did not finish within {} s; left out",
                    budget.as_secs_f64()
                )],
                data: Value::Null,
                text: format!(
                    "did not finish within {} s; left out\n",
                    budget.as_secs_f64()
                ),
                facts: Facts::default(),
            },
            // The thread panicked: a bug, reported as such rather than taking the report down.
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Outcome::failed("internal error in this section (please report)".into())
            }
        },
    };
    (
        Section {
            id,
            title,
            status: outcome.status,
            elapsed_ms: t0.elapsed().as_millis() as u64,
            notes: outcome.notes,
            data: outcome.data,
            text: outcome.text,
        },
        outcome.facts,
    )
}

fn snapshot(o: &Options) -> Outcome {
    use crate::sample::snapshot::{take, ProcessSort, SampleRequest};
    let req = SampleRequest {
        proc_root: o.proc_root.clone(),
        cgroup_root: o.cgroup_root.clone(),
        pids: Vec::new(),
        cgroups: o.cgroup.iter().cloned().collect(),
        all: false,
        top: 10,
        sort: ProcessSort::Rss,
    };
    let s = match take(&req, None) {
        Ok(s) => s,
        Err(e) => return Outcome::failed(e.to_string()),
    };
    let mut facts = Facts::default();
    use crate::analysis::pressure::PressureState;
    if let Some(h) = &s.host {
        if h.pressure.state != PressureState::Ok {
            facts.findings.push(Finding {
                what: format!(
                    "the host is under memory pressure ({}): {}",
                    h.pressure.state.as_str(),
                    h.pressure.reasons.join("; ")
                ),
                evidence: "snapshot: host".into(),
            });
        }
    }
    let hierarchy = crate::sample::cgroup::MemoryHierarchy::detect(&o.cgroup_root).ok();
    for c in &s.cgroups {
        if c.pressure.state == PressureState::Critical {
            facts.findings.push(Finding {
                what: format!(
                    "cgroup {} is critical: {}",
                    c.memory.path,
                    c.pressure.reasons.join("; ")
                ),
                evidence: format!("snapshot: cgroup {}", c.memory.path),
            });
        }
        // The cgroup's own files, for the bundle.
        if let Some(Ok((dir, _))) = hierarchy.as_ref().map(|h| h.resolve(&c.memory.path)) {
            facts.raw.extend(cgroup_files(&dir, &c.memory.path));
        }
    }
    Outcome::ok(json(&s), table_text(&s), facts)
}

/// The readable `memory.*` files of a cgroup directory, for the bundle.
fn cgroup_files(dir: &Path, rel: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    let mut names: Vec<String> = rd
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("memory.") || n == "cgroup.procs")
        .collect();
    names.sort();
    for n in names {
        if let Ok(t) = std::fs::read_to_string(dir.join(&n)) {
            let slug = rel.trim_start_matches('/').replace('/', "_");
            let slug = if slug.is_empty() { "root".into() } else { slug };
            out.push((format!("cgroups/{slug}/{n}"), t));
        }
    }
    out
}

fn oom_rank(o: &Options) -> Outcome {
    use crate::analysis::oom;
    let mut r = match oom::rank(&oom::Options {
        proc_root: o.proc_root.clone(),
        cgroup_root: o.cgroup_root.clone(),
        cgroup: o.cgroup.clone(),
    }) {
        Ok(r) => r,
        Err(e) => return Outcome::failed(e.to_string()),
    };
    let mut facts = Facts::default();
    for w in &r.warnings {
        if w.contains("long-lived parent") {
            facts.findings.push(Finding {
                what: w.clone(),
                evidence: "oom_rank".into(),
            });
        }
    }
    // smaps of the top processes, for the bundle.
    for c in r.candidates.iter().take(3) {
        let dir = o.proc_root.join(c.pid.to_string());
        for f in ["status", "smaps_rollup", "smaps"] {
            if let Ok(t) = std::fs::read_to_string(dir.join(f)) {
                facts.raw.push((format!("processes/{}/{f}", c.pid), t));
            }
        }
    }
    let hidden = r.candidates.len().saturating_sub(5);
    r.candidates.truncate(5);
    if hidden > 0 {
        r.notes
            .push(format!("{hidden} more candidate(s) not shown"));
    }
    Outcome::ok(json(&r), table_text(&r), facts)
}

/// A log line shortened for the summary.
fn clip(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The triage table for people: the most recent events only (the JSON has all).
fn triage_text(rep: &crate::triage::Report) -> String {
    const SHOWN: usize = 20;
    if rep.events.len() <= SHOWN {
        return table_text(rep);
    }
    let mut short = rep.clone();
    let hidden = short.events.len() - SHOWN;
    short.events.drain(..hidden);
    format!(
        "{}({hidden} earlier event(s) not shown here; --json or `clw-diag triage` has them all)\n",
        table_text(&short)
    )
}

/// The evidence of a triage event: the input and line.
fn cite(e: &crate::triage::event::Event) -> String {
    format!("{}:{}", e.source.file, e.source.line)
}

fn triage_facts(rep: &crate::triage::Report, section: &str, facts: &mut Facts) {
    use crate::triage::event::Kind;
    let mut excerpt = String::new();
    for e in &rep.events {
        for l in &e.evidence {
            excerpt.push_str(l);
            excerpt.push('\n');
        }
        let who = match (&e.process, e.pid) {
            (Some(p), Some(pid)) => format!("{p} (pid {pid})"),
            (Some(p), None) => p.clone(),
            (None, Some(pid)) => format!("pid {pid}"),
            _ => "a process".into(),
        };
        let when = e.timestamp.clone().unwrap_or_else(|| "time unknown".into());
        let what = if e.kind.is_kernel_victim() {
            let limit = e
                .limit_kb
                .map(|l| format!(", limit {}", render::units::iec(l * 1024)))
                .unwrap_or_default();
            match (&e.oom_memcg, e.kind) {
                (Some(m), _) => format!(
                    "the kernel OOM-killed {who} at {when}: memory cgroup {m} hit its limit{limit}"
                ),
                (None, Kind::KernelOomKill) => {
                    format!("the kernel OOM-killed {who} at {when}: the whole machine ran out of memory")
                }
                _ => format!("the kernel OOM-killed {who} at {when}{limit}"),
            }
        } else if e.kind.is_oom() {
            format!(
                "{} reported an out-of-memory: {who} at {when}: {}",
                e.kind.as_str(),
                clip(&e.message)
            )
        } else if e.kind == Kind::ClwError {
            format!(
                "worker error {} at {when}: {}",
                e.code.as_deref().unwrap_or("?"),
                clip(&e.message)
            )
        } else if e.kind.is_crash() {
            format!("{who} crashed ({}) at {when}", e.kind.as_str())
        } else if e.kind == Kind::SigkillExit && e.cause == Some("unknown") {
            format!(
                "{who} was killed by SIGKILL at {when}, cause unknown (no OOM record explains it)"
            )
        } else {
            continue;
        };
        facts.findings.push(Finding {
            what,
            evidence: format!("{section}: {}", cite(e)),
        });
    }
    if !excerpt.is_empty() {
        facts
            .raw
            .push((format!("logs/{section}-evidence.log"), excerpt));
    }
}

fn kernel_log(o: &Options) -> Outcome {
    use crate::triage::{triage, Input, Request};
    let rep = triage(&Request {
        inputs: vec![Input::Dmesg(o.kmsg.clone())],
        since_us: Some(o.since_us),
    });
    if let Some(err) = rep.inputs.iter().find_map(|i| i.error.clone()) {
        if rep.inputs.iter().all(|i| i.lines == 0) {
            return Outcome::failed(format!(
                "{err} (reading the kernel log needs root or CAP_SYSLOG, or \
                 kernel.dmesg_restrict=0)"
            ));
        }
    }
    let mut facts = Facts::default();
    triage_facts(&rep, "kernel_log", &mut facts);
    Outcome::ok(json(&rep), triage_text(&rep), facts)
}

/// Files matching a glob whose wildcards (`*`, `?`) are in the last component only.
pub fn expand_glob(pattern: &str) -> Vec<PathBuf> {
    let p = Path::new(pattern);
    let (Some(dir), Some(name)) = (p.parent(), p.file_name().and_then(|n| n.to_str())) else {
        return Vec::new();
    };
    if !name.contains(['*', '?']) {
        return if p.is_file() {
            vec![p.to_path_buf()]
        } else {
            Vec::new()
        };
    }
    let mut re = String::from("^");
    for ch in name.chars() {
        match ch {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    let Ok(re) = regex::Regex::new(&re) else {
        return Vec::new();
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = rd
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(|n| re.is_match(n)))
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

fn worker_logs(o: &Options) -> Outcome {
    use crate::triage::{triage, Input, Request};
    let mut globs: Vec<String> = Vec::new();
    if o.worker_logs {
        globs.extend(o.worker_log_globs.iter().cloned());
    }
    globs.extend(o.logs.iter().cloned());
    if globs.is_empty() {
        return Outcome::empty("no logs asked for (--worker-logs, --logs GLOB)".into());
    }
    let files: Vec<PathBuf> = globs.iter().flat_map(|g| expand_glob(g)).collect();
    if files.is_empty() {
        return Outcome::empty(format!("no files match {}", globs.join(", ")));
    }
    let rep = triage(&Request {
        inputs: files.iter().cloned().map(Input::File).collect(),
        since_us: Some(o.since_us),
    });
    let mut facts = Facts::default();
    triage_facts(&rep, "worker_logs", &mut facts);
    let mut notes: Vec<String> = rep.inputs.iter().filter_map(|i| i.error.clone()).collect();
    // The tail of each log, for the bundle.
    for f in &files {
        if let Ok(bytes) = std::fs::read(f) {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(500)..].join("\n");
            let name = f
                .to_string_lossy()
                .trim_start_matches('/')
                .replace('/', "_");
            facts.raw.push((format!("logs/{name}.tail"), tail));
        }
    }
    let all_failed = rep.inputs.iter().all(|i| i.error.is_some() && i.lines == 0);
    let mut out = Outcome::ok(json(&rep), triage_text(&rep), facts);
    if all_failed {
        out.status = Status::Failed;
    }
    out.notes.append(&mut notes);
    out
}

/// Whether `p` starts like an ELF core file (`e_type` ET_CORE).
fn is_core(p: &Path) -> bool {
    use std::io::Read;
    let mut h = [0u8; 18];
    std::fs::File::open(p)
        .and_then(|mut f| f.read_exact(&mut h))
        .is_ok()
        && &h[..4] == b"\x7fELF"
        && match h[5] {
            1 => u16::from_le_bytes([h[16], h[17]]) == 4,
            2 => u16::from_be_bytes([h[16], h[17]]) == 4,
            _ => false,
        }
}

fn cores(o: &Options) -> Outcome {
    if o.cores.is_empty() {
        return Outcome::empty("no core directory asked for (--cores DIR)".into());
    }
    let since = UNIX_EPOCH + Duration::from_micros(o.since_us.max(0) as u64);
    let mut found: Vec<(SystemTime, PathBuf)> = Vec::new();
    let mut notes = Vec::new();
    for d in &o.cores {
        let rd = match std::fs::read_dir(d) {
            Ok(rd) => rd,
            Err(e) => {
                notes.push(format!("{}: {e}", d.display()));
                continue;
            }
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(m) = e.metadata() else { continue };
            if !m.is_file() {
                continue;
            }
            let Ok(mtime) = m.modified() else { continue };
            if mtime >= since && is_core(&p) {
                found.push((mtime, p));
            }
        }
    }
    if found.is_empty() {
        let mut out = Outcome::empty(format!(
            "no core files newer than {} in {}",
            o.since_label,
            o.cores
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        if notes.len() == o.cores.len() {
            out.status = Status::Failed;
        }
        out.notes.extend(notes);
        return out;
    }
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    let mut facts = Facts::default();
    let mut text = String::new();
    let mut data = Vec::new();
    for (_, p) in found.iter().take(10) {
        match crate::symbolize::backtrace::backtrace(
            p,
            &crate::symbolize::backtrace::Options::default(),
        ) {
            Ok(mut bt) => {
                bt.threads.retain(|t| t.crashed);
                let mut out = Vec::new();
                let _ = render::write_backtrace(&bt, Style::default(), &mut out);
                let t = String::from_utf8_lossy(&out).into_owned();
                text.push_str(&t);
                text.push('\n');
                facts.findings.push(Finding {
                    what: format!(
                        "{} crashed: {}",
                        bt.command.clone().unwrap_or_else(|| "a process".into()),
                        bt.crash_signature
                    ),
                    evidence: format!("cores: {}", p.display()),
                });
                let name = p
                    .to_string_lossy()
                    .trim_start_matches('/')
                    .replace('/', "_");
                facts.raw.push((format!("backtraces/{name}.txt"), t));
                data.push(json(&bt));
            }
            Err(e) => {
                notes.push(format!("{}: {e}", p.display()));
                text.push_str(&format!("{}: could not be read: {e}\n", p.display()));
            }
        }
    }
    if found.len() > 10 {
        notes.push(format!("{} older core(s) left out", found.len() - 10));
    }
    let mut out = Outcome::ok(Value::Array(data), text, facts);
    out.notes = notes;
    out
}

fn traces(o: &Options) -> Outcome {
    use crate::analysis::leak::{analyze, LeakOptions};
    use crate::analysis::recommend::{recommend, History, Policy};
    if o.traces.is_empty() {
        return Outcome::empty("no memory trace given (--trace FILE)".into());
    }
    let mut facts = Facts::default();
    let mut text = String::new();
    let mut data = Vec::new();
    let mut notes = Vec::new();
    for f in &o.traces {
        let series = match crate::trace::read::read_file(f, None) {
            Ok(s) => s,
            Err(e) => {
                notes.push(e.to_string());
                text.push_str(&format!("{}: could not be read: {e}\n", f.display()));
                continue;
            }
        };
        for s in series {
            let r = analyze(
                &s,
                &LeakOptions {
                    limit: s
                        .limit_bytes
                        .map(|l| (l, "the trace's cgroup limit".to_string())),
                    min_rate_bytes_per_h: 1048576.0,
                    min_growth_pct: 5.0,
                },
            );
            let rec = recommend(&History::from_samples(&s.t, &s.v, 300.0), Policy::Clw);
            text.push_str(&format!(
                "{} ({}): leak verdict {} (confidence {:.0} %); clw recommendation: request {}, limit {}\n",
                s.name,
                s.metric,
                r.verdict.as_str(),
                r.confidence * 100.0,
                rec.request_bytes.map_or("-".into(), render::units::iec),
                rec.limit_bytes.map_or("-".into(), render::units::iec),
            ));
            if r.verdict.as_str() == "leak" {
                facts.findings.push(Finding {
                    what: format!(
                        "{} is leaking ({}): a bigger limit only delays the next OOM",
                        s.name, s.metric
                    ),
                    evidence: format!("traces: {}", f.display()),
                });
                facts.next_steps.push(format!(
                    "find the leak in {}: `clw-diag analyze memory-trace {} --plot leak.svg`, \
                     then `clw-diag vmmap PID` on the live process",
                    s.name,
                    f.display()
                ));
            } else if let Some(l) = rec.limit_bytes {
                facts.next_steps.push(format!(
                    "size {}'s limit from its history: {} (clw policy; `clw-diag recommend {} \
                     --policy all` compares policies)",
                    s.name,
                    render::units::iec(l),
                    f.display()
                ));
            }
            data.push(serde_json::json!({"leak": json(&r), "recommendation": json(&rec)}));
        }
    }
    let mut out = Outcome::ok(Value::Array(data), text, facts);
    if out.facts.findings.is_empty()
        && !notes.is_empty()
        && out.text.lines().all(|l| l.contains("could not be read"))
    {
        out.status = Status::Failed;
    }
    out.notes = notes;
    out
}

fn rfc3339(t: SystemTime) -> String {
    let us = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0);
    crate::triage::normalize::format_rfc3339(us)
}

/// The category of a finding, for capping and for the verdict.
fn category(f: &Finding) -> &'static str {
    if f.what.contains("OOM-killed") {
        "oom"
    } else if f.what.contains("crashed") {
        "crash"
    } else if f.what.contains("cause unknown") {
        "unknown"
    } else {
        "other"
    }
}

fn summarize(all: Vec<Finding>, mut next: Vec<String>, sections: &[Section]) -> Summary {
    // The most recent findings of each category; a core's crash (with its signature) before a
    // log line's.
    const PER_CATEGORY: usize = 5;
    let mut findings = Vec::new();
    for cat in ["oom", "crash", "unknown", "other"] {
        // Newest first (sections list them oldest first); for crashes, cores first.
        let mut of: Vec<&Finding> = all.iter().filter(|f| category(f) == cat).rev().collect();
        if cat == "crash" {
            of.sort_by_key(|f| !f.evidence.starts_with("cores:"));
        }
        let hidden = of.len().saturating_sub(PER_CATEGORY);
        findings.extend(of.iter().take(PER_CATEGORY).map(|f| (*f).clone()));
        if hidden > 0 {
            findings.push(Finding {
                what: format!("and {hidden} earlier finding(s) of this kind ({cat})"),
                evidence: "see the sections below".into(),
            });
        }
    }
    let first = |cat: &str| findings.iter().find(|f| category(f) == cat).cloned();
    let (oom, crash, unknown) = (first("oom"), first("crash"), first("unknown"));
    let verdict = match (&oom, &crash, &unknown) {
        (Some(o), Some(c), _) => format!(
            "an out-of-memory kill and a crash: {}; and {}",
            o.what, c.what
        ),
        (Some(o), None, _) => format!("most likely an out-of-memory kill: {}", o.what),
        (None, Some(c), _) => format!("most likely a crash: {}", c.what),
        (None, None, Some(u)) => {
            format!("a process was killed and the cause is unknown: {}", u.what)
        }
        _ if findings.is_empty() => {
            "nothing found: no OOM kill, crash or pressure in what could be read".to_string()
        }
        _ => findings[0].what.clone(),
    };
    if let Some(o) = &oom {
        // The cgroup the kill names, else a placeholder.
        let cg = o
            .what
            .split("memory cgroup ")
            .nth(1)
            .and_then(|r| r.split(" hit its limit").next())
            .unwrap_or("CGROUP");
        next.push(format!(
            "see who the kernel will kill next and whether a long-lived parent is the victim: \
             `clw-diag oom-rank --cgroup {cg}`"
        ));
        next.push(format!(
            "size the limit from history rather than by rule of thumb: `clw-diag record \
             --cgroup {cg}`, then `clw-diag recommend memory-trace.json --policy all --backtest`"
        ));
    }
    if crash.is_some() {
        next.push(
            "read every thread of the core: `clw-diag backtrace CORE` (add --debuginfod for \
             missing debug files)"
                .into(),
        );
    }
    if unknown.is_some() {
        next.push(
            "a SIGKILL with no kernel OOM record: look for a supervisor or a person that \
             killed it (systemd, kubelet eviction, `kill -9`); read the kernel log as root"
                .into(),
        );
    }
    for s in sections {
        if matches!(s.status, Status::Failed | Status::Timeout) {
            next.push(format!(
                "the {} section could not be read ({}): run the report again as root, or \
                 the matching command on its own",
                s.id,
                s.notes.first().cloned().unwrap_or_default()
            ));
        }
    }
    next.dedup();
    Summary {
        verdict,
        findings,
        next_steps: next,
    }
}

/// Build the report.
pub fn build(o: &Options) -> Report {
    build_with_progress(o, &|_| {})
}

/// [`build`], calling `progress` with each section's title as it starts (a terminal's progress
/// line; the library prints nothing itself).
pub fn build_with_progress(o: &Options, progress: &dyn Fn(&str)) -> Report {
    type SectionFn = fn(&Options) -> Outcome;
    let plan: [(&'static str, &'static str, SectionFn); 6] = [
        ("snapshot", "Host and cgroups", snapshot),
        ("oom_rank", "OOM kill order", oom_rank),
        ("kernel_log", "Kernel log", kernel_log),
        ("worker_logs", "Worker logs", worker_logs),
        ("cores", "Core files", cores),
        ("traces", "Memory traces", traces),
    ];
    let mut sections = Vec::new();
    let mut findings = Vec::new();
    let mut next = Vec::new();
    let mut raw = Vec::new();
    for (id, title, f) in plan {
        progress(title);
        let opts = o.clone();
        let (s, facts) = run_section(id, title, o.budget, move || f(&opts));
        findings.extend(facts.findings);
        next.extend(facts.next_steps);
        raw.extend(facts.raw);
        sections.push(s);
    }
    let summary = summarize(findings, next, &sections);
    let now = SystemTime::now();
    Report {
        generated_at: rfc3339(now),
        hostname: std::fs::read_to_string(o.proc_root.join("sys/kernel/hostname"))
            .ok()
            .map(|s| s.trim().to_string()),
        kernel: std::fs::read_to_string(o.proc_root.join("sys/kernel/osrelease"))
            .ok()
            .map(|s| s.trim().to_string()),
        since: crate::triage::normalize::format_rfc3339(o.since_us),
        since_arg: o.since_label.clone(),
        sections,
        summary,
        raw,
    }
}

/// The report as plain text (no colour), unredacted: the caller redacts.
pub fn to_text(r: &Report) -> String {
    let mut t = String::new();
    t.push_str(&format!(
        "clw-diag report: host {}, kernel {}, generated {}, since {} ({})\n\n",
        r.hostname.as_deref().unwrap_or("?"),
        r.kernel.as_deref().unwrap_or("?"),
        r.generated_at,
        r.since,
        r.since_arg
    ));
    t.push_str("== Summary ==\n");
    t.push_str(&r.summary.verdict);
    t.push('\n');
    for f in &r.summary.findings {
        t.push_str(&format!("- {} [{}]\n", f.what, f.evidence));
    }
    if !r.summary.next_steps.is_empty() {
        t.push_str("Next:\n");
        for n in &r.summary.next_steps {
            t.push_str(&format!("- {n}\n"));
        }
    }
    for s in &r.sections {
        let status = match s.status {
            Status::Ok => String::new(),
            Status::Empty => ", nothing to read".into(),
            Status::Failed => ", FAILED".into(),
            Status::Timeout => ", TIMED OUT".into(),
        };
        t.push_str(&format!(
            "\n== {} ({} ms{status}) ==\n",
            s.title, s.elapsed_ms
        ));
        t.push_str(&s.text);
        if s.status == Status::Ok {
            for n in &s.notes {
                t.push_str(&format!("note: {n}\n"));
            }
        }
    }
    t
}

/// Redact every string of a JSON value in place; the number of secrets replaced.
pub fn redact_json(v: &mut Value) -> usize {
    match v {
        Value::String(s) => {
            let r = super::redact::redact(s);
            *s = r.text;
            r.count
        }
        Value::Array(a) => a.iter_mut().map(redact_json).sum(),
        Value::Object(m) => m.values_mut().map(redact_json).sum(),
        _ => 0,
    }
}
