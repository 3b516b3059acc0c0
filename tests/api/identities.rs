//! Identity writes are merging upserts: every path that learns who someone is (webhook, outbound
//! message, reconciliation, deleted poll), in every order, leaves one row per person.

use campaign_sync::store::{IdentityRow, MirrorRow, Store};

use crate::test_app::TestDb;

const T0: i64 = 1_700_000_000_000;

/// The keys each path knows about a person when it first sees them.
type Keys = (Option<i64>, Option<String>, Option<String>);

fn paths(n: usize) -> Vec<(&'static str, Keys)> {
    let lead = 1000 + i64::try_from(n).unwrap();
    let sf = format!("00Q{n:012}AAA");
    let email = format!("Person{n}@Example.com");
    vec![
        ("webhook", (Some(lead), None, Some(email.clone()))),
        ("reconciliation signal", (Some(lead), None, None)),
        (
            "outbound message",
            (None, Some(sf.clone()), Some(email.clone())),
        ),
        ("deleted poll", (None, Some(sf.clone()), None)),
        ("reconciliation link", (Some(lead), Some(sf), Some(email))),
    ]
}

fn permutations(items: Vec<usize>) -> Vec<Vec<usize>> {
    if items.len() <= 1 {
        return vec![items];
    }
    let mut all = Vec::new();
    for (i, &first) in items.iter().enumerate() {
        let mut rest = items.clone();
        rest.remove(i);
        for mut tail in permutations(rest) {
            tail.insert(0, first);
            all.push(tail);
        }
    }
    all
}

async fn rows_for(store: &Store, lead: i64, sf: &str) -> Vec<IdentityRow> {
    let mut rows = store
        .identities_by_keys(&[lead], &[sf.to_string()])
        .await
        .unwrap();
    rows.sort_by_key(|r| r.id);
    rows.dedup();
    rows
}

#[tokio::test]
async fn every_path_in_every_order_leaves_one_identity_per_person() {
    for db in TestDb::all().await {
        let store = db.store().await;
        for (n, order) in permutations((0..5).collect()).into_iter().enumerate() {
            let paths = paths(n);
            for &step in &order {
                let (_, (lead, sf, email)) = &paths[step];
                let linked = store
                    .link_identity(*lead, sf.as_deref(), email.as_deref(), T0)
                    .await
                    .unwrap_or_else(|e| panic!("{} order {order:?}: {e}", db.label));
                assert!(linked.id > 0);
                // Each path keeps what it learnt in a mirror row under the id it got.
                let row = MirrorRow {
                    mapping: format!("m{step}"),
                    person: linked.id.to_string(),
                    mkto_lead_id: *lead,
                    ..MirrorRow::default()
                };
                store.upsert_mirror(&row).await.unwrap();
            }
            let (lead, sf, email) = paths[4].1.clone();
            let (lead, sf) = (lead.unwrap(), sf.unwrap());
            let rows = rows_for(&store, lead, &sf).await;
            let names: Vec<&str> = order.iter().map(|&i| paths[i].0).collect();
            assert_eq!(rows.len(), 1, "{} order {names:?}: {rows:?}", db.label);
            let row = &rows[0];
            assert_eq!(row.mkto_lead_id, Some(lead));
            assert_eq!(row.sf_lead_id.as_deref(), Some(sf.as_str()));
            assert_eq!(row.email, email.map(|e| e.to_lowercase()));
            for step in 0..5 {
                let mapping = format!("m{step}");
                assert!(
                    store
                        .mirror(&mapping, &row.id.to_string())
                        .await
                        .unwrap()
                        .is_some(),
                    "{} order {names:?}: the mirror row of {mapping} follows the merge",
                    db.label
                );
            }
        }
    }
}

