//! A deployment tested from outside, as the README describes it: `campaign-sync simulators`,
//! then `campaign-sync serve` with a configuration written from the describe file, delivery
//! pointed at it over HTTP; a change made as a user on each side is synced, and a lock fault
//! posted to `/__sim/faults` makes the service retry and then converge.

use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::simulators::{
    BIN, Running, eventually, json, salesforce_member_status, start_simulators,
};

/// Prints a log file when dropped by a failing test.
struct PrintOnPanic(std::path::PathBuf);

impl Drop for PrintOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let text = std::fs::read_to_string(&self.0).unwrap_or_default();
            eprintln!("--- serve's log ({}) ---\n{text}", self.0.display());
        }
    }
}

/// The service's configuration for the simulators in `d` (the README's recipe).
fn service_config(d: &Value, listen: &str, dir: &std::path::Path) -> String {
    let (sf, mk) = (&d["salesforce"], &d["marketo"]);
    let mut text = format!(
        "listen = \"{listen}\"\ndatabase_url = \"sqlite://{db}\"\n\
         [http]\ndrain_delay_secs = 0\n\
         [worker]\nretry_schedule_secs = [1, 1, 1, 1, 1]\nretry_jitter_percent = 0\n\
         [salesforce]\nlogin_url = {login}\napi_version = {version}\nclient_id = {sf_id}\n\
         client_secret = {sf_secret}\norganization_ids = [{org}]\ninbound_token = \"om-token\"\n\
         [marketo]\nbase_url = {mk_url}\nclient_id = {mk_id}\nclient_secret = {mk_secret}\n\
         webhook_token = \"hook-token\"\n",
        db = dir.join("service.db").display(),
        login = sf["login_url"],
        version = sf["api_version"],
        sf_id = sf["client_id"],
        sf_secret = sf["client_secret"],
        org = sf["organization_id"],
        mk_url = mk["base_url"],
        mk_id = mk["client_id"],
        mk_secret = mk["client_secret"],
    );
    for m in d["mappings"].as_array().expect("mappings") {
        text += &format!(
            "[[mappings]]\nname = {}\nprogram_id = {}\ncampaign_id = {}\n",
            m["name"], m["program_id"], m["campaign_id"]
        );
    }
    text
}

#[tokio::test]
async fn serve_against_simulators_syncs_user_changes_and_converges_after_faults() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut sims, d) = start_simulators(dir.path(), &[]).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let service = format!("http://127.0.0.1:{port}");
    let config = dir.path().join("service.toml");
    let listen = format!("127.0.0.1:{port}");
    std::fs::write(&config, service_config(&d, &listen, dir.path())).expect("config");
    // Serve's log stays in the temp directory and is printed if the test fails.
    let log = dir.path().join("serve.log");
    let _log = PrintOnPanic(log.clone());
    let serve = Command::new(BIN)
        .env("RUST_LOG", "campaign_sync=debug,info")
        .args(["serve", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("serve log"))
        .spawn()
        .expect("serve");
    let _serve = Running(serve);
    let http = reqwest::Client::new();
    eventually("the service answers", async || {
        let health = http.get(format!("{service}/readyz")).send().await.ok()?;
        health.status().is_success().then_some(())
    })
    .await;
    let (sf, mk) = (
        d["salesforce"]["base_url"].as_str().unwrap(),
        d["marketo"]["base_url"].as_str().unwrap(),
    );
    let om = format!("{service}/v1/salesforce/outbound-messages?token=om-token");
    json(
        http.post(format!("{sf}/__sim/outbound-endpoint"))
            .json(&json!({"url": om})),
    )
    .await;
    let hook = json!({"url": format!("{service}/v1/marketo/webhooks"),
        "headers": [["Authorization", "Bearer hook-token"]]});
    json(http.post(format!("{mk}/__sim/webhook-target")).json(&hook)).await;
    let lock = json!({"error_code": "UNABLE_TO_LOCK_ROW", "calls": 2});
    json(http.post(format!("{sf}/__sim/faults")).json(&lock)).await;

    let (program, campaign) = (
        d["mappings"][0]["program_id"].as_i64().unwrap(),
        d["mappings"][0]["campaign_id"].as_str().unwrap(),
    );
    let (lead, person) = (
        d["people"][2]["marketo_lead_id"].as_i64().unwrap(),
        d["people"][2]["salesforce_id"].as_str().unwrap(),
    );
    let change = json!({"leadId": lead, "status": "Registered"});
    json(
        http.post(format!("{mk}/__sim/programs/{program}/members/status"))
            .json(&change),
    )
    .await;
    eventually("the Marketo change in Salesforce", async || {
        (salesforce_member_status(&http, sf, campaign, person)
            .await
            .as_deref()
            == Some("Registered"))
        .then_some(())
    })
    .await;
    let log: Vec<Value> = json(http.get(format!("{sf}/__sim/requests")))
        .await
        .as_array()
        .cloned()
        .unwrap();
    let locked = log
        .iter()
        .filter(|c| c["error_code"] == "UNABLE_TO_LOCK_ROW")
        .count();
    assert_eq!(
        locked, 2,
        "both faults were met, then the write was retried"
    );
    assert!(log.iter().any(|c| {
        c["write"] == true
            && c["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("/composite/sobjects"))
    }));
    json(http.delete(format!("{sf}/__sim/faults"))).await;

    // A Salesforce user's change reaches Marketo through the outbound message.
    let token = json(http.post(format!("{sf}/services/oauth2/token")).form(&[
        ("grant_type", "client_credentials"),
        (
            "client_id",
            d["salesforce"]["user_client_id"].as_str().unwrap(),
        ),
        (
            "client_secret",
            d["salesforce"]["user_client_secret"].as_str().unwrap(),
        ),
    ]))
    .await["access_token"]
        .as_str()
        .expect("token")
        .to_string();
    let state = json(http.get(format!("{sf}/__sim/state"))).await;
    let (other_lead, other) = (
        d["people"][0]["marketo_lead_id"].as_i64().unwrap(),
        d["people"][0]["salesforce_id"].as_str().unwrap(),
    );
    let member = state["objects"]["CampaignMember"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["CampaignId"] == campaign && (m["LeadId"] == other || m["ContactId"] == other))
        .and_then(|m| m["Id"].as_str())
        .expect("a seeded member")
        .to_string();
    let version = d["salesforce"]["api_version"].as_str().unwrap();
    let patched = http
        .patch(format!(
            "{sf}/services/data/{version}/sobjects/CampaignMember/{member}"
        ))
        .bearer_auth(&token)
        .json(&json!({"Status": "Attended"}))
        .send()
        .await
        .expect("PATCH");
    assert_eq!(patched.status(), 204);
    eventually("the Salesforce change in Marketo", async || {
        let state: Value = http
            .get(format!("{mk}/__sim/state"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let at = state["members"]
            .as_array()?
            .iter()
            .find(|m| m["programId"] == program && m["leadId"] == other_lead)?;
        (at["statusName"] == "Attended").then_some(())
    })
    .await;

    let pid = sims.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let exit = eventually("the simulators exit", async || {
        sims.0.try_wait().expect("wait")
    })
    .await;
    assert_eq!(exit.code(), Some(0));
}
