//! Taking over from Marketo's native sync, as an operator does it: `campaign-sync simulators`
//! (people already members on both sides, linked by Marketo), then `reconcile` on a fresh
//! database: it links everyone and writes nothing; a second run finds nothing; statuses changed
//! in Salesforce are listed exactly by `--dry-run` and repaired exactly by the real run.

use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::simulators::{BIN, Running, eventually, json};

struct Sims {
    d: Value,
    _running: Running,
    _dir: tempfile::TempDir,
    config: std::path::PathBuf,
}

async fn simulators(people: usize) -> Sims {
    simulators_with(people, "").await
}

/// As `simulators`, with `first_mapping` appended to the first `[[mappings]]` table.
async fn simulators_with(people: usize, first_mapping: &str) -> Sims {
    let dir = tempfile::tempdir().expect("dir");
    let describe = dir.path().join("sims.json");
    let child = Command::new(BIN)
        .args(["simulators", "--people", &people.to_string(), "--describe"])
        .arg(&describe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("simulators");
    let running = Running(child);
    let text = eventually("the describe file", async || {
        std::fs::read_to_string(&describe)
            .ok()
            .filter(|t| !t.is_empty())
    })
    .await;
    let d: Value = serde_json::from_str(&text).expect("JSON");
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
        db = dir.path().join("fresh.db").display(),
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
        config,
    }
}

impl Sims {
    fn url(&self, side: &str) -> String {
        self.d[side]["base_url"].as_str().unwrap().to_string()
    }

