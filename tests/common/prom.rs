//! The live `serve` harness shared by tests/serve.rs and tests/identity_serve.rs: a running
//! `clw-diag serve` ([`Serve`]), a real Prometheus (Debian's `prometheus` package) scraping it
//! ([`Prometheus`]), both stopped by pid on drop, and raw HTTP requests to either.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{cmd, skip};

/// A running `clw-diag serve` on a port the kernel chose; killed by pid on drop.
pub struct Serve {
    child: Child,
    pub addr: String,
}

impl Serve {
    /// Start `clw-diag [global args] serve --listen 127.0.0.1:0 [args]` and wait for its
    /// "serving http://ADDR/metrics" line.
    pub fn start(global: &[&str], args: &[&str]) -> Serve {
        let mut child = cmd()
            .args(global)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn clw-diag serve");
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        err.read_line(&mut line).unwrap();
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or_else(|| panic!("serve did not start: {line:?}"))
            .to_string();
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            let _ = err.read_to_string(&mut sink);
        });
        Serve { child, addr }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The server's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the server is still running (has not exited).
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free TCP port on 127.0.0.1 (bound and released; a small race that tests accept).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real Prometheus server on its own port and temporary storage, scraping `targets` every
/// second; stopped by pid on drop.
pub struct Prometheus {
    child: Child,
    port: u16,
    pub dir: tempfile::TempDir,
}

impl Prometheus {
    /// `None`, with a printed reason, when the `prometheus` binary is not installed.
    pub fn start(targets: &[&str]) -> Option<Prometheus> {
        Self::start_with_rules(targets, None)
    }

    /// As [`Prometheus::start`], also evaluating the recording rules file `rules` (YAML, the
    /// `groups:` document) every second.
    pub fn start_with_rules(targets: &[&str], rules: Option<&str>) -> Option<Prometheus> {
        if Command::new("prometheus")
            .arg("--version")
            .output()
            .is_err()
        {
            skip("no prometheus binary (apt-get install prometheus)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let list: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: clw\n    static_configs:\n      - targets: [{}]\n",
            list.join(", ")
        );
        let config = match rules {
            Some(r) => {
                let file = dir.path().join("rules.yml");
                std::fs::write(&file, r).unwrap();
                format!("{config}rule_files: ['{}']\n", file.display())
            }
            None => config,
        };
        let cfg = dir.path().join("prometheus.yml");
        std::fs::write(&cfg, config).unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn prometheus");
        let p = Prometheus { child, port, dir };
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(60) {
            if http_get(&format!("{}/-/ready", p.url())).is_ok_and(|(s, _, _)| s == 200) {
                return Some(p);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("prometheus did not become ready:\n{}", p.log());
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    pub fn api(&self, path: &str, params: &[(&str, &str)]) -> Value {
        let mut req = ureq::get(format!("{}{path}", self.url()));
        for (k, v) in params {
            req = req.query(*k, *v);
        }
        let body = req
            .call()
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .body_mut()
            .read_to_string()
            .unwrap();
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], "success", "{path}: {body}");
        v["data"].clone()
    }

    /// `/api/v1/query`: the instant vector's result array.
    pub fn query(&self, expr: &str) -> Vec<Value> {
        self.api("/api/v1/query", &[("query", expr)])["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// `/api/v1/query_range` over [start, end] (Unix seconds): the matrix's result array.
    pub fn query_range(&self, expr: &str, start: f64, end: f64, step_s: f64) -> Vec<Value> {
        let (s, e, st) = (start.to_string(), end.to_string(), step_s.to_string());
        self.api(
            "/api/v1/query_range",
            &[("query", expr), ("start", &s), ("end", &e), ("step", &st)],
        )["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Wait until `expr` has a result (true) or `timeout` passes (false).
    pub fn wait_for(&self, expr: &str, timeout: Duration) -> bool {
        let t0 = Instant::now();
        while t0.elapsed() < timeout {
            if !self.query(expr).is_empty() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        false
    }

    /// `/api/v1/targets`: the active targets.
    pub fn targets(&self) -> Vec<Value> {
        self.api("/api/v1/targets", &[])["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw HTTP/1.0 exchange: (status, headers lowercased, body).
pub fn raw_http(addr: &str, request: &[u8]) -> std::io::Result<(u16, String, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.write_all(request)?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp)?;
    let text = String::from_utf8_lossy(&resp).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, head.to_ascii_lowercase(), body.to_string()))
}

pub fn http_get(url: &str) -> std::io::Result<(u16, String, String)> {
    http_get_accept(url, None)
}

pub fn http_get_accept(url: &str, accept: Option<&str>) -> std::io::Result<(u16, String, String)> {
    let rest = url.strip_prefix("http://").unwrap();
    let (addr, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let accept = accept
        .map(|a| format!("Accept: {a}\r\n"))
        .unwrap_or_default();
    raw_http(
        addr,
        format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n{accept}Connection: close\r\n\r\n")
            .as_bytes(),
    )
}

/// Samples of an exposition body: "name{labels}" -> value.
pub fn samples(body: &str) -> BTreeMap<String, f64> {
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l.rsplit_once(' ').unwrap();
            (k.to_string(), v.parse().unwrap())
        })
        .collect()
}
