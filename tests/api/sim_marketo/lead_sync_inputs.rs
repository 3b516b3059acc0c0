//! The lead sync's inputs refused as Marketo refuses them: values of the wrong type (1001,
//! that record skipped), a lookup field that is not searchable (1011, 1006 unknown), and a
//! partition outside the creating actions (1003) or not in the instance (1008).

use campaign_sync::sim::marketo::NewLead;
use serde_json::{Value, json};

use super::{Sim, error_of, result_of};

async fn sync(sim: &Sim, body: Value) -> Value {
    sim.post("/rest/v1/leads.json", &body).await
}

fn reason(record: &Value) -> (&str, &str) {
    assert_eq!(record["status"], "skipped", "{record}");
    let reason = &record["reasons"][0];
    (
        reason["code"].as_str().unwrap_or_default(),
        reason["message"].as_str().unwrap_or_default(),
    )
}

#[tokio::test]
async fn a_lead_field_of_the_wrong_type_skips_the_record_with_1001() {
    let sim = Sim::start().await;
    let input = json!([
        { "email": "a@x.com", "firstName": ["x"] },
        { "email": "b@x.com", "lastName": { "x": 1 } },
        { "email": "c@x.com", "firstName": true },
        { "email": 5 },
        { "email": "d@x.com", "firstName": "D" },
    ]);
    let body = json!({ "action": "createOrUpdate", "input": input });
    let results = result_of(&sync(&sim, body).await);
    for skipped in &results[..4] {
        assert_eq!(reason(skipped).0, "1001", "{skipped}");
    }
    assert_eq!(results[4]["status"], "created");
    let leads = sim.sim.leads();
    assert_eq!(leads.len(), 1, "only the well-typed record is stored");
    assert_eq!(leads[0].email(), Some("d@x.com"));
}

#[tokio::test]
async fn the_lookup_field_must_be_searchable() {
    let sim = Sim::start().await;
    sim.sim.add_lead(NewLead {
        first_name: Some("Ada".to_string()),
        ..NewLead::email("ada@x.com")
    });
    let input = json!([{ "email": "other@x.com", "firstName": "Ada" }]);
    let by =
        |lookup: &str| json!({ "action": "createOrUpdate", "lookupField": lookup, "input": input });

    let (code, message) = error_of(&sync(&sim, by("firstName")).await);
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("1011", "Field 'firstName' not supported")
    );
    let (code, message) = error_of(&sync(&sim, by("bogus")).await);
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("1006", "Field 'bogus' not found")
    );
    assert_eq!(sim.sim.leads().len(), 1, "nothing was written");
    let results = result_of(&sync(&sim, by("email")).await);
    assert_eq!(results[0]["status"], "created");
}

#[tokio::test]
async fn a_partition_goes_only_with_the_creating_actions_and_must_exist() {
    let sim = Sim::start().await;
    let input = json!([{ "email": "p@x.com" }]);
    let with = |action: &str, partition: &str| json!({ "action": action, "partitionName": partition, "input": input });
    for action in ["updateOnly", "createDuplicate"] {
        let (code, _) = error_of(&sync(&sim, with(action, "Default")).await);
        assert_eq!(code, "1003", "partitionName with {action}");
    }
    let results = result_of(&sync(&sim, with("createOnly", "Nope")).await);
    assert_eq!(
        reason(&results[0]),
        ("1008", "Access denied to partition 'Nope'")
    );
    assert!(
        sim.sim.leads().is_empty(),
        "no lead was created in a partition that is not there"
    );

    let results = result_of(&sync(&sim, with("createOrUpdate", "Default")).await);
    assert_eq!(results[0]["status"], "created");
}
