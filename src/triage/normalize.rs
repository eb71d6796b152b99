//! Log-line normalisation: strip the prefixes that transports add and keep what they say
//! (wall-clock time, seconds since boot, the syslog tag).
//!
//! Prefixes recognised, possibly stacked (`Apr 15 10:22:01 node kernel: [  518.050606] …`):
//! GitHub Actions and RFC 3339 timestamps (rsyslog, `journalctl -o short-iso`), syslog and
//! `journalctl -o short` (`Mon dd hh:mm:ss host tag:`), `dmesg -T` (`[Mon Apr 15 10:22:01
//! 2024]`, day and month names in several locales), raw dmesg (`[  518.050606]`) and
//! docker-compose (`svc_1  | `), and klog's header after them (`I0120 00:20:07.726836 32406
//! file.go:332] `, kubelet's own lines). rsyslog's octal escapes (`#012` newline, `#011` tab, `#033`
//! escape) are undone by [`unescape_rsyslog`].

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;

use crate::base::time::{civil_us, format_rfc3339};

/// A line with its prefixes stripped.
#[derive(Debug, Clone, PartialEq)]
pub struct Line<'a> {
    /// The message after all recognised prefixes.
    pub msg: &'a str,
    /// Wall-clock time, microseconds since the Unix epoch (UTC; syslog times without a zone
    /// are taken as UTC).
    pub time_us: Option<i64>,
    /// Seconds since boot, from a `[  518.050606]` prefix.
    pub monotonic_s: Option<f64>,
    /// The syslog tag without pid (`kernel`, `systemd`, `earlyoom`) or docker-compose service.
    pub ident: Option<&'a str>,
    /// The pid in the syslog tag (`systemd[1]` → 1).
    pub ident_pid: Option<i64>,
    /// True when any prefix was found (continuation lines have none).
    pub has_prefix: bool,
}

use crate::base::text::static_regex as re;

/// Month number of an abbreviated or full month name in English, German, French, Spanish,
/// Italian, Portuguese, Dutch, Swedish or Polish (case-insensitive, trailing dot ignored).
pub fn month_number(name: &str) -> Option<u32> {
    let n = name.trim_end_matches('.').to_lowercase();
    const MONTHS: [&[&str]; 12] = [
        &[
            "jan", "january", "januar", "janv", "janvier", "ene", "enero", "gen", "gennaio",
            "janeiro", "januari", "sty", "stycznia",
        ],
        &[
            "feb",
            "february",
            "februar",
            "févr",
            "fevr",
            "février",
            "fév",
            "febrero",
            "febbraio",
            "fev",
            "fevereiro",
            "februari",
            "lut",
            "lutego",
        ],
        &[
            "mar", "march", "mär", "märz", "maerz", "mars", "marzo", "março", "maart", "mrt",
            "marca", "mrz",
        ],
        &[
            "apr", "april", "avr", "avril", "abr", "abril", "aprile", "kwi", "kwietnia",
        ],
        &[
            "may", "mai", "mayo", "mag", "maggio", "maio", "mei", "maj", "maja",
        ],
        &[
            "jun", "june", "juni", "juin", "junio", "giu", "giugno", "junho", "cze", "czerwca",
        ],
        &[
            "jul", "july", "juli", "juil", "juillet", "julio", "lug", "luglio", "julho", "lip",
            "lipca",
        ],
        &[
            "aug", "august", "août", "aout", "ago", "agosto", "augustus", "sie", "sierpnia",
        ],
        &[
            "sep",
            "sept",
            "september",
            "septembre",
            "septiembre",
            "set",
            "settembre",
            "setembro",
            "wrz",
            "września",
        ],
        &[
            "oct",
            "october",
            "okt",
            "oktober",
            "octobre",
            "octubre",
            "ott",
            "ottobre",
            "out",
            "outubro",
            "paź",
            "października",
        ],
        &[
            "nov",
            "november",
            "novembre",
            "noviembre",
            "novembro",
            "lis",
            "listopada",
        ],
        &[
            "dec",
            "december",
            "dez",
            "dezember",
            "déc",
            "dec",
            "décembre",
            "dic",
            "diciembre",
            "dicembre",
            "dezembro",
            "gru",
            "grudnia",
        ],
    ];
    const RU: [&[&str]; 12] = [
        &["янв", "января"],
        &["фев", "февр", "февраля"],
        &["мар", "марта"],
        &["апр", "апреля"],
        &["мая", "май"],
        &["июн", "июня"],
        &["июл", "июля"],
        &["авг", "августа"],
        &["сен", "сент", "сентября"],
        &["окт", "октября"],
        &["ноя", "нояб", "ноября"],
        &["дек", "декабря"],
    ];
    if let Some(i) = RU.iter().position(|names| names.contains(&n.as_str())) {
        return Some(i as u32 + 1);
    }
    MONTHS
        .iter()
        .position(|names| names.contains(&n.as_str()))
        .map(|i| i as u32 + 1)
}

