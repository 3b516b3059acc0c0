//! Leads: filters (email, id, sfdcLeadId, sfdcContactId; ≤300 values; `fields`; paging) and
//! the sync call with createOnly/updateOnly/createOrUpdate and skip reasons 1003 (a non-ASCII
//! e-mail), 1004/1005/1007, 1006 (a field the instance lacks) and 1021 (`company` on an update);
//! a filter only by a searchable field (1011, 1006).

use campaign_sync::sim::marketo::NewLead;
use serde_json::{Value, json};

use super::{Sim, error_of, result_of};

#[tokio::test]
async fn filters_by_email_id_and_salesforce_ids() {
    let sim = Sim::start().await;
    let abe = sim.sim.add_lead(NewLead {
        email: Some("Abe@usa.gov".into()),
        first_name: Some("Abraham".into()),
        last_name: Some("Lincoln".into()),
        sfdc_lead_id: Some("00Q000000000001AAA".into()),
        ..NewLead::default()
    });
    let george = sim.sim.add_lead(NewLead {
        sfdc_contact_id: Some("003000000000001AAA".into()),
        ..NewLead::email("george@usa.gov")
    });

    let by_email = result_of(
        &sim.get("/rest/v1/leads.json?filterType=email&filterValues=abe@USA.gov,nobody@x.com")
            .await,
    );
    assert_eq!(by_email.len(), 1);
    let record = &by_email[0];
    assert_eq!(record["id"], abe);
    assert_eq!(record["email"], "Abe@usa.gov");
    assert_eq!(record["firstName"], "Abraham");
    assert_eq!(record["lastName"], "Lincoln");
    assert!(
        record["createdAt"]
            .as_str()
            .is_some_and(|d| d.ends_with('Z'))
    );
    assert!(record["updatedAt"].is_string());

    let by_id = result_of(&sim.get(&format!("/rest/v1/leads.json?filterType=id&filterValues={abe},{george}&fields=email,sfdcContactId")).await);
    let ids: Vec<_> = by_id.iter().map(|r| r["id"].clone()).collect();
    assert_eq!(ids, vec![json!(abe), json!(george)]);
    assert_eq!(by_id[1]["sfdcContactId"], "003000000000001AAA");
    assert!(
        by_id[1].get("firstName").is_none(),
        "only the asked fields: {}",
        by_id[1]
    );

    let by_lead = result_of(
        &sim.get("/rest/v1/leads.json?filterType=sfdcLeadId&filterValues=00Q000000000001AAA")
            .await,
    );
    assert_eq!(by_lead[0]["id"], abe);
    let by_contact = result_of(
        &sim.get("/rest/v1/leads.json?filterType=sfdcContactId&filterValues=003000000000001AAA")
            .await,
    );
    assert_eq!(by_contact[0]["id"], george);

    let none = sim
        .get("/rest/v1/leads.json?filterType=email&filterValues=nobody@x.com")
        .await;
    assert_eq!(
        none,
        json!({ "requestId": none["requestId"], "result": [], "success": true })
    );
}

#[tokio::test]
async fn more_than_300_filter_values_is_1003_and_blank_filter_701() {
    let sim = Sim::start().await;
    let values: Vec<String> = (0..301).map(|i| format!("p{i}@x.com")).collect();
    let body = sim
        .get(&format!(
            "/rest/v1/leads.json?filterType=email&filterValues={}",
            values.join(",")
        ))
        .await;
    assert_eq!(error_of(&body).0, "1003");
    let at_limit = sim
        .get(&format!(
            "/rest/v1/leads.json?filterType=email&filterValues={}",
            values[..300].join(",")
        ))
        .await;
    assert!(result_of(&at_limit).is_empty());
    let blank = sim.get("/rest/v1/leads.json?filterType=email").await;
    assert_eq!(
        error_of(&blank),
        ("701".into(), "filterValues cannot be blank".into())
    );
}

#[tokio::test]
async fn lead_filters_page_with_next_page_token() {
    let sim = Sim::start().await;
    let ids: Vec<String> = (0..5)
        .map(|i| {
            sim.sim
                .add_lead(NewLead::email(&format!("p{i}@x.com")))
                .to_string()
        })
        .collect();
    let path = format!(
        "/rest/v1/leads.json?filterType=id&filterValues={}&batchSize=3",
        ids.join(",")
    );
    let first = sim.get(&path).await;
    assert_eq!(result_of(&first).len(), 3);
    assert_eq!(first["moreResult"], true);
    let token = first["nextPageToken"].as_str().expect("token");
    let second = sim.get(&format!("{path}&nextPageToken={token}")).await;
    assert_eq!(result_of(&second).len(), 2);
    assert!(second.get("nextPageToken").is_none());
}

