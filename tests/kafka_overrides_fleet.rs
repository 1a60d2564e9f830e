//! Overrides across a fleet, against the real broker: two instances in one
//! group; an analyst denies an account through the instance that does NOT
//! hold it. The override goes to the overrides topic, the owner applies it
//! and suspends the account on its next event (the signal carries the
//! override's reason), and after both instances restart the override is
//! still in force wherever the account then lives. The account's action in
//! force is on the actions topic: `ListActioned` answers the same on both
//! instances, before and after the restart, and `GetAccount` on the
//! instance that does not hold the account answers its action and names
//! the owner.

mod common;

use std::time::Duration;

use common::kafka::{
    assert_actioned_everywhere, create_topics, produce, producer, read_topic, signals, unique,
    violating_and_legit, Serve,
};
use satpam::pb::v1 as pb;
use satpam_testkit::http::{free_addr, get};

async fn admin(s: &Serve) -> pb::admin_client::AdminClient<tonic::transport::Channel> {
    pb::admin_client::AdminClient::new(common::service::grpc_channel(s.grpc).await)
}

/// The account's state where `s` holds it; None where it does not (not
/// found, or answered from the fleet's actions table with its owner named).
async fn state(s: &Serve, account: &str) -> Option<pb::AccountState> {
    fleet_state(s, account)
        .await
        .filter(|st| st.owner.is_empty())
}