/// Context for times without a year (syslog): the year assumed.
#[derive(Debug, Clone, Copy)]
pub struct TimeContext {
    /// The year given to dates that lack one (syslog's `Mmm dd hh:mm:ss`).
    pub year: i64,
}

impl TimeContext {
    /// The current year (UTC).
    pub fn now() -> TimeContext {
        let year = format_rfc3339(crate::base::time::now_us())[..4]
            .parse()
            .unwrap_or(1970);
        TimeContext { year }
    }
}

/// Strip the prefixes of one line.
pub fn normalize<'a>(raw: &'a str, ctx: TimeContext) -> Line<'a> {
    let mut line = Line {
        msg: raw.trim_end_matches(['\r', '\n']),
        time_us: None,
        monotonic_s: None,
        ident: None,
        ident_pid: None,
        has_prefix: false,
    };
    compose_prefix(&mut line);
    time_prefix(&mut line, ctx);
    dmesg_prefixes(&mut line);
    klog_header(&mut line, ctx);
    line
}

/// klog's header, as kubelet and other Kubernetes components print it before each message
/// (`I0120 00:20:07.726836   32406 eviction_manager.go:332] `: severity, month and day, time,
/// thread id, source file and line; k8s.io/klog `formatHeader`). Its time is kept when the
/// line had none (klog prints no year: the context's year is used).
fn klog_header(line: &mut Line<'_>, ctx: TimeContext) {
    static KLOG: OnceLock<Regex> = OnceLock::new();
    let b = line.msg.as_bytes();
    if b.len() < 30 || !matches!(b[0], b'I' | b'W' | b'E' | b'F') || !b[1].is_ascii_digit() {
        return;
    }
    let Some(c) = re(
        &KLOG,
        r"^[IWEF](\d\d)(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{6})\s+\d+ [^\s\]]+:\d+\] ",
    )
    .captures(line.msg) else {
        return;
    };
    if line.time_us.is_none() {
        let n = |i: usize| {
            c.get(i)
                .map_or(0, |m| m.as_str().parse::<i64>().unwrap_or(0))
        };
        let frac = c.get(6).map_or("", |m| m.as_str());
        line.time_us = civil_us(ctx.year, n(1) as u32, n(2) as u32, n(3), n(4), n(5), frac);
    }
    line.msg = &line.msg[c.get(0).map_or(0, |m| m.end())..];
    line.has_prefix = true;
}

/// docker-compose's `svc_1  | ` before the message.
fn compose_prefix(line: &mut Line<'_>) {
    static COMPOSE: OnceLock<Regex> = OnceLock::new();
    let compose = re(&COMPOSE, r"^([A-Za-z0-9][\w.-]*)\s+\| ");
    if let Some(c) =
        memchr::memmem::find(line.msg.as_bytes(), b"| ").and_then(|_| compose.captures(line.msg))
    {
        line.ident = c.get(1).map(|m| m.as_str());
        line.msg = &line.msg[c.get(0).map_or(0, |m| m.end())..];
        line.has_prefix = true;
    }
}

