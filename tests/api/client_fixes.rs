//! The connectors against the strict simulators: long Marketo lookups go as `POST ?_method=GET`,
//! the Salesforce token comes from the My Domain host only, and no error text carries a secret.

use campaign_sync::config::{MarketoConfig, SalesforceConfig, Secret};
use campaign_sync::connectors::CallError;
use campaign_sync::connectors::marketo::MarketoClient;
use campaign_sync::connectors::salesforce::SalesforceClient;
use campaign_sync::sim::marketo::NewLead;
use campaign_sync::sim::salesforce::{SalesforceSim, SalesforceSimConfig};

use crate::sim_marketo::{CLIENT_ID, CLIENT_SECRET, Sim};

/// A realistic 30-character address.
fn address(i: usize) -> String {
    let address = format!("firstname.lastname{i:03}@acme.com");
    assert_eq!(address.len(), 30);
    address
}

#[tokio::test]
async fn a_lookup_of_300_addresses_goes_as_post_with_method_get() {
    let sim = Sim::start().await;
    let emails: Vec<String> = (0..300).map(address).collect();
    for email in &emails[..5] {
        sim.sim.add_lead(NewLead::email(email));
    }
    let marketo = MarketoClient::new(&MarketoConfig {
        base_url: sim.sim.base_url(),
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new(CLIENT_SECRET),
        ..MarketoConfig::default()
    })
    .expect("client");
    let found = marketo.leads_by("email", &emails).await.expect("lookup");
    assert_eq!(found.len(), 5);
    let lookups: Vec<_> = sim
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.path == "/rest/v1/leads.json")
        .collect();
    assert_eq!(lookups.len(), 1, "{lookups:?}");
    assert_eq!(lookups[0].method, "POST");
    assert_eq!(lookups[0].status, Some(200));
    // A short lookup stays a GET.
    marketo
        .leads_by("email", &emails[..3])
        .await
        .expect("lookup");
    let last = sim.sim.requests().pop().expect("a call");
    assert_eq!(
        (last.method.as_str(), last.path.as_str()),
        ("GET", "/rest/v1/leads.json")
    );
}

async fn salesforce(
    login: impl FnOnce(&SalesforceSim) -> String,
) -> (SalesforceSim, SalesforceClient) {
    let sim = SalesforceSim::spawn(SalesforceSimConfig::default())
        .await
        .expect("sim");
    let mut settings = SalesforceConfig::default();
    sim.configure_service(&mut settings, "campaign-sync")
        .expect("settings");
    settings.login_url = login(&sim);
    settings.instance_url = String::new();
    let client = SalesforceClient::new(&settings).expect("client");
    (sim, client)
}

#[tokio::test]
async fn the_salesforce_token_comes_from_my_domain_and_the_generic_host_pauses_the_side() {
    let (_sim, client) = salesforce(SalesforceSim::base_url).await;
    client
        .query("SELECT Id FROM Lead")
        .await
        .expect("My Domain issues the token");

    let (_sim, client) = salesforce(SalesforceSim::generic_login_url).await;
    let error = client
        .query("SELECT Id FROM Lead")
        .await
        .expect_err("refused");
    // A refused login cannot pass by retrying: the side pauses until a person fixes it.
    let CallError::Paused { reason, .. } = &error else {
        panic!("a refused login pauses the side: {error:?}");
    };
    assert!(
        reason.contains("request not supported on this domain"),
        "{reason}"
    );
    assert!(
        reason.contains("salesforce.login_url must be the org's My Domain"),
        "{reason}"
    );
    assert!(!reason.contains("campaign-sync-secret"), "{reason}");
}

#[tokio::test]
async fn transport_errors_never_quote_the_marketo_secret() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let closed = listener.local_addr().expect("addr");
    drop(listener);
    let secret = "MKTO-SECRET-4f1c9a";
    let marketo = MarketoClient::new(&MarketoConfig {
        base_url: format!("http://{closed}"),
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new(secret),
        ..MarketoConfig::default()
    })
    .expect("client");
    let error = marketo
        .leads_by("email", &[address(1)])
        .await
        .expect_err("refused");
    let text = format!("{error} {error:?}");
    assert!(error.is_retryable(), "{text}");
    assert!(!text.contains(secret), "{text}");
    assert!(
        text.contains("/identity/oauth/token"),
        "names the call: {text}"
    );
}
