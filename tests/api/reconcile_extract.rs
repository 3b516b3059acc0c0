//! Reconciling a program above Marketo's member query cap (100,000; 50 in this simulator):
//! the first status query is refused with 1003, the program is read by bulk extract from then
//! on, and the pass adopts, finds drift on both sides and repairs it like any other. An extract
//! job a killed process left open is cancelled by the next pass's extract, or by the worker's
//! scheduled sweep when nothing extracts.

use std::time::Duration;

use campaign_sync::sim::marketo::MarketoSimConfig;

use campaign_sync::store::now_millis;

use crate::sim_marketo::{create_export_job, fetch_token_as};
use crate::test_app::TestDb;
use crate::world::{INTEGRATION, Options, PROGRAM, USER, World};

const CAP: usize = 50;
const PEOPLE: usize = 60;

/// A world whose Marketo refuses member queries past [`CAP`] members and moves export jobs on
/// at every look; the service polls them without waiting.
async fn over_the_cap_world(db: TestDb) -> World {
    World::with(Options {
        db: Some(db),
        webhooks: false,
        mk: MarketoSimConfig {
            deliver_webhooks_in_background: false,
            member_filter_cap: CAP,
            export_status_interval: Duration::ZERO,
            ..MarketoSimConfig::default()
        },
        configure: |c| c.marketo.extract_poll_secs = 0,
        ..Options::default()
    })
    .await
}

/// Member queries by status the service sent (the refused one included).
fn status_queries(world: &World) -> usize {
    world
        .mk
        .requests()
        .iter()
        .filter(|c| c.path.ends_with("/members.json"))
        .filter(|c| {
            c.query
                .as_deref()
                .is_some_and(|q| q.contains("filterType=statusName"))
        })
        .count()
}

fn extracts(world: &World) -> usize {
    let log = world.mk.requests();
    log.iter()
        .filter(|c| c.path.ends_with("/export/create.json"))
        .count()
}

#[tokio::test]
async fn a_program_over_the_member_cap_is_reconciled_by_bulk_extract() {
    for db in TestDb::all().await {
        over_the_cap(db).await;
    }
}

async fn over_the_cap(db: TestDb) {
    let label = db.label;
    let world = over_the_cap_world(db).await;
    // Members on both sides, as after years of Marketo's native sync; nothing in the mirror.
    let mut people = Vec::new();
    for i in 0..PEOPLE {
        let (lead, sf_lead) = world.person(&format!("p{i}@example.com"));
        world.mk_sets(lead, "Invited");
        let member = world.sf_adds_unheard(&sf_lead, "Invited");
        people.push((lead, sf_lead, member));
    }
    let report = world
        .app
        .worker
        .reconcile()
        .await
        .remove(0)
        .expect("first pass");
    assert_eq!(
        (report.marketo_members, report.salesforce_members),
        (PEOPLE, PEOPLE)
    );
    assert_eq!(
        (report.linked, report.differences, report.signals_queued),
        (PEOPLE, 0, 0)
    );
    assert_eq!(
        (status_queries(&world), extracts(&world)),
        (1, 1),
        "refused once, then extracted"
    );

    // Drift while no signal reaches the service.
    for (lead, _, _) in &people[..2] {
        world.mk_sets(*lead, "Registered");
    }
    for (_, _, member) in &people[2..4] {
        world
            .sf
            .update_member(INTEGRATION, member, "Attended")
            .unwrap();
    }
    world.sf.delete_member(USER, &people[4].2).unwrap();
    world.mk_sets(people[5].0, "Not in Program");
    let (newcomer, _) = world.person("newcomer@example.com");
    world.mk_sets(newcomer, "Invited");

    let report = world
        .app
        .worker
        .reconcile()
        .await
        .remove(0)
        .expect("second pass");
    let found = (
        report.marketo_changed,
        report.salesforce_changed,
        report.salesforce_removed,
        report.marketo_removed,
    );
    assert_eq!(found, (3, 2, 1, 1), "{label}: {report:?}");
    assert_eq!(report.changes.len(), 7, "{:?}", report.changes);
    assert_eq!(
        status_queries(&world),
        1,
        "no status query once the program is known over the cap"
    );
    world.settle().await;
    for (lead, sf_lead, _) in &people[..2] {
        assert_eq!(
            world.sf_member_status(sf_lead).as_deref(),
            Some("Registered")
        );
        assert_eq!(world.mk_status(*lead).as_deref(), Some("Registered"));
    }
    for (lead, _, _) in &people[2..4] {
        assert_eq!(world.mk_status(*lead).as_deref(), Some("Attended"));
    }
    assert_eq!(world.mk_status(people[4].0), None, "deleted in Salesforce");
    assert_eq!(
        world.sf_member_status(&people[5].1),
        None,
        "removed in Marketo"
    );
    let joined = world.sf.members_of(&world.campaign).len();
    assert_eq!(joined, PEOPLE - 2 + 1, "the newcomer joined the campaign");

    let again = world
        .app
        .worker
        .reconcile()
        .await
        .remove(0)
        .expect("third pass");
    assert_eq!(
        (again.differences, again.signals_queued),
        (0, 0),
        "{again:?}"
    );
    assert_eq!((status_queries(&world), extracts(&world)), (1, 3));
}

