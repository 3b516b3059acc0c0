//! Program members: query filters (`reachedSuccess` among them) and paging, status sync with
//! created/updated/skipped (1037 already in the status or past its step, 1025 unknown status)
//! correlated by `seq`, deletion, and the "Change Status in Progression" (104) activity each
//! change logs.

use campaign_sync::sim::marketo::{NewLead, NewProgram, ProgressionStatus};
use serde_json::{Value, json};

use super::{PROGRAM, Sim, error_of, result_of};

fn status_path() -> String {
    format!("/rest/v1/programs/{PROGRAM}/members/status.json")
}

async fn set_status(sim: &Sim, status: &str, leads: &[i64]) -> Vec<Value> {
    let input: Vec<Value> = leads.iter().map(|id| json!({ "leadId": id })).collect();
    let body = json!({ "statusName": status, "input": input });
    result_of(&sim.post(&status_path(), &body).await)
}

fn leads(sim: &Sim, n: usize) -> Vec<i64> {
    (0..n)
        .map(|i| sim.sim.add_lead(NewLead::email(&format!("m{i}@x.com"))))
        .collect()
}

#[tokio::test]
async fn status_sync_creates_updates_and_skips_1037_correlated_by_seq() {
    let sim = Sim::start().await;
    let ids = leads(&sim, 3);
    sim.sim
        .set_status_as_user(PROGRAM, ids[0], "Attended")
        .expect("user");
    sim.sim
        .set_status_as_user(PROGRAM, ids[1], "Invited")
        .expect("user");

    let result = set_status(&sim, "Registered", &ids).await;
    assert_eq!(
        result,
        vec![
            json!({ "seq": 0, "status": "skipped", "reasons": [{ "code": "1037", "message": "Lead skipped because it is already in or past this status" }] }),
            json!({ "seq": 1, "status": "updated", "leadId": ids[1] }),
            json!({ "seq": 2, "status": "created", "leadId": ids[2] }),
        ]
    );
    let same_step = set_status(&sim, "Registered", &ids[1..2]).await;
    assert_eq!(same_step[0]["reasons"][0]["code"], "1037");
    // The call log counts the first as a write of two records; the second changed nothing.
    let writes: Vec<(bool, usize)> = sim
        .sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/members/status.json"))
        .map(|r| (r.write, r.records))
        .collect();
    assert_eq!(writes, [(true, 2), (false, 0)]);
    let member = sim.sim.member(PROGRAM, ids[2]).expect("member");
    assert_eq!(member.status_name, "Registered");
    assert!(!member.reached_success);
    assert!(member.acquired_by, "first program of a new person");

    let success = set_status(&sim, "Attended", &ids[2..3]).await;
    assert_eq!(success[0]["status"], "updated");
    assert!(
        sim.sim
            .member(PROGRAM, ids[2])
            .expect("member")
            .reached_success
    );
}

#[tokio::test]
async fn unknown_status_lead_or_program_are_reported() {
    let sim = Sim::start().await;
    let ids = leads(&sim, 1);
    let unknown = set_status(&sim, "Webinar Attended", &ids).await;
    assert_eq!(
        unknown[0]["reasons"][0],
        json!({ "code": "1025", "message": "Program status not found" })
    );
    let no_lead = set_status(&sim, "Invited", &[999_999]).await;
    assert_eq!(no_lead[0]["reasons"][0]["code"], "1004");
    let body = json!({ "statusName": "Invited", "input": [{ "leadId": ids[0] }] });
    let no_program = sim
        .post("/rest/v1/programs/77/members/status.json", &body)
        .await;
    assert_eq!(error_of(&no_program).0, "1013");
    let too_many: Vec<i64> = (0..301).collect();
    let input: Vec<Value> = too_many.iter().map(|id| json!({ "leadId": id })).collect();
    let body = sim
        .post(
            &status_path(),
            &json!({ "statusName": "Invited", "input": input }),
        )
        .await;
    assert_eq!(error_of(&body).0, "1003");
}