/// An RFC 3339 (rsyslog, short-iso, GitHub Actions), syslog (`Apr 15 10:22:01`) or bare clock
/// time, then the host and tag after it.
fn time_prefix(line: &mut Line<'_>, ctx: TimeContext) {
    static ISO: OnceLock<Regex> = OnceLock::new();
    static SYSLOG: OnceLock<Regex> = OnceLock::new();
    static HOST_TAG: OnceLock<Regex> = OnceLock::new();
    let iso = re(
        &ISO,
        r"^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?(Z|[+-]\d\d:?\d\d)? ",
    );
    let syslog = re(
        &SYSLOG,
        r"^(\p{L}{3,4})\.? +(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d+))? ",
    );
    static CLOCK: OnceLock<Regex> = OnceLock::new();
    let clock = re(&CLOCK, r"^\d\d:\d\d:\d\d(?:\.\d+)? ");
    let first = line.msg.as_bytes().first().copied().unwrap_or(b' ');
    if let Some(c) = first
        .is_ascii_digit()
        .then(|| iso.captures(line.msg))
        .flatten()
    {
        let n = |i: usize| {
            c.get(i)
                .map_or(0, |m| m.as_str().parse::<i64>().unwrap_or(0))
        };
        let frac = c.get(7).map_or("", |m| m.as_str());
        let mut t = civil_us(n(1), n(2) as u32, n(3) as u32, n(4), n(5), n(6), frac);
        if let (Some(us), Some(z)) = (t, c.get(8)) {
            let z = z.as_str();
            if z != "Z" {
                let sign = if z.starts_with('-') { -1 } else { 1 };
                let digits: String = z[1..].chars().filter(|ch| ch.is_ascii_digit()).collect();
                let off = digits[..2].parse::<i64>().unwrap_or(0) * 3600
                    + digits[2..].parse::<i64>().unwrap_or(0) * 60;
                t = Some(us - sign * off * 1_000_000);
            }
        }
        line.time_us = t;
        line.msg = &line.msg[c.get(0).map_or(0, |m| m.end())..];
        line.has_prefix = true;
        strip_host_tag(line, &HOST_TAG);
    } else if let Some(c) = (first.is_ascii_alphabetic() || first >= 0x80)
        .then(|| syslog.captures(line.msg))
        .flatten()
    {
        if let Some(mo) = month_number(&c[1]) {
            let n = |i: usize| {
                c.get(i)
                    .map_or(0, |m| m.as_str().trim().parse::<i64>().unwrap_or(0))
            };
            let frac = c.get(6).map_or("", |m| m.as_str());
            line.time_us = civil_us(ctx.year, mo, n(2) as u32, n(3), n(4), n(5), frac);
            line.msg = &line.msg[c.get(0).map_or(0, |m| m.end())..];
            line.has_prefix = true;
            strip_host_tag(line, &HOST_TAG);
        }
    } else if let Some(m) = first
        .is_ascii_digit()
        .then(|| clock.find(line.msg))
        .flatten()
    {
        // A time of day without a date (an excerpt): strip it, no wall-clock time.
        line.msg = &line.msg[m.end()..];
        line.has_prefix = true;
        strip_host_tag(line, &HOST_TAG);
    }
}

/// `dmesg -T` (`[Mon Apr 15 10:22:01 2024] `), `dmesg -H` and raw dmesg (`[  518.050606] `,
/// with a printk caller id) prefixes.
fn dmesg_prefixes(line: &mut Line<'_>) {
    static DMESG_T: OnceLock<Regex> = OnceLock::new();
    static DMESG: OnceLock<Regex> = OnceLock::new();
    // dmesg -T: "[Mon Apr 15 10:22:01 2024] "
    let dmesg_t = re(
        &DMESG_T,
        r"^\[\s*[^\s\]\d]+\.?,?\s+([^\s\]\d]+)\.?\s+(\d{1,2})\.?\s+(\d\d):(\d\d):(\d\d)\s+(\d{4})\]\s?",
    );
    let bracket = line.msg.starts_with('[');
    if let Some(c) = bracket.then(|| dmesg_t.captures(line.msg)).flatten() {
        if line.time_us.is_none() {
            let n = |i: usize| {
                c.get(i)
                    .map_or(0, |m| m.as_str().parse::<i64>().unwrap_or(0))
            };
            line.time_us = month_number(&c[1])
                .and_then(|mo| civil_us(n(6), mo, n(2) as u32, n(3), n(4), n(5), ""));
        }
        line.msg = &line.msg[c.get(0).map_or(0, |m| m.end())..];
        line.has_prefix = true;
    }
    // dmesg -H: "[Feb 5 06:51] " (minute precision, no year: no time kept) and "[  +0.623788] ".
    static DMESG_H: OnceLock<Regex> = OnceLock::new();
    if line.msg.starts_with('[') {
        if let Some(m) = re(
            &DMESG_H,
            r"^\[(?:\p{L}{3} +\d{1,2} \d\d:\d\d|\s*\+\d+\.\d+)\]\s?",
        )
        .find(line.msg)
        {
            line.msg = &line.msg[m.end()..];
            line.has_prefix = true;
        }
    }
    // Raw dmesg, with the printk caller id of CONFIG_PRINTK_CALLER ("[ T6736]") if present.
    let dmesg = re(&DMESG, r"^\[\s*(\d+\.\d+)\](?:\[\s*[TC]\d+\])?\s?");
    if let Some(c) = line
        .msg
        .starts_with('[')
        .then(|| dmesg.captures(line.msg))
        .flatten()
    {
        line.monotonic_s = c[1].parse().ok();
        line.msg = &line.msg[c.get(0).map_or(0, |m| m.end())..];
        line.has_prefix = true;
        if line.ident.is_none() {
            line.ident = Some("kernel");
        }
    }
}

