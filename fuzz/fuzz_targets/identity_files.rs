//! The identity resolver over a host-root tree built from the input: Docker's
//! `config.v2.json` and `daemon.json`, a containerd task bundle's `config.json`, CRI-O's
//! `userdata/config.json`, podman's `containers.json`, each resolved through the cgroup path
//! shape that reads it (`identity::Resolver`). Any answer is fine; a panic is a bug, and an
//! identity that names a container says where the name came from (`source` not empty).
//!
//! Input: the first byte is a separator; the rest, split on it, gives in order the five files
//! (a missing part is a missing file). The tree is written under /dev/shm.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use clw_diag::identity::Resolver;
use libfuzzer_sys::fuzz_target;

const ID: &str = "4f9a2c1be07d0a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123";

fn files() -> [String; 5] {
    [
        format!("var/lib/docker/containers/{ID}/config.v2.json"),
        "etc/docker/daemon.json".into(),
        format!("run/containerd/io.containerd.runtime.v2.task/k8s.io/{ID}/config.json"),
        format!("run/containers/storage/overlay-containers/{ID}/userdata/config.json"),
        "var/lib/containers/storage/overlay-containers/containers.json".into(),
    ]
}

fn root() -> &'static PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let r = PathBuf::from(format!("/dev/shm/clw-fuzz-identity-{}", std::process::id()));
        for f in files() {
            std::fs::create_dir_all(r.join(f).parent().unwrap()).unwrap();
        }
        r
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&sep, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.split(|&b| b == sep);
    for f in files() {
        let p = root().join(&f);
        match parts.next() {
            Some(bytes) => std::fs::write(&p, bytes).unwrap(),
            None => {
                let _ = std::fs::remove_file(&p);
            }
        }
    }
    let uid = "0f1e2d3c-4b5a-6978-8877-665544332211";
    for cg in [
        format!("/docker/{ID}"),
        format!("/kubepods/burstable/pod{uid}/{ID}"),
        format!("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{}.slice/crio-{ID}.scope", uid.replace('-', "_")),
        format!("/libpod_parent/libpod-{ID}"),
        format!("/system.slice/docker-{}.scope", &ID[..12]),
    ] {
        let id = Resolver::new(root()).resolve(&cg);
        if id.container_name.is_some() || id.pod.is_some() {
            assert!(!id.source.is_empty(), "{cg}: a name without a source: {id:?}");
        }
        let _ = id.workload();
        let _ = id.matches("shop/web/hog");
    }
});
