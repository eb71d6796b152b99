use super::*;

mod planted;
use planted::planted;

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
        "nginx -p 8080 -c /etc/nginx.conf",
        "ssh -p2222 host",
        "ps -p1234 -o rss",
        "psql -h db -p 5432 -U app",
        "mysql -h db -u root -p app",
        "build id 4f1c2e9a8b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0",
        "pod uid 0f8e2a6c-1b3d-4e5f-8a9b-7c6d5e4f3a2b",
        "container 8d6e4a1f9b2c7e3d5a0f8b6c4e2d1a9f7b5c3e1d0a8f6b4c2e0d9a7f5b3c1e0d",
        "crash_signature: SIGSEGV in main",
        "pk_live_0123456789abcdefghijklmn is public",
        "sk-prod-cluster-frontend-west1 node",
        "pass: 10 fail: 2",
        "ASIAN market",
        "task disk ask SKIP",
        "gcc -O2 -pthread -pipe -pedantic -pie -pg -o app app.c",
        "rsync -pavz src/ dst/",
        "nginx -p/srv/www -c conf",
        "java -p lib -m app",
        "tar -pczf backup.tgz dir",
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
        "mysql ",
        "-p",
        "sshpass ",
        "curl -u a:",
        "-----END PRIVATE KEY-----",
        "MIIEvQIBADANBgkqhkiG9w0B",
        "glpat-",
        "sk-",
        "?sig=",
        "machine a login b password ",
        "AKIA0123456789ABCDEF",
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
    let raw =
        b"PATH=/usr/bin\0AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI\0EMPTY=\0noequals\0\0weird name=v\0";
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

#[test]
fn an_attached_p_value_that_looks_like_a_password_is_redacted_after_any_program() {
    for (text, want) in [
        (
            "./crashy -pPLANTEDcoreArgPw password=x",
            "./crashy -p[REDACTED] password=[REDACTED]",
        ),
        ("app --x -ps3cr3tpass", "app --x -p[REDACTED]"),
        ("worker -p9f8e7dcafe", "worker -p[REDACTED]"),
        ("run '-pHunter2' now", "run '-p[REDACTED]' now"),
    ] {
        assert_eq!(redact(text).text, want, "{text}");
    }
    // Digits only (a port, a pid), a path, lowercase words (gcc's flags) are kept.
    for keep in [
        "ssh -p2222 h",
        "ps -p1234",
        "nginx -p/srv",
        "gcc -pthread -pipe",
    ] {
        assert_eq!(redact(keep).text, keep);
    }
}

#[test]
fn mysql_short_flag_needs_a_mysql_program_on_the_line() {
    assert_eq!(
        redact("mysql -h db -uroot -pPLANTED app").text,
        "mysql -h db -uroot -p[REDACTED] app"
    );
    assert_eq!(
        redact("./crashy mysql -pPLANTED").text,
        "./crashy mysql -p[REDACTED]"
    );
    // The same flag after another program is a port or a pid, and the next line is not mysql's.
    for keep in [
        "ssh -p2222 host",
        "taskset -p1 42",
        "mysql ok\nssh -p2222 h",
    ] {
        assert_eq!(redact(keep).text, keep);
    }
}

#[test]
fn file_names_are_redacted_and_keep_their_extensions() {
    let r = redact_file_name("logs/tmp_rt_logs_password=PLANTEDinFilename.log.tail");
    assert_eq!(r.text, "logs/tmp_rt_logs_password=[REDACTED].log.tail");
}

#[test]
fn json_keys_and_values() {
    let mut v = serde_json::json!({
        "args": "./c mysql -pPLANTEDcoreArgPw",
        "token=PLANTEDinKey": 1,
        "list": ["x", "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"],
    });
    assert_eq!(redact_json(&mut v), 3);
    let s = v.to_string();
    assert!(!s.contains("PLANTED") && !s.contains("ghp_aBcD"), "{s}");
}

#[test]
fn every_rule_is_in_the_docs_table() {
    let doc = include_str!("../../../docs/redaction.md");
    for name in rule_names() {
        assert!(
            doc.contains(&format!("`{name}`")),
            "{name} is not in docs/redaction.md"
        );
    }
}

#[test]
fn a_mebibyte_line_of_near_misses_is_linear() {
    // Prefixes of every form without their bodies, keys without values, flags without
    // programs: each pass finds candidates all along the line and rejects them.
    const NEAR: &[&str] = &[
        "AKIA",
        "ghp_x ",
        "glpat-x ",
        "AIza ",
        "sk_live_ ",
        "npm_ ",
        "xoxb- ",
        "eyJ.eyJ ",
        "-----BEGIN X-----",
        "-----END PRIVATE KEY",
        "password ",
        "token",
        "key:",
        "http://a:",
        "@",
        "-p1 ",
        "mysqlx ",
        "Bearer a ",
        "SG. ",
        "sig",
        "pass: ",
        "ü",
        "é ",
        "sk-ant ",
        "hvs. ",
        "dop_v1_ ",
        "machine a login ",
        "\"token\"",
        "'",
    ];
    let mut line = String::new();
    let mut i = 0;
    while line.len() < 1 << 20 {
        line.push_str(NEAR[i % NEAR.len()]);
        i += 1;
    }
    let t0 = std::time::Instant::now();
    let r = redact(&line);
    let took = t0.elapsed();
    assert!(r.text.len() >= line.len() / 2);
    // Well under a second in an optimised build; the debug build of the regex crates is about
    // ten times slower, hence the bound.
    let bound = if cfg!(debug_assertions) { 10.0 } else { 1.0 };
    assert!(took.as_secs_f64() < bound, "{took:?} for 1 MiB");
    eprintln!("1 MiB of near misses: {took:?}");
}
