//! Secret redaction for everything `clw-diag report` puts in front of a human or into a bundle.
//!
//! A diagnostics report is pasted into tickets and chat, so it must not carry credentials that
//! happened to be in a log line, a config file or a process's environment. [`redact`] replaces
//! each secret VALUE with `[REDACTED]` and keeps the key, the quotes, the URL and the header name
//! around it, so the text stays readable. It only redacts a value that is recognisable as a
//! secret: either its own shape says so, or it follows a secret-looking key with `=`, `:` or JSON
//! quoting. Prose such as "token bucket refill" or "password reset requested" is left alone.
//!
//! The passes, in the order they run (later passes skip values that already read `[REDACTED]`,
//! so one secret is counted once):
//!
//! 1. **PEM private keys**: `-----BEGIN … PRIVATE KEY-----` through the matching `-----END …
//!    PRIVATE KEY-----` (RFC 7468; covers PKCS#1 `RSA`, `EC`, `DSA`, PKCS#8, `ENCRYPTED` and
//!    `OPENSSH` keys) is replaced whole. A BEGIN line without an END (a truncated log) redacts to
//!    the end of the text.
//! 2. **Tokens recognisable by their shape**, wherever they appear:
//!    - AWS access key ids: `AKIA` (long-term) / `ASIA` (STS temporary) + 16 upper-case
//!      alphanumerics (AWS IAM "Understanding unique ID prefixes").
//!    - Google API keys: `AIza` + 35 characters of `[0-9A-Za-z_-]` (Google Cloud API keys docs;
//!      the same pattern gitleaks and GitHub secret scanning use).
//!    - GitHub tokens: `ghp_` (classic PAT), `gho_` (OAuth), `ghu_` (user-to-server), `ghs_`
//!      (server-to-server), `ghr_` (refresh) + alphanumerics, and fine-grained `github_pat_`
//!      (GitHub blog "Behind GitHub's new authentication token formats", 2021).
//!    - Slack tokens: `xoxb-`, `xoxa-`, `xoxp-`, `xoxr-`, `xoxo-`, `xoxs-` (Slack token types).
//!    - JWTs: three base64url segments, the first two JSON objects so they start `eyJ` (`{"`
//!      base64url-encoded; RFC 7519). The signature may be empty (`alg: none`).
//! 3. **URL passwords**: `scheme://user:PASSWORD@host` → `scheme://user:[REDACTED]@host`
//!    (RFC 3986 userinfo; database and broker URLs carry passwords this way). The password runs
//!    to the last `@` before any `/`, `?`, `#` or whitespace, so an unencoded `@` in it does not
//!    leak the rest, and `http://host:8080/a@b` is not taken for a password.
//! 4. **Secret-looking keys** followed by `=`, `:` (with or without a space), JSON `"key":
//!    "value"`, or for command-line flags `--password VALUE`. A key is one token of
//!    `[A-Za-z0-9_.-]`, split at `_`, `-`, `.` and camelCase into words; it is secret when a word
//!    is one of password, passwd, pwd, passphrase, secret, token, auth, authorization,
//!    credential(s), session, sessionid, cookie, apikey, accesskey, secretkey, privatekey,
//!    clientsecret, accesstoken, refreshtoken, authtoken, when two adjacent words are api/access/
//!    secret/private + key or client + secret, or when the key glued together ends in password,
//!    passwd, secret, token, apikey, accesskey, secretkey, privatekey, credentials or cookie
//!    (`DBPASSWORD`). This covers `DB_PASSWORD=`, `x-api-key:`, `aws_secret_access_key =`,
//!    `Cookie:` / `Set-Cookie:` and `Authorization:` / `Proxy-Authorization:` headers. How much
//!    is redacted:
//!    - a quoted value: what is inside the quotes (an unclosed quote: to the end of the line);
//!    - after `: ` (an HTTP header or YAML): the rest of the line, except after a quoted JSON
//!      key, where the value stops at `,`, `}`, `]` or whitespace;
//!    - otherwise (`key=value`, `Key:value`, `--flag value`): up to whitespace, `&`, `,`, `;`
//!      or a quote, which ends query strings and logfmt pairs.
//!
//!    For `Authorization`-type keys a leading scheme word (`Bearer`, `Basic`, `Digest`,
//!    `token`, ...) is kept: `Authorization: Basic [REDACTED]`.
//! 5. **Bare bearer tokens**: `Bearer <token>` anywhere (RFC 6750 `b64token`), when the word
//!    after `Bearer` looks like a token (a digit, mixed case, one of `-_~+/=`, or 24+
//!    characters) rather than prose ("the bearer token was rejected").
//!
//! [`redact_environ`] is stricter: `/proc/PID/environ` values are never shown, only the names.
//!
//! No input panics: every pattern is compiled once from a literal, and all slicing is at match
//! boundaries the regex engine reports (always UTF-8 character boundaries).

