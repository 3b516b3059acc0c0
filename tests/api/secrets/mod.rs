//! Secrets never leave: with recognisable secrets configured, every failure path of both
//! connectors (connection refused, timeout, 401, 5xx, bad JSON) and bad tokens on the receivers
//! and admin API leave no secret in the logs (text and JSON), the database file, `/metrics` or
//! any admin answer.

mod stub;

use campaign_sync::config::{MappingConfig, Secret};
use campaign_sync::sim::marketo::{self, MarketoSim, MarketoSimConfig, NewLead, NewProgram};
use campaign_sync::sim::salesforce::{MemberStatus, SalesforceSim, SalesforceSimConfig, SimClient};
use serde_json::{Value, json};

use crate::test_app::{TestApp, TestDb};
use stub::{Failure, Logs};

const MK_SECRET: &str = "MKTO-CLIENT-SECRET-7d1e40";
const SF_SECRET: &str = "SFDC-CLIENT-SECRET-93ab51";
const WEBHOOK_SECRET: &str = "WEBHOOK-TOKEN-5c2f62";
const INBOUND_SECRET: &str = "INBOUND-TOKEN-b81d73";
const ADMIN_SECRET: &str = "ADMIN-TOKEN-0e6a84";
const SECRETS: [&str; 5] = [
    MK_SECRET,
    SF_SECRET,
    WEBHOOK_SECRET,
    INBOUND_SECRET,
    ADMIN_SECRET,
];
const PROGRAM: i64 = 1001;
const INTEGRATION: &str = "campaign-sync";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Marketo,
    Salesforce,
}

/// What one scenario left behind where an operator or an attacker could read it.
struct Traces {
    answers: Vec<String>,
    database: Vec<u8>,
}

#[tokio::test]
async fn no_secret_reaches_logs_database_metrics_or_admin_answers() {
    let logs = Logs::default();
    let _capture = logs.capture();
    let mut answers = Vec::new();
    let mut database = Vec::new();
    for failure in Failure::ALL {
        for side in [Side::Marketo, Side::Salesforce] {
            let traces = scenario(failure, side).await;
            answers.extend(traces.answers);
            database.extend(traces.database);
        }
    }
    let (text, json) = logs.read();
    assert!(
        text.contains("WARN") || text.contains("ERROR"),
        "failures were logged: {text}"
    );
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} in the text logs:\n{text}");
        assert!(!json.contains(secret), "{secret} in the JSON logs:\n{json}");
        let leaked: Vec<&String> = answers.iter().filter(|a| a.contains(secret)).collect();
        assert!(leaked.is_empty(), "{secret} in answers: {leaked:?}");
        let in_db = database
            .windows(secret.len())
            .any(|w| w == secret.as_bytes());
        assert!(!in_db, "{secret} in the database file");
    }
}

