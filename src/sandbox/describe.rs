//! What the running sandbox is, as JSON (`--describe FILE`) and as the guide it prints.

use std::path::Path;

use serde::Serialize;

use crate::sim::marketo::MarketoSim;
use crate::sim::salesforce::SalesforceSim;

use super::seed::Demo;
use super::{
    ADMIN_TOKEN, INBOUND_TOKEN, INTEGRATION_ID, INTEGRATION_SECRET, USER_ID, USER_SECRET,
    WEBHOOK_TOKEN,
};

/// The running sandbox: the service, and the simulators wired to it.
#[derive(Debug, Clone, Serialize)]
pub struct Description {
    pub service_url: String,
    pub admin_token: String,
    #[serde(flatten)]
    pub simulators: Simulators,
}

/// Both simulators and what they were seeded with; alone, what `campaign-sync simulators`
/// writes to `--describe`.
#[derive(Debug, Clone, Serialize)]
pub struct Simulators {
    pub salesforce: SalesforceSide,
    pub marketo: MarketoSide,
    pub mappings: Vec<MappingSide>,
    pub people: Vec<PersonSide>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SalesforceSide {
    pub base_url: String,
    /// The org's My Domain host, where client-credentials tokens are issued: the service's
    /// `salesforce.login_url`.
    pub login_url: String,
    /// A generic login host (`login.salesforce.com` stands-in). For now the same simulator.
    pub generic_login_url: String,
    pub api_version: String,
    pub client_id: String,
    pub client_secret: String,
    pub user_client_id: String,
    pub user_client_secret: String,
    pub organization_id: String,
    /// Where the sandbox's outbound messages go (the simulators alone have none until
    /// `POST /__sim/outbound-endpoint`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outbound_messages_url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MarketoSide {
    pub base_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub user_client_id: String,
    pub user_client_secret: String,
    /// Where the sandbox's webhooks go (the simulators alone call none until
    /// `POST /__sim/webhook-target`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_headers: Option<Vec<(String, String)>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MappingSide {
    pub name: String,
    pub program_id: i64,
    pub campaign_id: String,
    /// `[Marketo status, Salesforce member status]` pairs.
    pub statuses: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PersonSide {
    pub name: String,
    pub email: String,
    pub marketo_lead_id: i64,
    pub salesforce_id: String,
}

impl Description {
    pub fn new(
        service_url: &str,
        salesforce: &SalesforceSim,
        marketo: &MarketoSim,
        demo: &Demo,
    ) -> Self {
        let mut simulators = Simulators::new(salesforce, marketo, demo);
        simulators.salesforce.outbound_messages_url = Some(format!(
            "{service_url}/v1/salesforce/outbound-messages?token={INBOUND_TOKEN}"
        ));
        simulators.marketo.webhook_url = Some(format!("{service_url}/v1/marketo/webhooks"));
        simulators.marketo.webhook_headers = Some(vec![(
            "Authorization".into(),
            format!("Bearer {WEBHOOK_TOKEN}"),
        )]);
        Description {
            service_url: service_url.to_string(),
            admin_token: ADMIN_TOKEN.into(),
            simulators,
        }
    }
}

impl Simulators {
    pub fn new(salesforce: &SalesforceSim, marketo: &MarketoSim, demo: &Demo) -> Self {
        let mappings = demo
            .mappings
            .iter()
            .map(|m| {
                let statuses = salesforce
                    .statuses_of(&m.campaign_id)
                    .into_iter()
                    .filter_map(|s| s.get("Label").and_then(|v| v.as_str()).map(str::to_string))
                    .map(|label| (label.clone(), label))
                    .collect();
                MappingSide {
                    name: m.name.clone(),
                    program_id: m.program_id,
                    campaign_id: m.campaign_id.clone(),
                    statuses,
                }
            })
            .collect();
        let base_url = salesforce.base_url();
        Simulators {
            salesforce: SalesforceSide {
                login_url: base_url.clone(),
                generic_login_url: salesforce.generic_login_url(),
                base_url,
                api_version: format!("v{}", salesforce.config().api_version),
                client_id: INTEGRATION_ID.into(),
                client_secret: INTEGRATION_SECRET.into(),
                user_client_id: USER_ID.into(),
                user_client_secret: USER_SECRET.into(),
                organization_id: salesforce.config().organization_id.clone(),
                outbound_messages_url: None,
            },
            marketo: MarketoSide {
                base_url: marketo.base_url(),
                client_id: INTEGRATION_ID.into(),
                client_secret: INTEGRATION_SECRET.into(),
                user_client_id: USER_ID.into(),
                user_client_secret: USER_SECRET.into(),
                webhook_url: None,
                webhook_headers: None,
            },
            mappings,
            people: demo
                .people
                .iter()
                .map(|(name, email, lead, person)| PersonSide {
                    name: name.clone(),
                    email: email.clone(),
                    marketo_lead_id: *lead,
                    salesforce_id: person.clone(),
                })
                .collect(),
        }
    }
}

/// The short guide printed at start: where everything is and three things to try. `kept`: the
/// SQLite file stays after the sandbox stops (`--dir`); otherwise it goes with it.
pub fn guide(d: &Description, dir: &Path, kept: bool) -> String {
    let sf = &d.simulators.salesforce;
    let mk = &d.simulators.marketo;
    let webinar = &d.simulators.mappings[0];
    let ada = &d.simulators.people[0];
    let alan = &d.simulators.people[2];
    format!(
        r#"
campaign-sync sandbox is running.

  service      {service}   (SQLite in {dir}{kept})
  Salesforce   {sf_url}   org {org}
  Marketo      {mk_url}
  mappings     {mappings}

Try it (in another terminal; the commands use curl and jq, and these two variables):
     SF={sf_url}; MK={mk_url}

1. Move {alan_name} along in the Marketo program {program}, as a Marketo user would:
     curl -s -X POST $MK/__sim/programs/{program}/members/status -H 'content-type: application/json' \
       -d '{{"leadId": {alan_lead}, "status": "Registered"}}'
   then see the campaign member appear in Salesforce within a second or two:
     curl -s $SF/__sim/state | jq '.objects.CampaignMember'

2. Change {ada_name}'s campaign member status in Salesforce, as a Salesforce user would:
     TOKEN=$(curl -s $SF/services/oauth2/token -d grant_type=client_credentials \
       -d client_id={user_id} -d client_secret={user_secret} | jq -r .access_token)
     MEMBER=$(curl -s $SF/__sim/state | jq -r '.objects.CampaignMember[] | select(.LeadId=="{ada_sf}" and .CampaignId=="{campaign}") | .Id')
     curl -s -X PATCH $SF/services/data/{version}/sobjects/CampaignMember/$MEMBER \
       -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{{"Status": "Attended"}}'
   then see the program status in Marketo:
     curl -s $MK/__sim/state | jq '.members'

3. Add a period cost to the program in Marketo; the campaign's ActualCost follows within 10 s:
     MTOKEN=$(curl -s "$MK/identity/oauth/token?grant_type=client_credentials&client_id={user_id}&client_secret={user_secret}" | jq -r .access_token)
     curl -s -X POST $MK/rest/asset/v1/program/{program}.json -H "Authorization: Bearer $MTOKEN" \
       --data-urlencode 'costs=[{{"startDate":"2026-12-01","cost":300,"note":"Ads"}}]'
   then see the campaign's ActualCost:
     curl -s $SF/__sim/state | jq '.objects.Campaign[] | {{Name, ActualCost}}'

What the service did:   curl -s -H 'Authorization: Bearer {admin}' {service}/v1/trigger-events | jq
                        curl -s -H 'Authorization: Bearer {admin}' {service}/admin/outcomes | jq
Calls each side saw:    curl -s $SF/__sim/requests | jq      curl -s $MK/__sim/requests | jq
Overview in a terminal: campaign-sync status --url {service} --token {admin}

Ctrl-C stops everything.

The console: {service}/console   (sign in with the admin token {admin})
"#,
        kept = if kept {
            ""
        } else {
            ", removed when it stops; --dir DIR keeps it"
        },
        service = d.service_url,
        dir = dir.display(),
        sf_url = sf.base_url,
        org = sf.organization_id,
        mk_url = mk.base_url,
        mappings = d
            .simulators
            .mappings
            .iter()
            .map(|m| format!(
                "{} (program {} ⇄ campaign {})",
                m.name, m.program_id, m.campaign_id
            ))
            .collect::<Vec<_>>()
            .join(", "),
        alan_name = alan.name,
        alan_lead = alan.marketo_lead_id,
        program = webinar.program_id,
        ada_name = ada.name,
        ada_sf = ada.salesforce_id,
        campaign = webinar.campaign_id,
        user_id = sf.user_client_id,
        user_secret = sf.user_client_secret,
        version = sf.api_version,
        admin = d.admin_token,
    )
}
