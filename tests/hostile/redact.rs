//! D4: secret forms planted in every place a string leaves `clw-diag report` — a `--logs` file's
//! lines, a worker log, a log file's name, a core's command line, a live process's command
//! line — must appear in none of stdout, stderr, the JSON, the bundle's entries, their names or
//! the MANIFEST; and what the diagnosis needs (a port, a pid, a build ID, a pod UID) must survive.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[allow(unused_imports)]
use crate::common::*;

/// (name, planted string, a substring of it that must appear nowhere). Shapes only: none is a
/// real credential. Each planted string fits a core's 79-byte `pr_psargs` after `./c ` where its
/// secret is concerned (the needle lies in the first 75 bytes).
const CORPUS: &[(&str, &str, &str)] = &[
    (
        "mysql -p attached",
        "mysql -h db -uroot -pPLANTEDmysqlPw1 app",
        "PLANTEDmysqlPw1",
    ),
    (
        "-p attached after any program (the note's core argv)",
        "./crashy -pPLANTEDcoreArgPw run",
        "PLANTEDcoreArgPw",
    ),
    (
        "mysqldump -p quoted",
        "mysqldump -u app -p'PLANTEDdump pw' shop",
        "PLANTEDdump",
    ),
    (
        "mariadb -p",
        "mariadb -uroot -pPLANTEDmariaPw",
        "PLANTEDmariaPw",
    ),
    (
        "--password=",
        "tool --password=PLANTEDlongEq",
        "PLANTEDlongEq",
    ),
    (
        "--password X",
        "tool --password PLANTEDlongSp",
        "PLANTEDlongSp",
    ),
    (
        "--passwd X",
        "mysqladmin --passwd PLANTEDpasswdFl status",
        "PLANTEDpasswdFl",
    ),
    ("--pass X", "tool --pass PLANTEDpassFlag", "PLANTEDpassFlag"),
    (
        "sshpass -p",
        "sshpass -p PLANTEDsshpassPw ssh host",
        "PLANTEDsshpassPw",
    ),
    (
        "mongosh -p",
        "mongosh -u admin -p PLANTEDmongoPw",
        "PLANTEDmongoPw",
    ),
    (
        "redis-cli -a",
        "redis-cli -h cache -a PLANTEDredisPw ping",
        "PLANTEDredisPw",
    ),
    (
        "docker login -p",
        "docker login -u ci -p PLANTEDdockerPw reg.io",
        "PLANTEDdockerPw",
    ),
    (
        "curl -u",
        "curl -u alice:PLANTEDcurlPw example.com",
        "PLANTEDcurlPw",
    ),
    (
        "gitlab PAT",
        "glpat-PLANTEDgitlabTok12345",
        "PLANTEDgitlabTok12345",
    ),
    (
        "gitlab deploy token",
        "gldt-PLANTEDgitlabDeploy0123",
        "PLANTEDgitlabDeploy0123",
    ),
    (
        "google API key",
        "AIzaSyPLANTEDgoogleKey_0123456789abcd",
        "PLANTEDgoogleKey",
    ),
    (
        "google OAuth token",
        "ya29.PLANTEDgoogleOauth0123456789",
        "PLANTEDgoogleOauth",
    ),
    (
        "stripe live secret",
        "sk_live_PLANTEDstripe0123456789",
        "PLANTEDstripe0123456789",
    ),
    (
        "stripe restricted",
        "rk_live_PLANTEDstripeRk012345",
        "PLANTEDstripeRk012345",
    ),
    (
        "stripe test secret",
        "sk_test_PLANTEDstripeTest0123",
        "PLANTEDstripeTest0123",
    ),
    (
        "npm token",
        "npm_PLANTEDnpmToken0123456789abcdefghijklm",
        "PLANTEDnpmToken",
    ),
    (
        "slack bot token",
        "xoxb-1234567890-PLANTEDslackBot",
        "PLANTEDslackBot",
    ),
    (
        "slack webhook",
        "https://hooks.slack.com/services/T0000/B0000/PLANTEDslackHook",
        "PLANTEDslackHook",
    ),
    (
        "github classic",
        "ghp_PLANTEDghp0123456789abcdefghijklmnop",
        "PLANTEDghp",
    ),
    (
        "github oauth",
        "gho_PLANTEDgho0123456789abcdefghijklmnop",
        "PLANTEDgho",
    ),
    (
        "github fine-grained",
        "github_pat_11PLANTEDfineGrained0123456789_abcdef",
        "PLANTEDfineGrained",
    ),
    (
        "aws access key id",
        "AKIAPLANTEDAWSKEY123",
        "PLANTEDAWSKEY123",
    ),
    (
        "aws secret key",
        "aws_secret_access_key=PLANTEDawsSecret0123456789abc",
        "PLANTEDawsSecret",
    ),
    (
        "aws session token",
        "AWS_SESSION_TOKEN=PLANTEDawsSession012345",
        "PLANTEDawsSession",
    ),
    (
        "jwt",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.PLANTEDjwtSig0123",
        "PLANTEDjwtSig",
    ),
    (
        "PEM RSA across lines",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEPLANTEDrsaBody\n-----END RSA PRIVATE KEY-----",
        "PLANTEDrsaBody",
    ),
    (
        "PEM OpenSSH inline",
        "-----BEGIN OPENSSH PRIVATE KEY----- b3BlPLANTEDsshKey -----END OPENSSH PRIVATE KEY-----",
        "PLANTEDsshKey",
    ),
    (
        "PEM EC with log prefixes",
        "-----BEGIN EC PRIVATE KEY-----\napp: MHcCPLANTEDecBody\napp: -----END EC PRIVATE KEY-----",
        "PLANTEDecBody",
    ),
    (
        "postgres URL",
        "postgres://app:PLANTEDpgPw@db:5432/app",
        "PLANTEDpgPw",
    ),
    (
        "redis URL",
        "redis://:PLANTEDredisUrlPw@cache:6379",
        "PLANTEDredisUrlPw",
    ),
    (
        "authorization bearer",
        "Authorization: Bearer PLANTEDbearerTok0123",
        "PLANTEDbearerTok",
    ),
    (
        "authorization basic",
        "Authorization: Basic UExBTlRFRGJhc2ljOnB3",
        "UExBTlRFRGJhc2ljOnB3",
    ),
    (
        "cookie header",
        "Cookie: sid=PLANTEDcookieSid; theme=dark",
        "PLANTEDcookieSid",
    ),
    (
        "set-cookie header",
        "Set-Cookie: session=PLANTEDsetCookie; Path=x",
        "PLANTEDsetCookie",
    ),
    (
        "json password",
        "{\"password\": \"PLANTEDjsonPw\"}",
        "PLANTEDjsonPw",
    ),
    (
        "yaml api_key",
        "api_key: PLANTEDyamlApiKey",
        "PLANTEDyamlApiKey",
    ),
    (
        "azure AccountKey",
        "AccountName=acct;AccountKey=PLANTEDazureKey0123+abc==;EndpointSuffix=x",
        "PLANTEDazureKey",
    ),
    (
        "sendgrid",
        "SG.PLANTEDsendgrid012345.PLANTEDsendgridSec0123456789",
        "PLANTEDsendgrid",
    ),
    (
        "twilio API key",
        "SK9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
        "9e8d7c6b5a4f3e2d",
    ),
    (
        "heroku",
        "HRKU-PLANTEDheroku0123456789abcdef",
        "PLANTEDheroku",
    ),
    (
        "digitalocean",
        "dop_v1_a1b2c3d4e5f60718a1b2c3d4e5f60718a1b2c3d4e5f60718a1b2c3d4e5f60718",
        "a1b2c3d4e5f60718",
    ),
    (
        "vault",
        "hvs.PLANTEDvaultToken0123456789",
        "PLANTEDvaultToken",
    ),
    (
        "pypi",
        "pypi-AgEIcHlwaS5vcmcPLANTEDpypiToken0123456789abcdefghij",
        "PLANTEDpypiToken",
    ),
    (
        "docker hub",
        "dckr_pat_PLANTEDdockerHub012345678",
        "PLANTEDdockerHub",
    ),
    (
        "openai project key",
        "sk-proj-PLANTEDopenaiProj0123456789abcdef",
        "PLANTEDopenaiProj",
    ),
    (
        "anthropic",
        "sk-ant-api03-PLANTEDanthropic0123456789abcdef",
        "PLANTEDanthropic",
    ),
    (
        "x-api-key header",
        "X-Api-Key: PLANTEDxApiKey",
        "PLANTEDxApiKey",
    ),
    (
        "query access_token",
        "GET /cb?access_token=PLANTEDqueryTok&x=1",
        "PLANTEDqueryTok",
    ),
    (
        "netrc",
        "machine api.example.com login bob password PLANTEDnetrcPw",
        "PLANTEDnetrcPw",
    ),
    (
        "DB_PASSWORD",
        "DB_PASSWORD=PLANTEDdbPassword",
        "PLANTEDdbPassword",
    ),
    (
        "java property",
        "-Djavax.net.ssl.keyStorePassword=PLANTEDjavaProp",
        "PLANTEDjavaProp",
    ),
];

