//! `key=value`, `key: value` and `"key": "value"` pairs whose key names a secret (password,
//! token, api key, …, in any spelling: `dbPassword`, `X-Api-Key`, `AWS_SECRET_ACCESS_KEY`),
//! with the value's extent found the way a shell, a URL query or JSON would end it.

use super::*;

/// Pass 4: values of secret-looking keys.
pub(super) fn redact_key_values(text: &str, count: &mut usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut pos = 0;
    let mut line_end = 0;
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
        // The end of the value's line, found once per line: candidates only move forward, and
        // a search per candidate would make a long line quadratic.
        if line_end < val.start() {
            line_end = text[val.start()..]
                .find(['\r', '\n'])
                .map_or(text.len(), |i| val.start() + i);
        }
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
    if !is_secret_key(key) && !is_pass_flag(key) {
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
        "accountkey",
        "pat",
        "jwt",
    ];
    const PAIRS: &[(&str, &str)] = &[
        ("api", "key"),
        ("access", "key"),
        ("secret", "key"),
        ("private", "key"),
        ("client", "secret"),
        ("account", "key"),
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
        "accountkey",
        "signingkey",
        "encryptionkey",
        "masterkey",
        "amzsignature",
        "googsignature",
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

/// `--pass`, `--db-pass`: a command-line flag whose last word is "pass" (`pass=3` in a test
/// summary is not a secret, `--pass X` on a command line is).
fn is_pass_flag(key: &str) -> bool {
    key.starts_with("--") && split_words(key).last().is_some_and(|w| w == "pass")
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
