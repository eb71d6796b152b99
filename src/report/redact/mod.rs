//! Secret redaction for everything `clw-diag report` puts in front of a human or into a bundle.
//!
//! A diagnostics report is pasted into tickets and chat, so it must not carry credentials that
//! happened to be in a log line, a command line, a core or a process's environment. [`redact`]
//! replaces each secret VALUE with `[REDACTED]` and keeps the key, the quotes, the URL and the
//! header name around it, so the text stays readable. It only redacts a value that is
//! recognisable as a secret: either its own shape says so, or it follows a secret-looking key
//! with `=`, `:` or JSON quoting, or a password flag of a program known to take one. Prose such
//! as "token bucket refill" or "password reset requested" is left alone. `docs/redaction.md` is
//! the table of every form for people, and what is deliberately kept (ports, pids, build IDs).
//!
//! Where it is applied (one pass at each boundary): [`redact_report`] on the finished model, in
//! `report::build`, before the text layout shortens command lines with `…`; the CLI on the
//! finished text and every JSON string and key ([`redact_json`]); the bundle on every entry's
//! contents and name ([`redact_file_name`], extensions kept). [`redact_environ`] is stricter:
//! `/proc/PID/environ` values are never shown, only the names.
//!
//! One Aho-Corasick pass over the text finds which passes can match at all; then, in order
//! (later passes skip values that already read `[REDACTED]`, so one secret is counted once):
//!
//! 1. **PEM private keys**: `-----BEGIN … PRIVATE KEY-----` through the matching `-----END …
//!    PRIVATE KEY-----` (RFC 7468; PKCS#1 `RSA`, `EC`, `DSA`, PKCS#8, `ENCRYPTED`, `OPENSSH`,
//!    PGP `PRIVATE KEY BLOCK`, SSH2 `---- BEGIN … ----`) is replaced whole, across lines or
//!    inline. A BEGIN without an END (a truncated log, a core's 80-byte `pr_psargs`) redacts to
//!    the end of the text; an END without a BEGIN (a tail that starts inside the key) takes the
//!    base64 words of the lines just above it.
//! 2. **Tokens recognisable by their shape** (`rules::TOKENS`): AWS key ids, Google, GitHub,
//!    GitLab, Stripe, npm, Slack (and webhook URLs), JWTs, SendGrid, Twilio, Heroku,
//!    DigitalOcean, Vault, PyPI, Docker Hub, OpenAI, Anthropic, … by their documented prefixes.
//! 3. **URL passwords**: `scheme://user:PASSWORD@host` → `scheme://user:[REDACTED]@host`
//!    (RFC 3986 userinfo). The password runs to the last `@` before any `/`, `?`, `#` or
//!    whitespace, so an unencoded `@` in it does not leak the rest, and `http://host:8080/a@b`
//!    is not taken for a password.
//! 4. **Password flags of known programs** (`rules::PROGRAMS`): `mysql -pSECRET`, `sshpass -p`,
//!    `redis-cli -a`, `curl -u user:SECRET`, … only after the program on the same line, since
//!    `-p` is a port or a pid to most programs.
//! 5. **Secret-looking keys** followed by `=`, `:` (with or without a space), JSON `"key":
//!    "value"`, or for command-line flags `--password VALUE` (see `keys.rs` for which keys: a
//!    word such as password, token, secret, apikey, cookie, authorization; `--pass` as a flag).
//!    How much is redacted:
//!    - a quoted value: what is inside the quotes (an unclosed quote: to the end of the line);
//!    - after `: ` (an HTTP header or YAML): the rest of the line, except after a quoted JSON
//!      key, where the value stops at `,`, `}`, `]` or whitespace;
//!    - otherwise (`key=value`, `Key:value`, `--flag value`): up to whitespace, `&`, `,`, `;`
//!      or a quote, which ends query strings and logfmt pairs.
//!
//!    For `Authorization`-type keys a leading scheme word (`Bearer`, `Basic`, `Digest`,
//!    `token`, ...) is kept: `Authorization: Basic [REDACTED]`.
//! 6. **Bare bearer tokens**: `Bearer <token>` anywhere (RFC 6750 `b64token`), when the word
//!    after `Bearer` looks like a token (a digit, mixed case, one of `-_~+/=`, or 24+
//!    characters) rather than prose ("the bearer token was rejected").
//!
//! Every pattern is a `regex` automaton (linear in the text; ASCII word boundaries keep the
//! lazy DFA on non-ASCII text), and each pass moves forward only, so a 1 MiB line of near misses
//! costs a few scans of it. No input panics: every pattern is compiled once from a literal, and
//! all slicing is at match boundaries the regex engine reports (UTF-8 character boundaries).

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use regex::{Captures, Regex};