/// Tags recognised without a host name before them.
const KNOWN_TAGS: [&str; 8] = [
    "kernel",
    "systemd",
    "systemd-oomd",
    "earlyoom",
    "kubelet",
    "dockerd",
    "containerd",
    "CRON",
];

fn strip_host_tag<'a>(line: &mut Line<'a>, cell: &'static OnceLock<Regex>) {
    // "host tag[pid]: " or "host tag: " after the time.
    let host_tag = re(cell, r"^(\S+) ([^\s:\[]+)(?:\[(\d+)\])?: ");
    static TAG_ONLY: OnceLock<Regex> = OnceLock::new();
    // "tag[pid]: " right after the time (no host name, as some syslog daemons write it).
    let tag_only = re(&TAG_ONLY, r"^([A-Za-z][\w.-]*)(?:\[(\d+)\])?: ");
    if let Some(c) = tag_only
        .captures(line.msg)
        .filter(|c| KNOWN_TAGS.contains(&&c[1]))
    {
        line.ident = c.get(1).map(|m| m.as_str());
        line.ident_pid = c.get(2).and_then(|m| m.as_str().parse().ok());
        line.msg = &line.msg[c.get(0).map_or(0, |m| m.end())..];
    } else if let Some(c) = host_tag.captures(line.msg) {
        line.ident = c.get(2).map(|m| m.as_str());
        line.ident_pid = c.get(3).and_then(|m| m.as_str().parse().ok());
        line.msg = &line.msg[c.get(0).map_or(0, |m| m.end())..];
    }
}

