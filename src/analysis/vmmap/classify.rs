//! The rules that put each mapping of `/proc/PID/smaps` in a category: alone (names, flags,
//! permissions; see the rules in the [`vmmap`](super) module doc) and with its neighbours
//! (a PROT_NONE guard below a thread stack; the anonymous `.bss` after a file's writable data,
//! up to the ELF segment's end, [`super::bss`]).

use super::bss::BssFinder;
use super::Category;
use crate::sample::smaps::Mapping;

/// The category of a mapping judged on its own; neighbour rules are applied by [`Classifier`].
pub fn classify_alone(m: &Mapping) -> Category {
    let p = m.path.as_str();
    if m.has_flag("ht") {
        return Category::Hugetlb;
    }
    match p {
        "[heap]" => return Category::Heap,
        "[stack]" => return Category::MainStack,
        _ => {}
    }
    if p.starts_with("/SYSV")
        || p.starts_with("/dev/shm/")
        || p.starts_with("/memfd:")
        || p.starts_with("[anon_shmem:")
        || p.starts_with("/dev/zero")
        || (m.shared() && (m.is_anonymous() || p == "/ (deleted)"))
    {
        return Category::Shmem;
    }
    if p.starts_with("[anon:") || m.is_anonymous() {
        return Category::AnonPrivate;
    }
    if p.starts_with('[') {
        return Category::Kernel;
    }
    if m.executable() {
        Category::Code
    } else if m.writable() {
        Category::FileRwData
    } else {
        Category::FileRoData
    }
}

/// Largest PROT_NONE region still taken as a thread-stack guard (glibc's default is one page;
/// `pthread_attr_setguardsize` can make it larger).
const MAX_GUARD_KB: u64 = 1024;

/// Streaming classifier: holds one mapping back so the neighbour rules (guard below a thread
/// stack, `.bss` after file data) can see both sides.
#[derive(Default)]
pub struct Classifier {
    pending: Option<(Mapping, Category)>,
    bss: BssFinder,
}

impl Classifier {
    /// A classifier that reads the ELF headers of mapped files (under `pid_dir/root`) and the
    /// pagemap of `pid_dir` to bound a `.bss` by its segment; [`Classifier::default`] counts
    /// the whole anonymous mapping after a file's writable data as its `.bss`.
    pub fn for_process(pid_dir: &std::path::Path) -> Classifier {
        Classifier {
            pending: None,
            bss: BssFinder::new(Some(pid_dir)),
        }
    }

    /// Feed the next mapping (address order); returns the mappings now settled (none, one, or
    /// two when a `.bss` was split from the anonymous memory after it), in address order.
    /// (An array rather than a `Vec`: no allocation per mapping on the 20,000-mapping path.)
    pub fn push(&mut self, m: Mapping) -> [Option<(Mapping, Category)>; 2] {
        let mut cat = classify_alone(&m);
        let Some((prev, mut pcat)) = self.pending.take() else {
            self.pending = Some((m, cat));
            return [None, None];
        };
        let adjacent = prev.end == m.start;
        let anon_rw = cat == Category::AnonPrivate && m.is_anonymous() && &m.perms == b"rw-p";
        if anon_rw
            && adjacent
            && prev.is_anonymous()
            && prev.no_access()
            && !prev.shared()
            && prev.size_kb <= MAX_GUARD_KB
        {
            cat = Category::ThreadStacks;
            pcat = Category::ThreadStacks;
        }
        // With brk not randomized away from it (`setarch -R`, or a random offset of 0), the
        // kernel merges the executable's .bss into `[heap]`: the VMA is named [heap] and starts
        // at the .bss.
        let heap_rw = cat == Category::Heap && &m.perms == b"rw-p";
        let after_file_data =
            (anon_rw || heap_rw) && adjacent && prev.is_file() && prev.writable() && !prev.shared();
        let mut pending = (m, cat);
        if after_file_data {
            let rest_cat = if heap_rw {
                Category::Heap
            } else {
                Category::AnonPrivate
            };
            match self.bss.bss_end(&prev) {
                // The segment ends before this mapping: no .bss in it.
                Some(end) if end <= pending.0.start => {}
                // The .bss ends inside: the part after it is anonymous memory (or the heap).
                Some(end) if end < pending.0.end => {
                    let (bss, rest) = self.bss.split(&pending.0, end);
                    self.pending = Some((rest, rest_cat));
                    return [Some((prev, pcat)), Some((bss, Category::FileRwData))];
                }
                // Without the headers a [heap] stays the heap (never claimed as .bss).
                _ if heap_rw => {}
                // All .bss, or the headers could not be read: the whole mapping, as before.
                _ => pending.1 = Category::FileRwData,
            }
        }
        self.pending = Some(pending);
        [Some((prev, pcat)), None]
    }

