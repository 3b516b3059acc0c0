//! Tests of the Salesforce simulator, driven over HTTP like a client would, against the
//! documented bodies, codes and limits of `reference/salesforce-notes.md`.

mod auth;
mod collections;
mod control;
mod deleted;
mod delivery_faults;
pub mod listener;
mod outbound;
mod query;
mod records;
mod requests;
mod service;
mod strict;
mod types;

use campaign_sync::sim::salesforce::{MemberStatus, SalesforceSim, SalesforceSimConfig};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

pub const INTEGRATION: (&str, &str) = ("campaign-sync", "campaign-sync-secret");
pub const USER: (&str, &str) = ("sim-user", "sim-user-secret");

pub async fn start(config: SalesforceSimConfig) -> SalesforceSim {
    SalesforceSim::spawn(config)
        .await
        .expect("simulator starts")
}

/// A REST client holding one access token, as the service's connector would.
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

pub async fn token_response(sim: &SalesforceSim, (id, secret): (&str, &str)) -> Response {
    reqwest::Client::new()
        .post(format!("{}/services/oauth2/token", sim.base_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .expect("token request")
}

pub async fn login(sim: &SalesforceSim, credentials: (&str, &str)) -> Client {
    let response = token_response(sim, credentials).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("token json");
    Client {
        http: reqwest::Client::new(),
        base: body["instance_url"]
            .as_str()
            .expect("instance_url")
            .to_owned(),
        token: body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned(),
    }
}

impl Client {
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("/services") {
            format!("{}{path}", self.base)
        } else {
            format!("{}/services/data/v62.0/{path}", self.base)
        }
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Response {
        let mut request = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Response {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    /// The rows of a SOQL query's first page.
    pub async fn query(&self, soql: &str) -> Value {
        let response = self
            .http
            .get(reqwest::Url::parse_with_params(&self.url("query"), [("q", soql)]).expect("url"))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("query");
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("query json")
    }
}

/// Status and JSON body of a response.
pub async fn answer(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A campaign with statuses Sent (default), Registered and Attended (responded), and one lead.
pub fn seed(sim: &SalesforceSim) -> (String, String) {
    let campaign = sim
        .create_campaign(
            json!({"Name": "Webinar", "Type": "Webinar", "IsActive": true}),
            &[
                MemberStatus::new("Sent", true, false),
                MemberStatus::new("Registered", false, false),
                MemberStatus::new("Attended", false, true),
            ],
        )
        .expect("campaign");
    let lead = sim
        .create_lead(json!({"FirstName": "Ada", "LastName": "Lovelace", "Company": "Engines", "Email": "ada@example.com"}))
        .expect("lead");
    (campaign, lead)
}
