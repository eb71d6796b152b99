//! The report's model redacted in place, before it is laid out.
//!
//! The text and JSON are redacted again on their way out (`cli/report.rs`), which catches every
//! string; this pass exists because the text layout shortens long cells (`ps`-style command
//! lines end in `…` after 60 characters): a token cut in half no longer has its shape, so
//! `-pPLANTED…` or `ghp_aBcD…` would survive a pass over the finished text. Here every string
//! the report took from the host — command lines, process and cgroup names, log lines, core
//! arguments, notes — is redacted whole, first.

use std::path::PathBuf;

use super::redact;
use crate::report::model::{Report, SectionData};

struct Scrub(usize);

impl Scrub {
    fn s(&mut self, s: &mut String) {
        let r = redact(s);
        if r.count > 0 {
            self.0 += r.count;
            *s = r.text;
        }
    }

    fn o(&mut self, s: &mut Option<String>) {
        if let Some(s) = s {
            self.s(s);
        }
    }

    fn v(&mut self, v: &mut [String]) {
        for s in v {
            self.s(s);
        }
    }

    /// The paths, command line, signature and warnings of a backtrace.
    fn backtrace(&mut self, bt: &mut crate::symbolize::backtrace::Backtrace) {
        if let Some(c) = &mut bt.core {
            self.p(c);
        }
        if let Some(e) = &mut bt.executable {
            self.p(e);
        }
        self.o(&mut bt.command);
        self.o(&mut bt.args);
        self.s(&mut bt.crash_signature);
        self.v(&mut bt.warnings);
    }

    fn p(&mut self, p: &mut PathBuf) {
        let r = redact(&p.to_string_lossy());
        if r.count > 0 {
            self.0 += r.count;
            *p = PathBuf::from(r.text);
        }
    }
}

/// Redact, in place, every string of `r` that came from the host; the number of secrets
/// replaced. `build` calls it once, so the report it returns is already redacted.
pub fn redact_report(r: &mut Report) -> usize {
    let mut x = Scrub(0);
    x.o(&mut r.hostname);
    x.s(&mut r.summary.verdict);
    x.v(&mut r.summary.next_steps);
    for f in &mut r.summary.findings {
        x.s(&mut f.what);
        x.s(&mut f.evidence);
        x.o(&mut f.cgroup);
        x.o(&mut f.workload);
    }
    for s in &mut r.sections {
        x.v(&mut s.notes);
        match &mut s.data {
            SectionData::Snapshot(snap) => {
                for c in &mut snap.cgroups {
                    x.s(&mut c.memory.path);
                    x.v(&mut c.pressure.reasons);
                }
                for p in &mut snap.processes {
                    x.s(&mut p.name);
                    x.s(&mut p.command);
                    x.o(&mut p.memory_cgroup);
                }
                x.v(&mut snap.notes);
            }
            SectionData::OomRank(rank) => {
                x.o(&mut rank.cgroup);
                x.o(&mut rank.oom_domain);
                x.o(&mut rank.oom_group);
                for c in &mut rank.candidates {
                    x.s(&mut c.name);
                    x.s(&mut c.command);
                    x.o(&mut c.cgroup);
                }
                x.v(&mut rank.warnings);
                x.v(&mut rank.notes);
            }
            SectionData::Triage(t) => {
                for e in &mut t.events {
                    x.s(&mut e.message);
                    x.v(&mut e.evidence);
                    x.o(&mut e.process);
                    x.o(&mut e.memcg);
                    x.o(&mut e.oom_memcg);
                    x.o(&mut e.container);
                    x.o(&mut e.pod);
                    x.o(&mut e.namespace);
                    x.o(&mut e.unit);
                    x.o(&mut e.workload);
                    x.v(&mut e.notes);
                    if let Some(i) = &mut e.identity {
                        x.s(&mut i.cgroup);
                        x.o(&mut i.container_name);
                        x.o(&mut i.runtime_name);
                        x.o(&mut i.image);
                        x.o(&mut i.pod);
                        x.o(&mut i.namespace);
                        x.o(&mut i.compose_project);
                        x.o(&mut i.compose_service);
                        x.o(&mut i.unit);
                        x.o(&mut i.unresolved);
                        for p in &mut i.source {
                            x.p(p);
                        }
                    }
                    x.s(&mut e.source.file);
                    if let Some(tr) = &mut e.trigger {
                        x.s(&mut tr.process);
                    }
                    for row in &mut e.top_consumers {
                        x.s(&mut row.name);
                    }
                }
                for i in &mut t.inputs {
                    x.s(&mut i.name);
                    x.o(&mut i.error);
                }
            }
            SectionData::Cores(bts) => {
                for bt in bts {
                    x.backtrace(bt);
                }
            }
            SectionData::StoredCrashes(sc) => {
                for c in &mut sc.listing.crashes {
                    x.s(&mut c.command);
                    x.o(&mut c.exe);
                    if let Some(f) = &mut c.file {
                        x.p(&mut f.path);
                    }
                    x.o(&mut c.file_missing);
                    if let Some(j) = &mut c.journal {
                        for s in [
                            &mut j.hostname,
                            &mut j.comm,
                            &mut j.exe,
                            &mut j.cmdline,
                            &mut j.cgroup,
                            &mut j.unit,
                            &mut j.user_unit,
                            &mut j.slice,
                            &mut j.session,
                            &mut j.root,
                            &mut j.container_cmdline,
                            &mut j.filename,
                        ] {
                            x.o(s);
                        }
                    }
                }
                x.v(&mut sc.listing.notes);
                for bt in &mut sc.backtraces {
                    x.backtrace(bt);
                }
            }
            SectionData::Traces(ts) => {
                for t in ts {
                    x.p(&mut t.file);
                }
            }
            SectionData::None => {}
        }
    }
    x.0
}