/// Two statuses may share a step (a webinar's "Attended" and "Attended On-demand"): Marketo skips
/// only a lead at a greater step, or already in the status.
#[tokio::test]
async fn a_status_sharing_the_step_is_a_move_and_the_same_status_is_skipped() {
    let sim = Sim::start().await;
    let statuses = [
        ("Not in Program", 0, false),
        ("Registered", 20, false),
        ("Attended", 40, true),
        ("Attended On-demand", 40, true),
    ];
    sim.sim
        .add_channel(
            "Webinar",
            statuses
                .iter()
                .map(|(name, step, success)| ProgressionStatus::new(name, *step, *success))
                .collect(),
        )
        .expect("channel");
    let program = PROGRAM + 1;
    sim.sim
        .add_program(NewProgram {
            id: program,
            name: "Autumn Webinar".to_string(),
            channel: "Webinar".to_string(),
            ..NewProgram::default()
        })
        .expect("program");
    let lead = leads(&sim, 1)[0];
    sim.sim
        .set_status_as_user(program, lead, "Attended")
        .expect("user");
    let path = format!("/rest/v1/programs/{program}/members/status.json");
    let set = |status: &str| {
        let body = json!({ "statusName": status, "input": [{ "leadId": lead }] });
        let path = path.clone();
        let sim = &sim;
        async move { result_of(&sim.post(&path, &body).await) }
    };
    assert_eq!(set("Attended On-demand").await[0]["status"], "updated");
    assert_eq!(
        sim.sim.member(program, lead).expect("member").status_name,
        "Attended On-demand"
    );
    for skipped in ["Attended On-demand", "Registered"] {
        assert_eq!(
            set(skipped).await[0]["reasons"][0]["code"],
            "1037",
            "{skipped}"
        );
    }
    assert_eq!(set("Attended").await[0]["status"], "updated");
}

#[tokio::test]
async fn delete_reports_deleted_and_not_in_program() {
    let sim = Sim::start().await;
    let ids = leads(&sim, 2);
    set_status(&sim, "Invited", &ids[..1]).await;
    let body = json!({ "input": [{ "leadId": ids[0] }, { "leadId": ids[1] }] });
    let path = format!("/rest/v1/programs/{PROGRAM}/members/delete.json");
    let result = result_of(&sim.post(&path, &body).await);
    assert_eq!(
        result,
        vec![
            json!({ "seq": 0, "status": "deleted", "leadId": ids[0] }),
            json!({ "seq": 1, "status": "skipped", "reasons": [{ "code": "1037", "message": "Lead not in program" }] }),
        ]
    );
    assert!(sim.sim.member(PROGRAM, ids[0]).is_none());
}

#[tokio::test]
async fn query_filters_by_lead_status_and_update_time() {
    let sim = Sim::start().await;
    let ids = leads(&sim, 3);
    set_status(&sim, "Invited", &ids[..2]).await;
    set_status(&sim, "Attended", &ids[2..]).await;
    let base = format!("/rest/v1/programs/{PROGRAM}/members.json");

    let by_lead = sim
        .get(&format!("{base}?filterType=leadId&filterValues={}", ids[0]))
        .await;
    let records = result_of(&by_lead);
    assert_eq!(by_lead["moreResult"], false);
    assert_eq!(records.len(), 1);
    let keys: Vec<&str> = records[0]
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "acquiredBy",
            "leadId",
            "membershipDate",
            "programId",
            "reachedSuccess",
            "seq"
        ]
    );
    assert_eq!(records[0]["programId"], PROGRAM);

    let fields = "statusName,reachedSuccess,membershipDate,updatedAt";
    let by_status = result_of(
        &sim.get(&format!(
            "{base}?filterType=statusName&filterValues=Attended&fields={fields}"
        ))
        .await,
    );
    assert_eq!(by_status.len(), 1);
    assert_eq!(by_status[0]["leadId"], ids[2]);
    assert_eq!(by_status[0]["statusName"], "Attended");
    assert_eq!(by_status[0]["reachedSuccess"], true);

    let window =
        |start: &str, end: &str| format!("{base}?filterType=updatedAt&startAt={start}&endAt={end}");
    let recent = result_of(
        &sim.get(&window("2000-01-01T00:00:00Z", "2000-01-03T00:00:00Z"))
            .await,
    );
    assert!(recent.is_empty());
    // One hour either side of a member's update, written as the same wall time with offsets.
    let updated = by_status[0]["updatedAt"].as_str().expect("updatedAt");
    let (before, after) = (
        updated.replace('Z', "%2B01:00"),
        updated.replace('Z', "-01:00"),
    );
    assert_eq!(result_of(&sim.get(&window(&before, &after)).await).len(), 3);
    let too_wide = sim
        .get(&window("2000-01-01T00:00:00Z", "2000-01-09T00:00:00Z"))
        .await;
    assert_eq!(error_of(&too_wide).0, "1003");
}

