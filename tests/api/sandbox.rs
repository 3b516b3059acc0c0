//! `campaign-sync sandbox` as a newcomer uses it: the description file, then a status change in
//! the Marketo simulator appearing in the Salesforce simulator, with no echo write, and as a
//! custom activity on the person; then the guide's Salesforce user change reaching Marketo.

use campaign_sync::sandbox::{self, SandboxOptions};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::simulators::{eventually, salesforce_member_status, sim_state};

#[tokio::test]
async fn the_sandbox_syncs_a_change_each_way_as_its_guide_shows() {
    let dir = tempfile::tempdir().unwrap();
    let describe = dir.path().join("sandbox.json");
    let shutdown = CancellationToken::new();
    // The simulators where they are told to listen, as a scripted walk-through wants them.
    let (sf_at, mk_at) = (crate::binary::free_address(), crate::binary::free_address());
    let options = SandboxOptions {
        dir: Some(dir.path().join("data")),
        listen: "127.0.0.1:0".parse().unwrap(),
        describe: Some(describe.clone()),
        listen_salesforce: sf_at.parse().unwrap(),
        listen_marketo: mk_at.parse().unwrap(),
        listen_salesforce_login: None,
    };
    let running = tokio::spawn(sandbox::run(options, shutdown.clone()));
    let text = described(&describe).await;
    let d: Value = serde_json::from_str(&text).unwrap();
    for key in [
        "base_url",
        "client_id",
        "client_secret",
        "user_client_id",
        "user_client_secret",
        "organization_id",
        "outbound_messages_url",
    ] {
        assert!(d["salesforce"][key].is_string(), "salesforce.{key}");
    }
    for key in [
        "base_url",
        "client_id",
        "client_secret",
        "user_client_id",
        "user_client_secret",
        "webhook_url",
    ] {
        assert!(d["marketo"][key].is_string(), "marketo.{key}");
    }
    assert!(d["mappings"].as_array().unwrap().len() >= 2);
    let client = reqwest::Client::new();
    let (sf, mk) = (
        d["salesforce"]["base_url"].as_str().unwrap(),
        d["marketo"]["base_url"].as_str().unwrap(),
    );
    assert_eq!(
        (sf, mk),
        (&*format!("http://{sf_at}"), &*format!("http://{mk_at}"))
    );
    let program = d["mappings"][0]["program_id"].as_i64().unwrap();
    let alan = &d["people"][2];
    let changed = client
        .post(format!("{mk}/__sim/programs/{program}/members/status"))
        .json(&serde_json::json!({ "leadId": alan["marketo_lead_id"], "status": "Registered" }))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    let person = alan["salesforce_id"].as_str().unwrap().to_string();
    let campaign = d["mappings"][0]["campaign_id"].as_str().unwrap();
    let status = eventually("the Marketo change in Salesforce", async || {
        salesforce_member_status(&client, sf, campaign, &person).await
    })
    .await;
    assert_eq!(status, "Registered");
    // The sandbox provisioned the marketers' trigger types; the change is one on Alan.
    let lead = alan["marketo_lead_id"].as_i64().unwrap();
    let (types, activity) = eventually("the change as a custom activity", async || {
        let state = sim_state(&client, mk).await?;
        let activity = state["customActivities"]
            .as_array()?
            .iter()
            .find(|a| a["leadId"] == lead)?
            .clone();
        Some((state["customActivityTypes"].clone(), activity))
    })
    .await;
    let types = types.as_array().unwrap();
    assert_eq!(types.len(), 3);
    assert!(types.iter().all(|t| t["status"] == "approved"
        && t["name"].as_str().unwrap().contains("Salesforce Campaign")));
    let added = types
        .iter()
        .find(|t| t["id"] == activity["activityTypeId"])
        .unwrap();
    assert_eq!(added["name"], "Added to Salesforce Campaign");

    // The guide's second step: a Salesforce user changes Ada's member status; Marketo follows.
    let ada = &d["people"][0];
    let (ada_sf, ada_lead) = (
        ada["salesforce_id"].as_str().unwrap(),
        ada["marketo_lead_id"].as_i64().unwrap(),
    );
    let token: Value = client
        .post(format!("{sf}/services/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            (
                "client_id",
                d["salesforce"]["user_client_id"].as_str().unwrap(),
            ),
            (
                "client_secret",
                d["salesforce"]["user_client_secret"].as_str().unwrap(),
            ),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let member = eventually("Ada's campaign member", async || {
        sim_state(&client, sf).await?["objects"]["CampaignMember"]
            .as_array()?
            .iter()
            .find(|m| m["LeadId"] == ada_sf && m["CampaignId"] == campaign)?["Id"]
            .as_str()
            .map(str::to_string)
    })
    .await;
    // The seeded member reaches the program first (its outbound message), then the change.
    eventually("Ada in the program", async || {
        program_status(&client, mk, program, ada_lead).await
    })
    .await;
    let version = d["salesforce"]["api_version"].as_str().unwrap();
    let patched = client
        .patch(format!(
            "{sf}/services/data/{version}/sobjects/CampaignMember/{member}"
        ))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .json(&serde_json::json!({ "Status": "Attended" }))
        .send()
        .await
        .unwrap();
    assert!(patched.status().is_success(), "{}", patched.status());
    let status = eventually("the Salesforce change in Marketo", async || {
        program_status(&client, mk, program, ada_lead)
            .await
            .filter(|s| s == "Attended")
    })
    .await;
    assert_eq!(status, "Attended");
    shutdown.cancel();
    running.await.unwrap().unwrap();
}

/// The status of `lead` in `program` in the Marketo simulator's state.
async fn program_status(
    client: &reqwest::Client,
    mk: &str,
    program: i64,
    lead: i64,
) -> Option<String> {
    sim_state(client, mk).await?["members"]
        .as_array()?
        .iter()
        .find(|m| m["programId"] == program && m["leadId"] == lead)?["statusName"]
        .as_str()
        .map(str::to_string)
}

/// A taken port is said before anything is seeded, with the way out.
#[tokio::test]
async fn a_sandbox_on_a_taken_port_says_so_at_once() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.display().to_string();
    let output = tokio::task::spawn_blocking(move || {
        crate::binary::output(&["sandbox", "--listen", &address, "--dir", &data_arg], &[])
    })
    .await
    .unwrap();
    assert!(!output.status.success());
    let text = crate::binary::text(&output);
    assert!(
        text.contains("--listen") && text.contains("127.0.0.1:0"),
        "{text}"
    );
    assert!(
        !text.contains("provisioned"),
        "nothing seeded first: {text}"
    );
    drop(taken);
}

