//! The redaction table: tokens recognisable by their own shape (a vendor's prefix and length),
//! and passwords on the command lines of programs known to take them in a flag. Each rule has
//! the literal strings one of its matches must contain, so one Aho-Corasick pass over the text
//! decides which regexes run at all (most text triggers none). `docs/redaction.md` is this table
//! for people; keep the two in step.
//!
//! Every pattern is for the `regex` crate (finite automata, linear in the text: no backtracking
//! blow-up on a long line of near misses). Word boundaries are ASCII (`(?-u:\b)`) so the lazy
//! DFA also runs on non-ASCII text instead of falling back to the slower engines.

use std::sync::LazyLock;

use regex::Regex;

use super::compile;

/// One shaped-token rule.
pub(super) struct Token {
    /// What it is, for docs and tests (`github`, `stripe`, …).
    pub name: &'static str,
    /// ASCII strings (matched case-insensitively) at least one of which every match contains.
    pub literals: &'static [&'static str],
    /// The pattern; with a group named `s` only that group is replaced (the rest is context
    /// worth keeping, e.g. the host of a webhook URL), else the whole match.
    pub pattern: &'static str,
}

/// The shaped tokens. Sources: each vendor's token-format documentation, and the patterns of
/// gitleaks and GitHub secret scanning for the same vendors.
pub(super) const TOKENS: &[Token] = &[
    Token {
        name: "aws-access-key-id",
        literals: &["AKIA", "ASIA", "ABIA", "ACCA"],
        pattern: r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}",
    },
    Token {
        name: "google-api-key",
        literals: &["AIza"],
        pattern: r"AIza[0-9A-Za-z_\-]{30,}",
    },
    Token {
        name: "google-oauth-access-token",
        literals: &["ya29."],
        pattern: r"(?-u:\b)ya29\.[0-9A-Za-z_\-]{20,}",
    },
    Token {
        name: "google-oauth-refresh-token",
        literals: &["1//0"],
        pattern: r"(?-u:\b)1//0[0-9A-Za-z_\-]{30,}",
    },
    Token {
        name: "google-oauth-client-secret",
        literals: &["GOCSPX-"],
        pattern: r"GOCSPX-[0-9A-Za-z_\-]{20,}",
    },
    Token {
        name: "github",
        literals: &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
        pattern: r"gh[pousr]_[A-Za-z0-9]{20,255}",
    },
    Token {
        name: "github-fine-grained",
        literals: &["github_pat_"],
        pattern: r"github_pat_[A-Za-z0-9_]{20,255}",
    },
    Token {
        name: "gitlab",
        literals: &[
            "glpat-", "gldt-", "glrt-", "glptt-", "glft-", "glsoat-", "glcbt-", "glimt-",
            "glagent-", "gloas-", "glffct-", "glwt-",
        ],
        pattern: r"gl(?:pat|dt|rt|ptt|ft|soat|cbt|imt|agent|oas|ffct|wt)-[0-9A-Za-z_\-]{20,}",
    },
    Token {
        name: "gitlab-runner-registration",
        literals: &["GR1348941"],
        pattern: r"GR1348941[0-9A-Za-z_\-]{20,}",
    },
    Token {
        name: "stripe",
        literals: &["sk_live_", "rk_live_", "sk_test_", "rk_test_", "whsec_"],
        pattern: r"(?:[sr]k_(?:live|test)_[0-9A-Za-z]{10,}|whsec_[0-9A-Za-z]{20,})",
    },
    Token {
        name: "npm",
        literals: &["npm_"],
        pattern: r"npm_[A-Za-z0-9]{36,}",
    },
    Token {
        name: "slack-token",
        literals: &[
            "xoxa-", "xoxb-", "xoxp-", "xoxr-", "xoxs-", "xoxo-", "xoxe-", "xoxe.",
        ],
        pattern: r"xox[abposre](?:\.xox[bp])?-[0-9A-Za-z\-]{10,}",
    },
    Token {
        name: "slack-app-token",
        literals: &["xapp-"],
        pattern: r"xapp-[0-9]-[0-9A-Za-z\-]{10,}",
    },
    Token {
        name: "slack-webhook",
        literals: &["hooks.slack.com"],
        pattern: r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<s>[0-9A-Za-z_/\-]+)",
    },
    Token {
        name: "discord-webhook",
        literals: &["/api/webhooks/"],
        pattern: r"discord(?:app)?\.com/api/webhooks/[0-9]+/(?P<s>[0-9A-Za-z_\-]+)",
    },
    Token {
        name: "jwt",
        literals: &["eyJ"],
        pattern: r"(?-u:\b)eyJ[A-Za-z0-9_\-]+\.eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*",
    },
    Token {
        name: "sendgrid",
        literals: &["SG."],
        pattern: r"(?-u:\b)SG\.[0-9A-Za-z_\-]{16,}\.[0-9A-Za-z_\-]{16,}",
    },
    Token {
        name: "twilio-api-key",
        literals: &["SK"],
        pattern: r"(?-u:\b)SK[0-9a-fA-F]{32}(?-u:\b)",
    },
    Token {
        name: "heroku",
        literals: &["HRKU-"],
        pattern: r"HRKU-[0-9A-Za-z_\-]{20,}",
    },
    Token {
        name: "digitalocean",
        literals: &["dop_v1_", "doo_v1_", "dor_v1_"],
        pattern: r"do[por]_v1_[0-9a-f]{64}",
    },
    Token {
        name: "vault",
        literals: &["hvs.", "hvb.", "hvr."],
        pattern: r"(?-u:\b)hv[sbr]\.[0-9A-Za-z_\-]{20,}",
    },
    Token {
        name: "pypi",
        literals: &["pypi-"],
        pattern: r"(?-u:\b)pypi-[0-9A-Za-z_\-]{50,}",
    },
    Token {
        name: "docker-hub",
        literals: &["dckr_pat_", "dckr_oat_"],
        pattern: r"dckr_(?:pat|oat)_[0-9A-Za-z_\-]{20,}",
    },
    Token {
        // `-pSECRET` after any program (the note's `./crashy -pPLANTEDcoreArgPw`): an attached
        // value of 6 or more characters that mixes letters with a capital, a digit or a sign,
        // so ports and pids (`ssh -p2222`, `ps -p1234`: digits only), paths (`nginx -p/srv`:
        // `/ . ~` first) and lowercase flags (`gcc -pthread -pipe -pedantic`) are kept.
        name: "attached-p-password",
        literals: &["-p"],
        pattern: concat!(
            r#"(?:^|[\s"'=])-p(?P<s>"#,
            // Whole word, which must hold a capital, or a small letter and a digit or sign, in
            // either order; the first character is any but a path's or a flag's.
            r#"[A-Z][^\s"']*"#,
            r#"|[^\s"'/.~\-=][^\s"']*[A-Z][^\s"']*"#,
            r#"|[a-z][^\s"']*[0-9!@#$%^&*+][^\s"']*"#,
            r#"|[^\s"'/.~\-=][^\s"']*[a-z][^\s"']*[0-9!@#$%^&*+][^\s"']*"#,
            r#"|[0-9!@#$%^&*+][^\s"']*[a-z][^\s"']*"#,
            r#"|[^\s"'/.~\-=][^\s"']*[0-9!@#$%^&*+][^\s"']*[a-z][^\s"']*"#,
            r#")"#
        ),
    },
    Token {
        name: "anthropic",
        literals: &["sk-ant-"],
        pattern: r"sk-ant-[0-9A-Za-z_\-]{20,}",
    },
    Token {
        name: "openai",
        literals: &["sk-"],
        pattern: r"(?-u:\b)sk-(?:(?:proj|svcacct|admin)-[0-9A-Za-z_\-]{20,}|[A-Za-z0-9]{32,})",
    },
    Token {
        name: "huggingface",
        literals: &["hf_"],
        pattern: r"(?-u:\b)hf_[A-Za-z0-9]{30,}",
    },
    Token {
        name: "age-secret-key",
        literals: &["AGE-SECRET-KEY-1"],
        pattern: r"AGE-SECRET-KEY-1[0-9A-Z]{50,}",
    },
    Token {
        name: "shopify",
        literals: &["shpat_", "shpca_", "shppa_", "shpss_"],
        pattern: r"shp(?:at|ca|pa|ss)_[0-9a-fA-F]{32}",
    },
    Token {
        name: "databricks",
        literals: &["dapi"],
        pattern: r"(?-u:\b)dapi[0-9a-f]{32}(?-u:\b)",
    },
    Token {
        name: "grafana",
        literals: &["glc_", "glsa_"],
        pattern: r"(?:glc_[A-Za-z0-9+/]{32,}={0,2}|glsa_[A-Za-z0-9]{32}_[0-9a-fA-F]{8})",
    },
    Token {
        name: "new-relic",
        literals: &["NRAK-"],
        pattern: r"NRAK-[A-Z0-9]{27}",
    },
    Token {
        name: "postman",
        literals: &["PMAK-"],
        pattern: r"PMAK-[0-9a-fA-F]{24}-[0-9a-fA-F]{34}",
    },
    Token {
        name: "azure-sas-signature",
        literals: &["sig="],
        pattern: r"[?&]sig=(?P<s>[^&\s#]+)",
    },
    Token {
        name: "netrc",
        literals: &["machine"],
        pattern: r"(?-u:\b)machine\s+\S+\s+login\s+\S+\s+password\s+(?P<s>\S+)",
    },
    Token {
        name: "openssl-pass",
        literals: &["pass:"],
        pattern: r"-pass(?:in|out)?\s+pass:(?P<s>\S+)",
    },
];

