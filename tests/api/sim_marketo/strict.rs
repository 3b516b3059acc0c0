//! The rules a client most easily breaks, refused as Marketo refuses them: the token only in the
//! `Authorization` header, URIs up to 8 KB, 100,000 members for a non-`leadId` member query, and
//! the channel lookup's `name` parameter spelled exactly. Each can be switched off.

use campaign_sync::sim::marketo::NewLead;

use super::{PROGRAM, Sim, error_of, result_of};

const LEADS: &str = "/rest/v1/leads.json?filterType=email&filterValues=a@x.com";

#[tokio::test]
async fn an_access_token_in_the_query_string_is_refused_with_601() {
    let sim = Sim::start().await;
    let url = sim.url(&format!("{LEADS}&access_token={}", sim.token));
    let body = sim.client.get(&url).send().await.expect("GET");
    assert_eq!(body.status(), 200, "Marketo answers 200, errors included");
    let body = body.json().await.expect("JSON");
    assert_eq!(
        error_of(&body),
        ("601".into(), "Access token invalid".into())
    );
    // Even beside a valid header: a client that still puts it in the URL leaks it.
    let both = sim.client.get(&url).bearer_auth(&sim.token).send().await;
    let both = both.expect("GET").json().await.expect("JSON");
    assert_eq!(error_of(&both).0, "601");
    assert!(result_of(&sim.get(LEADS).await).is_empty());

    let lenient = Sim::start_with(|c| c.refuse_query_access_token = false).await;
    let url = lenient.url(&format!("{LEADS}&access_token={}", lenient.token));
    let answer = lenient.client.get(&url).bearer_auth(&lenient.token).send();
    let answer = answer.await.expect("GET").json().await.expect("JSON");
    assert!(result_of(&answer).is_empty());
}

/// A read sent as a form (`POST …?_method=GET`) has its query in the body: a token there is
/// refused the same way, and the call log masks it.
#[tokio::test]
async fn an_access_token_in_a_read_form_is_refused_and_masked() {
    let sim = Sim::start().await;
    let form = format!(
        "filterType=email&filterValues=a@x.com&access_token={}",
        sim.token
    );
    let answer = read_form(&sim, form).await;
    assert_eq!(error_of(&answer).0, "601", "{answer}");
    // Percent-encoded, the name is the same parameter.
    let form = format!(
        "filterType=email&filterValues=a@x.com&access%5Ftoken={}",
        sim.token
    );
    let answer = read_form(&sim, form).await;
    assert_eq!(error_of(&answer).0, "601", "{answer}");
    let logged = serde_json::to_string(&sim.sim.requests()).unwrap();
    assert!(!logged.contains(&sim.token), "{logged}");
    assert!(logged.contains("access_token=***"), "{logged}");
    assert!(logged.contains("access%5Ftoken=***"), "{logged}");
}

#[tokio::test]
async fn the_uri_limit_is_configurable() {
    let sim = Sim::start_with(|c| c.max_uri_bytes = 100).await;
    let values: Vec<String> = (0..5).map(|i| format!("someone-{i}@example.com")).collect();
    let path = format!(
        "/rest/v1/leads.json?filterType=email&filterValues={}",
        values.join(",")
    );
    let response = sim
        .client
        .get(sim.url(&path))
        .bearer_auth(&sim.token)
        .send();
    assert_eq!(response.await.expect("GET").status(), 414);

    let relaxed = Sim::start_with(|c| c.max_uri_bytes = usize::MAX).await;
    let long: Vec<String> = (0..300)
        .map(|i| format!("someone-with-a-long-address-{i:04}@example.com"))
        .collect();
    let path = format!(
        "/rest/v1/leads.json?filterType=email&filterValues={}",
        long.join(",")
    );
    assert!(result_of(&relaxed.get(&path).await).is_empty());
}

#[tokio::test]
async fn a_status_query_past_the_membership_cap_fails_with_1003() {
    let sim = Sim::start_with(|c| c.member_filter_cap = 3).await;
    for i in 0..4 {
        let lead = sim.sim.add_lead(NewLead::email(&format!("m{i}@x.com")));
        sim.sim
            .set_status_as_user(PROGRAM, lead, "Registered")
            .expect("member");
    }
    let members = format!("/rest/v1/programs/{PROGRAM}/members.json");
    let by_status = sim
        .get(&format!(
            "{members}?filterType=statusName&filterValues=Registered"
        ))
        .await;
    assert_eq!(
        error_of(&by_status),
        (
            "1003".into(),
            "Total membership size: 4 exceeds the limit allowed 3 for the filter".into()
        )
    );
    let by_lead = sim
        .get(&format!("{members}?filterType=leadId&filterValues=1"))
        .await;
    result_of(&by_lead);

    // The cap can be changed while the simulator runs (a bench sends one run to the extract).
    sim.sim.set_member_filter_cap(4);
    let by_status = sim
        .get(&format!(
            "{members}?filterType=statusName&filterValues=Registered"
        ))
        .await;
    assert_eq!(result_of(&by_status).len(), 4);
}

#[tokio::test]
async fn the_channel_lookup_takes_name_exactly() {
    let sim = Sim::start().await;
    let capital = sim
        .get("/rest/asset/v1/channel/byName.json?Name=Online%20Advertising")
        .await;
    assert_eq!(
        error_of(&capital),
        ("701".into(), "name cannot be blank".into())
    );
    let lower_case = sim
        .get("/rest/asset/v1/channel/byName.json?name=online%20advertising")
        .await;
    assert_eq!(lower_case["success"], true, "{lower_case}");
    assert_eq!(lower_case["result"].as_array().map_or(0, Vec::len), 0);
}

/// A lead read sent as `POST …?_method=GET` with `form` as its body: Marketo's answer.
async fn read_form(sim: &Sim, form: String) -> serde_json::Value {
    let url = sim.url("/rest/v1/leads.json?_method=GET");
    let answer = sim
        .client
        .post(&url)
        .bearer_auth(&sim.token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("POST");
    answer.json().await.expect("JSON")
}
