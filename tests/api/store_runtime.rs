//! The store's run-time state on both backends: a payload no version reads cannot block the
//! queue, a new leader takes over a dead one's leases and jobs (and the old one's late round
//! records nothing), switches and problems are shared, jobs run once.

use campaign_sync::signal::{NewSignal, Signal};
use campaign_sync::store::SYNC_SWITCH;

use crate::store::stores;

pub(crate) const LEASE: i64 = 120_000;
pub(crate) const T0: i64 = 1_700_000_000_000;

pub(crate) fn member(lead_id: i64) -> NewSignal {
    crate::store::member(lead_id, &format!("k{lead_id}"))
}

#[tokio::test]
async fn an_unreadable_payload_ends_dead_and_the_others_are_claimed() {
    for (db, store) in stores().await {
        store.record(vec![member(1), member(2)], T0).await.unwrap();
        store
            .execute_raw("UPDATE signals SET payload = '{\"kind\":\"from_the_future\"}' WHERE dedup_key = 'k1'")
            .await
            .unwrap();
        let claimed = store.claim("w", 10, LEASE, T0).await.unwrap();
        let leads: Vec<i64> = claimed
            .iter()
            .map(|c| match &c.signal {
                Signal::MarketoMember(m) => m.lead_id,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(leads, vec![2], "{}", db.label);
        let dead = store.dead(0, 10).await.unwrap();
        assert_eq!(dead.len(), 1, "{}", db.label);
        assert!(
            dead[0]
                .last_error
                .as_deref()
                .unwrap()
                .contains("not a signal this version reads"),
            "{}: {:?}",
            db.label,
            dead[0].last_error
        );
    }
}

/// A payload that is not even JSON (a damaged row, one written by something else) ends dead,
/// and the operator's lists still answer, showing its text: one such row failed every page
/// that reached it.
#[tokio::test]
async fn a_payload_that_is_not_json_is_listed_with_its_text() {
    use campaign_sync::store::{DeadPage, FailingFilter};
    for (db, store) in stores().await {
        store.record(vec![member(1), member(2)], T0).await.unwrap();
        store
            .execute_raw("UPDATE signals SET payload = 'not json at all' WHERE dedup_key = 'k1'")
            .await
            .unwrap();
        assert_eq!(store.claim("w", 10, LEASE, T0).await.unwrap().len(), 1);
        let text = serde_json::json!("not json at all");
        let letters = store
            .dead_letters(DeadPage::Before(i64::MAX), 10, &[])
            .await
            .unwrap();
        assert_eq!(letters.len(), 1, "{}", db.label);
        assert_eq!(letters[0].payload, text, "{}", db.label);
        let found = store
            .dead_letters_matching("json", i64::MAX, 10, &[])
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "{}", db.label);
        assert_eq!(store.dead(0, 10).await.unwrap()[0].payload, text);
        let all = FailingFilter {
            limit: 10,
            ..FailingFilter::default()
        };
        let failing = store.failing(&all).await.unwrap();
        assert_eq!(failing.len(), 1, "{}", db.label);
    }
}

/// What the leader passes: a lease running until this time or later was renewed recently.
fn renewed_after(now: i64) -> i64 {
    now + LEASE - LEASE / 3 - 10_000
}

#[tokio::test]
async fn a_new_leader_takes_only_leases_their_holder_stopped_renewing() {
    for (db, store) in stores().await {
        store.record(vec![member(1), member(2)], T0).await.unwrap();
        assert_eq!(store.claim("old", 10, LEASE, T0).await.unwrap().len(), 2);
        assert_eq!(
            store.claim_count_due(T0 + 1).await.unwrap(),
            0,
            "{}",
            db.label
        );
        // Just claimed: the holder may be alive, a leader that lost the lock mid-round.
        assert_eq!(
            store
                .release_leases_of_others("new", renewed_after(T0 + 1), T0 + 1)
                .await
                .unwrap(),
            0,
            "{}: a live round is not taken",
            db.label
        );
        // A third of the lease and the margin later, with no renewal: the holder is gone.
        let later = T0 + LEASE / 3 + 10_001;
        let released = store
            .release_leases_of_others("new", renewed_after(later), later)
            .await
            .unwrap();
        assert_eq!(released, 2, "{}", db.label);
        let claimed = store.claim("new", 10, LEASE, later).await.unwrap();
        assert_eq!(
            claimed.len(),
            2,
            "{}: no wait for the 120 s lease",
            db.label
        );
        // The new owner's own leases are not released by its own takeover.
        let much_later = later + LEASE;
        assert_eq!(
            store
                .release_leases_of_others("new", renewed_after(much_later), much_later)
                .await
                .unwrap(),
            0
        );
        assert_eq!(store.release_own_leases("new", later + 1).await.unwrap(), 2);
    }
}

#[tokio::test]
async fn a_round_whose_leases_were_taken_over_records_nothing() {
    use campaign_sync::store::{Journal, MirrorRow, SignalEnd};
    for (db, store) in stores().await {
        store.record(vec![member(1)], T0).await.unwrap();
        let claimed = store.claim("old", 10, LEASE, T0).await.unwrap();
        // The old leader stopped renewing (stuck mid-round) and a new one took over.
        let later = T0 + LEASE / 3 + 10_001;
        store
            .release_leases_of_others("new", renewed_after(later), later)
            .await
            .unwrap();
        let journal = Journal {
            mirrors: vec![MirrorRow {
                mapping: "webinar".into(),
                person: "1".into(),
                mkto_status: Some("Registered".into()),
                ..MirrorRow::default()
            }],
            ends: vec![SignalEnd::Done(claimed[0].id)],
            ..Journal::default()
        };
        store.commit_journal("old", &journal, T0 + 2).await.unwrap();
        assert_eq!(
            store.mirror("webinar", "1").await.unwrap(),
            None,
            "{}: the stale round wrote nothing",
            db.label
        );
        let again = store.claim("new", 10, LEASE, later + 1).await.unwrap();
        assert_eq!(again.len(), 1, "{}: the new owner does the work", db.label);
        store
            .commit_journal("new", &journal, later + 2)
            .await
            .unwrap();
        assert!(
            store.mirror("webinar", "1").await.unwrap().is_some(),
            "{}",
            db.label
        );
    }
}

#[tokio::test]
async fn switches_problems_and_jobs_are_shared_state() {
    for (db, store) in stores().await {
        assert!(store.switches().await.unwrap().is_empty(), "{}", db.label);
        store.set_switch(SYNC_SWITCH, false, T0).await.unwrap();
        store
            .set_switch("mapping:webinar", false, T0)
            .await
            .unwrap();
        store
            .set_switch("mapping:webinar", true, T0 + 1)
            .await
            .unwrap();
        let switches = store.switches().await.unwrap();
        assert_eq!(switches.get(SYNC_SWITCH), Some(&false), "{}", db.label);
        assert_eq!(switches.get("mapping:webinar"), Some(&true), "{}", db.label);

        let problems = vec!["status \"Waitlisted\" has no counterpart".to_string()];
        store
            .set_mapping_problems("webinar", &problems, T0)
            .await
            .unwrap();
        assert_eq!(store.mapping_problems().await.unwrap()["webinar"], problems);

        let first = store
            .queue_job("reconcile", &serde_json::json!({}), T0)
            .await
            .unwrap();
        let second = store
            .queue_job("reconcile", &serde_json::json!({}), T0)
            .await
            .unwrap();
        let started = store.start_next_job("old", T0 + 1).await.unwrap().unwrap();
        assert_eq!(started.id, first, "{}: oldest first", db.label);
        assert_eq!(started.state, "running");
        let halfway = serde_json::json!({"mappings_done": 1});
        assert!(store.job_progress(first, "old", &halfway).await.unwrap());
        // A replica that died mid-job hands it back to the next leader.
        assert_eq!(store.requeue_running_jobs().await.unwrap(), 1);
        assert_eq!(
            store
                .start_next_job("new", T0 + 2)
                .await
                .unwrap()
                .unwrap()
                .id,
            first
        );
        // The replica that lost the lead, still running, writes nothing over the new run.
        let stale = serde_json::json!({"reports": ["stale"]});
        assert!(
            !store.job_progress(first, "old", &halfway).await.unwrap(),
            "{}",
            db.label
        );
        assert!(
            !store
                .finish_job(first, "old", Ok(&stale), T0 + 3)
                .await
                .unwrap(),
            "{}",
            db.label
        );
        let running = store.job(first).await.unwrap().unwrap();
        // The new run starts from what the old one got to (its finished mappings stand).
        assert_eq!(
            (running.state.as_str(), running.progress, running.result),
            ("running", Some(halfway.clone()), None),
            "{}",
            db.label
        );
        let result = serde_json::json!({"reports": []});
        assert!(
            store
                .finish_job(first, "new", Ok(&result), T0 + 3)
                .await
                .unwrap()
        );
        let done = store.job(first).await.unwrap().unwrap();
        assert_eq!((done.state.as_str(), done.result), ("done", Some(result)));
        assert_eq!(
            store
                .start_next_job("new", T0 + 4)
                .await
                .unwrap()
                .unwrap()
                .id,
            second
        );
        assert!(
            store
                .finish_job(second, "new", Err("boom"), T0 + 5)
                .await
                .unwrap()
        );
        assert_eq!(
            store.job(second).await.unwrap().unwrap().error.as_deref(),
            Some("boom")
        );
        assert!(store.start_next_job("new", T0 + 6).await.unwrap().is_none());
        assert!(store.job(999_999).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn a_renewed_lease_outlives_its_first_expiry_and_only_for_its_owner() {
    for (db, store) in stores().await {
        store.record(vec![member(1), member(2)], T0).await.unwrap();
        let claimed = store.claim("w", 10, LEASE, T0).await.unwrap();
        let ids: Vec<i64> = claimed.iter().map(|c| c.id).collect();
        assert_eq!(
            store
                .extend_leases("other", &ids, T0 + 10 * LEASE)
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            store
                .extend_leases("w", &ids, T0 + 10 * LEASE)
                .await
                .unwrap(),
            2
        );
        // Past the first expiry, nothing is due: the round still holds them.
        assert_eq!(
            store.claim_count_due(T0 + 2 * LEASE).await.unwrap(),
            0,
            "{}",
            db.label
        );
        assert_eq!(
            store.claim_count_due(T0 + 11 * LEASE).await.unwrap(),
            2,
            "{}",
            db.label
        );
    }
}

#[tokio::test]
async fn a_gone_salesforce_person_is_forgotten_and_nothing_else() {
    use campaign_sync::store::IdentityRow;
    for (db, store) in stores().await {
        let row = IdentityRow {
            id: 0,
            email: Some("ada@example.com".into()),
            sf_lead_id: Some("00Q000000000001".into()),
            sf_contact_id: Some("003000000000001".into()),
            mkto_lead_id: Some(7),
        };
        let id = store.save_identity(&row, T0).await.unwrap();
        store
            .forget_salesforce_person(id, "00Q000000000001", T0 + 1)
            .await
            .unwrap();
        let after = store.identity(id).await.unwrap().unwrap();
        assert_eq!(after.sf_lead_id, None, "{}", db.label);
        assert_eq!(
            after.sf_contact_id.as_deref(),
            Some("003000000000001"),
            "{}",
            db.label
        );
        assert_eq!(after.mkto_lead_id, Some(7), "{}", db.label);
    }
}

#[tokio::test]
async fn live_changes_are_claimed_before_reconciliation_repairs() {
    for (db, store) in stores().await {
        let repair = crate::store::member(1, "reconcile:1:mkto:1001:1");
        store.record(vec![repair, member(2)], T0).await.unwrap();
        let first = store.claim("w", 1, LEASE, T0).await.unwrap();
        assert_eq!(first.len(), 1, "{}", db.label);
        assert_eq!(
            first[0].dedup_key, "k2",
            "{}: the live change first",
            db.label
        );
        let second = store.claim("w", 1, LEASE, T0).await.unwrap();
        assert_eq!(
            second[0].dedup_key, "reconcile:1:mkto:1001:1",
            "{}",
            db.label
        );
    }
}
