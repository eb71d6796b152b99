//! OpenClaw error codes in service logs (`code=clw-memory-oom`, …): lowercase words joined by
//! `-` after `clw-`. Names that look like codes but belong to this tool, its tests or its core
//! files (`clw-diag`, `clw-test-…`, `clw-fixture…`) are not errors.

use std::sync::OnceLock;

use regex::Regex;

use super::{event, re};
use crate::triage::event::{Event, Kind, SourceRef};
use crate::triage::normalize::Line;

/// Prefixes of names that look like OpenClaw codes but are not.
const STOPLIST: [&str; 3] = ["clw-test-", "clw-fixture", "clw-diag"];

/// A `clw_error` event for the first OpenClaw code on the line.
pub(super) fn error_code(l: &Line<'_>, src: &SourceRef, out: &mut Vec<Event>) -> bool {
    static CLW: OnceLock<Regex> = OnceLock::new();
    let msg = l.msg;
    if !msg.contains("clw-") {
        return false;
    }
    let Some(c) = re(&CLW, r"\b(clw-[a-z]+(?:-[a-z]+)+)\b").captures(msg) else {
        return false;
    };
    let code = &c[1];
    if !STOPLIST.iter().any(|s| code.starts_with(s)) {
        let mut e = event(Kind::ClwError, msg, src);
        e.code = Some(code.to_string());
        out.push(e);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::super::tests::run;
    use super::*;

    #[test]
    fn codes_but_not_this_tools_names() {
        let ev = run(
            "level=error code=clw-memory-oom msg=\"worker exceeded limit\"\n\
                      clw-diag sample --json\n\
                      core.clw-test-triage.1234\n\
                      upload to clw-bucket done",
        );
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].kind, Kind::ClwError);
        assert_eq!(ev[0].code.as_deref(), Some("clw-memory-oom"));
    }
}
