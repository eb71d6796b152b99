use super::*;

/// Each case: the text and the secret values planted in it.
fn planted() -> Vec<(String, Vec<&'static str>)> {
    let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAq7BFUpkGp3+LQmlQ\nYx2u9Hn0TqzR3s8YvFv1Qk\n-----END RSA PRIVATE KEY-----";
    vec![
        (
            "Authorization: Bearer abc123def456ghi789".into(),
            vec!["abc123def456ghi789"],
        ),
        (
            "authorization: Basic dXNlcjpodW50ZXIy".into(),
            vec!["dXNlcjpodW50ZXIy"],
        ),
        (
            "Proxy-Authorization: token s3cr3tProxyTok".into(),
            vec!["s3cr3tProxyTok"],
        ),
        (
            "Authorization: Digest username=\"bob\", response=\"6629fae49393a05397450978507c4ef1\""
                .into(),
            vec!["6629fae49393a05397450978507c4ef1"],
        ),
        (
            "curl -H 'Authorization: Bearer qwertyUIOP12345' http://x".into(),
            vec!["qwertyUIOP12345"],
        ),
        (
            "{\"headers\":{\"Authorization\":\"Bearer zxcvbnm987654\",\"Host\":\"a\"}}".into(),
            vec!["zxcvbnm987654"],
        ),
        (
            "sent with bearer Zm9vYmFyYmF6cXV4MTIz to api".into(),
            vec!["Zm9vYmFyYmF6cXV4MTIz"],
        ),
        (
            "postgres://app:Hunter2Pass@db.internal:5432/app".into(),
            vec!["Hunter2Pass"],
        ),
        ("amqp://guest:gu3st!pw@rabbit/".into(), vec!["gu3st!pw"]),
        (
            "redis://:onlypassword99@cache:6379".into(),
            vec!["onlypassword99"],
        ),
        (
            "mongodb://u:p@ss@w0rd@mongo:27017/db".into(),
            vec!["p@ss@w0rd", "ss@w0rd"],
        ),
        (
            "DB_PASSWORD=correct-horse-battery".into(),
            vec!["correct-horse-battery"],
        ),
        ("password=p4ss user=alice".into(), vec!["p4ss"]),
        (
            "export MYSQLPASSWORD='with spaces inside'".into(),
            vec!["with spaces inside"],
        ),
        (
            "x-api-key: 0123456789abcdef".into(),
            vec!["0123456789abcdef"],
        ),
        ("api_key = k3yk3yk3y".into(), vec!["k3yk3yk3y"]),
        ("apikey=zz9zz9zz9".into(), vec!["zz9zz9zz9"]),
        (
            "{\"client_secret\": \"cs-555-secret\", \"user\": \"bob\"}".into(),
            vec!["cs-555-secret"],
        ),
        ("{\"token\":\"tok_live_777\"}".into(), vec!["tok_live_777"]),
        ("{\"sessionId\": 9876543210}".into(), vec!["9876543210"]),
        (
            "GET /cb?code=1&access_token=at-xyz-123&state=s".into(),
            vec!["at-xyz-123"],
        ),
        (
            "Cookie: sid=abcdefg1234; csrftoken=zzz999".into(),
            vec!["abcdefg1234", "zzz999"],
        ),
        (
            "Set-Cookie: session=deadbeefcafe; Path=/; HttpOnly".into(),
            vec!["deadbeefcafe"],
        ),
        (
            "db:\n  password: yaml-secret-42\n  user: app".into(),
            vec!["yaml-secret-42"],
        ),
        ("&{User:bob Password:gostructpw}".into(), vec!["gostructpw"]),
        (
            "mysqld --user=app --password s3cretflag --port 3306".into(),
            vec!["s3cretflag"],
        ),
        ("credentials=AbC-cred-99".into(), vec!["AbC-cred-99"]),
        ("auth=a1b2c3d4".into(), vec!["a1b2c3d4"]),
        ("private_key: pk-123-456".into(), vec!["pk-123-456"]),
        ("access_key=ak-zzz-111".into(), vec!["ak-zzz-111"]),
        ("secret_key=sk-zzz-222".into(), vec!["sk-zzz-222"]),
        ("PWD=/root/secretdir".into(), vec!["/root/secretdir"]),
        (
            "passwd: \"unterminated quoted pw".into(),
            vec!["unterminated quoted pw"],
        ),
        (
            "aws_access_key_id=AKIAIOSFODNN7EXAMPLE".into(),
            vec!["AKIAIOSFODNN7EXAMPLE"],
        ),
        (
            "creds ASIAY34FZKBOKMUTVV7A expire soon".into(),
            vec!["ASIAY34FZKBOKMUTVV7A"],
        ),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            vec!["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"],
        ),
        (
            "maps key AIzaSyA1234567890abcdefghijklmnopqrstuv in url".into(),
            vec!["AIzaSyA1234567890abcdefghijklmnopqrstuv"],
        ),
        (
            "cloned with ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789".into(),
            vec!["ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"],
        ),
        (
            "oauth gho_16C7e42F292c6912E7710c838347Ae178B4a ok".into(),
            vec!["gho_16C7e42F292c6912E7710c838347Ae178B4a"],
        ),
        (
            "app ghs_zYxWvUtSrQpOnMlKjIhGfEdCbA9876543210".into(),
            vec!["ghs_zYxWvUtSrQpOnMlKjIhGfEdCbA9876543210"],
        ),
        (
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz".into(),
            vec!["github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"],
        ),
        (
            "slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp".into(),
            vec!["xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp"],
        ),
        (
            "slack xoxp-98765-43210-abcdef".into(),
            vec!["xoxp-98765-43210-abcdef"],
        ),
        (format!("jwt {jwt} seen"), vec![jwt]),
        (
            format!("key file:\n{pem}\ntrailing line"),
            vec!["MIIEowIBAAKCAQEAq7BFUpkGp3+LQmlQ", "Yx2u9Hn0TqzR3s8YvFv1Qk"],
        ),
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n(truncated)".into(),
            vec!["b3BlbnNzaC1rZXktdjEAAAAA"],
        ),
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