#[tokio::test]
async fn query_pages_with_batch_size_and_next_page_token() {
    let sim = Sim::start().await;
    let ids = leads(&sim, 5);
    set_status(&sim, "Invited", &ids).await;
    let path = format!(
        "/rest/v1/programs/{PROGRAM}/members.json?filterType=statusName&filterValues=Invited&batchSize=2"
    );
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let url = match &token {
            Some(token) => format!("{path}&nextPageToken={token}"),
            None => path.clone(),
        };
        let page = sim.get(&url).await;
        seen.extend(
            result_of(&page)
                .iter()
                .map(|r| (r["seq"].clone(), r["leadId"].clone())),
        );
        if page["moreResult"] == false {
            break;
        }
        token = Some(page["nextPageToken"].as_str().expect("token").to_string());
    }
    let expected: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (json!(i), json!(id)))
        .collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn each_status_change_is_a_104_activity_with_the_documented_attributes() {
    let sim = Sim::start().await;
    let ids = leads(&sim, 1);
    set_status(&sim, "Invited", &ids).await;
    set_status(&sim, "Attended", &ids).await;

    let feed = sim.activities_since_2020("104").await;
    let items = result_of(&feed);
    assert_eq!(items.len(), 2, "{feed}");
    let attribute = |item: &Value, name: &str| {
        item["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .map(|a| a["value"].clone())
            .unwrap_or_else(|| panic!("no {name} in {item}"))
    };
    let (joined, attended) = (&items[0], &items[1]);
    assert_eq!(attribute(joined, "Old Status"), "Not in Program");
    assert_eq!(attribute(joined, "New Status"), "Invited");
    assert_eq!(attribute(joined, "Program ID"), PROGRAM);
    assert_eq!(attribute(joined, "Acquired By"), true, "first membership");
    assert_eq!(attribute(joined, "Success"), false);
    assert_eq!(attribute(attended, "Success"), true, "Attended is success");
    assert_eq!(
        attribute(attended, "Old Status ID"),
        attribute(joined, "New Status ID"),
        "one status, one id"
    );
    let ids: Vec<Value> = [joined, attended]
        .iter()
        .flat_map(|item| {
            [
                attribute(item, "Old Status ID"),
                attribute(item, "New Status ID"),
            ]
        })
        .collect();
    assert!(
        ids.iter().all(|id| id.as_i64().is_some_and(|id| id > 0)),
        "{ids:?}"
    );
    assert_ne!(ids[0], ids[1]);
    assert_ne!(ids[1], ids[3]);
}

/// `POST …/members.json?_method=GET` with a form body is the query it stands for; a plain POST
/// (Sync Program Member Data, not simulated) is refused with 605.
#[tokio::test]
async fn a_members_query_posted_with_method_get_is_the_query() {
    let sim = Sim::start().await;
    let ids = leads(&sim, 2);
    set_status(&sim, "Registered", &ids).await;
    let path = format!("/rest/v1/programs/{PROGRAM}/members.json");
    let values = ids
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let form = [
        ("filterType", "leadId"),
        ("filterValues", values.as_str()),
        ("fields", "statusName"),
    ];
    let posted = sim
        .client
        .post(sim.url(&format!("{path}?_method=GET")))
        .form(&form)
        .bearer_auth(&sim.token)
        .send()
        .await
        .expect("POST");
    let found = result_of(&posted.json().await.expect("JSON"));
    let got = sim
        .get(&format!(
            "{path}?filterType=leadId&filterValues={values}&fields=statusName"
        ))
        .await;
    assert_eq!(found, result_of(&got));
    assert_eq!(found.len(), 2);
    assert_eq!(found[0]["statusName"], "Registered");
    let plain = sim.post(&path, &json!({ "input": [] })).await;
    assert_eq!(error_of(&plain).0, "605");
    let log = sim.sim.requests();
    let query = log
        .iter()
        .find(|r| r.query.as_deref() == Some("_method=GET"))
        .expect("logged");
    assert!(!query.write, "the posted query is no write");
}

#[tokio::test]
async fn members_are_searchable_by_reached_success() {
    let sim = Sim::start().await;
    let leads: Vec<i64> = (0..3)
        .map(|i| sim.sim.add_lead(NewLead::email(&format!("s{i}@x.com"))))
        .collect();
    let status = format!("/rest/v1/programs/{PROGRAM}/members/status.json");
    for (lead, name) in leads.iter().zip(["Invited", "Attended", "Attended"]) {
        let body = json!({ "statusName": name, "input": [{ "leadId": lead }] });
        result_of(&sim.post(&status, &body).await);
    }
    let base = format!("/rest/v1/programs/{PROGRAM}/members.json?filterType=reachedSuccess");
    let found = |body: &Value| -> Vec<i64> {
        result_of(body)
            .iter()
            .filter_map(|m| m["leadId"].as_i64())
            .collect()
    };
    assert_eq!(
        found(&sim.get(&format!("{base}&filterValues=true")).await),
        leads[1..]
    );
    assert_eq!(
        found(&sim.get(&format!("{base}&filterValues=false")).await),
        leads[..1]
    );
    let refused = sim.get(&format!("{base}&filterValues=maybe")).await;
    assert_eq!(error_of(&refused).0, "1003");
}