#[tokio::test]
async fn an_extract_job_left_by_a_killed_process_is_cancelled_by_the_next_pass() {
    for db in TestDb::all().await {
        left_job(db).await;
    }
}

async fn left_job(db: TestDb) {
    let label = db.label;
    let world = over_the_cap_world(db).await;
    for i in 0..=CAP {
        let (lead, _) = world.person(&format!("p{i}@example.com"));
        world.mk_sets(lead, "Invited");
    }
    let (left, elsewhere) = two_open_jobs(&world).await;

    let report = world.app.worker.reconcile().await.remove(0).expect("pass");
    assert_eq!(report.marketo_members, CAP + 1, "{label}");
    assert_only_left_cancelled(&world, &left, &elsewhere, label);
    assert_eq!(
        open_jobs(&world).await,
        [elsewhere],
        "{label}: the left job and the pass's own are closed"
    );
}

#[tokio::test]
async fn the_scheduled_sweep_cancels_a_left_extract_job_when_nothing_extracts() {
    for db in TestDb::all().await {
        swept(db).await;
    }
}

async fn swept(db: TestDb) {
    let label = db.label;
    let world = over_the_cap_world(db).await;
    let (left, elsewhere) = two_open_jobs(&world).await;

    assert_eq!(world.app.worker.cancel_left_extracts().await, 1, "{label}");
    assert_only_left_cancelled(&world, &left, &elsewhere, label);
    assert_eq!(
        open_jobs(&world).await,
        std::slice::from_ref(&elsewhere),
        "{label}"
    );
    assert_eq!(
        extracts(&world),
        2,
        "{label}: the sweep extracts nothing itself"
    );

    // Nothing left behind now: the next sweep only reads the store.
    let calls = world.mk.requests().len();
    assert_eq!(world.app.worker.cancel_left_extracts().await, 0, "{label}");
    assert_eq!(world.mk.requests().len(), calls, "{label}: no Marketo call");
    assert_eq!(open_jobs(&world).await, [elsewhere], "{label}");
}

/// Two jobs created with the service's own API user, as a process does before it enqueues,
/// and written down: one whose process was killed ten minutes ago, one another process is
/// waiting for now. Returns their export ids in that order.
async fn two_open_jobs(world: &World) -> (String, String) {
    let http = reqwest::Client::new();
    let user = world.mk.config().clients[0].clone();
    let base = world.mk.base_url();
    let token = fetch_token_as(&http, &base, &user.client_id, &user.client_secret).await;
    let left = create_export_job(&http, &base, &token, PROGRAM).await;
    let elsewhere = create_export_job(&http, &base, &token, PROGRAM).await;
    let store = &world.app.store;
    let now = now_millis();
    store
        .open_extract(&left, PROGRAM, "worker-killed", now - 600_000)
        .await
        .unwrap();
    store
        .open_extract(&elsewhere, PROGRAM, "worker-elsewhere", now)
        .await
        .unwrap();
    (left, elsewhere)
}

/// The left job was cancelled in Marketo; the one still waited for was not.
fn assert_only_left_cancelled(world: &World, left: &str, elsewhere: &str, label: &str) {
    assert_eq!(
        job_status(world, left).as_deref(),
        Some("Cancelled"),
        "{label}"
    );
    assert_eq!(
        job_status(world, elsewhere).as_deref(),
        Some("Created"),
        "{label}: a job still waited for is left alone"
    );
}

/// The simulator's status of export job `id`.
fn job_status(world: &World, id: &str) -> Option<String> {
    world
        .mk
        .export_jobs()
        .iter()
        .find(|job| job["exportId"] == id)
        .map(|job| job["status"].as_str().unwrap_or_default().to_string())
}

/// Export ids of the jobs still written down in the store.
async fn open_jobs(world: &World) -> Vec<String> {
    world
        .app
        .store
        .extracts_left(i64::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|job| job.export_id)
        .collect()
}