/// A program that takes a password in a flag, and the flag.
pub(super) struct Program {
    /// What it is, for docs and tests.
    pub name: &'static str,
    /// The program's names (ASCII, case-insensitive): one must appear as a word on the line.
    pub literals: &'static [&'static str],
    /// The program as a word (after a space, `/`, a quote or the line start).
    pub program: &'static str,
    /// The flag after the program; group `s` is the password.
    pub flag: &'static str,
}

/// A flag's value: a quoted string, or a word that does not start like another flag.
macro_rules! value {
    () => {
        r#"(?P<s>"[^"]*"?|'[^']*'?|[^\s"'\-][^\s]*)"#
    };
}

/// Programs whose password flag has a short form that means something else elsewhere (`-p`
/// is a port to `psql` and `ssh`, a pid to `ps`): redacted only after the program, on its line.
pub(super) const PROGRAMS: &[Program] = &[
    Program {
        // `-pSECRET` only: `-p SECRET` makes the client prompt and SECRET is the database.
        name: "mysql",
        literals: &[
            "mysql",
            "mariadb",
            "xtrabackup",
            "mariabackup",
            "mydumper",
            "myloader",
        ],
        program: r"(?:mysql[a-z_\-]*|mariadb[a-z_\-]*|xtrabackup|mariabackup|mydumper|myloader)",
        flag: concat!(
            r#"(?:^|[\s"',=])-p"#,
            r#"(?P<s>"[^"]*"?|'[^']*'?|[^\s"']+)"#
        ),
    },
    Program {
        name: "sshpass",
        literals: &["sshpass"],
        program: r"sshpass",
        flag: concat!(r#"(?:^|[\s"'])-p\s*"#, value!()),
    },
    Program {
        name: "mongo",
        literals: &["mongo"],
        program: r"mongo(?:sh|dump|restore|export|import|stat|top|files)?",
        flag: concat!(r#"(?:^|[\s"'])-p\s*"#, value!()),
    },
    Program {
        name: "redis-cli",
        literals: &["redis-cli", "valkey-cli"],
        program: r"(?:redis|valkey)-cli",
        flag: concat!(r#"(?:^|[\s"'])-a\s*"#, value!()),
    },
    Program {
        name: "sqlcmd",
        literals: &["sqlcmd", "bcp"],
        program: r"(?:sqlcmd|bcp)",
        flag: concat!(r#"(?:^|[\s"'])-P\s*"#, value!()),
    },
    Program {
        name: "registry-login",
        literals: &["login"],
        program: r"(?:docker|podman|nerdctl|buildah|skopeo|helm registry|oras|crane auth)\s+login",
        flag: concat!(r#"(?:^|[\s"'])-p\s*"#, value!()),
    },
    Program {
        name: "ldap",
        literals: &["ldap"],
        program: r"ldap(?:search|add|modify|delete|whoami|passwd|compare|modrdn|exop)",
        flag: concat!(r#"(?:^|[\s"'])-w\s*"#, value!()),
    },
    Program {
        name: "curl",
        literals: &["curl"],
        program: r"curl",
        flag: r#"(?:^|[\s"'])(?:-u|-U|--user|--proxy-user)(?:\s+|=)?[^\s:"']*:(?P<s>"[^"]*"?|'[^']*'?|[^\s"']+)"#,
    },
    Program {
        name: "smbclient",
        literals: &["smb", "rpcclient", "net "],
        program: r"(?:smbclient|smbmap|smbget|smbcacls|rpcclient|net)",
        flag: r#"(?:^|[\s"'])(?:-U|--user)(?:\s+|=)?[^\s%"']*%(?P<s>[^\s"']+)"#,
    },
];

/// [`TOKENS`] compiled, in order.
pub(super) static COMPILED_TOKENS: LazyLock<Vec<Regex>> =
    LazyLock::new(|| TOKENS.iter().map(|rule| compile(rule.pattern)).collect());

/// [`PROGRAMS`] compiled, in order: the program as a word, and its flag.
pub(super) static COMPILED_PROGRAMS: LazyLock<Vec<(Regex, Regex)>> = LazyLock::new(|| {
    PROGRAMS
        .iter()
        .map(|rule| {
            let program = compile(&format!(
                r#"(?i)(?:^|[\s/"'=(;&|`])(?:{})(?:$|[\s"';&|)`])"#,
                rule.program
            ));
            (program, compile(rule.flag))
        })
        .collect()
});

/// The names of every rule, shaped tokens then programs (the rows of `docs/redaction.md`).
pub fn rule_names() -> Vec<&'static str> {
    TOKENS
        .iter()
        .map(|t| t.name)
        .chain(PROGRAMS.iter().map(|p| p.name))
        .collect()
}
