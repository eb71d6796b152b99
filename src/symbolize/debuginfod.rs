//! A debuginfod client: debug files and executables fetched by build ID from the servers the
//! user names, only when asked (`--debuginfod`, or `DEBUGINFOD_URLS` set in the environment).
//!
//! Protocol and environment as elfutils defines them (debuginfod(8) "WEBAPI",
//! debuginfod-find(1) "ENVIRONMENT VARIABLES"):
//!
//! - `GET $URL/buildid/BUILDID/debuginfo` and `GET $URL/buildid/BUILDID/executable`, BUILDID in
//!   lowercase hex; 200 with the ELF file, 404 when the server does not have it.
//! - `DEBUGINFOD_URLS`: server URLs separated by spaces, tried in order.
//! - `DEBUGINFOD_TIMEOUT`: seconds to wait for a connection and for the response to begin
//!   (default 90, as elfutils).
//! - `DEBUGINFOD_CACHE_PATH`: the cache directory, else `$XDG_CACHE_HOME/debuginfod_client`,
//!   else `$HOME/.cache/debuginfod_client`. Files are cached as `BUILDID/debuginfo` and
//!   `BUILDID/executable`, the layout elfutils' client uses, so gdb, eu-stack and clw-diag
//!   share one cache.
//!
//! A fetched file is written to a temporary name in its cache directory and renamed into place
//! only when it is complete and starts with the ELF magic, so an interrupted or failed download
//! never leaves a file that a later run would trust.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What to fetch for a build ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Artifact {
    /// The separate debug file (`/debuginfo`).
    DebugInfo,
    /// The executable or shared library itself (`/executable`).
    Executable,
}

impl Artifact {
    fn name(self) -> &'static str {
        match self {
            Artifact::DebugInfo => "debuginfo",
            Artifact::Executable => "executable",
        }
    }
}

/// The servers and cache, from the environment.
#[derive(Debug, Clone)]
pub struct Debuginfod {
    /// The servers from `DEBUGINFOD_URLS` (space-separated, trailing `/` removed), asked in order.
    pub urls: Vec<String>,
    /// Where fetched files are kept, by build ID: `DEBUGINFOD_CACHE_PATH`, else
    /// `$XDG_CACHE_HOME/debuginfod_client`, else `~/.cache/debuginfod_client`.
    pub cache: PathBuf,
    /// Connection and first-response timeout.
    pub timeout: Duration,
}

impl Debuginfod {
    /// The client described by the environment: `None` when `DEBUGINFOD_URLS` is unset or
    /// empty and `required` is false.
    ///
    /// Errors (a message for the user): `required` (`--debuginfod` was given) but
    /// `DEBUGINFOD_URLS` names no server; no cache directory can be named (no
    /// `DEBUGINFOD_CACHE_PATH`, `XDG_CACHE_HOME` or `HOME`).
    pub fn from_env(required: bool) -> Result<Option<Debuginfod>, String> {
        let urls: Vec<String> = std::env::var("DEBUGINFOD_URLS")
            .unwrap_or_default()
            .split_whitespace()
            .map(|u| u.trim_end_matches('/').to_string())
            .collect();
        if urls.is_empty() {
            return if required {
                Err(
                    "--debuginfod needs the servers in DEBUGINFOD_URLS (space-separated URLs, \
                     e.g. DEBUGINFOD_URLS=https://debuginfod.debian.net)"
                        .into(),
                )
            } else {
                Ok(None)
            };
        }
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let cache = var("DEBUGINFOD_CACHE_PATH")
            .or_else(|| var("XDG_CACHE_HOME").map(|c| c.join("debuginfod_client")))
            .or_else(|| var("HOME").map(|h| h.join(".cache/debuginfod_client")))
            .ok_or("debuginfod: no cache directory (set DEBUGINFOD_CACHE_PATH or HOME)")?;
        let timeout = std::env::var("DEBUGINFOD_TIMEOUT")
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .filter(|&s| s > 0)
            .unwrap_or(90);
        Ok(Some(Debuginfod {
            urls,
            cache,
            timeout: Duration::from_secs(timeout),
        }))
    }

