//! A wired world for sync tests: both simulators and the service, pointing at each other like
//! the real systems, with one webinar mapping seeded.

use campaign_sync::config::{BackwardPolicy, ConflictPolicy, MappingConfig, Secret};
use campaign_sync::sim::marketo::{MarketoSim, MarketoSimConfig, NewLead, WebhookConfig};
use campaign_sync::sim::salesforce::{
    OutboundConfig, SalesforceSim, SalesforceSimConfig, SimClient,
};
use serde_json::json;

use crate::test_app::{TestApp, TestDb};
use crate::world_seed;

pub const INBOUND_TOKEN: &str = "sf-inbound-token";
pub const WEBHOOK_TOKEN: &str = "mkto-webhook-token";
pub const PROGRAM: i64 = 1001;
pub const SECOND_PROGRAM: i64 = 1002;
pub const USER: &str = "sim-user";
pub const INTEGRATION: &str = "campaign-sync";
pub const STATUSES: [&str; 4] = ["Invited", "Registered", "No Show", "Attended"];
/// A hidden status of the webinar channel, with no campaign label.
pub const HIDDEN_STATUS: &str = "Waitlisted";

pub struct Options {
    pub integration_sends_outbound: bool,
    pub conflict_policy: ConflictPolicy,
    pub backward_policy: BackwardPolicy,
    pub sf: SalesforceSimConfig,
    pub mk: MarketoSimConfig,
    /// Whether Marketo's "Program Status is Changed" campaign calls the service.
    pub webhooks: bool,
    /// A second mapping whose statuses do not match (program 1002 ⇄ a second campaign).
    pub incompatible_mapping: bool,
    /// A second webinar mapping, `webinar2` (program 1002 on the same channel ⇄ a second campaign
    /// with the same statuses); not with `incompatible_mapping`.
    pub second_webinar: bool,
    pub admin_token: Option<String>,
    /// Marketo status → Salesforce label for the webinar mapping (the campaign gets the labels).
    pub status_map: std::collections::BTreeMap<String, String>,
    /// The database; SQLite when `None`.
    pub db: Option<TestDb>,
    /// Last changes to the service's configuration.
    pub configure: fn(&mut campaign_sync::config::Config),
}

impl Default for Options {
    fn default() -> Self {
        Options {
            integration_sends_outbound: false,
            conflict_policy: ConflictPolicy::LastWriterWins,
            backward_policy: BackwardPolicy::KeepSalesforce,
            sf: SalesforceSimConfig::default(),
            mk: MarketoSimConfig {
                deliver_webhooks_in_background: false,
                ..MarketoSimConfig::default()
            },
            webhooks: true,
            incompatible_mapping: false,
            second_webinar: false,
            admin_token: None,
            status_map: Default::default(),
            db: None,
            configure: |_| {},
        }
    }
}

pub struct World {
    pub app: TestApp,
    pub sf: SalesforceSim,
    pub mk: MarketoSim,
    pub campaign: String,
    /// The second webinar mapping's campaign, when [`Options::second_webinar`] asked for it.
    pub second_campaign: Option<String>,
    /// The service's configuration, so a second replica can start with the same.
    pub config: campaign_sync::config::Config,
    pub db_url: String,
}

impl World {
    pub async fn new() -> World {
        Self::with(Options::default()).await
    }

