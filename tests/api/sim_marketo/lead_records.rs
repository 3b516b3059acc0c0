//! One lead at a time: Get Lead by Id, Delete Leads (memberships go with the lead) and Merge
//! Leads (the losers' memberships and blank-filling values go to the winner), per the Swagger.

use campaign_sync::sim::marketo::NewLead;
use serde_json::{Value, json};

use super::{PROGRAM, Sim, error_of, result_of};

fn lead(sim: &Sim, email: &str, first_name: Option<&str>) -> i64 {
    sim.sim.add_lead(NewLead {
        first_name: first_name.map(str::to_string),
        ..NewLead::email(email)
    })
}

#[tokio::test]
async fn a_lead_is_read_by_id_with_default_or_chosen_fields() {
    let sim = Sim::start().await;
    let id = lead(&sim, "ada@example.com", Some("Ada"));
    let found = result_of(&sim.get(&format!("/rest/v1/lead/{id}.json")).await);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], id);
    assert_eq!(found[0]["email"], "ada@example.com");
    assert_eq!(found[0]["firstName"], "Ada");
    assert!(found[0]["createdAt"].is_string(), "{found:?}");
    let chosen = result_of(
        &sim.get(&format!("/rest/v1/lead/{id}.json?fields=email"))
            .await,
    );
    assert_eq!(chosen, vec![json!({"id": id, "email": "ada@example.com"})]);
    let missing = result_of(&sim.get("/rest/v1/lead/999999.json").await);
    assert!(missing.is_empty(), "no lead, no record: {missing:?}");
}

#[tokio::test]
async fn deleting_a_lead_ends_its_program_memberships() {
    let sim = Sim::start().await;
    let gone = lead(&sim, "gone@example.com", None);
    let kept = lead(&sim, "kept@example.com", None);
    for id in [gone, kept] {
        sim.sim
            .set_status_as_user(PROGRAM, id, "Registered")
            .expect("member");
    }
    let answer = sim
        .post(
            "/rest/v1/leads/delete.json",
            &json!({"input": [{"id": gone}, {"id": 424242}]}),
        )
        .await;
    let result = result_of(&answer);
    assert_eq!(result[0]["status"], "deleted");
    assert_eq!(result[1]["status"], "skipped");
    assert_eq!(result[1]["reasons"][0]["code"], "1004");
    assert!(sim.sim.lead(gone).is_none());
    assert!(sim.sim.member(PROGRAM, gone).is_none(), "membership gone");
    assert!(sim.sim.member(PROGRAM, kept).is_some(), "others untouched");
    let members = sim
        .get(&format!(
            "/rest/v1/programs/{PROGRAM}/members.json?filterType=leadId&filterValues={gone},{kept}"
        ))
        .await;
    let ids: Vec<Value> = result_of(&members)
        .iter()
        .map(|m| m["leadId"].clone())
        .collect();
    assert_eq!(ids, vec![json!(kept)]);

    // The ids may come in the query instead, with an empty body.
    let response = sim
        .client
        .post(sim.url(&format!("/rest/v1/leads/delete.json?id={kept}")))
        .bearer_auth(&sim.token)
        .send()
        .await
        .expect("delete");
    let body: Value = response.json().await.expect("json");
    assert_eq!(result_of(&body)[0]["status"], "deleted");
    assert!(sim.sim.lead(kept).is_none());
}

#[tokio::test]
async fn merging_moves_memberships_and_blank_values_to_the_winner() {
    let sim = Sim::start().await;
    let winner = lead(&sim, "ada@example.com", None);
    let loser = lead(&sim, "ada.l@example.com", Some("Ada"));
    sim.sim
        .set_status_as_user(PROGRAM, loser, "Attended")
        .expect("member");
    let merge = |query: String| {
        let request = sim
            .client
            .post(sim.url(&format!("/rest/v1/leads/{winner}/merge.json{query}")))
            .bearer_auth(&sim.token);
        async move {
            let body: Value = request
                .send()
                .await
                .expect("merge")
                .json()
                .await
                .expect("json");
            body
        }
    };
    let unknown = merge("?leadId=424242".to_string()).await;
    assert_eq!(error_of(&unknown).0, "1004");
    assert!(sim.sim.lead(loser).is_some(), "nothing changed");
    assert_eq!(error_of(&merge(String::new()).await).0, "701");

    let merged = merge(format!("?leadIds={loser}")).await;
    assert_eq!(merged["success"], true, "{merged}");
    assert!(merged.get("result").is_none(), "{merged}");
    assert!(sim.sim.lead(loser).is_none(), "the loser is gone");
    let kept = sim.sim.lead(winner).expect("winner");
    assert_eq!(
        kept.fields["email"], "ada@example.com",
        "the winner's value stays"
    );
    assert_eq!(kept.fields["firstName"], "Ada", "a blank one is filled");
    let member = sim.sim.member(PROGRAM, winner).expect("membership moved");
    assert_eq!(member.status_name, "Attended");
    let read = result_of(&sim.get(&format!("/rest/v1/lead/{loser}.json")).await);
    assert!(read.is_empty());
}