    /// The cached path of `what` for `build_id` (lowercase hex), whether it exists or not.
    pub fn cache_path(&self, build_id: &str, what: Artifact) -> PathBuf {
        self.cache.join(build_id).join(what.name())
    }

    /// The file `what` for `build_id`: from the cache, else from the first server that has
    /// it (then cached).
    ///
    /// Errors (a message naming the servers tried and what each answered): the build ID is
    /// not hex; no server has the file (404), a server cannot be reached or times out, or
    /// what it sent is not an ELF file; the cache cannot be written.
    pub fn fetch(&self, build_id: &str, what: Artifact) -> Result<PathBuf, String> {
        if build_id.len() < 2 || !build_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("debuginfod: {build_id:?} is not a build ID"));
        }
        let build_id = build_id.to_ascii_lowercase();
        let dest = self.cache_path(&build_id, what);
        if dest.is_file() {
            return Ok(dest);
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(self.timeout))
            .timeout_recv_response(Some(self.timeout))
            .http_status_as_error(false)
            .user_agent(concat!("clw-diag/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let mut answers = Vec::new();
        for url in &self.urls {
            let full = format!("{url}/buildid/{build_id}/{}", what.name());
            match self.download(&agent, &full, &dest) {
                Ok(()) => return Ok(dest),
                Err(e) => answers.push(format!("{full}: {e}")),
            }
        }
        Err(format!("debuginfod: {}", answers.join("; ")))
    }

    fn download(&self, agent: &ureq::Agent, url: &str, dest: &Path) -> Result<(), String> {
        let mut res = agent.get(url).call().map_err(|e| e.to_string())?;
        let status = res.status().as_u16();
        if status == 404 {
            return Err("not found (404)".into());
        }
        if status != 200 {
            return Err(format!("HTTP {status}"));
        }
        let dir = dest.parent().ok_or("no cache directory")?;
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let tmp = dir.join(format!(".{}.tmp.{}", dest_name(dest), std::process::id()));
        let result = (|| -> Result<(), String> {
            let mut f =
                std::fs::File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
            let mut body = res.body_mut().as_reader();
            let mut head = [0u8; 4];
            let mut got = 0;
            // The first bytes must be the ELF magic; the rest is streamed to the file.
            while got < 4 {
                let n =
                    std::io::Read::read(&mut body, &mut head[got..]).map_err(|e| e.to_string())?;
                if n == 0 {
                    break;
                }
                got += n;
            }
            if &head[..got] != b"\x7fELF" {
                return Err("the server sent something that is not an ELF file".into());
            }
            f.write_all(&head).map_err(|e| e.to_string())?;
            std::io::copy(&mut body, &mut f).map_err(|e| format!("download cut short: {e}"))?;
            f.sync_all().map_err(|e| e.to_string())?;
            std::fs::rename(&tmp, dest).map_err(|e| format!("{}: {e}", dest.display()))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }
}

fn dest_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_a_build_id_is_refused_before_any_request() {
        let d = Debuginfod {
            urls: vec!["http://127.0.0.1:1".into()],
            cache: PathBuf::from("/nonexistent"),
            timeout: Duration::from_secs(1),
        };
        assert!(d
            .fetch("../../etc", Artifact::DebugInfo)
            .unwrap_err()
            .contains("not a build ID"));
        assert!(d.fetch("", Artifact::Executable).is_err());
    }

    #[test]
    fn unreachable_server_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let d = Debuginfod {
            // Port 1 on loopback: connection refused at once.
            urls: vec!["http://127.0.0.1:1".into()],
            cache: dir.path().to_path_buf(),
            timeout: Duration::from_secs(2),
        };
        let e = d.fetch("abcdef0123", Artifact::DebugInfo).unwrap_err();
        assert!(
            e.contains("http://127.0.0.1:1/buildid/abcdef0123/debuginfo"),
            "{e}"
        );
        assert!(!d.cache_path("abcdef0123", Artifact::DebugInfo).exists());
    }
}