#[tokio::test]
async fn a_new_key_linking_two_rows_merges_them_keeping_the_survivors_mirror_row() {
    for db in TestDb::all().await {
        let store = db.store().await;
        let marketo = store.link_identity(Some(7), None, None, T0).await.unwrap();
        let salesforce = store
            .link_identity(None, Some("003000000000007AAA"), Some("g@example.com"), T0)
            .await
            .unwrap();
        assert_ne!(marketo.id, salesforce.id);
        for (person, status) in [(marketo.id, "Registered"), (salesforce.id, "Attended")] {
            for mapping in ["webinar", &format!("only-{person}")] {
                let row = MirrorRow {
                    mapping: mapping.to_string(),
                    person: person.to_string(),
                    mkto_status: Some(status.into()),
                    ..MirrorRow::default()
                };
                store.upsert_mirror(&row).await.unwrap();
            }
        }
        let merged = store
            .link_identity(Some(7), Some("003000000000007AAA"), None, T0)
            .await
            .unwrap();
        assert_eq!(
            merged.id, marketo.id,
            "{}: the row found first survives",
            db.label
        );
        assert_eq!(merged.sf_contact_id.as_deref(), Some("003000000000007AAA"));
        assert_eq!(merged.email.as_deref(), Some("g@example.com"));
        assert!(store.identity(salesforce.id).await.unwrap().is_none());
        let person = merged.id.to_string();
        let kept = store.mirror("webinar", &person).await.unwrap().unwrap();
        assert_eq!(kept.mkto_status.as_deref(), Some("Registered"));
        let moved = format!("only-{}", salesforce.id);
        assert!(store.mirror(&moved, &person).await.unwrap().is_some());
        assert!(
            store
                .mirror("webinar", &salesforce.id.to_string())
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn two_merges_at_once_sharing_a_row_leave_one_identity_holding_every_key() {
    for db in TestDb::all().await {
        let store = db.store().await;
        for n in 0..10_i64 {
            // Three rows: a Marketo lead, a Lead, a Contact.
            let lead = 5000 + n;
            let sf_lead = format!("00Q{n:012}AAA");
            let contact = format!("003{n:012}AAA");
            let a = store
                .link_identity(Some(lead), None, None, T0)
                .await
                .unwrap();
            let b = store
                .link_identity(None, Some(&sf_lead), None, T0)
                .await
                .unwrap();
            let c = store
                .link_identity(None, Some(&contact), None, T0)
                .await
                .unwrap();
            for person in [a.id, b.id, c.id] {
                let row = MirrorRow {
                    mapping: format!("m{person}"),
                    person: person.to_string(),
                    ..MirrorRow::default()
                };
                store.upsert_mirror(&row).await.unwrap();
            }
            // {lead, Lead} and {Lead, Contact} at once (a live round and a reconciliation).
            // {lead, Lead} and {Lead, Contact} at once (a live round and a reconciliation).
            let both = IdentityRow {
                sf_lead_id: Some(sf_lead.clone()),
                sf_contact_id: Some(contact.clone()),
                ..IdentityRow::default()
            };
            let (first, second) = tokio::join!(
                store.link_identity(Some(lead), Some(&sf_lead), None, T0),
                store.merge_identity(&both, T0),
            );
            first.unwrap();
            second.unwrap();
            let joined = store
                .link_identity(Some(lead), None, None, T0)
                .await
                .unwrap();
            let rows = store
                .identities_by_keys(&[lead], &[sf_lead.clone(), contact.clone()])
                .await
                .unwrap();
            let ids: std::collections::BTreeSet<i64> = rows.iter().map(|r| r.id).collect();
            assert_eq!(ids.len(), 1, "{}: one person: {rows:?}", db.label);
            assert_eq!(
                (
                    joined.sf_lead_id.as_deref(),
                    joined.sf_contact_id.as_deref()
                ),
                (Some(sf_lead.as_str()), Some(contact.as_str())),
                "{}: every key kept",
                db.label
            );
            // No mirror row is left pointing at a row that no longer exists.
            for person in [a.id, b.id, c.id] {
                let moved = store
                    .mirror(&format!("m{person}"), &joined.id.to_string())
                    .await
                    .unwrap();
                assert!(moved.is_some(), "{}: mirror of {person} follows", db.label);
            }
        }
    }
}

/// Two people sharing an e-mail address (Marketo allows duplicate leads) stay two: a
/// reconciliation pairing a lead with its linked Salesforce Lead, whose address is now another
/// linked person's, does not join the two (which sent one's changes to the other).
#[tokio::test]
async fn people_sharing_an_email_stay_apart() {
    for db in TestDb::all().await {
        let store = db.store().await;
        let label = &db.label;
        let shared = "two@example.com";
        let second = store
            .link_identity(Some(2002), Some("003000000000085AAA"), Some(shared), T0)
            .await
            .unwrap();
        // The first person, met after the second: their lead's address is the second's now.
        let first = store
            .link_identity(Some(2001), Some("00Q000000000085EAA"), Some(shared), T0)
            .await
            .unwrap();
        assert_ne!(first.id, second.id, "{label}: two people");
        assert_eq!(
            (
                first.mkto_lead_id,
                first.sf_lead_id.as_deref(),
                first.sf_contact_id.as_deref()
            ),
            (Some(2001), Some("00Q000000000085EAA"), None),
            "{label}"
        );
        let second_now = store.identity(second.id).await.unwrap().expect("kept");
        assert_eq!(
            (second_now.mkto_lead_id, second_now.sf_lead_id),
            (Some(2002), None),
            "{label}: untouched"
        );
        // A Salesforce person the address names, without a lead given, still joins its row.
        let joined = store
            .link_identity(None, Some("003000000000085AAA"), Some(shared), T0)
            .await
            .unwrap();
        assert_eq!(joined.id, second.id, "{label}");
        // A lead given alone with the address still joins it (a duplicate lead).
        let duplicate = store
            .link_identity(Some(2003), None, Some("fresh@example.com"), T0)
            .await
            .unwrap();
        let again = store
            .link_identity(Some(2004), None, Some("fresh@example.com"), T0)
            .await
            .unwrap();
        assert_eq!(again.id, duplicate.id, "{label}");
    }
}
