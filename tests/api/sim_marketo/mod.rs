//! The Marketo simulator driven over HTTP like a client would: identity, envelopes and error
//! codes, limits, leads, program members, bulk member extracts, the Asset API and webhooks.

mod assets;
mod control;
mod custom_activities;
mod exports;
mod identity;
mod lead_records;
mod lead_sync_inputs;
mod leads;
mod limits;
mod members;
mod strict;
mod webhooks;

use campaign_sync::sim::marketo::{MarketoSim, MarketoSimConfig, NewProgram, ProgressionStatus};
use serde_json::Value;

pub const PROGRAM: i64 = 1044;
pub const CLIENT_ID: &str = "sim-client";
pub const CLIENT_SECRET: &str = "sim-secret";

/// A simulator seeded with the documented "Online Advertising" channel and one program in it,
/// plus a client holding a token. Webhooks are delivered only when a test asks.
pub struct Sim {
    pub sim: MarketoSim,
    pub client: reqwest::Client,
    pub token: String,
}

impl Sim {
    pub async fn start() -> Sim {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut MarketoSimConfig)) -> Sim {
        let mut config = MarketoSimConfig {
            deliver_webhooks_in_background: false,
            ..MarketoSimConfig::default()
        };
        adjust(&mut config);
        let sim = MarketoSim::spawn(config).await.expect("simulator starts");
        let statuses = vec![
            ProgressionStatus::new("Not in Program", 0, false),
            ProgressionStatus::new("Invited", 10, false),
            ProgressionStatus::new("Registered", 20, false),
            ProgressionStatus::new("No Show", 30, false),
            ProgressionStatus::new("Attended", 40, true),
        ];
        sim.add_channel("Online Advertising", statuses)
            .expect("channel");
        sim.add_program(NewProgram {
            id: PROGRAM,
            name: "Spring Webinar".to_string(),
            channel: "Online Advertising".to_string(),
            sfdc_id: Some("701000000000001AAA".to_string()),
            ..NewProgram::default()
        })
        .expect("program");
        let client = reqwest::Client::new();
        let token = fetch_token(&client, &sim.base_url()).await;
        Sim { sim, client, token }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url())
    }

    /// An authorised GET; returns the HTTP status and the JSON body.
    pub async fn get(&self, path: &str) -> Value {
        let response = self
            .client
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("request");
        assert_eq!(
            response.status(),
            200,
            "Marketo answers 200, errors included"
        );
        response.json().await.expect("JSON body")
    }

    /// The first page of the activity feed since 2020 for `type_ids` (a comma list): a paging
    /// token first, as Marketo's feed wants.
    pub async fn activities_since_2020(&self, type_ids: &str) -> Value {
        let token = self
            .get("/rest/v1/activities/pagingtoken.json?sinceDatetime=2020-01-01T00:00:00Z")
            .await;
        let token = token["nextPageToken"].as_str().expect("nextPageToken");
        self.get(&format!(
            "/rest/v1/activities.json?nextPageToken={token}&activityTypeIds={type_ids}"
        ))
        .await
    }

    /// An authorised JSON POST.
    pub async fn post(&self, path: &str, body: &Value) -> Value {
        let response = self
            .client
            .post(self.url(path))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .expect("request");
        assert_eq!(
            response.status(),
            200,
            "Marketo answers 200, errors included"
        );
        response.json().await.expect("JSON body")
    }
}

pub async fn fetch_token(client: &reqwest::Client, base: &str) -> String {
    fetch_token_as(client, base, CLIENT_ID, CLIENT_SECRET).await
}

/// An access token for another API user of the same instance.
pub async fn fetch_token_as(
    client: &reqwest::Client,
    base: &str,
    id: &str,
    secret: &str,
) -> String {
    let url = format!(
        "{base}/identity/oauth/token?grant_type=client_credentials&client_id={id}&client_secret={secret}"
    );
    let body: Value = client
        .get(url)
        .send()
        .await
        .expect("identity")
        .json()
        .await
        .expect("identity JSON");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

/// A member export job of `program` created at `base` with `token` (the job is that API user's),
/// not enqueued; its id.
pub async fn create_export_job(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    program: i64,
) -> String {
    let body = serde_json::json!({ "fields": ["leadId"], "filter": { "programId": program } });
    let created: Value = client
        .post(format!("{base}/bulk/v1/program/members/export/create.json"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("create JSON");
    result_of(&created)[0]["exportId"]
        .as_str()
        .expect("exportId")
        .to_string()
}

/// `action` (`enqueue`, `cancel`) on export job `id`, as the API user of `token`.
pub async fn export_job_action(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    id: &str,
    action: &str,
) {
    client
        .post(format!(
            "{base}/bulk/v1/program/members/export/{id}/{action}.json"
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect(action);
}

/// The single error of a `success:false` envelope, as `(code, message)`.
pub fn error_of(body: &Value) -> (String, String) {
    assert_eq!(body["success"], false, "expected a failure: {body}");
    assert!(body["requestId"].is_string(), "requestId: {body}");
    let errors = body["errors"].as_array().expect("errors array");
    assert_eq!(errors.len(), 1, "{body}");
    let code = errors[0]["code"].as_str().expect("code is a string");
    let message = errors[0]["message"].as_str().expect("message");
    (code.to_string(), message.to_string())
}

/// The result array of a `success:true` envelope.
pub fn result_of(body: &Value) -> Vec<Value> {
    assert_eq!(body["success"], true, "expected success: {body}");
    assert!(body["requestId"].is_string(), "requestId: {body}");
    body["result"].as_array().expect("result array").clone()
}
