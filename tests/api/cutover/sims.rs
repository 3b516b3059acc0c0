//! The cutover tests' harness: `campaign-sync simulators` as a child process seeded with people
//! already members on both sides, its describe file, and the operator's commands run against it.

use serde_json::{Value, json};

use crate::simulators::{BIN, Running, json, start_simulators};

pub(super) struct Sims {
    pub(super) d: Value,
    _running: Running,
    _dir: tempfile::TempDir,
    pub(super) config: std::path::PathBuf,
    /// The service's SQLite file, which `reconcile` creates.
    pub(super) db: std::path::PathBuf,
}

pub(super) async fn simulators(people: usize) -> Sims {
    simulators_with(people, "").await
}

/// As `simulators`, with `first_mapping` appended to the first `[[mappings]]` table.
pub(super) async fn simulators_with(people: usize, first_mapping: &str) -> Sims {
    let dir = tempfile::tempdir().expect("dir");
    let (running, d) = start_simulators(dir.path(), &["--people", &people.to_string()]).await;
    let db = dir.path().join("fresh.db");
    let (sf, mk) = (&d["salesforce"], &d["marketo"]);
    let mut text = format!(
        "database_url = \"sqlite://{db}\"\n\
         [salesforce]\nlogin_url = {}\napi_version = {}\nclient_id = {}\nclient_secret = {}\n\
         organization_ids = [{}]\ninbound_token = \"om-token\"\n\
         [marketo]\nbase_url = {}\nclient_id = {}\nclient_secret = {}\nwebhook_token = \"t\"\n",
        sf["login_url"],
        sf["api_version"],
        sf["client_id"],
        sf["client_secret"],
        sf["organization_id"],
        mk["base_url"],
        mk["client_id"],
        mk["client_secret"],
        db = db.display(),
    );
    for (i, m) in d["mappings"]
        .as_array()
        .expect("mappings")
        .iter()
        .enumerate()
    {
        text += &format!(
            "[[mappings]]\nname = {}\nprogram_id = {}\ncampaign_id = {}\n",
            m["name"], m["program_id"], m["campaign_id"]
        );
        if i == 0 {
            text += first_mapping;
        }
    }
    let config = dir.path().join("service.toml");
    std::fs::write(&config, text).expect("config");
    Sims {
        d,
        _running: running,
        _dir: dir,
        db,
        config,
    }
}

impl Sims {
    pub(super) fn url(&self, side: &str) -> String {
        self.d[side]["base_url"].as_str().unwrap().to_string()
    }

