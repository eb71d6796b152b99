use super::*;
use flate2::read::GzDecoder;
use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;

const SECRETS: &[&str] = &[
    "hunter2-db-pass",
    "AKIAIOSFODNN7EXAMPLE",
    "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
    "abc123def456ghi789",
];

fn sample(out: &Path, force: bool) -> Result<Written> {
    let mut b = Bundle::create(out, force, "clw-diag-report-test", Limits::default())?;
    b.add_text(
        "logs/app.log",
        "start\nDB_PASSWORD=hunter2-db-pass\nkey AKIAIOSFODNN7EXAMPLE\nuser=alice pid=42\n",
    )?;
    b.add_text(
        "../../etc/headers.txt",
        "Authorization: Bearer abc123def456ghi789\ntoken: ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789\n",
    )?;
    b.add_bytes_unredacted("/plots/rss.png", &[0x89, b'P', b'N', b'G', 0, 1, 2])?;
    assert_eq!(
        b.entries(),
        ["logs/app.log", "etc/headers.txt", "plots/rss.png"]
    );
    assert_eq!(b.redacted_count(), 4);
    b.finish()
}

/// (path, mode, uid, gid, contents) of every entry.
fn read_back(path: &Path) -> Vec<(String, u32, u64, u64, Vec<u8>)> {
    let mut archive = tar::Archive::new(GzDecoder::new(File::open(path).unwrap()));
    let mut out = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let h = entry.header();
        assert_eq!(h.entry_type(), tar::EntryType::Regular);
        let (mode, uid, gid) = (h.mode().unwrap(), h.uid().unwrap(), h.gid().unwrap());
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        out.push((name, mode, uid, gid, data));
    }
    out
}

fn disk_mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.tar.gz");
    let w = sample(&out, false).unwrap();
    assert_eq!(
        w,
        Written {
            files: 3,
            redacted: 4,
            truncated: 0,
            left_out: 0
        }
    );
    assert_eq!(disk_mode(&out), 0o600);

    let entries = read_back(&out);
    let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "clw-diag-report-test/logs/app.log",
            "clw-diag-report-test/etc/headers.txt",
            "clw-diag-report-test/plots/rss.png",
            "clw-diag-report-test/MANIFEST.txt",
        ]
    );
    for (name, mode, uid, gid, _) in &entries {
        assert_eq!((*mode & 0o7777, *uid, *gid), (0o600, 0, 0), "{name}");
    }
    let log = String::from_utf8(entries[0].4.clone()).unwrap();
    assert_eq!(
        log,
        "start\nDB_PASSWORD=[REDACTED]\nkey [REDACTED]\nuser=alice pid=42\n"
    );
    assert_eq!(entries[2].4, [0x89, b'P', b'N', b'G', 0, 1, 2]);
    let manifest = String::from_utf8(entries[3].4.clone()).unwrap();
    assert!(manifest.contains("secrets redacted: 4"), "{manifest}");
    for (path, size, redacted) in [
        ("logs/app.log", entries[0].4.len(), "2"),
        ("etc/headers.txt", entries[1].4.len(), "2"),
        ("plots/rss.png", 7, "-"),
    ] {
        let line = format!("{size:>12}  {redacted:>8}  {path}\n");
        assert!(manifest.contains(&line), "{line:?} not in {manifest}");
    }
}

#[test]
fn no_planted_secret_in_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.tar.gz");
    sample(&out, false).unwrap();
    let mut raw = Vec::new();
    GzDecoder::new(File::open(&out).unwrap())
        .read_to_end(&mut raw)
        .unwrap();
    let raw = String::from_utf8_lossy(&raw);
    assert!(raw.contains("[REDACTED]"));
    for s in SECRETS {
        assert!(!raw.contains(s), "{s} is in the archive");
    }
}

#[test]
fn refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("exists.tar.gz");
    fs::write(&out, "precious").unwrap();
    let err = sample(&out, false).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Usage(_)), "{err:?}");
    assert_eq!(
        msg,
        format!("{}: exists; pass --force to replace it", out.display())
    );
    assert_eq!(fs::read_to_string(&out).unwrap(), "precious");
}

#[test]
fn a_symlink_is_refused_even_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target");
    fs::write(&target, "victim").unwrap();
    let link = dir.path().join("link.tar.gz");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    for force in [false, true] {
        let err = sample(&link, force).unwrap_err();
        assert!(matches!(err, Error::NotSupported { .. }), "{err:?}");
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }
    assert_eq!(fs::read_to_string(&target).unwrap(), "victim");
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn force_replaces_with_mode_0600() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("old.tar.gz");
    fs::write(&out, "old contents").unwrap();
    fs::set_permissions(&out, fs::Permissions::from_mode(0o644)).unwrap();
    sample(&out, true).unwrap();
    assert_eq!(disk_mode(&out), 0o600);
    assert_eq!(read_back(&out).len(), 4);
    // No temporary file is left behind.
    let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1);
}

