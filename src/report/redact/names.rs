//! File names that leave the machine (bundle entry names, the MANIFEST): a log named
//! `password=hunter2.log` must not carry `hunter2` into the archive, and its redacted name should
//! still read as the log it was (`password=[REDACTED].log`), so the extensions are kept.

use super::{redact, Redacted};

/// Extensions kept after a redacted stem (compared case-insensitively), plus rotation numbers
/// (`.1`, `.12`).
const EXTENSIONS: &[&str] = &[
    "log", "tail", "txt", "json", "jsonl", "gz", "zst", "xz", "bz2", "out", "err", "csv", "yaml",
    "yml", "conf", "core",
];

/// `name` split into its stem and the run of known extensions at its end:
/// `app.log.1.tail` → (`app`, `.log.1.tail`).
fn split_extensions(name: &str) -> (&str, &str) {
    let mut stem = name;
    while let Some(dot) = stem.rfind('.') {
        let ext = &stem[dot + 1..];
        let known = EXTENSIONS.iter().any(|e| ext.eq_ignore_ascii_case(e))
            || (!ext.is_empty() && ext.len() <= 3 && ext.bytes().all(|b| b.is_ascii_digit()));
        if dot == 0 || !known {
            break;
        }
        stem = &stem[..dot];
    }
    (stem, &name[stem.len()..])
}

/// A `/`-separated path with the secrets of each component replaced, its extensions kept:
/// `logs/var_log_password=hunter2.log.tail` → `logs/var_log_password=[REDACTED].log.tail`.
pub fn redact_file_name(path: &str) -> Redacted {
    let mut count = 0;
    let parts: Vec<String> = path
        .split('/')
        .map(|c| {
            let (stem, ext) = split_extensions(c);
            let r = redact(stem);
            count += r.count;
            // Entry names join a path's components with `_` (`tmp_x_ghp_…`); a token that must
            // start at a word boundary is found again in each `_`-separated piece.
            let pieces: Vec<String> = r
                .text
                .split('_')
                .map(|piece| {
                    let r = redact(piece);
                    count += r.count;
                    r.text
                })
                .collect();
            format!("{}{ext}", pieces.join("_"))
        })
        .collect();
    Redacted {
        text: parts.join("/"),
        count,
    }
}

/// `path` with `~n` before the extensions of its last component, for the `n`th of several
/// names that read the same once redacted: `logs/password=[REDACTED]~2.log`.
pub fn numbered_file_name(path: &str, n: usize) -> String {
    let (dir, leaf) = match path.rfind('/') {
        Some(i) => path.split_at(i + 1),
        None => ("", path),
    };
    let (stem, ext) = split_extensions(leaf);
    format!("{dir}{stem}~{n}{ext}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_survive_and_stems_are_redacted() {
        assert_eq!(split_extensions("app.log.1.tail"), ("app", ".log.1.tail"));
        assert_eq!(split_extensions(".bashrc"), (".bashrc", ""));
        assert_eq!(split_extensions("v1.2.txt"), ("v1", ".2.txt"));
        let r = redact_file_name("logs/tmp_x_password=PLANTEDinFilename.log.tail");
        assert_eq!(r.text, "logs/tmp_x_password=[REDACTED].log.tail");
        assert_eq!(r.count, 1);
        let r = redact_file_name("logs/app_glpat-PLANTEDgitlabTok12345xy.log.tail");
        assert_eq!(r.text, "logs/app_[REDACTED].log.tail");
        let r = redact_file_name("logs/tmp_x_sk-proj-PLANTEDopenaiKey0123456789.log.tail");
        assert_eq!(r.text, "logs/tmp_x_[REDACTED].log.tail");
        let plain = "processes/1234/smaps_rollup";
        assert_eq!(redact_file_name(plain).text, plain);
        assert_eq!(redact_file_name(plain).count, 0);
        assert_eq!(
            numbered_file_name("logs/password=[REDACTED].log.tail", 2),
            "logs/password=[REDACTED]~2.log.tail"
        );
        assert_eq!(numbered_file_name("x", 3), "x~3");
    }
}