/// On every interface (`0.0.0.0`), the sandbox's own URLs (the describe file, the targets the
/// simulators deliver to) are loopback, which a client can reach.
#[tokio::test]
async fn a_sandbox_on_every_interface_describes_loopback_urls() {
    let dir = tempfile::tempdir().unwrap();
    let describe = dir.path().join("sandbox.json");
    let shutdown = CancellationToken::new();
    let options = SandboxOptions {
        dir: Some(dir.path().join("data")),
        listen: "0.0.0.0:0".parse().unwrap(),
        describe: Some(describe.clone()),
        listen_salesforce: "0.0.0.0:0".parse().unwrap(),
        listen_marketo: "0.0.0.0:0".parse().unwrap(),
        listen_salesforce_login: None,
    };
    let running = tokio::spawn(sandbox::run(options, shutdown.clone()));
    let text = described(&describe).await;
    assert!(!text.contains("0.0.0.0"), "{text}");
    let d: Value = serde_json::from_str(&text).unwrap();
    let service = d["service_url"].as_str().unwrap();
    assert!(service.starts_with("http://127.0.0.1:"), "{text}");
    let health = reqwest::get(format!("{service}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    shutdown.cancel();
    running.await.unwrap().unwrap();
}

/// The description file once the sandbox has written it.
async fn described(path: &std::path::Path) -> String {
    eventually("the sandbox's description file", async || {
        std::fs::read_to_string(path).ok().filter(|t| !t.is_empty())
    })
    .await
}
