//! The leak detector on the real-program corpus (issue 15, "a real-program corpus"): the traces
//! in tests/fixtures/leak-corpus/ were recorded here with `clw-diag record` from the programs of
//! tests/helpers/leak-corpus/ (benches/record_leak_corpus.sh; provenance in the corpus README),
//! and labels.json says which programs leak. With the default metric, `analyze memory-trace`
//! must reach precision ≥ 0.95 and recall ≥ 0.95 for the verdict "leak", and call no non-leaker
//! trace a leak. Only "leak" counts as positive: a leaker called "suspected" is a miss.
//! `benches/leak_corpus.sh` prints the same figures for every metric.

mod common;

use std::collections::BTreeMap;

use common::{cmd, fixtures, json};

struct Scored {
    tp: usize,
    fp: usize,
    leakers: usize,
    table: String,
}

fn score() -> Scored {
    let dir = fixtures().join("leak-corpus");
    let labels: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("labels.json"))
            .expect("tests/fixtures/leak-corpus/labels.json"),
    )
    .expect("labels.json is JSON");
    let labels = labels.as_object().expect("labels.json is an object");
    assert!(
        labels.len() >= 16 * 3,
        "the corpus has only {} traces",
        labels.len()
    );
    let files: Vec<String> = labels
        .keys()
        .map(|f| dir.join(f).to_string_lossy().into_owned())
        .collect();
    let out = json(
        &cmd()
            .args(["analyze", "memory-trace", "--json", "-q"])
            .args(&files)
            .output()
            .expect("run clw-diag"),
    );
    let results = out["results"].as_array().expect("results");
    assert_eq!(results.len(), files.len(), "one result per trace");
    let (mut tp, mut fp, mut leakers) = (0, 0, 0);
    let mut per: BTreeMap<(String, String), BTreeMap<String, usize>> = BTreeMap::new();
    let mut wrong = Vec::new();
    for r in results {
        let path = r["file"].as_str().expect("file");
        let name = path.rsplit('/').next().unwrap_or(path);
        let label = &labels[name];
        let leak = label["label"] == "leak";
        let verdict = r["verdict"].as_str().expect("verdict");
        leakers += usize::from(leak);
        tp += usize::from(leak && verdict == "leak");
        fp += usize::from(!leak && verdict == "leak");
        if leak != (verdict == "leak") {
            wrong.push(format!(
                "  {name}: {verdict} (confidence {}, growth {}%): {}",
                r["confidence"], r["growth_pct"], r["notes"]
            ));
        }
        let key = (
            label["program"].as_str().unwrap_or("?").to_string(),
            label["label"].as_str().unwrap_or("?").to_string(),
        );
        *per.entry(key)
            .or_default()
            .entry(verdict.to_string())
            .or_default() += 1;
    }
    let mut table = String::from("program              label    verdicts\n");
    for ((program, label), counts) in &per {
        let counts: Vec<String> = counts.iter().map(|(v, n)| format!("{v} {n}")).collect();
        table += &format!("{program:20} {label:8} {}\n", counts.join(", "));
    }
    if !wrong.is_empty() {
        table += &format!("wrong verdicts:\n{}\n", wrong.join("\n"));
    }
    Scored {
        tp,
        fp,
        leakers,
        table,
    }
}

#[test]
fn leak_verdicts_on_the_real_program_corpus() {
    let s = score();
    let called = s.tp + s.fp;
    let precision = if called == 0 {
        0.0
    } else {
        s.tp as f64 / called as f64
    };
    let recall = s.tp as f64 / s.leakers.max(1) as f64;
    let summary = format!(
        "precision {}/{called} = {precision:.3}, recall {}/{} = {recall:.3}, non-leakers called leak: {}\n{}",
        s.tp, s.tp, s.leakers, s.fp, s.table
    );
    eprintln!("{summary}");
    assert_eq!(s.fp, 0, "a non-leaker trace was called leak: {summary}");
    assert!(precision >= 0.95, "precision below 0.95: {summary}");
    assert!(recall >= 0.95, "recall below 0.95: {summary}");
}