/// Things the diagnosis needs, planted next to the secrets: each must survive everywhere it is
/// shown (the bundle's log tail, the JSON's events).
const KEEP: &[&str] = &[
    "nginx -p 8080",
    "ssh -p2222",
    "4f1c2e9a8b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0",
    "0f8e2a6c-1b3d-4e5f-8a9b-7c6d5e4f3a2b",
    "pk_live_0123456789abcdefghij",
];

/// A runtime OOM line: triage makes an event of it, so the line reaches the JSON and the summary.
fn event_line(s: &str) -> String {
    format!("Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space {s}\n")
}

/// A part of `needle` found in `text`, not only the whole: a table cuts long command lines
/// with `…`, and a secret cut in half is still half leaked. Needles that hold the marker
/// `PLANTED` leak when the marker shows anywhere (nothing else in the report says it); the
/// others (hex and base64 shapes) when any 8 bytes of them do, digits-only windows left out
/// (`01234567` also occurs in addresses and sizes).
fn leaked_part<'a>(needle: &'a str, text: &str) -> Option<&'a str> {
    if let Some(i) = needle.find("PLANTED") {
        return text.contains("PLANTED").then(|| &needle[i..i + 7]);
    }
    (0..needle.len().saturating_sub(7))
        .filter_map(|i| needle.get(i..i + 8))
        .filter(|w| !w.bytes().all(|b| b.is_ascii_digit()))
        .find(|w| text.contains(w))
}