use std::sync::LazyLock;

use regex::{Captures, Regex};

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
    // The patterns are literals in this file and covered by the tests; a failure here is a
    // programming error caught by `cargo test`, not something input can cause.
    Regex::new(pattern).expect("redaction pattern compiles")
}

static PEM_PRIVATE_KEY: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY-----|.*\z)",
    )
});

/// Tokens whose shape alone says they are secrets (pass 2).
static SHAPED_TOKENS: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b",
        r"|\bAIza[0-9A-Za-z_\-]{35}",
        r"|\bgh[pousr]_[A-Za-z0-9]{20,255}\b",
        r"|\bgithub_pat_[A-Za-z0-9_]{20,255}\b",
        r"|\bxox[abposr]-[A-Za-z0-9\-]{10,}",
        r"|\beyJ[A-Za-z0-9_\-]+\.eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*",
    ))
});

static URL_PASSWORD: LazyLock<Regex> =
    LazyLock::new(|| compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^:/@?#\s]*:(?P<pass>[^/?#\s]+)@"));

/// Candidate `key <sep> value` pairs; [`is_secret_key`] decides whether the key is secret.
static KEY_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r#"(?i)(?:^|[^A-Za-z0-9_.\-])["']?"#,
        r"(?P<key>[A-Za-z0-9_.\-]*?(?:pass|pwd|secret|token|key|auth|credential|session|cookie)[A-Za-z0-9_.\-]*)",
        r#"(?P<kq>["']?)"#,
        r"(?P<sep>[ \t]*[:=][ \t]*|[ \t]+)",
        // Only the value's first character: its extent is measured in `secret_span`, so a long
        // line costs one scan, not one per candidate key.
        r#"(?P<val>[^\s])"#,
    ))
});

static BEARER: LazyLock<Regex> =
    LazyLock::new(|| compile(r"(?i)\bbearer[ \t]+(?P<tok>[A-Za-z0-9\-._~+/]+=*)"));

/// Replace every secret in `text` with `[REDACTED]` (see the module docs for what counts).
pub fn redact(text: &str) -> Redacted {
    let mut count = 0;
    let text = PEM_PRIVATE_KEY.replace_all(text, |_: &Captures| {
        count += 1;
        REDACTED
    });
    let text = SHAPED_TOKENS.replace_all(&text, |_: &Captures| {
        count += 1;
        REDACTED
    });
    let text = replace_group(&URL_PASSWORD, &text, "pass", &mut count, |_| true);
    let text = redact_key_values(&text, &mut count);
    let text = replace_group(&BEARER, &text, "tok", &mut count, looks_like_token);
    Redacted { text, count }
}

/// Replace capture group `group` of every match of `re` for which `accept` holds.
/// Redact every string of a JSON value in place; the number of secrets replaced.
pub fn redact_json(v: &mut serde_json::Value) -> usize {
    use serde_json::Value;
    match v {
        Value::String(s) => {
            let r = redact(s);
            *s = r.text;
            r.count
        }
        Value::Array(a) => a.iter_mut().map(redact_json).sum(),
        Value::Object(m) => m.values_mut().map(redact_json).sum(),
        _ => 0,
    }
}

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
        let Some(m) = caps.name(group) else { continue };
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

/// Pass 4: values of secret-looking keys.
fn redact_key_values(text: &str, count: &mut usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut pos = 0;
    while pos <= text.len() {
        let Some(caps) = KEY_VALUE.captures_at(text, pos) else {
            break;
        };
        let (Some(key), Some(sep), Some(val)) =
            (caps.name("key"), caps.name("sep"), caps.name("val"))
        else {
            break;
        };
        let key_quoted = caps.name("kq").is_some_and(|m| !m.as_str().is_empty());
        let line_end = text[val.start()..]
            .find(['\r', '\n'])
            .map_or(text.len(), |i| val.start() + i);
        let line = &text[val.start()..line_end];
        match secret_span(
            text,
            key.as_str(),
            key_quoted,
            sep.as_str(),
            val.start(),
            line,
        ) {
            Some((start, end)) => {
                out.push_str(&text[last..start]);
                out.push_str(REDACTED);
                last = end;
                pos = end;
                *count += 1;
            }
            None => pos = key.end(),
        }
    }
    out.push_str(&text[last..]);
    out
}