    /// Flush the mapping held back.
    pub fn finish(&mut self) -> Option<(Mapping, Category)> {
        self.pending.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::vmmap::Category;

    fn m(start: u64, end: u64, perms: &str, path: &str) -> Mapping {
        Mapping {
            start,
            end,
            perms: perms.as_bytes().try_into().unwrap(),
            path: path.into(),
            size_kb: (end - start) / 1024,
            ..Mapping::default()
        }
    }

    fn run(ms: Vec<Mapping>) -> Vec<Category> {
        let mut c = Classifier::default();
        let mut out = Vec::new();
        for x in ms {
            out.extend(c.push(x).into_iter().flatten().map(|(_, cat)| cat));
        }
        if let Some((_, cat)) = c.finish() {
            out.push(cat);
        }
        out
    }

    #[test]
    fn hugetlb_and_named_shared_memory() {
        let mut huge = m(0x200000, 0x400000, "rw-s", "/anon_hugepage (deleted)");
        huge.vm_flags = "rd wr sh mr mw me ms de ht sd".into();
        assert_eq!(classify_alone(&huge), Category::Hugetlb);
        assert_eq!(
            classify_alone(&m(0x1000, 0x2000, "rw-s", "/dev/shm/pool")),
            Category::Shmem
        );
        assert_eq!(
            classify_alone(&m(0x1000, 0x2000, "rw-s", "[anon_shmem:ring]")),
            Category::Shmem
        );
        assert_eq!(
            classify_alone(&m(0x1000, 0x2000, "rw-s", "")),
            Category::Shmem
        );
        assert_eq!(
            classify_alone(&m(0x1000, 0x2000, "r-xp", "[uprobes]")),
            Category::Kernel
        );
        assert_eq!(
            classify_alone(&m(0x1000, 0x2000, "rw-s", "/var/lib/db.mmap")),
            Category::FileRwData
        );
    }

    #[test]
    fn thread_stack_needs_guard_below() {
        let cats = run(vec![
            m(0x1000, 0x2000, "---p", ""),
            m(0x2000, 0x802000, "rw-p", ""),
            // malloc arena: usable part then a big PROT_NONE reservation above it
            m(0x10000000, 0x10021000, "rw-p", ""),
            m(0x10021000, 0x14000000, "---p", ""),
        ]);
        use Category::*;
        assert_eq!(
            cats,
            vec![ThreadStacks, ThreadStacks, AnonPrivate, AnonPrivate]
        );
    }

    #[test]
    fn a_heap_after_file_data_stays_the_heap_without_the_headers() {
        use Category::*;
        // No ELF headers to say where the .bss ends (a copied tree): [heap] is not claimed.
        let cats = run(vec![
            m(0x401000, 0x402000, "rw-p", "/bin/x"),
            m(0x402000, 0x900000, "rw-p", "[heap]"),
        ]);
        assert_eq!(cats, vec![FileRwData, Heap]);
    }

    #[test]
    fn bss_follows_file_data_and_names_win() {
        use Category::*;
        let cats = run(vec![
            m(0x400000, 0x401000, "r-xp", "/bin/x"),
            m(0x401000, 0x402000, "rw-p", "/bin/x"),
            m(0x402000, 0x403000, "rw-p", ""),
            m(0x500000, 0x600000, "rw-p", "[heap]"),
            m(0x700000, 0x701000, "rw-s", "/memfd:pool (deleted)"),
            m(0x710000, 0x711000, "rw-s", "/SYSV00000000 (deleted)"),
            m(0x720000, 0x721000, "rw-s", "/dev/zero (deleted)"),
            m(0x730000, 0x731000, "r--p", "[vvar]"),
            m(0x740000, 0x741000, "rw-p", "[anon:glibc malloc]"),
            m(0x750000, 0x751000, "r--p", "/usr/share/locale/x"),
        ]);
        assert_eq!(
            cats,
            vec![
                Code,
                FileRwData,
                FileRwData,
                Heap,
                Shmem,
                Shmem,
                Shmem,
                Kernel,
                AnonPrivate,
                FileRoData
            ]
        );
    }
}