/// Children killed (by pid, through their handles) on drop.
struct Procs(Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Build the crashing helper in `dir`.
fn build_crasher(dir: &Path) -> Option<PathBuf> {
    let src = dir.join("c.c");
    std::fs::write(
        &src,
        "int main(int c, char **v) { volatile int *p = 0; *p = c; return 0; }\n",
    )
    .unwrap();
    let exe = dir.join("c");
    let ok = Command::new("gcc")
        .args(["-O0", "-o"])
        .arg(&exe)
        .arg(&src)
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(exe)
}

/// Crash `./c SECRET` in `work` with cores on and move its core to `cores/core.N`.
fn crash_with(work: &Path, cores: &Path, n: usize, secret: &str) -> bool {
    let _ = Command::new("sh")
        .arg("-c")
        .arg("ulimit -c unlimited; exec ./c \"$0\"")
        .arg(secret)
        .current_dir(work)
        .stderr(Stdio::null())
        .status();
    let core = std::fs::read_dir(work)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|f| f.to_string_lossy().starts_with("core"))
        });
    match core {
        Some(c) => std::fs::rename(c, cores.join(format!("core.{n}"))).is_ok(),
        None => false,
    }
}

/// Start `python3 - SECRET` (its script on stdin) inside the cgroup, once its command line
/// shows. The command line is short before the secret, so the report's table would show the
/// secret whole (or cut in it, with `…`) if the model were not redacted before layout.
fn start_holder(cg: &TestCgroup, secret: &str) -> Child {
    let child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > {}; exec python3 - \"$0\" <<'EOF'\nimport time\ntime.sleep(120)\nEOF\n",
            cg.procs().display()
        ))
        .arg(secret)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let cmdline = format!("/proc/{}/cmdline", child.id());
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(10) {
        if std::fs::read(&cmdline).is_ok_and(|c| c.windows(10).any(|w| w == b"python3\0-\0")) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// Every entry of a `.tar.gz`: (name, contents).
fn unpack(bundle: &Path) -> Vec<(String, Vec<u8>)> {
    let f = std::fs::File::open(bundle).unwrap();
    let mut a = tar::Archive::new(flate2::read::GzDecoder::new(f));
    let mut out = Vec::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.push((name, data));
    }
    out
}