/// The byte range of `text` to redact for this key/separator/value, or None to leave it.
fn secret_span(
    text: &str,
    key: &str,
    key_quoted: bool,
    sep: &str,
    val_start: usize,
    val: &str,
) -> Option<(usize, usize)> {
    // `val` runs from the value's first character to the end of its line.
    let flag_style = !sep.contains([':', '=']);
    if flag_style && !key.starts_with("--") {
        return None;
    }
    if !is_secret_key(key) {
        return None;
    }
    // `auth::token` is a Rust path, `token == x` a comparison, `password:=` Go: not pairs.
    if val.starts_with([':', '=']) || (flag_style && val.starts_with('-')) {
        return None;
    }
    let authorization = {
        let k = key.to_ascii_lowercase();
        k.ends_with("authorization") || k.ends_with("auth")
    };
    let (mut start, mut end);
    if let Some(q) = val.chars().next().filter(|c| *c == '"' || *c == '\'') {
        start = val_start + 1;
        end = val_start + closing_quote(val, q).unwrap_or(val.trim_end().len());
    } else {
        start = val_start;
        let rest_of_line = sep.trim_start().starts_with(':') && sep.ends_with([' ', '\t']);
        let len = if rest_of_line && !key_quoted {
            val.trim_end().len()
        } else if rest_of_line {
            val.find(|c: char| c.is_whitespace() || matches!(c, ',' | '}' | ']'))
                .unwrap_or(val.len())
        } else {
            val.find(|c: char| c.is_whitespace() || matches!(c, '&' | ',' | ';' | '"' | '\''))
                .unwrap_or(val.len())
        };
        end = val_start + len;
        if authorization && !rest_of_line && is_scheme_word(&text[start..end]) {
            // `authorization=Basic dXNlcg==`: keep the scheme, take the next word as well.
            let after = &text[end..];
            let gap = after.len() - after.trim_start_matches([' ', '\t']).len();
            let word = after[gap..]
                .find(|c: char| c.is_whitespace() || matches!(c, '&' | ',' | ';' | '"' | '\''))
                .unwrap_or(after.len() - gap);
            if gap > 0 && word > 0 {
                end += gap + word;
            }
        }
    }
    if authorization {
        // Keep a leading scheme word: `Authorization: Bearer [REDACTED]`.
        let v = &text[start..end];
        if let Some(space) = v.find([' ', '\t']) {
            let rest = v[space..].trim_start();
            if is_scheme_word(&v[..space]) && !rest.is_empty() {
                start = end - rest.len();
            }
        }
    }
    let secret = &text[start..end];
    if secret.trim().is_empty() || secret.starts_with(REDACTED) {
        return None;
    }
    Some((start, end))
}

/// Byte offset of the quote closing the string that opens `s` (`"` honours backslash escapes).
fn closing_quote(s: &str, q: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        if escaped {
            escaped = false;
        } else if c == '\\' && q == '"' {
            escaped = true;
        } else if c == q {
            return Some(i);
        }
    }
    None
}

/// HTTP authentication schemes (IANA registry, plus the common `token` and `ApiKey`) kept in
/// front of a redacted credential. Only known names: an unknown first word may be the secret.
fn is_scheme_word(s: &str) -> bool {
    const SCHEMES: &[&str] = &[
        "basic",
        "bearer",
        "digest",
        "token",
        "negotiate",
        "ntlm",
        "hoba",
        "mutual",
        "oauth",
        "apikey",
        "dpop",
        "gnap",
        "privatetoken",
        "scram-sha-1",
        "scram-sha-256",
        "vapid",
        "aws4-hmac-sha256",
    ];
    SCHEMES.iter().any(|k| s.eq_ignore_ascii_case(k))
}