mod keys;
mod model;
mod names;
mod rules;

pub use keys::is_secret_key;
use keys::redact_key_values;
pub use model::redact_report;
pub use names::{numbered_file_name, redact_file_name};
pub use rules::rule_names;

/// The text that replaces a secret.
pub const REDACTED: &str = "[REDACTED]";

/// Text with its secrets replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    /// The text with every secret replaced by `[REDACTED]`.
    pub text: String,
    /// How many secrets were replaced.
    pub count: usize,
}

fn compile(pattern: &str) -> Regex {
    // The patterns are literals in this module and covered by the tests; a failure here is a
    // programming error caught by `cargo test`, not something input can cause.
    Regex::new(pattern).expect("redaction pattern compiles")
}

static PEM_PRIVATE_KEY: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"(?s)-{4,5} ?BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)? ?-{4,5}",
        r"(?:.*?-{4,5} ?END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)? ?-{4,5}|.*\z)",
    ))
});

/// The END line of a PEM private key whose BEGIN line is not in the text (a log tail that starts
/// inside the key).
static PEM_ORPHAN_END: LazyLock<Regex> =
    LazyLock::new(|| compile(r"-{4,5} ?END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)? ?-{4,5}"));

static URL_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    compile(r"(?-u:\b)[A-Za-z][A-Za-z0-9+.\-]*://[^:/@?#\s]*:(?P<pass>[^/?#\s]+)@")
});

/// Candidate `key <sep> value` pairs; [`is_secret_key`] decides whether the key is secret.
static KEY_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r#"(?i)(?:^|[^A-Za-z0-9_.\-])["']?"#,
        r"(?P<key>[A-Za-z0-9_.\-]*?(?:pass|pwd|secret|token|key|auth|credential|session|cookie|pat|jwt|signature)[A-Za-z0-9_.\-]*)",
        r#"(?P<kq>["']?)"#,
        r"(?P<sep>[ \t]*[:=][ \t]*|[ \t]+)",
        // Only the value's first character: its extent is measured in `secret_span`, so a long
        // line costs one scan, not one per candidate key.
        r#"(?P<val>[^\s])"#,
    ))
});

static BEARER: LazyLock<Regex> =
    LazyLock::new(|| compile(r"(?i)(?-u:\b)bearer[ \t]+(?P<tok>[A-Za-z0-9\-._~+/]+=*)"));

/// What the prefilter found a trace of: the passes worth running on a text.
#[derive(Clone, Copy)]
enum Trigger {
    Pem,
    Url,
    KeyValue,
    Bearer,
    Token(usize),
    Program(usize),
}

/// One Aho-Corasick automaton over the literals of every pass (ASCII case-insensitive), and
/// which pass each literal belongs to.
static PREFILTER: LazyLock<(AhoCorasick, Vec<Trigger>)> = LazyLock::new(|| {
    let mut lits: Vec<&str> = Vec::new();
    let mut triggers = Vec::new();
    let mut add = |l: &'static str, t: Trigger| {
        lits.push(l);
        triggers.push(t);
    };
    add("PRIVATE KEY", Trigger::Pem);
    add("://", Trigger::Url);
    for l in [
        "pass",
        "pwd",
        "secret",
        "token",
        "key",
        "auth",
        "credential",
        "session",
        "cookie",
        "pat",
        "jwt",
        "signature",
    ] {
        add(l, Trigger::KeyValue);
    }
    add("bearer", Trigger::Bearer);
    for (i, t) in rules::TOKENS.iter().enumerate() {
        for l in t.literals {
            add(l, Trigger::Token(i));
        }
    }
    for (i, p) in rules::PROGRAMS.iter().enumerate() {
        for l in p.literals {
            add(l, Trigger::Program(i));
        }
    }
    let ac = AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(&lits)
        .expect("redaction literals build an automaton");
    (ac, triggers)
});