async fn scenario(failure: Failure, side: Side) -> Traces {
    let broken = |s: Side| side == s && failure != Failure::Unauthorized;
    let refused = |s: Side| side == s && failure == Failure::Unauthorized;
    let mk = MarketoSim::spawn(MarketoSimConfig {
        clients: vec![marketo::SimClient {
            client_id: "sim-client".into(),
            client_secret: if refused(Side::Marketo) {
                "other"
            } else {
                MK_SECRET
            }
            .into(),
        }],
        deliver_webhooks_in_background: false,
        ..MarketoSimConfig::default()
    })
    .await
    .expect("Marketo simulator");
    let statuses = ["Invited", "Registered", "Attended"];
    let channel = statuses
        .iter()
        .enumerate()
        .map(|(i, s)| marketo::ProgressionStatus::new(s, 10 * (i as i32 + 1), *s == "Attended"))
        .collect();
    mk.add_channel("Webinar", channel).expect("channel");
    let program = NewProgram {
        id: PROGRAM,
        name: "Webinar".into(),
        channel: "Webinar".into(),
        ..NewProgram::default()
    };
    mk.add_program(program).expect("program");
    let lead = mk.add_lead(NewLead::email("ada@example.com"));
    mk.set_status_as_user(PROGRAM, lead, "Registered")
        .expect("member");

    let sf_secret = if refused(Side::Salesforce) {
        "other"
    } else {
        SF_SECRET
    };
    let sf = SalesforceSim::spawn(SalesforceSimConfig {
        clients: vec![SimClient::new(INTEGRATION, sf_secret, false)],
        ..SalesforceSimConfig::default()
    })
    .await
    .expect("Salesforce simulator");
    let member_statuses: Vec<MemberStatus> = statuses
        .iter()
        .enumerate()
        .map(|(i, s)| MemberStatus::new(s, i == 0, *s == "Attended"))
        .collect();
    let campaign = sf
        .create_campaign(json!({"Name": "Webinar"}), &member_statuses)
        .expect("campaign");
    let mut sf_settings = campaign_sync::config::SalesforceConfig::default();
    sf.configure_service(&mut sf_settings, INTEGRATION)
        .expect("settings");
    sf_settings.client_secret = Secret::new(SF_SECRET);
    if broken(Side::Salesforce) {
        sf_settings.login_url = stub::broken_host(failure).await;
        sf_settings.instance_url = sf_settings.login_url.clone();
    }
    let mk_url = if broken(Side::Marketo) {
        stub::broken_host(failure).await
    } else {
        mk.base_url()
    };

    let db = TestDb::sqlite();
    let db_path = db.url.trim_start_matches("sqlite://").to_owned();
    let app = TestApp::spawn_with(db, move |c| {
        c.salesforce = sf_settings;
        c.salesforce.request_timeout_secs = 1;
        c.salesforce.inbound_token = Secret::new(INBOUND_SECRET);
        c.marketo.base_url = mk_url;
        c.marketo.client_id = "sim-client".into();
        c.marketo.client_secret = Secret::new(MK_SECRET);
        c.marketo.request_timeout_secs = 1;
        c.marketo.webhook_token = Secret::new(WEBHOOK_SECRET);
        c.admin.token = Secret::new(ADMIN_SECRET);
        c.worker.retry_schedule_secs = vec![0];
        c.worker.retry_jitter_percent = 0;
        c.mappings
            .push(MappingConfig::new("webinar", PROGRAM, &campaign));
    })
    .await;

    let body = json!({"leadId": lead, "programId": PROGRAM, "email": "ada@example.com", "trigger": "Program Status is Changed"});
    let accepted = post(
        &app,
        "/v1/marketo/webhooks",
        &format!("Bearer {WEBHOOK_SECRET}"),
        body.to_string(),
    )
    .await;
    assert!(accepted.starts_with("202"), "{accepted}");
    for _ in 0..4 {
        app.worker.run_pending().await.expect("worker round");
    }
    app.worker.check_statuses().await;
    app.worker.sync_settings().await.expect("settings pass");
    let _deleted_poll = app.worker.poll_deleted().await;

    let admin = format!("Bearer {ADMIN_SECRET}");
    let dead = post_or_get(&app, "GET", "/admin/dead-letters", &admin).await;
    let items: Value =
        serde_json::from_str(dead.split_once(' ').map_or("", |(_, b)| b)).unwrap_or_default();
    let mut errors: Vec<String> = items["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["last_error"].as_str().map(str::to_string))
        .collect();
    // A failure that waits for a later retry (a malformed success backs off) keeps its reason
    // on the signal instead.
    let signal: i64 = accepted
        .split_once(' ')
        .and_then(|(_, b)| serde_json::from_str::<Value>(b).ok())
        .and_then(|v| v["id"].as_i64())
        .expect("the webhook's signal id");
    if let Some((_, _, Some(error))) = app.store.signal_state(signal).await.unwrap() {
        errors.push(error);
    }
    assert!(
        !errors.is_empty(),
        "{failure:?} on {side:?} left its reason on a dead letter or the signal: {dead}"
    );
    let mut answers = vec![dead];
    for (method, path, auth) in [
        ("POST", "/admin/reconcile", admin.as_str()),
        ("GET", "/admin/outcomes", admin.as_str()),
        ("GET", "/metrics", ""),
        ("GET", "/readyz", ""),
        ("GET", "/admin/dead-letters", "Bearer wrong-token"),
    ] {
        answers.push(post_or_get(&app, method, path, auth).await);
    }
    answers.push(
        post(
            &app,
            "/v1/marketo/webhooks",
            "Bearer wrong-token",
            body.to_string(),
        )
        .await,
    );
    for token in ["wrong-token", INBOUND_SECRET] {
        let path = format!("/v1/salesforce/outbound-messages?token={token}");
        answers.push(post(&app, &path, "", "<soap/>".into()).await);
    }
    app.stop().await.expect("stops");
    let mut database = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        database.extend(std::fs::read(format!("{db_path}{suffix}")).unwrap_or_default());
    }
    Traces { answers, database }
}

/// `"<status> <body>"` of a POST.
async fn post(app: &TestApp, path: &str, auth: &str, body: String) -> String {
    let mut request = app.client.post(app.url(path)).body(body);
    if !auth.is_empty() {
        request = request.header("authorization", auth);
    }
    let response = request.send().await.expect("request");
    format!(
        "{} {}",
        response.status().as_u16(),
        response.text().await.expect("body")
    )
}

async fn post_or_get(app: &TestApp, method: &str, path: &str, auth: &str) -> String {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut request = app.client.request(method, app.url(path));
    if !auth.is_empty() {
        request = request.header("authorization", auth);
    }
    let response = request.send().await.expect("request");
    format!(
        "{} {}",
        response.status().as_u16(),
        response.text().await.expect("body")
    )
}
