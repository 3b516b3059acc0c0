//! The service's own tests reach the simulator with nothing but its settings: a base URL and a
//! client's credentials; outbound messages reach the service's receiver.

use campaign_sync::config::{SalesforceConfig, Secret};
use campaign_sync::sim::salesforce::{OutboundConfig, SalesforceSimConfig};
use reqwest::StatusCode;
use serde_json::Value;

use super::{INTEGRATION, USER, seed, start};
use crate::test_app::{TestApp, TestDb};

#[tokio::test]
async fn test_app_settings_from_the_simulator_are_enough_to_call_it_and_be_called() {
    // The endpoint is known only once the service runs; it is set below.
    let outbound = OutboundConfig::to("http://127.0.0.1:9/not-yet");
    let sim = start(SalesforceSimConfig {
        outbound: Some(outbound),
        ..SalesforceSimConfig::default()
    })
    .await;
    let mut settings = SalesforceConfig::default();
    let app = TestApp::spawn_with(TestDb::sqlite(), |config| {
        sim.configure_service(&mut config.salesforce, INTEGRATION.0)
            .expect("known client");
        config.salesforce.inbound_token = Secret::new("om-token");
        settings = config.salesforce.clone();
    })
    .await;
    assert_eq!(
        settings.organization_ids,
        [sim.config().organization_id.clone()]
    );

    let token: Value = reqwest::Client::new()
        .post(format!("{}/services/oauth2/token", settings.login_url))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", settings.client_id.as_str()),
            ("client_secret", settings.client_secret.expose()),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    assert_eq!(token["instance_url"], settings.instance_url.as_str());
    let url = format!(
        "{}/services/data/{}/query",
        settings.instance_url, settings.api_version
    );
    let response = reqwest::Client::new()
        .get(
            reqwest::Url::parse_with_params(&url, [("q", "SELECT Id FROM Campaign")]).expect("url"),
        )
        .bearer_auth(token["access_token"].as_str().expect("token"))
        .send()
        .await
        .expect("query");
    assert_eq!(response.status(), StatusCode::OK);

    sim.set_outbound_endpoint(&app.url("/v1/salesforce/outbound-messages?token=om-token"));
    let (campaign, lead) = seed(&sim);
    sim.add_member(USER.0, &campaign, &lead, None)
        .expect("member");
    let report = sim.deliver_outbound_now().await;
    assert_eq!((report.messages, report.notifications), (1, 1));
    assert_eq!(report.acked + report.failed, 1);
    app.stop().await.expect("app stops");
}
