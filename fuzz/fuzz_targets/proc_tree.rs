//! A whole small `--proc-root` tree built from the input, read the way `vmmap --verify
//! --mappings --sort rss`, `sample --pid`, `oom-rank` and `record` read it: `analysis::vmmap`,
//! `sample::process::read_process`, `sample::host::read_host`, `analysis::oom::rank` and the
//! `sample::pidfiles` readers. Any `Err` is fine; a panic is a bug, and a vmmap that succeeds
//! counts every mapping once.
//!
//! Input: the first byte is a separator; the rest, split on it, gives in order `stat`,
//! `status`, `smaps`, `smaps_rollup`, `cmdline`, `/proc/meminfo`, `oom_score_adj`, `cgroup`
//! of pid 7 (a missing part is a missing file). The tree is written under /dev/shm.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use clw_diag::analysis::{oom, vmmap};
use clw_diag::sample::{host, pidfiles::PidFiles, process};
use libfuzzer_sys::fuzz_target;

const FILES: [&str; 8] = [
    "7/stat",
    "7/status",
    "7/smaps",
    "7/smaps_rollup",
    "7/cmdline",
    "meminfo",
    "7/oom_score_adj",
    "7/cgroup",
];

fn root() -> &'static PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let r = PathBuf::from(format!(
            "/dev/shm/clw-fuzz-proc_tree-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(r.join("proc/7")).unwrap();
        r
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&sep, rest)) = data.split_first() else {
        return;
    };
    let proc_root = root().join("proc");
    let mut parts = rest.split(|&c| c == sep);
    for name in FILES {
        let path = proc_root.join(name);
        match parts.next() {
            Some(bytes) => std::fs::write(&path, bytes).unwrap(),
            None => {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    let opts = vmmap::VmmapOptions {
        mappings: true,
        sort: Some(vmmap::SortKey::Rss),
        verify: true,
    };
    if let Ok(r) = vmmap::vmmap(&proc_root, 7, opts) {
        let rows = r.mappings.as_ref().map_or(0, |m| m.len() as u64);
        assert_eq!(rows, r.totals.mappings);
        let by_cat: u64 = r.categories.iter().map(|c| c.totals.mappings).sum();
        assert_eq!(by_cat, r.totals.mappings);
        assert_eq!(r.partial, r.partial_reason.is_some());
    }
    let _ = process::read_process(
        &proc_root,
        7,
        process::ReadOptions {
            rollup: true,
            cgroup_version: None,
        },
    );
    let _ = host::read_host(&proc_root);
    let _ = oom::rank(&oom::Options {
        proc_root: proc_root.clone(),
        cgroup_root: root().join("no-cgroups"),
        host_root: root().join("no-host"),
        cgroup: None,
    });
    let mut pf = PidFiles::new(&proc_root);
    let _ = (pf.stat(7), pf.status(7), pf.statm(7), pf.rollup(7));
});
