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
    let b = Backtests::new(&d.path().display().to_string(), None);
    let l = b.list().expect("listing");
    assert_eq!(l.events, vec!["a.pb".to_string(), "b.jsonl".to_string()]);
    assert_eq!(l.labels, vec!["labels.csv".to_string()]);
    assert_eq!(Backtests::new("", None).list(), Err(Refused::Off));
}

#[test]
fn picks_only_listed_bare_names() {
    let d = dir_with(&["day.jsonl"]);
    let b = Backtests::new(&d.path().display().to_string(), None);
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

fn kafka_events_topic() -> Option<TopicWindowSettings> {
    let kafka = crate::config::KafkaSection {
        brokers: "127.0.0.1:1".into(),
        events_topic: "bsp.events".into(),
        ..crate::config::KafkaSection::default()
    };
    TopicWindowSettings::from_config(&kafka, &crate::config::WebhookSection::default())
}

#[test]
fn the_events_topic_is_offered_only_with_kafka_and_a_sane_window() {
    // (directory, Kafka, what is asked, Ok(events topic name) or the refusal's kind)
    let d = dir_with(&["day.jsonl"]);
    let dir = d.path().display().to_string();
    let topic = |hours| Recorded::Topic { hours };
    let file = |n: &str| Recorded::File(n.to_string());
    let cases: Vec<(&str, bool, Recorded, Result<&str, &str>)> = vec![
        ("", false, topic(1.0), Err("off")),
        (&dir, false, topic(1.0), Err("off")),
        ("", true, topic(1.0), Ok("bsp.events")),
        ("", true, topic(MAX_TOPIC_HOURS), Ok("bsp.events")),
        ("", true, topic(0.0), Err("bad")),
        ("", true, topic(-2.0), Err("bad")),
        ("", true, topic(MAX_TOPIC_HOURS + 0.5), Err("bad")),
        ("", true, topic(f64::NAN), Err("bad")),
        ("", true, topic(f64::INFINITY), Err("bad")),
        // Kafka without a directory: files are off.
        ("", true, file("day.jsonl"), Err("off")),
        (&dir, true, file("day.jsonl"), Ok("day.jsonl")),
        (&dir, true, topic(2.5), Ok("bsp.events")),
    ];
    for (dir, kafka, asked, want) in cases {
        let b = Backtests::new(dir, if kafka { kafka_events_topic() } else { None });
        assert_eq!(b.enabled(), !dir.is_empty() || kafka);
        assert_eq!(b.topic(), kafka.then_some("bsp.events"));
        let got = b.list().and_then(|l| b.source(&asked, &l));
        let got = match &got {
            Ok(Source::Topic(t, _)) => Ok(t.topic()),
            Ok(Source::File(p)) => Ok(p.file_name().and_then(|n| n.to_str()).unwrap_or("")),
            Err(Refused::Off) => Err("off"),
            Err(Refused::BadName(_)) => Err("bad"),
            Err(other) => panic!("{asked:?}: unexpected {other:?}"),
        };
        assert_eq!(got, want, "dir {dir:?}, kafka {kafka}, {asked:?}");
    }
}
