//! Workload identity against real runtimes started here (tests/common/runtimes.rs): Docker and
//! docker-compose, containerd's CRI plugin driven as kubelet would, podman.

mod common;

use std::time::Duration;

use common::runtimes::*;

#[test]
fn runtimes_harness_smoke() {
    if let Some(d) = Dockerd::start() {
        eprintln!("dockerd ready in {:?}", d.ready_in);
        let o = d.run(
            "clw-hog",
            &[
                "--memory",
                "64m",
                "--memory-swap",
                "64m",
                "--network",
                "none",
                IMAGE,
                "/bin/hog",
                "200",
            ],
        );
        assert_eq!(o.status.code(), Some(137), "{}", said(&o));
        let id = d.id("clw-hog").unwrap();
        let r = wait_oom_report(&format!("/docker/{id}"), Duration::from_secs(5));
        assert!(r.contains("Killed process"), "{r}");
    }
    if let Some(c) = Containerd::start() {
        eprintln!(
            "containerd ready in {:?}, images {:?}",
            c.ready_in, c.images_in
        );
        let (sb, ctr) = c.run_pod(&["/bin/hog", "20", "30"]).unwrap();
        assert!(Containerd::bundle(&sb).join("config.json").is_file());
        assert!(Containerd::bundle(&ctr).join("config.json").is_file());
    }
    if let Some(p) = Podman::start() {
        let o = p.run(
            "clw-hog",
            &["--memory", "64m", "--memory-swap", "64m"],
            &["/bin/hog", "200"],
        );
        assert_eq!(o.status.code(), Some(137), "{}", said(&o));
    }
}