#[test]
fn unwritable_destination_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/out.tar.gz");
    let file = dir.path().join("plain");
    fs::write(&file, "").unwrap();
    let under_file = file.join("out.tar.gz");
    for force in [false, true] {
        for out in [&missing, &under_file] {
            let err = sample(out, force).unwrap_err();
            assert!(!matches!(err, Error::Usage(_)), "{err:?}");
            assert!(err.to_string().contains("out.tar.gz"), "{err}");
        }
    }
    // A read-only directory stops non-root users (root bypasses the mode bits).
    let ro = dir.path().join("ro");
    fs::create_dir(&ro).unwrap();
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o500)).unwrap();
    let res = sample(&ro.join("x.tar.gz"), false);
    if unsafe { libc::geteuid() } != 0 {
        assert!(res.unwrap_err().is_permission());
    }
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o700)).unwrap();
}

#[test]
fn entries_and_the_whole_are_bounded_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.tar.gz");
    let src = dir.path().join("big.txt");
    let line = "0123456789abcdef0123456789abcdef0123456789abcdef012345678\n"; // 58 bytes
    fs::write(&src, line.repeat(100)).unwrap();
    let limits = Limits {
        entry_max: 1000,
        total_max: 2500,
    };
    let mut b = Bundle::create(&out, false, "r", limits).unwrap();
    b.add_file("one", &src).unwrap();
    b.add_text("two", &line.repeat(100)).unwrap();
    b.add_text("three", &line.repeat(100)).unwrap();
    // What is left of the whole: cut to it, then nothing more.
    b.add_text("four", &format!("{}\n", "x".repeat(100)))
        .unwrap();
    b.add_text("five", "small\n").unwrap();
    b.add_file("missing", &dir.path().join("nope")).unwrap();
    let w = b.finish().unwrap();
    assert_eq!((w.files, w.truncated, w.left_out), (4, 4, 2), "{w:?}");
    let e = read_back(&out);
    let one = String::from_utf8(e[0].4.clone()).unwrap();
    // 17 whole lines (986 bytes) fit in 1000; then the note.
    assert!(
        one.ends_with("abcdef012345678\n[truncated at 986 bytes of 5800]\n"),
        "{one}"
    );
    assert_eq!(one.len(), 986 + "[truncated at 986 bytes of 5800]\n".len());
    let stored: usize = e[..4].iter().map(|x| x.4.len()).sum();
    assert!(stored <= 2500 + 4 * 40, "{stored}");
    let four = String::from_utf8(e[3].4.clone()).unwrap();
    assert!(
        four.starts_with("xxx") && four.contains("[truncated at "),
        "{four}"
    );
    let manifest = String::from_utf8(e.last().unwrap().4.clone()).unwrap();
    assert!(
        manifest.contains("five  (left out: the bundle reached its bound of 2500 bytes"),
        "{manifest}"
    );
    assert!(manifest.contains("missing  (left out: "), "{manifest}");
    assert!(
        manifest.contains("one  ([truncated at 986 bytes of 5800])"),
        "{manifest}"
    );
}

#[test]
fn cuts_end_at_a_line_or_a_character() {
    assert_eq!(cut(b"ab\ncd\nef", 7), b"ab\ncd\n");
    assert_eq!(cut(b"abcdef", 4), b"abcd");
    assert_eq!(cut("aé".as_bytes(), 2), b"a");
}

#[test]
fn names_are_redacted_unique_and_keep_their_extensions() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.tar.gz");
    let mut b = Bundle::create(&out, false, "r", Limits::default()).unwrap();
    b.add_text("logs/password=PLANTEDone.log.tail", "a")
        .unwrap();
    b.add_text("logs/password=PLANTEDtwo.log.tail", "b")
        .unwrap();
    b.add_text("logs/app_glpat-PLANTEDgitlabTok12345.log.tail", "c")
        .unwrap();
    assert_eq!(
        b.entries(),
        [
            "logs/password=[REDACTED].log.tail",
            "logs/password=[REDACTED]~2.log.tail",
            "logs/app_[REDACTED].log.tail",
        ]
    );
    // The secrets in names are counted with the bundle's.
    assert_eq!(b.redacted_count(), 3);
    let m = b.manifest();
    assert!(!m.contains("PLANTED"), "{m}");
    assert!(m.contains("password=[REDACTED]~2.log.tail"), "{m}");
}

#[test]
fn paths_are_sanitized() {
    assert_eq!(sanitize("/etc/passwd"), "etc/passwd");
    assert_eq!(sanitize("a/../../b//./c"), "a/b/c");
    assert_eq!(sanitize(".."), "");
    assert_eq!(sanitize("a\nb"), "a_b");
    let dir = tempfile::tempdir().unwrap();
    let mut b = Bundle::create(&dir.path().join("x"), false, "../..", Limits::default()).unwrap();
    b.add_text("..", "x").unwrap();
    b.add_text("MANIFEST.txt", "mine").unwrap();
    b.add_text("dup", "first").unwrap();
    b.add_text("dup", "second").unwrap();
    assert_eq!(b.entries(), ["unnamed", "_MANIFEST.txt", "dup", "dup~2"]);
    assert_eq!(b.root, "report");
}
