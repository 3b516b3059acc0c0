//! `campaign-sync simulators` as an operator runs it: the binary with `--describe`, the seeded
//! members read back through both simulators' APIs, deliveries to the endpoints set over HTTP,
//! and a clean exit on SIGTERM.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::sim_salesforce::listener::{ACK, Listener};

pub const BIN: &str = env!("CARGO_BIN_EXE_campaign-sync");

/// The child process, stopped (SIGKILL) if the test fails before its SIGTERM.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Polls `check` every 50 ms for at most 15 s, failing with `what`.
pub async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "timed out: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A simulator's whole state (`GET {base}/__sim/state`), or None while it cannot be read.
pub async fn sim_state(http: &reqwest::Client, base: &str) -> Option<Value> {
    http.get(format!("{base}/__sim/state"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()
}

/// The status of `person`'s (lead or contact id) member of `campaign` in the Salesforce
/// simulator at `sf`, read from its state.
pub async fn salesforce_member_status(
    http: &reqwest::Client,
    sf: &str,
    campaign: &str,
    person: &str,
) -> Option<String> {
    sim_state(http, sf).await?["objects"]["CampaignMember"]
        .as_array()?
        .iter()
        .find(|m| {
            m["CampaignId"] == campaign && (m["LeadId"] == person || m["ContactId"] == person)
        })?["Status"]
        .as_str()
        .map(str::to_string)
}

/// `campaign-sync simulators ARGS --describe DIR/sims.json` as a child process, returned with
/// its describe file once written.
pub async fn start_simulators(dir: &Path, args: &[&str]) -> (Running, Value) {
    let describe = dir.join("sims.json");
    let child = Command::new(BIN)
        .arg("simulators")
        .args(args)
        .arg("--describe")
        .arg(&describe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("campaign-sync simulators");
    let running = Running(child);
    let text = eventually("the describe file", async || {
        std::fs::read_to_string(&describe)
            .ok()
            .filter(|t| !t.is_empty())
    })
    .await;
    (running, serde_json::from_str(&text).expect("describe JSON"))
}

pub async fn json(request: reqwest::RequestBuilder) -> Value {
    let response = request.send().await.expect("request");
    let status = response.status();
    let body: Value = response.json().await.expect("JSON");
    assert!(status.is_success(), "{status}: {body}");
    body
}

#[tokio::test]
async fn the_command_seeds_both_sides_and_delivers_where_it_is_told() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut running, d) =
        start_simulators(dir.path(), &["--programs", "3", "--people", "5"]).await;
    let (sf, mk) = (&d["salesforce"], &d["marketo"]);
    for key in [
        "base_url",
        "login_url",
        "generic_login_url",
        "client_id",
        "client_secret",
    ] {
        assert!(sf[key].is_string(), "salesforce.{key}: {d}");
    }
    for key in [
        "user_client_id",
        "user_client_secret",
        "organization_id",
        "api_version",
    ] {
        assert!(sf[key].is_string(), "salesforce.{key}: {d}");
    }
    for key in [
        "base_url",
        "client_id",
        "client_secret",
        "user_client_id",
        "user_client_secret",
    ] {
        assert!(mk[key].is_string(), "marketo.{key}: {d}");
    }
    let mappings = d["mappings"].as_array().expect("mappings").clone();
    let people = d["people"].as_array().expect("people").clone();
    assert_eq!((mappings.len(), people.len()), (3, 5));
    let http = reqwest::Client::new();
    let (sf_url, mk_url) = (
        sf["base_url"].as_str().unwrap(),
        mk["base_url"].as_str().unwrap(),
    );
    let sf_token = json(http.post(format!("{sf_url}/services/oauth2/token")).form(&[
        ("grant_type", "client_credentials"),
        ("client_id", sf["user_client_id"].as_str().unwrap()),
        ("client_secret", sf["user_client_secret"].as_str().unwrap()),
    ]))
    .await["access_token"]
        .as_str()
        .expect("Salesforce token")
        .to_string();
    let mk_token = json(http.get(format!("{mk_url}/identity/oauth/token")).query(&[
        ("grant_type", "client_credentials"),
        ("client_id", mk["client_id"].as_str().unwrap()),
        ("client_secret", mk["client_secret"].as_str().unwrap()),
    ]))
    .await["access_token"]
        .as_str()
        .expect("Marketo token")
        .to_string();
    let version = sf["api_version"].as_str().unwrap();
    let lead_ids: Vec<String> = people
        .iter()
        .map(|p| p["marketo_lead_id"].to_string())
        .collect();
    for mapping in &mappings {
        let first = mapping["statuses"][0][1].as_str().expect("first status");
        let soql = format!(
            "SELECT Id, LeadId, ContactId, Status FROM CampaignMember WHERE CampaignId = '{}'",
            mapping["campaign_id"].as_str().unwrap()
        );
        let rows = json(
            http.get(format!("{sf_url}/services/data/{version}/query"))
                .query(&[("q", soql)])
                .bearer_auth(&sf_token),
        )
        .await;
        let rows = rows["records"].as_array().expect("records").clone();
        assert_eq!(rows.len(), 5, "{mapping}: {rows:?}");
        for person in &people {
            let id = person["salesforce_id"].as_str().unwrap();
            let row = rows
                .iter()
                .find(|r| r["LeadId"] == id || r["ContactId"] == id)
                .expect("member in Salesforce");
            assert_eq!(row["Status"], first, "{person} in {mapping}");
        }
        let program = mapping["program_id"].as_i64().unwrap();
        let members = json(
            http.get(format!("{mk_url}/rest/v1/programs/{program}/members.json"))
                .query(&[
                    ("filterType", "leadId"),
                    ("filterValues", &lead_ids.join(",")),
                    ("fields", "leadId,statusName"),
                ])
                .bearer_auth(&mk_token),
        )
        .await;
        let members = members["result"].as_array().expect("result").clone();
        assert_eq!(members.len(), 5, "{mapping}: {members:?}");
        assert!(
            members.iter().all(|m| m["statusName"] == first),
            "{members:?}"
        );
    }
    let leads = json(
        http.get(format!("{mk_url}/rest/v1/leads.json"))
            .query(&[
                ("filterType", "id"),
                ("filterValues", &lead_ids.join(",")),
                ("fields", "email,sfdcLeadId,sfdcContactId,sfdcType"),
            ])
            .bearer_auth(&mk_token),
    )
    .await;
    for person in &people {
        let lead = leads["result"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == person["marketo_lead_id"])
            .expect("lead");
        let link = match lead["sfdcType"].as_str() {
            Some("Contact") => &lead["sfdcContactId"],
            Some("Lead") => &lead["sfdcLeadId"],
            other => panic!("sfdcType {other:?} on {lead}"),
        };
        assert_eq!(link, &person["salesforce_id"], "{lead}");
    }

    let (listener, url) = Listener::start(&[ACK]).await;
    json(
        http.post(format!("{sf_url}/__sim/outbound-endpoint"))
            .json(&json!({"url": url})),
    )
    .await;
    json(
        http.post(format!("{mk_url}/__sim/webhook-target"))
            .json(&json!({"url": url, "headers": [["Authorization", "Bearer hook"]]})),
    )
    .await;
    let person = people[0]["salesforce_id"].as_str().unwrap();
    let campaign = mappings[0]["campaign_id"].as_str().unwrap();
    let soql =
        format!("SELECT Id, LeadId, ContactId FROM CampaignMember WHERE CampaignId = '{campaign}'");
    let rows = json(
        http.get(format!("{sf_url}/services/data/{version}/query"))
            .query(&[("q", soql)])
            .bearer_auth(&sf_token),
    )
    .await;
    let member = rows["records"]
        .as_array()
        .expect("records")
        .iter()
        .find(|r| r["LeadId"] == person || r["ContactId"] == person)
        .and_then(|r| r["Id"].as_str())
        .expect("member id")
        .to_string();
    let second = mappings[0]["statuses"][1][1].as_str().unwrap();
    let patched = http
        .patch(format!(
            "{sf_url}/services/data/{version}/sobjects/CampaignMember/{member}"
        ))
        .bearer_auth(&sf_token)
        .json(&json!({"Status": second}))
        .send()
        .await
        .expect("PATCH");
    assert_eq!(patched.status(), 204);
    let program = mappings[1]["program_id"].as_i64().unwrap();
    let lead = people[1]["marketo_lead_id"].as_i64().unwrap();
    let status = mappings[1]["statuses"][1][0].as_str().unwrap();
    json(
        http.post(format!("{mk_url}/__sim/programs/{program}/members/status"))
            .json(&json!({"leadId": lead, "status": status})),
    )
    .await;
    let bodies = eventually("an outbound message and a webhook", async || {
        let bodies = listener.bodies();
        let soap = bodies
            .iter()
            .any(|b| b.contains(&member) && b.contains(second));
        let hook = bodies
            .iter()
            .any(|b| b.contains(&format!("\"leadId\": \"{lead}\"")));
        (soap && hook).then_some(bodies)
    })
    .await;
    assert_eq!(bodies.len(), 2, "one of each: {bodies:?}");

    let pid = running.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let status = eventually("exit after SIGTERM", async || {
        running.0.try_wait().expect("wait")
    })
    .await;
    assert_eq!(status.code(), Some(0));
}

/// A SIGTERM while thousands of programs are still being seeded ends the command at once,
/// with exit 0 and no describe file (it waited for the seeding before).
#[tokio::test]
async fn a_sigterm_during_seeding_stops_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let describe = dir.path().join("sims.json");
    let child = Command::new(BIN)
        .args(["simulators", "--programs", "1000000"])
        .args([
            "--listen-salesforce",
            "127.0.0.1:0",
            "--listen-marketo",
            "127.0.0.1:0",
        ])
        .arg("--describe")
        .arg(&describe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("campaign-sync simulators");
    // Killed if the test fails before its SIGTERM ends it.
    let mut running = Running(child);
    let child = &mut running.0;
    // Once the listeners are up, seeding is under way (a million programs take minutes).
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(child.try_wait().unwrap().is_none(), "still seeding");
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = eventually("exit after SIGTERM", async || {
        child.try_wait().expect("wait")
    })
    .await;
    assert_eq!(status.code(), Some(0));
    assert!(!describe.exists());
}

/// Listening on every interface (`0.0.0.0`, for a container), the describe file gives URLs a
/// client can use: loopback, not the unspecified address.
#[tokio::test]
async fn listening_on_every_interface_describes_loopback_urls() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--listen-salesforce",
        "0.0.0.0:0",
        "--listen-marketo",
        "0.0.0.0:0",
    ];
    let (_running, described) = start_simulators(dir.path(), &args).await;
    let text = described.to_string();
    assert!(!text.contains("0.0.0.0"), "{text}");
    let base = described["salesforce"]["base_url"].as_str().unwrap();
    assert!(base.starts_with("http://127.0.0.1:"), "{text}");
    let http = reqwest::Client::new();
    let answer = http
        .get(format!("{base}/__sim/state"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

/// `--listen-salesforce-login` puts the generic login host's stand-in on a fixed address too,
/// so every port the command opens can be chosen (it took a random one, whatever the flags).
#[tokio::test]
async fn the_generic_login_host_listens_where_told() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let login = format!("127.0.0.1:{port}");
    let args = ["--listen-salesforce-login", login.as_str()];
    let (_running, described) = start_simulators(dir.path(), &args).await;
    let url = described["salesforce"]["generic_login_url"]
        .as_str()
        .unwrap();
    assert_eq!(url, format!("http://{login}"), "{described}");
    let refused = reqwest::Client::new()
        .post(format!("{url}/services/oauth2/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
}