/// Which passes to run on `text`, from one pass of the prefilter.
struct Passes {
    pem: bool,
    url: bool,
    key_value: bool,
    bearer: bool,
    tokens: Vec<bool>,
    programs: Vec<bool>,
}

fn passes(text: &str) -> Passes {
    let (ac, triggers) = &*PREFILTER;
    let mut p = Passes {
        pem: false,
        url: false,
        key_value: false,
        bearer: false,
        tokens: vec![false; rules::TOKENS.len()],
        programs: vec![false; rules::PROGRAMS.len()],
    };
    for m in ac.find_overlapping_iter(text) {
        match triggers[m.pattern().as_usize()] {
            Trigger::Pem => p.pem = true,
            Trigger::Url => p.url = true,
            Trigger::KeyValue => p.key_value = true,
            Trigger::Bearer => p.bearer = true,
            Trigger::Token(i) => p.tokens[i] = true,
            Trigger::Program(i) => p.programs[i] = true,
        }
    }
    p
}

/// Replace every secret in `text` with `[REDACTED]` (see the module docs for what counts).
///
/// One prefilter pass over the text picks the passes worth running; each is a linear-time
/// regex scan, so a long line costs a few scans of it, whatever it contains.
pub fn redact(text: &str) -> Redacted {
    let p = passes(text);
    let mut count = 0;
    let mut text = std::borrow::Cow::Borrowed(text);
    if p.pem {
        let t = PEM_PRIVATE_KEY.replace_all(&text, |_: &Captures| {
            count += 1;
            REDACTED
        });
        let t = redact_orphan_pem_ends(&t, &mut count);
        text = t.into();
    }
    for (i, on) in p.tokens.iter().enumerate() {
        if *on {
            let re = &rules::COMPILED_TOKENS[i];
            text = replace_group(re, &text, "s", &mut count, |_| true).into();
        }
    }
    if p.url {
        text = replace_group(&URL_PASSWORD, &text, "pass", &mut count, |_| true).into();
    }
    if p.programs.iter().any(|on| *on) {
        text = redact_program_flags(&text, &p.programs, &mut count).into();
    }
    if p.key_value {
        text = redact_key_values(&text, &mut count).into();
    }
    if p.bearer {
        text = replace_group(&BEARER, &text, "tok", &mut count, looks_like_token).into();
    }
    Redacted {
        text: text.into_owned(),
        count,
    }
}

/// An END line of a private key with no BEGIN before it: the base64 lines just above it (the
/// last word of each line, so a log prefix is kept) through the END line are replaced.
fn redact_orphan_pem_ends(text: &str, count: &mut usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in PEM_ORPHAN_END.find_iter(text) {
        let mut start = m.start();
        // Walk up the lines above the END line while their last word is base64.
        let mut line_end = text[last..m.start()].rfind('\n').map(|i| last + i);
        while let Some(le) = line_end {
            let line_start = text[last..le].rfind('\n').map_or(last, |i| last + i + 1);
            let line = text[line_start..le].trim_end();
            let word_start = line.rfind([' ', '\t']).map_or(0, |i| i + 1);
            let word = &line[word_start..];
            let base64 = word.len() >= 16
                && word
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
            if !base64 {
                break;
            }
            start = line_start + word_start;
            line_end = line_start.checked_sub(1).filter(|i| *i >= last);
        }
        // On the END line itself, a base64 run right before the marker (an inline key).
        let before = &text[last..start];
        let run = before.len()
            - before
                .trim_end_matches(|c: char| c.is_ascii_alphanumeric() || "+/= ".contains(c))
                .len();
        if run >= 16 {
            start -= run;
        }
        out.push_str(&text[last..start]);
        out.push_str(REDACTED);
        last = m.end();
        *count += 1;
    }
    out.push_str(&text[last..]);
    out
}

