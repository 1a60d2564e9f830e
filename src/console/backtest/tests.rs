use super::*;

fn dir_with(files: &[&str]) -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("dir");
    for f in files {
        std::fs::write(d.path().join(f), "").expect("write");
    }
    std::fs::create_dir(d.path().join("sub.jsonl")).expect("subdir");
    d
}

#[test]
fn lists_event_and_label_files_only_by_name() {
    let d = dir_with(&[
        "b.jsonl",
        "a.pb",
        "labels.csv",
        ".hidden.jsonl",
        "notes.txt",
    ]);
    let b = Backtests::new(&d.path().display().to_string());
    let l = b.list().expect("listing");
    assert_eq!(l.events, vec!["a.pb".to_string(), "b.jsonl".to_string()]);
    assert_eq!(l.labels, vec!["labels.csv".to_string()]);
    assert_eq!(Backtests::new("").list(), Err(Refused::Off));
}

#[test]
fn picks_only_listed_bare_names() {
    let d = dir_with(&["day.jsonl"]);
    let b = Backtests::new(&d.path().display().to_string());
    let listed = b.list().expect("listing").events;
    assert_eq!(
        b.pick("day.jsonl", &listed, "events"),
        Ok(d.path().join("day.jsonl"))
    );
    for bad in [
        "",
        "../day.jsonl",
        "..",
        "/etc/passwd",
        "sub/x.jsonl",
        "a\\b.jsonl",
        ".hidden.jsonl",
        "other.jsonl",
        "sub.jsonl",
    ] {
        assert!(
            matches!(b.pick(bad, &listed, "events"), Err(Refused::BadName(_))),
            "{bad:?} must be refused"
        );
    }
}
