use super::*;

/// Each case: the text and the secret values planted in it.
fn planted() -> Vec<(String, Vec<&'static str>)> {
    let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAq7BFUpkGp3+LQmlQ\nYx2u9Hn0TqzR3s8YvFv1Qk\n-----END RSA PRIVATE KEY-----";
    let cases: Vec<(String, Vec<&'static str>)> = vec![
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
    ];
    let more: &[(&str, &str)] = &[
        ("mysql -h db -uroot -pPLANTEDmysqlPw app", "PLANTEDmysqlPw"),
        ("/usr/bin/mysqldump -u app -p'PLANTED quoted' db", "PLANTED quoted"),
        ("mariadb --user=root -pPLANTEDmaria", "PLANTEDmaria"),
        ("python3 x --password=PLANTEDa -pPLANTEDcmdMysql mysql", "PLANTEDa"),
        ("mysqladmin --passwd PLANTEDpasswd status", "PLANTEDpasswd"),
        ("tool --pass PLANTEDpassflag", "PLANTEDpassflag"),
        ("sshpass -p PLANTEDsshpass ssh host", "PLANTEDsshpass"),
        ("mongosh -u admin -p PLANTEDmongo", "PLANTEDmongo"),
        ("redis-cli -h cache -a PLANTEDredis ping", "PLANTEDredis"),
        ("sqlcmd -S db -U sa -P PLANTEDsqlcmd", "PLANTEDsqlcmd"),
        ("docker login -u ci -p PLANTEDdocker registry.io", "PLANTEDdocker"),
        ("ldapsearch -x -D cn=admin -w PLANTEDldap", "PLANTEDldap"),
        ("curl -u alice:PLANTEDcurl https://x", "PLANTEDcurl"),
        ("smbclient //srv/share -U alice%PLANTEDsmb", "PLANTEDsmb"),
        ("openssl rsa -passin pass:PLANTEDopenssl -in k", "PLANTEDopenssl"),
        ("machine api.example.com login bob password PLANTEDnetrc", "PLANTEDnetrc"),
        ("token glpat-PLANTEDgitlabTok12345", "PLANTEDgitlabTok12345"),
        ("deploy gldt-PLANTEDgitlabDeploy0123", "PLANTEDgitlabDeploy0123"),
        ("runner glrt-PLANTEDgitlabRunner0123", "PLANTEDgitlabRunner0123"),
        ("key AIzaSyPLANTEDgoogleKey_0123456789abcd", "PLANTEDgoogleKey"),
        ("oauth ya29.PLANTEDgoogleOauth0123456789", "PLANTEDgoogleOauth"),
        ("stripe sk_live_PLANTEDstripe0123456789", "PLANTEDstripe0123456789"),
        ("stripe rk_live_PLANTEDstripeRk012345", "PLANTEDstripeRk012345"),
        ("stripe sk_test_PLANTEDstripeTest0123", "PLANTEDstripeTest0123"),
        ("npm npm_PLANTEDnpmToken0123456789abcdefghijklm", "PLANTEDnpmToken"),
        ("slack xoxa-PLANTEDslackA-0123", "PLANTEDslackA"),
        (
            "hook https://hooks.slack.com/services/T0PLANTED/B0PLANTED/PLANTEDslackHook0123",
            "PLANTEDslackHook0123",
        ),
        ("github ghu_PLANTEDghu0123456789abcdefghijkl", "PLANTEDghu"),
        ("github ghr_PLANTEDghr0123456789abcdefghijkl", "PLANTEDghr"),
        (
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=PLANTEDazure+Key/0==;EndpointSuffix=core.windows.net",
            "PLANTEDazure",
        ),
        (
            "https://acct.blob.core.windows.net/c?sv=2022&sig=PLANTEDsasSig%3D&se=x",
            "PLANTEDsasSig",
        ),
        (
            "mail SG.PLANTEDsendgrid01234.PLANTEDsendgridSecret0123456789abcdef",
            "PLANTEDsendgrid",
        ),
        ("twilio SK0123456789abcdef0123456789abcdef", "SK0123456789abcdef"),
        ("heroku HRKU-PLANTEDheroku0123456789abcdef", "PLANTEDheroku"),
        (
            "do dop_v1_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "0123456789abcdef0123456789abcdef",
        ),
        ("vault hvs.PLANTEDvaultToken0123456789", "PLANTEDvaultToken"),
        (
            "pypi pypi-AgEIcHlwaS5vcmcPLANTEDpypiToken0123456789abcdefghijklmnop",
            "PLANTEDpypiToken",
        ),
        ("docker dckr_pat_PLANTEDdockerHub012345678", "PLANTEDdockerHub"),
        (
            "openai sk-proj-PLANTEDopenaiProj0123456789abcdef",
            "PLANTEDopenaiProj",
        ),
        (
            "openai sk-PLANTEDopenaiLegacy0123456789abcdefghij",
            "PLANTEDopenaiLegacy",
        ),
        (
            "anthropic sk-ant-api03-PLANTEDanthropic0123456789abcdef",
            "PLANTEDanthropic",
        ),
        ("hf hf_PLANTEDhuggingface0123456789abcdefgh", "PLANTEDhuggingface"),
        (
            "-Djavax.net.ssl.keyStorePassword=PLANTEDjavaProp",
            "PLANTEDjavaProp",
        ),
        ("GITLAB_PAT=PLANTEDpatVar", "PLANTEDpatVar"),
        (
            "2026-12-01 app: -----BEGIN EC PRIVATE KEY-----\n2026-12-01 app: MHcCAQEEIPLANTEDpemBody0123\n2026-12-01 app: -----END EC PRIVATE KEY-----",
            "PLANTEDpemBody",
        ),
        (
            "{\"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBPLANTEDinlinePem\\n-----END PRIVATE KEY-----\\n\"}",
            "PLANTEDinlinePem",
        ),
        (
            "tail starts inside a key\nMIIEvQIBADANBgkqPLANTEDorphan0123\nAbCdEfGhIjKlMnOpQrStUv==\n-----END PRIVATE KEY-----\nnext line",
            "PLANTEDorphan",
        ),
        (
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBF0PLANTEDpgp\n-----END PGP PRIVATE KEY BLOCK-----",
            "PLANTEDpgp",
        ),
    ];
    let mut all = cases;
    all.extend(more.iter().map(|(t, s)| (t.to_string(), vec![*s])));
    all
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
