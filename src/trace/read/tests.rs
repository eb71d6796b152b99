use super::*;

fn p() -> &'static Path {
    Path::new("t")
}

#[test]
fn jsonl_with_torn_last_line_and_events() {
    let t = "{\"clw_trace\":1,\"target\":{\"kind\":\"process\"},\"metrics\":[\"rss_bytes\",\"anon_bytes\"],\"interval_s\":1}\n\
             {\"t\":0,\"rss_bytes\":10,\"anon_bytes\":5,\"pid\":3}\n\
             {\"t\":1,\"rss_bytes\":11,\"anon_bytes\":6,\"pid\":3}\n\
             {\"t\":1.5,\"event\":\"target_exited\",\"exit_code\":null,\"signal\":9}\n\
             {\"t\":2,\"rss_bytes\":1";
    let s = &read_text(t, p(), None).unwrap()[0];
    assert_eq!(s.metric, "anon_bytes");
    assert_eq!(s.v, vec![5.0, 6.0]);
    assert_eq!(s.exit(), Some((None, Some(9))));
    assert_eq!(s.warnings.len(), 1);
    assert!(
        read_text(&t.replace("\"clw_trace\":1", "\"clw_trace\":7"), p(), None)
            .unwrap_err()
            .to_string()
            .contains("version 7")
    );
}

#[test]
fn csv_units_and_validation() {
    let s = &read_text("time,rss_kb\n0,1024\n1,2048\n", p(), None).unwrap()[0];
    assert_eq!(s.v, vec![1048576.0, 2097152.0]);
    let s = &read_text(
        "timestamp,mem\n2024-04-15T10:00:00Z,1MiB\n2024-04-15T10:00:10Z,2MiB\n",
        p(),
        None,
    )
    .unwrap()[0];
    assert_eq!(s.t, vec![0.0, 10.0]);
    assert_eq!(s.v[1], 2097152.0);
    let e = read_text("t,rss_bytes\n0,1\n0,2\n", p(), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("t:3") && e.contains("does not increase"), "{e}");
    assert!(read_text("t,rss_bytes\n0,NaN\n", p(), None).is_err());
    assert!(read_text("t,rss_bytes\n0,-5\n", p(), None).is_err());
    assert!(read_text("t,rss_bytes\n0,1e30\n", p(), None).is_err());
    assert!(read_text("t,mem\n0,1MiB\n1,2048\n", p(), None)
        .unwrap_err()
        .to_string()
        .contains("mixed units"));
    assert!(read_text("t,rss_bytes\n", p(), None)
        .unwrap_err()
        .to_string()
        .contains("no samples"));
    assert!(read_text("", p(), None).is_err());
}

#[test]
fn prometheus_query_range() {
    let doc = r#"{"status":"success","data":{"resultType":"matrix","result":[
        {"metric":{"__name__":"container_memory_working_set_bytes","pod":"web","container":"app"},"values":[[1713175200,"100"],[1713175260,"200"]]}]}}"#;
    let s = &read_text(doc, p(), None).unwrap()[0];
    assert_eq!(s.t, vec![0.0, 60.0]);
    assert!(s.name.ends_with(" web/app"), "{}", s.name);
    assert_eq!(s.metric, "container_memory_working_set_bytes");
    assert_eq!(s.labels.as_ref().unwrap()["pod"], "web");
}

#[test]
fn absurd_figures_are_refused_in_short_words() {
    let e = read_text("t,rss_bytes\n0,1e308\n", p(), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("1.000e308") && e.len() < 200, "{e}");
    let e = read_text("t,rss_bytes\n1e306,1\n2e306,2\n", p(), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not plausible") && e.len() < 200, "{e}");
    // Relative times spanning more than 100 years.
    let e = read_text("t,rss_bytes\n0,1\n4e9,2\n", p(), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("100 years"), "{e}");
    let e = read_text("time,foo\n0,1\n1,2\n", p(), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no memory column"), "{e}");
    let h = |extra: &str| {
        format!("{{\"clw_trace\":1,\"metrics\":[\"rss_bytes\"],{extra}}}\n{{\"t\":0,\"rss_bytes\":1}}\n")
    };
    for (extra, needle) in [
        ("\"limit_bytes\":0", "limit_bytes = 0"),
        ("\"interval_s\":-1e308", "interval_s = -1.000e308"),
        ("\"host_total_bytes\":-5", "host_total_bytes = -5"),
    ] {
        let e = read_text(&h(extra), p(), None).unwrap_err().to_string();
        assert!(e.contains(needle) && e.contains("t:1"), "{e}");
    }
}

#[test]
fn long_lines_and_binary_input_are_errors_with_the_line() {
    let mut t = String::from("t,rss_bytes\n0,1\n");
    t.push_str(&"9".repeat(2 << 20));
    let e = read_text(&t, p(), None).unwrap_err().to_string();
    assert!(e.contains("t:3") && e.contains("longer than 1 MiB"), "{e}");
    let zeros = "\0".repeat(3 << 20);
    let e = read_text(&zeros, p(), None).unwrap_err().to_string();
    assert!(e.contains("longer than 1 MiB"), "{e}");
}