    pub async fn with(options: Options) -> World {
        let mut sf_config = options.sf;
        sf_config.clients = vec![
            SimClient::new(
                INTEGRATION,
                "campaign-sync-secret",
                options.integration_sends_outbound,
            ),
            SimClient::new(USER, "sim-user-secret", true),
        ];
        // Pointed at the service once it runs.
        let mut outbound = sf_config
            .outbound
            .take()
            .unwrap_or_else(|| OutboundConfig::to("http://127.0.0.1:9/not-yet"));
        outbound.retry_initial = std::time::Duration::from_millis(10);
        sf_config.outbound = Some(outbound);
        let sf = SalesforceSim::spawn(sf_config)
            .await
            .expect("Salesforce simulator");
        let mk = MarketoSim::spawn(options.mk)
            .await
            .expect("Marketo simulator");
        let campaign = world_seed::webinar(&mk, &sf, &options.status_map);
        let second = options
            .incompatible_mapping
            .then(|| world_seed::incompatible_tradeshow(&mk, &sf));
        let second_webinar = options
            .second_webinar
            .then(|| world_seed::second_webinar(&mk, &sf));
        let second_campaign = second_webinar.clone();
        let mut sf_settings = campaign_sync::config::SalesforceConfig::default();
        sf.configure_service(&mut sf_settings, INTEGRATION).unwrap();
        let mk_url = mk.base_url();
        let mk_client = mk.config().clients[0].clone();
        let campaign_id = campaign.clone();
        let db = options.db.unwrap_or_else(TestDb::sqlite);
        let db_url = db.url.clone();
        let saved = std::sync::Arc::new(std::sync::Mutex::new(None));
        let keep = saved.clone();
        let app = TestApp::spawn_with(db, move |c| {
            c.salesforce = sf_settings;
            c.salesforce.inbound_token = Secret::new(INBOUND_TOKEN);
            c.marketo.base_url = mk_url;
            c.marketo.client_id = mk_client.client_id;
            c.marketo.client_secret = Secret::new(mk_client.client_secret);
            c.marketo.webhook_token = Secret::new(WEBHOOK_TOKEN);
            c.worker.retry_schedule_secs = vec![0, 0, 0];
            if let Some(token) = options.admin_token {
                c.admin.token = Secret::new(token);
            }
            c.worker.retry_jitter_percent = 0;
            c.mappings.push(MappingConfig {
                name: "webinar".into(),
                program_id: PROGRAM,
                campaign_id,
                enabled: true,
                status_map: options.status_map.clone(),
                status_map_to_marketo: Default::default(),
                channel_type_map: Default::default(),
                conflict_policy: options.conflict_policy,
                backward_policy: options.backward_policy,
            });
            if let Some(campaign_id) = second {
                c.mappings.push(MappingConfig::new(
                    "tradeshow",
                    SECOND_PROGRAM,
                    &campaign_id,
                ));
            }
            if let Some(campaign_id) = second_webinar {
                c.mappings
                    .push(MappingConfig::new("webinar2", SECOND_PROGRAM, &campaign_id));
            }
            (options.configure)(c);
            *keep.lock().unwrap() = Some(c.clone());
        })
        .await;
        let config = saved
            .lock()
            .unwrap()
            .take()
            .expect("the app's configuration");
        sf.set_outbound_endpoint(&app.url(&format!(
            "/v1/salesforce/outbound-messages?token={INBOUND_TOKEN}"
        )));
        if options.webhooks {
            let url = app.url("/v1/marketo/webhooks");
            mk.add_webhook(WebhookConfig::documented(None, &url, WEBHOOK_TOKEN));
        }
        World {
            app,
            sf,
            mk,
            campaign,
            second_campaign,
            config,
            db_url,
        }
    }

    /// A second replica of the service on the same database and configuration.
    pub async fn replica(&self) -> TestApp {
        let config = self.config.clone();
        TestApp::spawn_with(TestDb::shared(&self.db_url), move |c| *c = config).await
    }

    /// Sends a Marketo webhook with the configured token; returns the stored signal's id.
    pub async fn marketo_webhook(&self, body: serde_json::Value) -> i64 {
        let response = self
            .app
            .client
            .post(self.app.url("/v1/marketo/webhooks"))
            .bearer_auth(WEBHOOK_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, 202, "{text}");
        serde_json::from_str::<serde_json::Value>(&text).unwrap()["id"]
            .as_i64()
            .unwrap()
    }

    /// A person known to both systems by e-mail: a Marketo lead and a Salesforce Lead.
    pub fn person(&self, email: &str) -> (i64, String) {
        let lead = self.mk.add_lead(NewLead::email(email));
        let sf_lead = self
            .sf
            .create_lead(json!({ "LastName": "Lovelace", "Company": "Analytical", "Email": email }))
            .unwrap();
        (lead, sf_lead)
    }

    /// A person synced at `status` on both sides: their Marketo lead, Salesforce Lead and
    /// CampaignMember ids.
    pub async fn synced_person(&self, email: &str, status: &str) -> (i64, String, String) {
        let (lead, sf_lead) = self.person(email);
        self.mk_sets(lead, status);
        self.settle().await;
        let member = self.sf_member_id(&sf_lead).expect("synced to the campaign");
        (lead, sf_lead, member)
    }