    /// Write calls the service made to each side so far, from the simulators' call logs.
    pub(super) async fn writes(&self) -> (usize, usize) {
        let http = reqwest::Client::new();
        let mut counts = [0, 0];
        for (i, side) in ["salesforce", "marketo"].iter().enumerate() {
            let log = json(http.get(format!("{}/__sim/requests", self.url(side)))).await;
            let service = &self.d[side]["client_id"];
            counts[i] = log
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["write"] == true && &c["client"] == service)
                .count();
        }
        (counts[0], counts[1])
    }

    /// Runs `reconcile` with these flags: (exit success, one JSON object per mapping, stderr).
    pub(super) async fn reconcile(&self, flags: &[&str]) -> (bool, Vec<Value>, String) {
        let out = tokio::process::Command::new(BIN)
            .arg("reconcile")
            .args(flags)
            .arg("--json")
            .arg("--config")
            .arg(&self.config)
            .output()
            .await
            .expect("reconcile");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let lines = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        (
            out.status.success(),
            lines,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// A Salesforce user's access token and the REST base of the data API.
    async fn salesforce_user(&self) -> (reqwest::Client, String, String) {
        let http = reqwest::Client::new();
        let sf = self.url("salesforce");
        let token = json(http.post(format!("{sf}/services/oauth2/token")).form(&[
            ("grant_type", "client_credentials"),
            (
                "client_id",
                self.d["salesforce"]["user_client_id"].as_str().unwrap(),
            ),
            (
                "client_secret",
                self.d["salesforce"]["user_client_secret"].as_str().unwrap(),
            ),
        ]))
        .await["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        let version = self.d["salesforce"]["api_version"].as_str().unwrap();
        (http, token, format!("{sf}/services/data/{version}"))
    }

    /// Sets a member's status in the first campaign as a Salesforce user.
    pub(super) async fn set_in_salesforce(&self, person: usize, status: &str) {
        let (http, token, data) = self.salesforce_user().await;
        let member = self.member(person).await;
        let patched = http
            .patch(format!(
                "{data}/sobjects/CampaignMember/{}",
                member["Id"].as_str().unwrap()
            ))
            .bearer_auth(&token)
            .json(&json!({ "Status": status }))
            .send()
            .await
            .expect("PATCH");
        assert_eq!(patched.status(), 204);
    }

    /// Sets fields of a mapping's campaign as a Salesforce user (`Type`, `ActualCost`).
    pub(super) async fn set_campaign(&self, mapping: usize, fields: Value) {
        let (http, token, data) = self.salesforce_user().await;
        let campaign = self.d["mappings"][mapping]["campaign_id"].as_str().unwrap();
        let patched = http
            .patch(format!("{data}/sobjects/Campaign/{campaign}"))
            .bearer_auth(&token)
            .json(&fields)
            .send()
            .await
            .expect("PATCH");
        assert_eq!(patched.status(), 204);
    }

    /// A Salesforce admin adds a member status to the first campaign; returns its id.
    pub(super) async fn add_campaign_status(&self, label: &str) -> String {
        let (http, token, data) = self.salesforce_user().await;
        let campaign = &self.d["mappings"][0]["campaign_id"];
        let created = json(
            http.post(format!("{data}/sobjects/CampaignMemberStatus"))
                .bearer_auth(&token)
                .json(&json!({ "CampaignId": campaign, "Label": label, "SortOrder": 20 })),
        )
        .await;
        created["id"].as_str().expect("created").to_string()
    }

    /// A Salesforce admin deletes a member status (by its id).
    pub(super) async fn delete_campaign_status(&self, id: &str) {
        let (http, token, data) = self.salesforce_user().await;
        let deleted = http
            .delete(format!("{data}/sobjects/CampaignMemberStatus/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("DELETE");
        assert_eq!(deleted.status(), 204);
    }

    /// A Salesforce user creates a Lead Marketo does not have and adds it to the first
    /// campaign at `status`; returns the Lead's id.
    pub(super) async fn add_in_salesforce_only(&self, email: &str, status: &str) -> String {
        let (http, token, data) = self.salesforce_user().await;
        let created = |object: &str, body: Value| {
            let request = http
                .post(format!("{data}/sobjects/{object}"))
                .bearer_auth(&token)
                .json(&body);
            async move {
                let answer = json(request).await;
                answer["id"].as_str().expect("created").to_string()
            }
        };
        let lead = created(
            "Lead",
            json!({ "LastName": "Only", "Company": "Acme", "Email": email }),
        )
        .await;
        let campaign = &self.d["mappings"][0]["campaign_id"];
        created(
            "CampaignMember",
            json!({ "CampaignId": campaign, "LeadId": lead, "Status": status }),
        )
        .await;
        lead
    }

    /// `(kind, old_status, new_status)` of every trigger event recorded so far, oldest first.
    pub(super) fn trigger_events(&self) -> Vec<(String, Option<String>, Option<String>)> {
        let db = rusqlite::Connection::open(&self.db).expect("the service's database");
        let mut query = db
            .prepare("SELECT kind, old_status, new_status FROM trigger_events ORDER BY id")
            .expect("trigger_events");
        query
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .expect("rows")
            .map(|row| row.expect("a row"))
            .collect()
    }

    pub(super) async fn member(&self, person: usize) -> Value {
        let state =
            json(reqwest::Client::new().get(format!("{}/__sim/state", self.url("salesforce"))))
                .await;
        let campaign = &self.d["mappings"][0]["campaign_id"];
        let id = &self.d["people"][person]["salesforce_id"];
        state["objects"]["CampaignMember"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| &m["CampaignId"] == campaign && (&m["LeadId"] == id || &m["ContactId"] == id))
            .cloned()
            .expect("a seeded member")
    }

    pub(super) async fn marketo_status(&self, person: usize) -> Option<String> {
        let state =
            json(reqwest::Client::new().get(format!("{}/__sim/state", self.url("marketo")))).await;
        let program = &self.d["mappings"][0]["program_id"];
        let lead = &self.d["people"][person]["marketo_lead_id"];
        state["members"]
            .as_array()?
            .iter()
            .find(|m| &m["programId"] == program && &m["leadId"] == lead)?["statusName"]
            .as_str()
            .map(str::to_string)
    }
}