/// Whether a key (`DB_PASSWORD`, `x-api-key`, `clientSecret`) names a secret; see module docs.
pub fn is_secret_key(key: &str) -> bool {
    const WORDS: &[&str] = &[
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "token",
        "auth",
        "authorization",
        "credential",
        "credentials",
        "session",
        "sessionid",
        "cookie",
        "apikey",
        "accesskey",
        "secretkey",
        "privatekey",
        "clientsecret",
        "accesstoken",
        "refreshtoken",
        "authtoken",
    ];
    const PAIRS: &[(&str, &str)] = &[
        ("api", "key"),
        ("access", "key"),
        ("secret", "key"),
        ("private", "key"),
        ("client", "secret"),
    ];
    const SUFFIXES: &[&str] = &[
        "password",
        "passwd",
        "secret",
        "token",
        "apikey",
        "accesskey",
        "secretkey",
        "privatekey",
        "credentials",
        "cookie",
        "sessionid",
        "auth",
    ];
    let words = split_words(key);
    if words.iter().any(|w| WORDS.contains(&w.as_str())) {
        return true;
    }
    if words
        .windows(2)
        .any(|p| PAIRS.contains(&(p[0].as_str(), p[1].as_str())))
    {
        return true;
    }
    let glued: String = words.concat();
    SUFFIXES.iter().any(|s| glued.ends_with(s))
}