    /// A Marketo user sets the lead's status in the webinar program (its webhook fires).
    pub fn mk_sets(&self, lead: i64, status: &str) {
        self.mk.set_status_as_user(PROGRAM, lead, status).unwrap();
    }

    /// A Salesforce user adds the lead or contact to the mapped campaign; returns the member's id.
    pub fn sf_adds(&self, person: &str, status: Option<&str>) -> String {
        self.sf
            .add_member(USER, &self.campaign, person, status)
            .unwrap()
    }

    /// The integration user adds the lead or contact to the mapped campaign at `status`: the
    /// service hears nothing of it (no outbound message) until it reads the campaign.
    pub fn sf_adds_unheard(&self, person: &str, status: &str) -> String {
        self.sf
            .add_member(INTEGRATION, &self.campaign, person, Some(status))
            .unwrap()
    }

    /// The simulator's background sender may hold notifications in flight; a notification
    /// leaves the queue only once acknowledged. Waits (at most 5 s) for the queue to empty.
    async fn outbound_landed(&self) {
        for _ in 0..1000 {
            if self.sf.outbound_queue_len() == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        panic!(
            "{} outbound notifications were never acknowledged",
            self.sf.outbound_queue_len()
        );
    }

    /// Waits (at most 5 s) until `n` signals are due.
    pub async fn wait_for_due_signals(&self, n: i64) {
        for _ in 0..500 {
            let due = self
                .app
                .store
                .claim_count_due(campaign_sync::store::now_millis())
                .await
                .unwrap();
            if due >= n {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("{n} signals never became due");
    }

    /// Delivers what both simulators have queued and runs the worker until nothing is due,
    /// as many times as it takes for echoes to settle.
    pub async fn settle(&self) {
        for _ in 0..5 {
            let webhooks = self.mk.deliver_webhooks_now().await;
            let outbound = self.sf.deliver_outbound_now().await;
            self.outbound_landed().await;
            let report = self.app.worker.run_pending().await.unwrap();
            if webhooks.is_empty() && outbound.notifications == 0 && report.claimed == 0 {
                return;
            }
        }
    }

    pub fn sf_member_status(&self, person: &str) -> Option<String> {
        self.sf_member_field(person, "Status")
    }

    pub fn sf_member_id(&self, person: &str) -> Option<String> {
        self.sf_member_field(person, "Id")
    }

    /// A text field of the campaign's member whose lead or contact is `person`.
    fn sf_member_field(&self, person: &str, field: &str) -> Option<String> {
        self.sf
            .members_of(&self.campaign)
            .into_iter()
            .find(|m| {
                m.get("LeadId").and_then(|v| v.as_str()) == Some(person)
                    || m.get("ContactId").and_then(|v| v.as_str()) == Some(person)
            })
            .and_then(|m| m.get(field).and_then(|v| v.as_str()).map(str::to_string))
    }

    pub fn mk_status(&self, lead: i64) -> Option<String> {
        self.mk.member(PROGRAM, lead).map(|m| m.status_name)
    }

    /// The recorded outcomes that ended as `result`, oldest first.
    pub async fn outcomes(
        &self,
        result: campaign_sync::store::OutcomeResult,
    ) -> Vec<campaign_sync::store::Outcome> {
        self.app
            .store
            .outcomes(Some(result), 0, 1000)
            .await
            .unwrap()
    }

    /// Write calls the service made to each side so far.
    pub fn writes(&self) -> (usize, usize) {
        let sf = self
            .sf
            .requests()
            .iter()
            .filter(|r| {
                r.client.as_deref() == Some(INTEGRATION)
                    && r.method != "GET"
                    && r.path.starts_with("/services/data/")
            })
            .count();
        let mk = self
            .mk
            .requests()
            .iter()
            .filter(|r| r.kind == "rest" && r.method == "POST")
            .count();
        (sf, mk)
    }
}

/// A Marketo program-member change of `lead` in the webinar program, as a webhook stores it
/// under `key`: for recording it on a store directly (a replica that would have received it).
pub fn member_signal(key: &str, lead: i64) -> campaign_sync::signal::NewSignal {
    campaign_sync::signal::NewSignal::new(
        key,
        campaign_sync::signal::Signal::MarketoMember(campaign_sync::signal::MarketoMember {
            lead_id: lead,
            program_id: PROGRAM,
            email: None,
            status: None,
            trigger: None,
        }),
    )
}