/// The password flags of [`rules::PROGRAMS`] on the lines where their program appears.
fn redact_program_flags(text: &str, on: &[bool], count: &mut usize) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let mut line = std::borrow::Cow::Borrowed(line);
        for (i, (program, flag)) in rules::COMPILED_PROGRAMS.iter().enumerate() {
            if !on[i] {
                continue;
            }
            let Some(prog) = program.find(&line) else {
                continue;
            };
            let (head, tail) = line.split_at(prog.end());
            let tail = replace_group(flag, tail, "s", count, |s| {
                !s.trim_matches(['"', '\'']).is_empty()
            });
            line = format!("{head}{tail}").into();
        }
        out.push_str(&line);
    }
    out
}

/// Redact every string of a JSON value in place, object keys included; the number of secrets
/// replaced.
pub fn redact_json(v: &mut serde_json::Value) -> usize {
    use serde_json::Value;
    match v {
        Value::String(s) => {
            let r = redact(s);
            *s = r.text;
            r.count
        }
        Value::Array(a) => a.iter_mut().map(redact_json).sum(),
        Value::Object(m) => {
            let mut n = 0;
            let old = std::mem::take(m);
            for (k, mut val) in old {
                n += redact_json(&mut val);
                let k = redact(&k);
                n += k.count;
                m.insert(k.text, val);
            }
            n
        }
        _ => 0,
    }
}

/// Replace capture group `group` of every match of `re` for which `accept` holds (the whole
/// match when the pattern has no such group); values that already read `[REDACTED]` are left.
fn replace_group(
    re: &Regex,
    text: &str,
    group: &str,
    count: &mut usize,
    accept: impl Fn(&str) -> bool,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for caps in re.captures_iter(text) {
        // Without the group (a pattern that has none), the whole match.
        let Some(m) = caps.name(group).or_else(|| caps.get(0)) else {
            continue;
        };
        if m.as_str().starts_with(REDACTED) || !accept(m.as_str()) {
            continue;
        }
        out.push_str(&text[last..m.start()]);
        out.push_str(REDACTED);
        last = m.end();
        *count += 1;
    }
    out.push_str(&text[last..]);
    out
}

/// Whether the word after `Bearer` is a credential rather than an English word.
fn looks_like_token(tok: &str) -> bool {
    let tok = tok.trim_end_matches('.');
    let has_digit = tok.bytes().any(|b| b.is_ascii_digit());
    let mixed_case =
        tok.bytes().any(|b| b.is_ascii_lowercase()) && tok.bytes().any(|b| b.is_ascii_uppercase());
    let has_symbol = tok.bytes().any(|b| b"-_~+/=".contains(&b));
    tok.len() >= 8 && (has_digit || mixed_case || has_symbol) || tok.len() >= 24
}

/// `/proc/PID/environ` (NUL-separated `NAME=value`) → one `NAME=[REDACTED]` line per variable.
///
/// Values are never kept, whatever the name: environments carry credentials under any name. A
/// name that is not a plain identifier (`[A-Za-z0-9_.-]`, which an entry without `=` or with
/// binary junk would fail) is itself replaced, since it may be a value.
pub fn redact_environ(raw: &[u8]) -> String {
    let mut out = String::new();
    for entry in raw.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let name = match entry.iter().position(|b| *b == b'=') {
            Some(eq) if eq > 0 => &entry[..eq],
            _ => b"[REDACTED]".as_slice(),
        };
        let plain = name
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        let name = if plain {
            name
        } else {
            b"[REDACTED]".as_slice()
        };
        out.push_str(&String::from_utf8_lossy(name));
        out.push('=');
        out.push_str(REDACTED);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests;
