//! Docker's event stream (`docker events`: `container oom <id> (attrs)`, `container die <id>
//! (exitCode=…, …)`, moby's daemon/monitor.go) and fragments of `docker inspect` pasted as text
//! (`"OOMKilled": true`). Whole `docker inspect` documents are read by
//! [`crate::triage::structured`].

use std::sync::OnceLock;

use regex::Regex;

use super::{event, exit_kind, re};
use crate::triage::event::{Event, Kind, SourceRef};
use crate::triage::normalize::Line;

/// `container oom <id> (…)` and `container die <id> (exitCode=137, …, name=…)`.
pub(super) fn daemon_event(l: &Line<'_>, src: &SourceRef, out: &mut Vec<Event>) -> bool {
    static DOCKER: OnceLock<Regex> = OnceLock::new();
    let msg = l.msg;
    if !msg.contains("container ") {
        return false;
    }
    let Some(c) = re(
        &DOCKER,
        r"\bcontainer (oom|die) ([0-9a-f]{12,64})(?: \((.*?)\)?\s*$)?",
    )
    .captures(msg) else {
        return false;
    };
    let attrs = c.get(3).map_or("", |m| m.as_str());
    let attr = |k: &str| {
        attrs
            .split(", ")
            .find_map(|kv| kv.strip_prefix(k).and_then(|v| v.strip_prefix('=')))
            .map(str::to_string)
    };
    let kind = if &c[1] == "oom" {
        Some((Kind::DockerOom, 9))
    } else {
        attr("exitCode")
            .and_then(|v| v.parse().ok())
            .and_then(exit_kind)
    };
    if let Some((kind, sig)) = kind {
        let mut e = event(kind, msg, src);
        e.container_id = Some(c[2].to_string());
        e.container = attr("name");
        e.exit_code = attr("exitCode").and_then(|v| v.parse().ok());
        if kind != Kind::DockerOom {
            e.signal = Some(sig);
        }
        out.push(e);
    }
    true
}

/// `"OOMKilled": true` from a `docker inspect` excerpt.
pub(super) fn inspect_fragment(l: &Line<'_>, src: &SourceRef, out: &mut Vec<Event>) -> bool {
    if !l.msg.contains("\"OOMKilled\": true") {
        return false;
    }
    out.push(event(Kind::DockerOom, l.msg, src));
    true
}

#[cfg(test)]
mod tests {
    use super::super::tests::{kinds, run};
    use super::*;

    #[test]
    fn oom_event_with_kubernetes_attributes() {
        // tests/fixtures/triage/docker-events-for-linux-670-…, first physical line.
        let ev = run("2019-05-04T18:05:45.011072877-05:00 container oom 29d72966e0beb17d9b0b9fbcbfc734e2df2eb5428690115f9b24430357de08e5 (annotation.io.kubernetes.container.hash=cad60de0, annotation.io.kubernetes.container.restartCount=0, image=sha256:8f1, name=k8s_notebook_jupyter_jhub-prod_efa75591-6e89-11e9-bf85-001a4a16016d_0)");
        assert_eq!(kinds(&ev), vec![Kind::DockerOom]);
        assert_eq!(
            ev[0].container_id.as_deref(),
            Some("29d72966e0beb17d9b0b9fbcbfc734e2df2eb5428690115f9b24430357de08e5")
        );
        assert_eq!(
            ev[0].container.as_deref(),
            Some("k8s_notebook_jupyter_jhub-prod_efa75591-6e89-11e9-bf85-001a4a16016d_0")
        );
        assert_eq!(ev[0].signal, None);
    }

    #[test]
    fn die_event_is_an_exit_only_for_a_signal_code() {
        let ev = run("2024-04-15T10:22:01.100000000Z container die 7f3c2a1b9d8e (exitCode=137, image=app:1, name=worker)\n\
                      2024-04-15T10:22:02.100000000Z container die 7f3c2a1b9d8e (exitCode=0, image=app:1, name=worker)");
        assert_eq!(kinds(&ev), vec![Kind::SigkillExit]);
        assert_eq!((ev[0].exit_code, ev[0].signal), (Some(137), Some(9)));
    }

    #[test]
    fn inspect_fragment_says_oomkilled() {
        let ev = run("            \"OOMKilled\": true,\n            \"OOMKilled\": false,");
        assert_eq!(kinds(&ev), vec![Kind::DockerOom]);
    }
}