async fn push(sim: &Sim, action: &str, lookup: &str, input: Value) -> Vec<Value> {
    let body = json!({ "action": action, "lookupField": lookup, "input": input });
    result_of(&sim.post("/rest/v1/leads.json", &body).await)
}

#[tokio::test]
async fn sync_creates_updates_and_skips_with_reasons() {
    let sim = Sim::start().await;
    let created = push(
        &sim,
        "createOnly",
        "email",
        json!([{ "email": "a@x.com", "firstName": "A" }, { "email": "b@x.com" }]),
    )
    .await;
    assert_eq!(created[0]["status"], "created");
    let a = created[0]["id"].as_i64().expect("id");

    let again = push(&sim, "createOnly", "email", json!([{ "email": "A@x.com" }])).await;
    assert_eq!(
        again,
        vec![
            json!({ "status": "skipped", "reasons": [{ "code": "1005", "message": "Lead already exists" }] })
        ]
    );

    let missing = push(
        &sim,
        "updateOnly",
        "email",
        json!([{ "email": "new@x.com" }]),
    )
    .await;
    assert_eq!(missing[0]["reasons"][0]["code"], "1004");
    assert_eq!(missing[0]["reasons"][0]["message"], "Lead not found");

    let updated = push(
        &sim,
        "updateOnly",
        "id",
        json!([{ "id": a, "lastName": "Smith" }]),
    )
    .await;
    assert_eq!(updated, vec![json!({ "id": a, "status": "updated" })]);
    assert_eq!(sim.sim.lead(a).expect("lead").fields["lastName"], "Smith");

    let upsert = push(
        &sim,
        "createOrUpdate",
        "email",
        json!([{ "email": "a@x.com", "firstName": "Ann" }, { "email": "c@x.com" }]),
    )
    .await;
    assert_eq!(upsert[0], json!({ "id": a, "status": "updated" }));
    assert_eq!(upsert[1]["status"], "created");

    // Company fields are Sync Companies' to change: an update naming `company` is skipped,
    // a create may set it.
    let company = push(
        &sim,
        "createOrUpdate",
        "email",
        json!([{ "email": "a@x.com", "company": "Acme" }, { "email": "d@x.com", "company": "Acme" }]),
    )
    .await;
    assert_eq!(
        company[0],
        json!({ "status": "skipped", "reasons": [{ "code": "1021", "message": "Company update not allowed" }] })
    );
    assert_eq!(company[1]["status"], "created");
    assert!(
        !sim.sim
            .lead(a)
            .expect("lead")
            .fields
            .contains_key("company")
    );

    sim.sim.add_lead(NewLead::email("a@x.com"));
    let ambiguous = push(
        &sim,
        "createOrUpdate",
        "email",
        json!([{ "email": "a@x.com" }]),
    )
    .await;
    assert_eq!(
        ambiguous[0]["reasons"][0],
        json!({ "code": "1007", "message": "Multiple leads match the lookup criteria" })
    );
}

#[tokio::test]
async fn sync_skips_a_non_ascii_email_and_keeps_the_rest() {
    let sim = Sim::start().await;
    let answer = push(
        &sim,
        "createOrUpdate",
        "email",
        json!([{ "email": "zoë@example.com" }, { "email": "zoe@example.com" }]),
    )
    .await;
    assert_eq!(answer[0]["status"], "skipped", "{answer:?}");
    assert_eq!(answer[0]["reasons"][0]["code"], "1003");
    assert_eq!(answer[1]["status"], "created");
    assert_eq!(
        sim.sim.leads().len(),
        1,
        "only the ASCII address was created"
    );
}