/// Lower-cased words of a key, split at `_`, `-`, `.` and lower→upper camelCase boundaries.
fn split_words(key: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in key.chars() {
        if matches!(c, '_' | '-' | '.') {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
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
mod tests {
    use super::*;

    /// Each case: the text and the secret values planted in it.
    fn planted() -> Vec<(String, Vec<&'static str>)> {
        let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAq7BFUpkGp3+LQmlQ\nYx2u9Hn0TqzR3s8YvFv1Qk\n-----END RSA PRIVATE KEY-----";
        vec![
            ("Authorization: Bearer abc123def456ghi789".into(), vec!["abc123def456ghi789"]),
            ("authorization: Basic dXNlcjpodW50ZXIy".into(), vec!["dXNlcjpodW50ZXIy"]),
            ("Proxy-Authorization: token s3cr3tProxyTok".into(), vec!["s3cr3tProxyTok"]),
            ("Authorization: Digest username=\"bob\", response=\"6629fae49393a05397450978507c4ef1\"".into(), vec!["6629fae49393a05397450978507c4ef1"]),
            ("curl -H 'Authorization: Bearer qwertyUIOP12345' http://x".into(), vec!["qwertyUIOP12345"]),
            ("{\"headers\":{\"Authorization\":\"Bearer zxcvbnm987654\",\"Host\":\"a\"}}".into(), vec!["zxcvbnm987654"]),
            ("sent with bearer Zm9vYmFyYmF6cXV4MTIz to api".into(), vec!["Zm9vYmFyYmF6cXV4MTIz"]),
            ("postgres://app:Hunter2Pass@db.internal:5432/app".into(), vec!["Hunter2Pass"]),
            ("amqp://guest:gu3st!pw@rabbit/".into(), vec!["gu3st!pw"]),
            ("redis://:onlypassword99@cache:6379".into(), vec!["onlypassword99"]),
            ("mongodb://u:p@ss@w0rd@mongo:27017/db".into(), vec!["p@ss@w0rd", "ss@w0rd"]),
            ("DB_PASSWORD=correct-horse-battery".into(), vec!["correct-horse-battery"]),
            ("password=p4ss user=alice".into(), vec!["p4ss"]),
            ("export MYSQLPASSWORD='with spaces inside'".into(), vec!["with spaces inside"]),
            ("x-api-key: 0123456789abcdef".into(), vec!["0123456789abcdef"]),
            ("api_key = k3yk3yk3y".into(), vec!["k3yk3yk3y"]),
            ("apikey=zz9zz9zz9".into(), vec!["zz9zz9zz9"]),
            ("{\"client_secret\": \"cs-555-secret\", \"user\": \"bob\"}".into(), vec!["cs-555-secret"]),
            ("{\"token\":\"tok_live_777\"}".into(), vec!["tok_live_777"]),
            ("{\"sessionId\": 9876543210}".into(), vec!["9876543210"]),
            ("GET /cb?code=1&access_token=at-xyz-123&state=s".into(), vec!["at-xyz-123"]),
            ("Cookie: sid=abcdefg1234; csrftoken=zzz999".into(), vec!["abcdefg1234", "zzz999"]),
            ("Set-Cookie: session=deadbeefcafe; Path=/; HttpOnly".into(), vec!["deadbeefcafe"]),
            ("db:\n  password: yaml-secret-42\n  user: app".into(), vec!["yaml-secret-42"]),
            ("&{User:bob Password:gostructpw}".into(), vec!["gostructpw"]),
            ("mysqld --user=app --password s3cretflag --port 3306".into(), vec!["s3cretflag"]),
            ("credentials=AbC-cred-99".into(), vec!["AbC-cred-99"]),
            ("auth=a1b2c3d4".into(), vec!["a1b2c3d4"]),
            ("private_key: pk-123-456".into(), vec!["pk-123-456"]),
            ("access_key=ak-zzz-111".into(), vec!["ak-zzz-111"]),
            ("secret_key=sk-zzz-222".into(), vec!["sk-zzz-222"]),
            ("PWD=/root/secretdir".into(), vec!["/root/secretdir"]),
            ("passwd: \"unterminated quoted pw".into(), vec!["unterminated quoted pw"]),
            ("aws_access_key_id=AKIAIOSFODNN7EXAMPLE".into(), vec!["AKIAIOSFODNN7EXAMPLE"]),
            ("creds ASIAY34FZKBOKMUTVV7A expire soon".into(), vec!["ASIAY34FZKBOKMUTVV7A"]),
            ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(), vec!["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"]),
            ("maps key AIzaSyA1234567890abcdefghijklmnopqrstuv in url".into(), vec!["AIzaSyA1234567890abcdefghijklmnopqrstuv"]),
            ("cloned with ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789".into(), vec!["ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"]),
            ("oauth gho_16C7e42F292c6912E7710c838347Ae178B4a ok".into(), vec!["gho_16C7e42F292c6912E7710c838347Ae178B4a"]),
            ("app ghs_zYxWvUtSrQpOnMlKjIhGfEdCbA9876543210".into(), vec!["ghs_zYxWvUtSrQpOnMlKjIhGfEdCbA9876543210"]),
            ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz".into(), vec!["github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"]),
            ("slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp".into(), vec!["xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp"]),
            ("slack xoxp-98765-43210-abcdef".into(), vec!["xoxp-98765-43210-abcdef"]),
            (format!("jwt {jwt} seen"), vec![jwt]),
            (format!("key file:\n{pem}\ntrailing line"), vec!["MIIEowIBAAKCAQEAq7BFUpkGp3+LQmlQ", "Yx2u9Hn0TqzR3s8YvFv1Qk"]),
            ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n(truncated)".into(), vec!["b3BlbnNzaC1rZXktdjEAAAAA"]),
        ]
    }

    #[test]
    fn every_planted_secret_is_redacted() {
        for (text, secrets) in planted() {
            let r = redact(&text);
            for s in &secrets {
                assert!(!r.text.contains(s), "{s:?} survived in {:?}", r.text);
            }
            assert!(
                r.count >= 1,
                "count {} for {text:?} -> {:?}",
                r.count,
                r.text
            );
            assert!(r.text.contains(REDACTED), "{:?}", r.text);
        }
    }

    #[test]
    fn all_planted_secrets_in_one_text() {
        let cases = planted();
        let all: String = cases.iter().map(|(t, _)| format!("{t}\n")).collect();
        let r = redact(&all);
        for (_, secrets) in &cases {
            for s in secrets {
                assert!(!r.text.contains(s), "{s:?} survived");
            }
        }
    }

    #[test]
    fn structure_is_kept() {
        let cases = [
            (
                "Authorization: Bearer abc123def456ghi789",
                "Authorization: Bearer [REDACTED]",
            ),
            (
                "postgres://app:Hunter2Pass@db:5432/x",
                "postgres://app:[REDACTED]@db:5432/x",
            ),
            ("password=p4ss user=alice", "password=[REDACTED] user=alice"),
            (
                "{\"token\": \"t0k\", \"user\": \"bob\"}",
                "{\"token\": \"[REDACTED]\", \"user\": \"bob\"}",
            ),
            ("a?x=1&token=abc&y=2", "a?x=1&token=[REDACTED]&y=2"),
            (
                "authorization=Basic dXNlcg== next=1",
                "authorization=Basic [REDACTED] next=1",
            ),
            ("x-api-key: 0123456789abcdef", "x-api-key: [REDACTED]"),
            (
                "token: ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
                "token: [REDACTED]",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(redact(input).text, want, "input {input:?}");
        }
        // One secret, counted once even when several passes could see it.
        assert_eq!(
            redact("token: ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789").count,
            1
        );
        assert_eq!(redact("Authorization: Bearer abc123def456ghi789").count, 1);
    }

    #[test]
    fn innocent_text_is_byte_identical() {
        let innocent = [
            "token bucket refill rate 100/s",
            "password reset requested for user=alice",
            "the bearer token was rejected by the server",
            "Bearer authentication failed",
            "https://example.com:8443/path?q=1&page=2",
            "http://host:8080/a@b",
            "user=alice pid=42 comm=nginx rss_kb=1024",
            "Out of memory: Killed process 1234 (java) total-vm:123456kB, anon-rss:65432kB",
            "sshd[812]: pam_unix(sshd:session): session opened for user root by (uid=0)",
            "author=bob monkey=3 keyboard: us",
            "max_tokens=512 passed=3 PASS",
            "let t = auth::token::new();",
            "Password:",
            "password=",
            "key=value",
            "",
            "ünïcödé tökën résumé – no secrets here ✓",
        ];
        for text in innocent {
            let r = redact(text);
            assert_eq!(r.text, text, "changed");
            assert_eq!(r.count, 0, "{text:?}");
        }
    }

    #[test]
    fn no_panic_on_odd_input() {
        let odd = [
            "password=\"",
            "token:",
            "token: ",
            "'",
            "\"password\"",
            "--password",
            "--password -x",
            "Authorization:   ",
            "Authorization: Bearer",
            "authorization=Basic",
            "-----BEGIN PRIVATE KEY-----",
            "eyJ.eyJ.",
            "://:@",
            "token=ä€😀 next",
            "\u{0}\u{fffd}password\u{0}=\u{fffd}",
        ];
        for text in odd {
            let _ = redact(text);
        }
        let r = redact("token=ä€😀 next");
        assert_eq!(r.text, "token=[REDACTED] next");
    }

    #[test]
    fn no_panic_on_random_input() {
        // Random mixes of the characters the patterns care about, plus arbitrary bytes made
        // UTF-8 the way callers do it (lossy conversion).
        const PIECES: &[&str] = &[
            "password",
            "token",
            "Authorization",
            "Bearer ",
            ":",
            "=",
            " ",
            "\"",
            "'",
            "\\",
            "\n",
            "://",
            "@",
            "/",
            "-----BEGIN PRIVATE KEY-----",
            "-----END",
            "eyJ",
            ".",
            "AKIA",
            "ghp_",
            "xoxb-",
            "--",
            "&",
            "é",
            "😀",
            "\u{0}",
            "[REDACTED]",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..3000 {
            let mut text = String::new();
            for _ in 0..(next() % 24) {
                let r = next();
                if r % 5 == 0 {
                    let bytes: Vec<u8> = (0..r % 7).map(|_| next() as u8).collect();
                    text.push_str(&String::from_utf8_lossy(&bytes));
                } else {
                    text.push_str(PIECES[(r % PIECES.len() as u64) as usize]);
                }
            }
            let r = redact(&text);
            assert!(r.count > 0 || r.text == text, "{text:?}");
        }
    }

    #[test]
    fn secret_keys() {
        for k in [
            "DB_PASSWORD",
            "x-api-key",
            "clientSecret",
            "aws_secret_access_key",
            "GITHUB_TOKEN",
            "DBPASSWORD",
            "spring.datasource.password",
            "Proxy-Authorization",
            "JSESSIONID",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in [
            "author",
            "monkey",
            "max_tokens",
            "keyboard",
            "passed",
            "user",
            "key",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn environ_keeps_only_names() {
        let raw = b"PATH=/usr/bin\0AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI\0EMPTY=\0noequals\0\0weird name=v\0";
        let out = redact_environ(raw);
        assert_eq!(
            out,
            "PATH=[REDACTED]\nAWS_SECRET_ACCESS_KEY=[REDACTED]\nEMPTY=[REDACTED]\n\
             [REDACTED]=[REDACTED]\n[REDACTED]=[REDACTED]\n"
        );
        assert!(!out.contains("wJalrXUtnFEMI"));
        assert!(!out.contains("/usr/bin"));
        assert_eq!(redact_environ(b""), "");
        assert_eq!(redact_environ(b"\xff\xfe=\x00"), "[REDACTED]=[REDACTED]\n");
    }
}
