//! Out-of-memory messages of language runtimes and allocators: the JVM (`OutOfMemoryError`,
//! OpenJ9's JVMDUMP lines), V8/Node (`JavaScript heap out of memory`, "Reached heap limit"), Go
//! (runtime/malloc.go `throw("runtime: out of memory")`), Python (`MemoryError`), Rust
//! (std's `handle_alloc_error`: "memory allocation of N bytes failed"), C++ (`std::bad_alloc`)
//! and jemalloc (`<jemalloc>: Error in malloc(): out of memory`).

use super::event;
use crate::triage::event::{Event, Kind, SourceRef};
use crate::triage::normalize::Line;

/// The runtime that printed an out-of-memory message, if any: `java`, `node`, `go`, `python`,
/// `rust`, `cxx` or `jemalloc`.
pub fn runtime_oom(msg: &str) -> Option<&'static str> {
    Some(if msg.contains("OutOfMemoryError") {
        "java"
    } else if msg.contains("JavaScript heap out of memory")
        || msg.contains("Reached heap limit Allocation failed")
    {
        "node"
    } else if msg.contains("fatal error: runtime: out of memory") {
        "go"
    } else if msg.contains("MemoryError") {
        "python"
    } else if msg.contains("memory allocation of ") && msg.contains(" bytes failed") {
        "rust"
    } else if msg.contains("std::bad_alloc") {
        "cxx"
    } else if msg.contains("<jemalloc>") && msg.contains("out of memory") {
        "jemalloc"
    } else {
        return None;
    })
}

/// A `runtime_oom` event for a runtime's out-of-memory line.
pub(super) fn out_of_memory(l: &Line<'_>, src: &SourceRef, out: &mut Vec<Event>) -> bool {
    let Some(runtime) = runtime_oom(l.msg) else {
        return false;
    };
    let mut e = event(Kind::RuntimeOom, l.msg, src);
    e.runtime = Some(runtime);
    out.push(e);
    true
}

#[cfg(test)]
mod tests {
    use super::super::tests::run;
    use super::*;

    #[test]
    fn each_runtime_by_its_own_words() {
        // One line from each of tests/fixtures/triage/java-littlebit-2-…, node-gemini-cli-4359-…,
        // go-alice-lg-25-…, python-numpy-keypointfusion-3-…, python-phylosuite-52-…,
        // rust-bitiodine-16-…, cpp-hgt-finder-7-…, jemalloc-spades-54-….
        let ev = run("Find symbols...Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space\n\
                      FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n\
                      fatal error: runtime: out of memory\n\
                      numpy.core._exceptions._ArrayMemoryError: Unable to allocate 58.0 GiB for an array with shape (176351, 176460) and data type uint16\n\
                      MemoryError\n\
                      memory allocation of 23400000000 bytes failedAborted\n\
                      Reading in tax DB...terminate called after throwing an instance of 'std::bad_alloc'\n\
                      <jemalloc>: Error in realloc(): out of memory. Requested: 16, active: 254845911040");
        let rt: Vec<_> = ev.iter().map(|e| e.runtime).collect();
        let want = [
            "java", "node", "go", "python", "python", "rust", "cxx", "jemalloc",
        ];
        assert_eq!(rt, want.map(Some).to_vec());
        assert!(ev.iter().all(|e| e.kind == Kind::RuntimeOom));
    }

    #[test]
    fn words_that_are_not_an_out_of_memory() {
        assert_eq!(runtime_oom("jemalloc: arena 3 created"), None);
        assert_eq!(
            runtime_oom("memory allocation of 8192 bytes succeeded"),
            None
        );
    }
}