/// Undo rsyslog's control-character escapes (`#012` → newline, `#011` → tab, `#033` → ESC,
/// any `#` followed by three octal digits). Borrowed unchanged when there are none.
pub fn unescape_rsyslog(s: &str) -> Cow<'_, str> {
    let b = s.as_bytes();
    // Control characters only: #000–#037 and #177, as rsyslog's $EscapeControlCharactersOnReceive.
    let is_esc = |i: usize| {
        i + 3 < b.len()
            && b[i] == b'#'
            && ((b[i + 1] == b'0'
                && (b'0'..=b'3').contains(&b[i + 2])
                && (b'0'..=b'7').contains(&b[i + 3]))
                || &b[i + 1..i + 4] == b"177")
    };
    if !(0..b.len()).any(is_esc) {
        return Cow::Borrowed(s);
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if is_esc(i) {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: TimeContext = TimeContext { year: 2024 };

    #[test]
    fn klog_header_after_the_journal_prefix() {
        // tests/fixtures/triage-kubelet/k8s-30550-… and k8s-132001-….
        let l = normalize(
            "I0818 03:35:27.856536    2658 server.go:680] Event(api.ObjectReference{Kind:\"Pod\"",
            CTX,
        );
        assert_eq!(l.msg, "Event(api.ObjectReference{Kind:\"Pod\"");
        assert_eq!(
            format_rfc3339(l.time_us.unwrap()),
            "2024-08-18T03:35:27.856536Z"
        );
        let l = normalize("May 28 16:05:54 192-168-250-5 kubelet[2269385]: I0528 16:05:54.802914 2269385 eviction_manager.go:627] \"Eviction manager: pod is evicted successfully\"", CTX);
        assert_eq!(l.ident, Some("kubelet"));
        assert_eq!(l.msg, "\"Eviction manager: pod is evicted successfully\"");
        assert_eq!(format_rfc3339(l.time_us.unwrap()), "2024-05-28T16:05:54Z");
        // Not a klog header: kept whole.
        assert_eq!(
            normalize("I0818 is not a header", CTX).msg,
            "I0818 is not a header"
        );
    }

    #[test]
    fn raw_dmesg() {
        let l = normalize(
            "[  518.050606] python3 invoked oom-killer: gfp_mask=0xcc0",
            CTX,
        );
        assert_eq!(l.msg, "python3 invoked oom-killer: gfp_mask=0xcc0");
        assert_eq!(l.monotonic_s, Some(518.050606));
        assert_eq!(l.ident, Some("kernel"));
    }

    #[test]
    fn syslog_with_dmesg_inside() {
        let l = normalize(
            "Apr 15 10:22:01 node1 kernel: [  518.050606] Killed process 1 (x)",
            CTX,
        );
        assert_eq!(l.msg, "Killed process 1 (x)");
        assert_eq!(l.ident, Some("kernel"));
        assert_eq!(format_rfc3339(l.time_us.unwrap()), "2024-04-15T10:22:01Z");
        assert_eq!(l.monotonic_s, Some(518.050606));
        let l = normalize(
            "Apr  5 10:22:01 node1 systemd[1]: foo.service: Main process exited",
            CTX,
        );
        assert_eq!(l.ident, Some("systemd"));
        assert_eq!(l.ident_pid, Some(1));
        assert_eq!(l.msg, "foo.service: Main process exited");
    }

    #[test]
    fn rfc3339_and_github_actions() {
        let l = normalize(
            "2024-04-15T10:22:01.123456+02:00 node1 kernel: Out of memory",
            CTX,
        );
        assert_eq!(
            format_rfc3339(l.time_us.unwrap()),
            "2024-04-15T08:22:01.123456Z"
        );
        assert_eq!(l.msg, "Out of memory");
        let l = normalize(
            "2024-04-14T22:05:23.8605906Z ##[error]Process completed with exit code 137.",
            CTX,
        );
        assert_eq!(
            format_rfc3339(l.time_us.unwrap()),
            "2024-04-14T22:05:23.860590Z"
        );
        assert_eq!(l.msg, "##[error]Process completed with exit code 137.");
        let l = normalize("2024-04-15T10:22:01+0000 node1 kernel: x", CTX);
        assert_eq!(l.msg, "x");
    }

    #[test]
    fn dmesg_t_in_other_locales() {
        let l = normalize(
            "[Mon Apr 15 10:22:01 2024] Out of memory: Killed process 1 (x)",
            CTX,
        );
        assert_eq!(l.msg, "Out of memory: Killed process 1 (x)");
        assert_eq!(format_rfc3339(l.time_us.unwrap()), "2024-04-15T10:22:01Z");
        let l = normalize("[Mo Mär 11 08:00:00 2024] x", CTX);
        assert_eq!(format_rfc3339(l.time_us.unwrap()), "2024-03-11T08:00:00Z");
        let l = normalize("[lun. avril 15 10:22:01 2024] x", CTX);
        assert_eq!(l.msg, "x");
        assert!(l.time_us.is_some());
    }

    #[test]
    fn printk_caller_no_host_clock_only_and_cyrillic() {
        let l = normalize("[   49.921978][ T6736] leaker invoked oom-killer: x", CTX);
        assert_eq!(l.msg, "leaker invoked oom-killer: x");
        let l = normalize(
            "Aug 19 00:32:04 kernel: [ 9610.328722] Memory cgroup out of memory",
            CTX,
        );
        assert_eq!(l.msg, "Memory cgroup out of memory");
        let l = normalize(
            "06:16:18 kernel: [58632.866347] Out of memory: Killed process 1",
            CTX,
        );
        assert_eq!(l.msg, "Out of memory: Killed process 1");
        let l = normalize("апр 28 01:23:30 PC kernel: Killed process 1 (x)", CTX);
        assert_eq!(l.msg, "Killed process 1 (x)");
        assert_eq!(format_rfc3339(l.time_us.unwrap()), "2024-04-28T01:23:30Z");
    }

    #[test]
    fn compose_prefix_and_noise() {
        let l = normalize(
            "worker_1  | java.lang.OutOfMemoryError: Java heap space",
            CTX,
        );
        assert_eq!(l.ident, Some("worker_1"));
        assert_eq!(l.msg, "java.lang.OutOfMemoryError: Java heap space");
        let l = normalize("   at foo.bar(Baz.java:1)", CTX);
        assert!(!l.has_prefix);
    }

    #[test]
    fn rsyslog_escapes() {
        assert_eq!(unescape_rsyslog("a#012b#011c"), "a\nb\tc");
        assert_eq!(unescape_rsyslog("#033[0m"), "\u{1b}[0m");
        assert!(matches!(unescape_rsyslog("issue #1234"), Cow::Borrowed(_)));
    }
}