    /// Write calls the service made to each side so far, from the simulators' call logs.
    async fn writes(&self) -> (usize, usize) {
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
    async fn reconcile(&self, flags: &[&str]) -> (bool, Vec<Value>, String) {
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

    /// Sets a member's status in the first campaign as a Salesforce user.
    async fn set_in_salesforce(&self, person: usize, status: &str) {
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
        let member = self.member(person).await;
        let version = self.d["salesforce"]["api_version"].as_str().unwrap();
        let patched = http
            .patch(format!(
                "{sf}/services/data/{version}/sobjects/CampaignMember/{}",
                member["Id"].as_str().unwrap()
            ))
            .bearer_auth(&token)
            .json(&json!({ "Status": status }))
            .send()
            .await
            .expect("PATCH");
        assert_eq!(patched.status(), 204);
    }

    async fn member(&self, person: usize) -> Value {
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

    async fn marketo_status(&self, person: usize) -> Option<String> {
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

#[tokio::test]
async fn a_fresh_database_adopts_native_sync_data_without_writing_and_repairs_exactly_what_differs()
{
    let people = 6;
    let sims = simulators(people).await;
    let mappings = sims.d["mappings"].as_array().unwrap().len();

    let (ok, first, stderr) = sims.reconcile(&[]).await;
    assert!(ok, "{stderr}");
    assert_eq!(first.len(), mappings, "{first:?}");
    for line in &first {
        assert_eq!(line["linked"], people, "{line}");
        assert_eq!(line["differences"], 0, "{line}");
        assert_eq!(line["changes"], json!([]), "{line}");
        assert_eq!(line["failed"], 0, "{line}");
        assert!(line["calls"]["salesforce"].as_u64().unwrap() > 0, "{line}");
    }
    assert_eq!(sims.writes().await, (0, 0), "adopting writes nothing");

    let (ok, second, stderr) = sims.reconcile(&[]).await;
    assert!(ok, "{stderr}");
    for line in &second {
        assert_eq!(
            (line["linked"].as_u64(), line["differences"].as_u64()),
            (Some(0), Some(0)),
            "{line}"
        );
    }
    assert_eq!(sims.writes().await, (0, 0), "a second run only reads");

    // Two people's statuses change in Salesforce only (their outbound messages never arrive).
    sims.set_in_salesforce(1, "Registered").await;
    sims.set_in_salesforce(4, "Attended").await;
    let (ok, dry, stderr) = sims.reconcile(&["--dry-run"]).await;
    assert!(ok, "{stderr}");
    let changes = dry[0]["changes"].as_array().unwrap();
    let mut listed: Vec<(i64, &str, &str, &str)> = changes
        .iter()
        .map(|c| {
            (
                c["marketo_lead_id"].as_i64().unwrap(),
                c["side"].as_str().unwrap(),
                c["from"].as_str().unwrap(),
                c["to"].as_str().unwrap(),
            )
        })
        .collect();
    listed.sort();
    let lead = |i: usize| sims.d["people"][i]["marketo_lead_id"].as_i64().unwrap();
    let first_status = sims.marketo_status(1).await.expect("a member");
    assert_eq!(
        listed,
        vec![
            (lead(1), "marketo", first_status.as_str(), "Registered"),
            (lead(4), "marketo", first_status.as_str(), "Attended"),
        ]
    );
    assert_eq!(
        dry[1]["changes"],
        json!([]),
        "the other mapping is untouched"
    );
    assert_eq!(sims.writes().await, (0, 0), "a dry run writes nothing");

    let (ok, real, stderr) = sims.reconcile(&[]).await;
    assert!(ok, "{stderr}");
    assert_eq!(
        real[0]["changes"], dry[0]["changes"],
        "the run does what the dry run listed"
    );
    assert_eq!(
        (real[0]["repaired"].as_u64(), real[0]["failed"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(sims.marketo_status(1).await.as_deref(), Some("Registered"));
    assert_eq!(sims.marketo_status(4).await.as_deref(), Some("Attended"));
    let (sf_writes, mk_writes) = sims.writes().await;
    assert_eq!(sf_writes, 0, "nothing to write in Salesforce");
    assert!(mk_writes >= 1, "the two status changes were written");
    let (ok, last, stderr) = sims.reconcile(&[]).await;
    assert!(ok, "{stderr}");
    assert_eq!(last[0]["differences"], 0, "{:?}", last[0]);
}

async fn check_config(sims: &Sims, online: bool) -> (Option<i32>, String) {
    let mut command = tokio::process::Command::new(BIN);
    command
        .arg("check-config")
        .arg("--config")
        .arg(&sims.config);
    if online {
        command.arg("--online");
    }
    let out = command.output().await.expect("check-config");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[tokio::test]
async fn a_many_to_one_status_map_is_refused_until_its_reverse_is_chosen() {
    // Two Marketo statuses onto one label: refused offline, naming mapping and statuses.
    let explicit =
        "status_map = { \"Attended On-demand\" = \"Attended\", \"No Show\" = \"Attended\" }\n";
    let sims = simulators_with(1, explicit).await;
    let (code, text) = check_config(&sims, false).await;
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("\"Attended On-demand\" and \"No Show\" all map to Salesforce \"Attended\""),
        "{text}"
    );
    assert!(text.contains("mapping \"webinar\""), "{text}");

    // The README's old example: one entry, but the channel also has "Attended" (which maps to
    // itself), so a Salesforce user's Attended would have become Attended On-demand.
    let implicit = "status_map = { \"Attended On-demand\" = \"Attended\" }\n";
    let sims = simulators_with(1, implicit).await;
    let (code, text) = check_config(&sims, true).await;
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("\"Attended\" and \"Attended On-demand\" both map"),
        "{text}"
    );

    // With the reverse chosen, the ambiguity is gone; what is left is true of this campaign: it
    // also has an "Attended On-demand" label, which nothing maps back to.
    let chosen = format!("{implicit}status_map_to_marketo = {{ \"Attended\" = \"Attended\" }}\n");
    let sims = simulators_with(1, &chosen).await;
    let (code, text) = check_config(&sims, true).await;
    assert_eq!(code, Some(1), "{text}");
    assert!(!text.contains("both map"), "{text}");
    assert!(
        text.contains("Salesforce status \"Attended On-demand\" maps to Marketo \"Attended On-demand\", which maps to \"Attended\""),
        "{text}"
    );
}

#[tokio::test]
async fn mappings_import_writes_the_programs_marketo_links_to_campaigns() {
    let sims = simulators(1).await;
    let full = std::fs::read_to_string(&sims.config).unwrap();
    let bare = full.split("[[mappings]]").next().unwrap().to_string();
    let file = sims.config.with_file_name("imported.toml");
    std::fs::write(&file, &bare).unwrap();
    let out = tokio::process::Command::new(BIN)
        .args(["mappings", "import", "--write"])
        .arg(&file)
        .arg("--config")
        .arg(&file)
        .output()
        .await
        .expect("mappings import");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mappings = sims.d["mappings"].as_array().unwrap();
    assert!(
        stdout.contains(&format!("appended {} mapping(s)", mappings.len())),
        "{stdout}"
    );
    let written = std::fs::read_to_string(&file).unwrap();
    for m in mappings {
        assert!(
            written.contains(&format!("program_id = {}", m["program_id"])),
            "{written}"
        );
        assert!(
            written.contains(&format!("campaign_id = {}", m["campaign_id"])),
            "{written}"
        );
    }
    assert!(
        !written.contains("needs a decision"),
        "seeded statuses all match: {written}"
    );
    let out = tokio::process::Command::new(BIN)
        .args(["check-config", "--online", "--config"])
        .arg(&file)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "the imported mappings are valid and compatible: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[tokio::test]
async fn a_repair_left_to_retry_exits_1_naming_it() {
    let sims = simulators(2).await;
    let (ok, _, stderr) = sims.reconcile(&[]).await;
    assert!(ok, "{stderr}");
    let http = reqwest::Client::new();
    let (program, lead) = (
        sims.d["mappings"][0]["program_id"].as_i64().unwrap(),
        sims.d["people"][1]["marketo_lead_id"].as_i64().unwrap(),
    );
    json(
        http.post(format!(
            "{}/__sim/programs/{program}/members/status",
            sims.url("marketo")
        ))
        .json(&json!({"leadId": lead, "status": "Registered"})),
    )
    .await;
    // Every Salesforce write is refused for now: the repair waits for a retry.
    let lock = json!({"error_code": "UNABLE_TO_LOCK_ROW", "calls": 100});
    json(
        http.post(format!("{}/__sim/faults", sims.url("salesforce")))
            .json(&lock),
    )
    .await;
    let (ok, lines, stderr) = sims.reconcile(&[]).await;
    assert!(!ok, "exit 1: {stderr}");
    assert_eq!(lines[0]["differences"], 1, "{:?}", lines[0]);
    assert_eq!(
        (lines[0]["repaired"].as_u64(), lines[0]["failed"].as_u64()),
        (Some(0), Some(1))
    );
    let email = sims.d["people"][1]["email"].as_str().unwrap();
    assert!(
        stderr.contains("not repaired") && stderr.contains(email) && stderr.contains("Registered"),
        "{stderr}"
    );
}