/// One batch of the corpus planted in every place; the report run in text with a bundle and in
/// JSON; nothing planted may come out.
fn check_batch(batch: &[(&str, &str, &str)], exe: &Path, cg: &TestCgroup, first: bool) {
    let d = tempfile::tempdir().unwrap();
    let (logs, worker, work, cores) = (
        d.path().join("logs"),
        d.path().join("worker"),
        d.path().join("work"),
        d.path().join("cores"),
    );
    for p in [&logs, &worker, &work, &cores] {
        std::fs::create_dir(p).unwrap();
    }
    std::fs::copy(exe, work.join("c")).unwrap();
    let mut app = String::new();
    let mut named = Vec::new();
    for (name, planted, _) in batch {
        app.push_str(&event_line(planted));
        // A log named after the secret (a file name cannot hold '/': those forms are planted
        // in the other places only).
        if !planted.contains('/') {
            let f = logs.join(format!("{planted}.log"));
            std::fs::write(&f, event_line("named log")).unwrap();
            named.push(*name);
        }
    }
    if first {
        for k in KEEP {
            app.push_str(&event_line(&format!("context {k}")));
        }
    }
    std::fs::write(logs.join("app.log"), &app).unwrap();
    std::fs::write(worker.join("worker.log"), &app).unwrap();
    let mut made = 0;
    for (i, (_, planted, _)) in batch.iter().enumerate() {
        made += usize::from(crash_with(&work, &cores, i, planted));
    }
    assert_eq!(
        made,
        batch.len(),
        "a core per secret in {}",
        cores.display()
    );
    let procs = Procs(batch.iter().map(|(_, p, _)| start_holder(cg, p)).collect());
    let pids: Vec<u32> = procs.0.iter().map(|c| c.id()).collect();

    let bundle = d.path().join("b.tar.gz");
    let logs_glob = format!("{}/*.log", logs.display());
    let worker_glob = format!("{}/*.log", worker.display());
    let cores_arg = format!("--cores={}", cores.display());
    let common = [
        "--worker-logs",
        "--worker-log-glob",
        &worker_glob,
        &cores_arg,
        "--since=1h",
        "--logs",
        &logs_glob,
        "--cgroup",
        &cg.rel,
    ];
    let text_run = cmd()
        .args(common)
        .arg("--bundle")
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(text_run.status.success(), "{}", stderr(&text_run));
    let json_run = cmd().args(common).arg("--json").output().unwrap();
    assert!(json_run.status.success(), "{}", stderr(&json_run));
    drop(procs);

    // Every place was exercised: the cores, the processes and the named logs reached the report.
    let j = json(&json_run);
    let section = |id: &str| {
        j["sections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()
            .clone()
    };
    let bts = section("cores")["data"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(bts.len(), batch.len(), "every core read: {bts:?}");
    for bt in &bts {
        let args = bt["args"].as_str().unwrap_or("");
        assert!(args.contains("[REDACTED]"), "core args {args:?}");
    }
    let snap = section("snapshot");
    let shown = snap["data"]["processes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for pid in &pids {
        let p = shown.iter().find(|p| p["pid"] == *pid);
        let p = p.unwrap_or_else(|| panic!("pid {pid} not in the snapshot: {shown:?}"));
        let command = p["command"].as_str().unwrap();
        assert!(command.contains("[REDACTED]"), "{command}");
    }
    let ranked = section("oom_rank")["data"]["candidates"]
        .as_array()
        .cloned()
        .unwrap();
    assert!(!ranked.is_empty());
    for c in &ranked {
        assert!(c["command"].as_str().unwrap().contains("[REDACTED]"), "{c}");
    }
    let entries = unpack(&bundle);
    let tails = entries
        .iter()
        .filter(|(n, _)| n.contains("/logs/") && n.ends_with(".tail"));
    assert_eq!(tails.count(), named.len() + 2, "a tail per log: {named:?}");
    let manifest = entries
        .iter()
        .find(|(n, _)| n.ends_with("/MANIFEST.txt"))
        .map(|(_, d)| String::from_utf8_lossy(d).into_owned())
        .unwrap();
    assert!(manifest.contains("[REDACTED]"), "{manifest}");

    // Nothing planted comes out, anywhere.
    let mut places: Vec<(String, String)> = vec![
        ("text stdout".into(), stdout(&text_run)),
        ("text stderr".into(), stderr(&text_run)),
        ("json stdout".into(), stdout(&json_run)),
        ("json stderr".into(), stderr(&json_run)),
    ];
    for (name, data) in &entries {
        places.push((format!("entry name {name}"), name.clone()));
        places.push((
            format!("entry {name}"),
            String::from_utf8_lossy(data).into_owned(),
        ));
    }
    for (form, _, needle) in batch {
        for (place, text) in &places {
            if let Some(part) = leaked_part(needle, text) {
                let lines: Vec<&str> = text.lines().filter(|l| l.contains(part)).collect();
                panic!("{form}: {part:?} of {needle:?} leaked in {place}: {lines:#?}");
            }
        }
    }
    if first {
        let tail = entries
            .iter()
            .find(|(n, _)| n.ends_with("_app.log.tail"))
            .map(|(_, d)| String::from_utf8_lossy(d).into_owned())
            .unwrap();
        let out = stdout(&json_run);
        for k in KEEP {
            assert!(
                tail.contains(k),
                "{k:?} was eaten in the bundle's tail: {tail}"
            );
            assert!(out.contains(k), "{k:?} was eaten in the JSON");
        }
        for pid in &pids {
            assert!(out.contains(&format!("\"pid\": {pid}")), "pid {pid} lost");
        }
    }
}

#[test]
fn d4_secret_forms_survive_in_no_place_logs_names_cores_processes() {
    assert!(CORPUS.len() >= 40);
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    if pattern.starts_with('|') {
        return skip("core_pattern pipes cores to a program");
    }
    if !have("python3") || !have("gcc") {
        return skip("needs python3 and gcc");
    }
    let Some(cg) = TestCgroup::create("clw-redact", 1 << 30) else {
        return;
    };
    let build = tempfile::tempdir().unwrap();
    let Some(exe) = build_crasher(build.path()) else {
        return skip("gcc cannot build the crash helper");
    };
    // The report reads ten cores at most: ten forms a run.
    for (i, batch) in CORPUS.chunks(10).enumerate() {
        check_batch(batch, &exe, &cg, i == 0);
    }
}

#[test]
fn d4_colliding_redacted_file_names_stay_unique() {
    let d = tempfile::tempdir().unwrap();
    for secret in ["PLANTEDone", "PLANTEDtwo"] {
        std::fs::write(d.path().join(format!("password={secret}.log")), "ok\n").unwrap();
    }
    let bundle = d.path().join("b.tar.gz");
    let glob = format!("{}/*.log", d.path().display());
    let o = cmd()
        .args(["report", "--logs", &glob, "--bundle"])
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let names: Vec<String> = unpack(&bundle).into_iter().map(|(n, _)| n).collect();
    let tails: Vec<&String> = names.iter().filter(|n| n.ends_with(".log.tail")).collect();
    assert_eq!(tails.len(), 2, "{names:?}");
    assert!(
        tails[0].ends_with("password=[REDACTED].log.tail"),
        "{tails:?}"
    );
    assert!(
        tails[1].ends_with("password=[REDACTED]~2.log.tail"),
        "{tails:?}"
    );
    assert!(!names.concat().contains("PLANTED"), "{names:?}");
}