async fn fleet_state(s: &Serve, account: &str) -> Option<pb::AccountState> {
    match admin(s)
        .await
        .get_account(pb::GetAccountRequest {
            tenant_id: "bsp-test".into(),
            account_id: account.into(),
        })
        .await
    {
        Ok(r) => Some(r.into_inner()),
        Err(st) if st.code() == tonic::Code::NotFound => None,
        Err(st) => panic!("GetAccount {account}: {st}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a broker: scripts/broker.sh start; SATPAM_TEST_BROKERS"]
async fn an_override_set_on_one_instance_holds_on_the_owner_and_after_restarts() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let topics = create_topics(&unique("ovfleet"), 2).await;
    // The fleet's actions in force on a topic of this test's group.
    let actions = format!("actions_topic = \"{}.actions\"\n", topics.group);
    // Each with its web console (no principals: anonymous, loopback).
    let (console_a, console_b) = (free_addr(), free_addr());
    let with_console = |addr| format!("{actions}[console]\nlisten = \"{addr}\"\n");
    let a = Serve::start(d, "a", &topics, &with_console(console_a));
    let b = Serve::start(d, "b", &topics, &with_console(console_b));
    for s in [&a, &b] {
        s.wait_metric("satpam_shards", Duration::from_secs(60), |v| v == 1.0);
    }
    // Legitimate accounts (never actioned on their own); the first half of
    // their events tells which instance holds which.
    let mut events = Vec::new();
    for tag in ["o1", "o2", "o3", "o4", "o5", "o6"] {
        events.extend(
            violating_and_legit(tag)
                .into_iter()
                .filter(|e| e.account_id.ends_with("-shop")),
        );
    }
    events.sort_by_key(|e| e.timestamp_ms);
    let half = events.len() / 2;
    let p = producer();
    produce(&p, &topics.events, &events[..half]);
    let total = |s: &Serve| {
        s.metric("satpam_events_total{source=\"kafka\"}")
            .unwrap_or(0.0)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while total(&a) + total(&b) < half as f64 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    // An account held by b, overridden through a (or the other way round).
    let mut pick = None;
    for tag in ["o1", "o2", "o3", "o4", "o5", "o6"] {
        let account = format!("{tag}-shop");
        match (state(&a, &account).await, state(&b, &account).await) {
            (None, Some(_)) => pick = Some((account, &b, &a)),
            (Some(_), None) => pick = Some((account, &a, &b)),
            other => panic!("{account} held by exactly one instance: {other:?}"),
        }
        if pick
            .as_ref()
            .is_some_and(|(_, owner, _)| std::ptr::eq(*owner, &b))
        {
            break;
        }
    }
    let (account, owner, other) = pick.expect("an account");
    let before = state(owner, &account).await.expect("held");
    assert_eq!(before.action, pb::Action::Unspecified as i32, "legitimate");
    admin(other)
        .await
        .set_override(pb::SetOverrideRequest {
            r#override: Some(pb::Override {
                tenant_id: "bsp-test".into(),
                account_id: account.clone(),
                mode: pb::OverrideMode::Deny as i32,
                reason: "appeal 77 denied".into(),
                expires_at_ms: 0,
            }),
        })
        .await
        .expect("set through the instance that does not hold the account");

    // The owner follows the overrides topic (eventually, like every
    // instance): once its GetAccount shows the override in force, the
    // account's next event applies it. Produced before that, the rest of
    // the account's events could all be decided before the owner's
    // follower reads the record (seen under CI's load), and no signal
    // would be due.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let seen = state(owner, &account).await.and_then(|st| st.r#override);
        if seen.is_some_and(|o| o.reason == "appeal 77 denied") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the owner did not apply the override within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The owner applies it on the account's next event.
    produce(&p, &topics.events, &events[half..]);
    let records = read_topic(&topics.signals, Duration::from_secs(60), |r| {
        signals(r).iter().any(|s| s.account_id == account)
    });
    let sig = signals(&records)
        .into_iter()
        .find(|s| s.account_id == account)
        .expect("a signal for the overridden account");
    assert_eq!(sig.action, pb::Action::Suspend as i32, "{sig:?}");
    let reason = sig.evidence.map(|e| e.reason).unwrap_or_default();
    assert!(reason.contains("appeal 77 denied"), "{reason}");
    assert_eq!(
        signals(&records).len(),
        1,
        "only the overridden account is actioned"
    );
    // Every instance lists it, and the one that does not hold it answers
    // its action and names the instance that wrote it.
    let suspended = vec![(account.clone(), pb::Action::Suspend as i32)];
    assert_actioned_everywhere(&[&a, &b], &suspended).await;
    let seen_by_other = fleet_state(other, &account).await.expect("answered");
    assert_eq!(seen_by_other.action, pb::Action::Suspend as i32);
    assert_eq!(seen_by_other.shard, -1, "{seen_by_other:?}");
    // `<host>/<pid>/<epoch>`
    let owner_pid = owner.pid().to_string();
    assert_eq!(
        seen_by_other.owner.split('/').nth(1),
        Some(owner_pid.as_str()),
        "owner {:?} names the holding instance",
        seen_by_other.owner
    );

    // The console of the instance that does not hold the account lists it
    // too (from the actions table), marked with the instance that holds
    // it, and its account page says so; the owner's lists it as its own.
    let console_of = |s: &Serve| {
        if std::ptr::eq(s, &a) {
            console_a
        } else {
            console_b
        }
    };
    let page = |addr, path: String| {
        let (status, body) = get(addr, &path).expect("console GET");
        assert_eq!(status, 200, "{path}: {body}");
        body
    };
    let queue = "/?action=SUSPEND".to_string();
    let on_other = page(console_of(other), queue.clone());
    assert!(on_other.contains("across the fleet"), "{on_other}");
    assert!(
        on_other.contains(&format!(">{account}</a> <span class=\"owner\">on ")),
        "{on_other}"
    );
    assert!(on_other.contains(&format!("/{owner_pid}/")), "{on_other}");
    let on_owner = page(console_of(owner), queue);
    assert!(
        on_owner.contains(&format!(">{account}</a></td>")),
        "{on_owner}"
    );
    let account_page = page(
        console_of(other),
        format!("/account?tenant=bsp-test&account={account}"),
    );
    assert!(account_page.contains("held by instance"), "{account_page}");
    assert!(account_page.contains("SUSPEND"), "{account_page}");

    // Both restart: the override is read back from the topic.
    assert!(a.terminate().success());
    assert!(b.terminate().success());
    let a = Serve::start(d, "a2", &topics, &actions);
    let b = Serve::start(d, "b2", &topics, &actions);
    for s in [&a, &b] {
        s.wait_metric("satpam_shards", Duration::from_secs(60), |v| v == 1.0);
    }
    assert_actioned_everywhere(&[&a, &b], &suspended).await;
    let held: Vec<pb::AccountState> = [state(&a, &account).await, state(&b, &account).await]
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(held.len(), 1, "held by one instance after the restart");
    let o = held[0]
        .r#override
        .clone()
        .expect("the override is in force");
    assert_eq!(o.mode, pb::OverrideMode::Deny as i32);
    assert_eq!(o.reason, "appeal 77 denied");
    assert!(a.terminate().success());
    assert!(b.terminate().success());
}
