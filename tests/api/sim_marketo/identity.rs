//! Identity: GET and POST, the same token until it expires, 401 for bad credentials, another
//! method 405 and logged; REST calls with a bad, revoked or expired token get HTTP 200 with
//! 601/602; revoked credentials are refused until restored.

use std::time::Duration;

use serde_json::Value;

use super::{CLIENT_ID, CLIENT_SECRET, PROGRAM, Sim, error_of, fetch_token, result_of};

const LEADS: &str = "/rest/v1/leads.json?filterType=email&filterValues=a@x.com";

#[tokio::test]
async fn get_and_post_return_the_same_token_until_it_expires() {
    let sim = Sim::start().await;
    let url = sim.url(&format!(
        "/identity/oauth/token?grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"
    ));
    let posted = sim.client.post(&url).send().await.expect("POST");
    assert_eq!(posted.status(), 200);
    let posted: Value = posted.json().await.expect("JSON");
    assert_eq!(posted["access_token"], sim.token.as_str());
    assert_eq!(posted["token_type"], "bearer");
    assert_eq!(posted["scope"], "sim-client@sim.marketo.test");
    let expires_in = posted["expires_in"].as_u64().expect("expires_in");
    assert!((3590..=3599).contains(&expires_in), "{expires_in}");

    sim.sim.expire_tokens();
    let expired = sim.get(LEADS).await;
    assert_eq!(
        error_of(&expired),
        ("602".into(), "Access token expired".into())
    );
    let renewed = fetch_token(&sim.client, &sim.sim.base_url()).await;
    assert_ne!(renewed, sim.token);
}

#[tokio::test]
async fn token_lifespan_is_configurable() {
    let sim = Sim::start_with(|c| c.token_ttl = Duration::from_secs(120)).await;
    let body: Value = sim
        .client
        .get(sim.url(&format!(
            "/identity/oauth/token?grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"
        )))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    let expires_in = body["expires_in"].as_u64().expect("expires_in");
    assert!((110..=119).contains(&expires_in), "{expires_in}");
}

#[tokio::test]
async fn bad_credentials_are_401() {
    let sim = Sim::start().await;
    let url = sim.url(&format!(
        "/identity/oauth/token?grant_type=client_credentials&client_id={CLIENT_ID}&client_secret=wrong"
    ));
    let response = sim.client.get(url).send().await.expect("GET");
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.expect("JSON");
    assert!(body["error"].is_string() && body["error_description"].is_string());
    // Logged as every call is: the query with its secret masked, the OAuth error as the code.
    let logged = sim.sim.requests();
    let token = logged
        .iter()
        .rfind(|r| r.kind == "identity")
        .expect("logged");
    assert_eq!(token.error_code.as_deref(), Some("unauthorized"));
    let query = token.query.as_deref().expect("the query is logged");
    assert!(
        query.contains("client_id=") && !query.contains("wrong"),
        "{query}"
    );
}

#[tokio::test]
async fn invalid_and_revoked_tokens_are_601_with_http_200() {
    let sim = Sim::start().await;
    let missing = sim.client.get(sim.url(LEADS)).send().await.expect("GET");
    assert_eq!(missing.status(), 200);
    let missing: Value = missing.json().await.expect("JSON");
    assert_eq!(error_of(&missing).0, "601");

    let ok = sim.get(LEADS).await;
    assert!(result_of(&ok).is_empty());
    sim.sim.revoke_tokens();
    let revoked = sim.get(LEADS).await;
    assert_eq!(
        error_of(&revoked),
        ("601".into(), "Access token invalid".into())
    );
}

#[tokio::test]
async fn unknown_paths_are_610_and_wrong_methods_605() {
    let sim = Sim::start().await;
    let unknown = sim.get("/rest/v1/nothing.json").await;
    assert_eq!(error_of(&unknown).0, "610");
    let response = sim
        .client
        .delete(sim.url(&format!("/rest/v1/programs/{PROGRAM}/members.json")))
        .bearer_auth(&sim.token)
        .send()
        .await
        .expect("DELETE");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(error_of(&body).0, "605");
}

#[tokio::test]
async fn the_sandbox_can_expire_and_revoke_tokens_over_http() {
    let sim = Sim::start().await;
    let expire = sim
        .client
        .post(sim.url("/__sim/tokens/expire"))
        .send()
        .await
        .expect("POST");
    assert_eq!(expire.status(), 204);
    assert_eq!(error_of(&sim.get(LEADS).await).0, "602");
    let revoke = sim
        .client
        .post(sim.url("/__sim/tokens/revoke"))
        .send()
        .await
        .expect("POST");
    assert_eq!(revoke.status(), 204);
    assert_eq!(error_of(&sim.get(LEADS).await).0, "601");
}

#[tokio::test]
async fn an_identity_request_by_another_method_is_405_and_logged() {
    let sim = Sim::start().await;
    let response = sim
        .client
        .put(sim.url("/identity/oauth/token?grant_type=client_credentials&client_id=sim-client&client_secret=sim-secret"))
        .send()
        .await
        .expect("PUT");
    assert_eq!(response.status(), 405);
    assert_eq!(
        response
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok()),
        Some("GET,POST")
    );
    let body: Value = response
        .json()
        .await
        .expect("a JSON body, as the other 405s have");
    assert_eq!(
        body["error"],
        "PUT is not allowed on /identity/oauth/token; use GET,POST"
    );
    let logged = sim.sim.requests();
    let last = logged.last().expect("the request is logged");
    assert_eq!(
        (last.kind.as_str(), last.method.as_str()),
        ("identity", "PUT")
    );
    assert_eq!(last.status, Some(405));
    let query = last.query.as_deref().unwrap_or_default();
    assert!(
        !query.contains("sim-secret"),
        "the secret is masked: {query}"
    );
}

/// Credentials revoked mid-run (`POST /__sim/credentials/revoke`): identity refuses them as
/// bad credentials (401) and the live token answers 601, until restored.
#[tokio::test]
async fn revoked_credentials_are_refused_until_restored() {
    let sim = Sim::start().await;
    let control = |action: &str| sim.url(&format!("/__sim/credentials/{action}"));
    let revoked = sim
        .client
        .post(control("revoke"))
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoked.status(), 204);
    assert_eq!(error_of(&sim.get(LEADS).await).0, "601");
    let identity = sim.url(&format!(
        "/identity/oauth/token?grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"
    ));
    let refused = sim.client.get(&identity).send().await.expect("identity");
    assert_eq!(refused.status(), 401);
    let body: Value = refused.json().await.expect("JSON");
    assert_eq!(body["error"], "unauthorized");

    let restored = sim
        .client
        .post(control("restore"))
        .json(&serde_json::json!({"clientId": CLIENT_ID}))
        .send()
        .await
        .expect("restore");
    assert_eq!(restored.status(), 204);
    let issued = sim.client.get(&identity).send().await.expect("identity");
    assert_eq!(issued.status(), 200);
}