#[tokio::test]
async fn a_record_naming_its_id_is_skipped_unless_the_action_is_update_only() {
    let sim = Sim::start().await;
    let created = push(&sim, "createOnly", "email", json!([{ "email": "a@x.com" }])).await;
    let id = created[0]["id"].as_i64().expect("created");
    for action in ["createOnly", "createOrUpdate", "createDuplicate"] {
        let answer = push(
            &sim,
            action,
            "email",
            json!([{ "id": id, "email": "b@x.com" }, { "email": "c@x.com" }]),
        )
        .await;
        assert_eq!(answer[0]["status"], "skipped", "{action}: {answer:?}");
        assert_eq!(answer[0]["reasons"][0]["code"], "1003", "{action}");
        assert_ne!(answer[1]["status"], "skipped", "{action}: the rest go on");
    }
    let updated = push(
        &sim,
        "updateOnly",
        "id",
        json!([{ "id": id, "firstName": "Ada" }]),
    )
    .await;
    assert_eq!(updated[0], json!({ "id": id, "status": "updated" }));
}

/// A field the instance lacks is not created by a sync (1006, as a misspelt name would be),
/// and a lookup may only filter by a searchable field (1011) the instance has (1006).
#[tokio::test]
async fn unknown_fields_are_refused_and_filters_must_be_searchable() {
    let sim = Sim::start().await;
    let answer = push(
        &sim,
        "createOnly",
        "email",
        json!([{ "email": "a@x.com", "sfdcLeadID": "00Q000000000001AAA" }, { "email": "b@x.com", "firstName": "Bo" }]),
    )
    .await;
    assert_eq!(
        answer[0],
        json!({ "status": "skipped", "reasons": [{ "code": "1006", "message": "Field 'sfdcLeadID' not found" }] })
    );
    assert_eq!(answer[1]["status"], "created");
    for (filter, code) in [("firstName", "1011"), ("nosuchField", "1006")] {
        let body = sim
            .get(&format!(
                "/rest/v1/leads.json?filterType={filter}&filterValues=Bo"
            ))
            .await;
        let (got, message) = error_of(&body);
        assert_eq!(got, code, "{filter}: {message}");
        assert!(message.contains(filter), "{message}");
    }
    let by_lead_id = sim
        .get("/rest/v1/leads.json?filterType=sfdcLeadId&filterValues=00Q000000000001AAA")
        .await;
    assert_eq!(by_lead_id["success"], true, "{by_lead_id}");
}

#[tokio::test]
async fn sync_refuses_bad_requests_as_a_whole() {
    let sim = Sim::start().await;
    let too_many: Vec<Value> = (0..301)
        .map(|i| json!({ "email": format!("p{i}@x.com") }))
        .collect();
    let body = sim
        .post("/rest/v1/leads.json", &json!({ "input": too_many }))
        .await;
    assert_eq!(error_of(&body).0, "1003");
    let response = sim
        .client
        .post(sim.url("/rest/v1/leads.json"))
        .bearer_auth(&sim.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("POST");
    assert_eq!(error_of(&response.json().await.expect("JSON")).0, "609");
    let response = sim
        .client
        .post(sim.url("/rest/v1/leads.json"))
        .bearer_auth(&sim.token)
        .body("{}")
        .send()
        .await
        .expect("POST");
    assert_eq!(error_of(&response.json().await.expect("JSON")).0, "612");
}

#[tokio::test]
async fn long_queries_get_414_and_go_through_post_with_method_get() {
    let sim = Sim::start().await;
    let id = sim.sim.add_lead(NewLead::email(
        "someone-with-a-long-address-0299@example.com",
    ));
    let values: Vec<String> = (0..300)
        .map(|i| format!("someone-with-a-long-address-{i:04}@example.com"))
        .collect();
    let filter = [
        ("filterType", "email".to_string()),
        ("filterValues", values.join(",")),
    ];
    let long = sim
        .client
        .get(sim.url(&format!(
            "/rest/v1/leads.json?filterType=email&filterValues={}",
            filter[1].1
        )))
        .bearer_auth(&sim.token)
        .send()
        .await
        .expect("GET");
    assert_eq!(long.status(), 414);
    // Refused before the token was read, and still in the call log.
    let logged = sim.sim.requests();
    let refused = logged.last().expect("logged");
    assert_eq!(
        (refused.status, refused.path.as_str(), refused.write),
        (Some(414), "/rest/v1/leads.json", false)
    );
    assert_eq!(refused.client, None);
    let posted = sim
        .client
        .post(sim.url("/rest/v1/leads.json?_method=GET"))
        .form(&filter)
        .bearer_auth(&sim.token)
        .send()
        .await
        .expect("POST");
    let found = result_of(&posted.json().await.expect("JSON"));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], id);
}
