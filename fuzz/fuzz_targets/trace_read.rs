//! The trace readers (`trace::read::read_text`: clw-diag JSON Lines, JSON with a `samples`
//! array, CSV with a header row, Prometheus `query_range`) on arbitrary text. The first byte
//! picks a prefix that steers the input into one reader past its sniffing (a clw header line, a
//! CSV header, a Prometheus envelope, nothing) and whether a metric is asked for. An `Err` is
//! fine; a panic is a bug; every series read is consistent.
#![no_main]

use std::path::Path;

use clw_diag::trace::read;
use libfuzzer_sys::fuzz_target;

const HEADER: &str = "{\"clw_trace\":1,\"target\":{\"kind\":\"process\"},\"metrics\":[\"rss_bytes\",\"anon_bytes\"],\"interval_s\":1}\n";

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let body = String::from_utf8_lossy(rest);
    let text = match sel % 4 {
        0 => body.into_owned(),
        1 => format!("{HEADER}{body}"),
        2 => format!("time,rss_kb,anon_kb\n{body}"),
        _ => format!(
            "{{\"status\":\"success\",\"data\":{{\"resultType\":\"matrix\",\"result\":[{body}]}}}}"
        ),
    };
    let metric = (sel & 4 != 0).then_some("rss");
    if let Ok(series) = read::read_text(&text, Path::new("fuzz-trace"), metric) {
        for s in series {
            assert_eq!(s.t.len(), s.v.len());
            assert!(s.t.iter().all(|t| t.is_finite()));
        }
    }
});
