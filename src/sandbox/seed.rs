//! The sandbox's demo data: two mapped programs with realistic channels, their campaigns with
//! matching member statuses, and people on both sides.

use serde_json::json;

use crate::config::MappingConfig;
use crate::sim::marketo::{
    Cost, MarketoSim, NewLead, NewProgram, ProgressionStatus, WebhookConfig,
};
use crate::sim::salesforce::{MemberStatus, SalesforceSim};

use super::{USER_ID, WEBHOOK_TOKEN};

/// What was seeded, for the guide and `--describe`.
#[derive(Debug, Clone)]
pub struct Demo {
    pub mappings: Vec<MappingConfig>,
    /// `(name, e-mail, Marketo lead id, Salesforce Lead or Contact id)`.
    pub people: Vec<(String, String, i64, String)>,
}

struct ProgramSeed {
    id: i64,
    name: &'static str,
    channel: &'static str,
    /// `(status, step, success)`, in step order.
    statuses: &'static [(&'static str, i32, bool)],
    cost: i32,
}

const PROGRAMS: &[ProgramSeed] = &[
    ProgramSeed {
        id: 1001,
        name: "Webinar: Pipeline Analytics (Dec)",
        channel: "Webinar",
        statuses: &[
            ("Invited", 10, false),
            ("Registered", 20, false),
            ("No Show", 30, false),
            ("Attended", 40, true),
            ("Attended On-demand", 50, true),
        ],
        cost: 1200,
    },
    ProgramSeed {
        id: 1002,
        name: "Trade Show: Data Summit",
        channel: "Tradeshow",
        statuses: &[
            ("Invited", 10, false),
            ("Registered", 20, false),
            ("Visited Booth", 30, true),
            ("Had Meeting", 40, true),
        ],
        cost: 15000,
    },
];

const PEOPLE: &[(&str, &str, &str, bool)] = &[
    ("Ada", "Lovelace", "ada@example.com", false),
    ("Grace", "Hopper", "grace@example.com", true),
    ("Alan", "Turing", "alan@example.com", false),
    ("Katherine", "Johnson", "katherine@example.com", true),
];

pub fn seed(salesforce: &SalesforceSim, marketo: &MarketoSim) -> anyhow::Result<Demo> {
    let mut mappings = Vec::new();
    for program in PROGRAMS {
        let statuses = program
            .statuses
            .iter()
            .map(|(name, step, success)| ProgressionStatus::new(name, *step, *success))
            .collect();
        marketo.add_channel(program.channel, statuses)?;
        let member_statuses: Vec<MemberStatus> = program
            .statuses
            .iter()
            .enumerate()
            .map(|(i, (name, _, success))| MemberStatus::new(name, i == 0, *success))
            .collect();
        let campaign = salesforce.create_campaign(
            json!({ "Name": program.name, "IsActive": true }),
            &member_statuses,
        )?;
        marketo.add_program(NewProgram {
            id: program.id,
            name: program.name.into(),
            channel: program.channel.into(),
            costs: vec![Cost {
                start_date: "2026-11-01".into(),
                cost: program.cost,
                note: Some("Venue and platform".into()),
            }],
            sfdc_id: Some(campaign.clone()),
            sfdc_name: Some(program.name.into()),
        })?;
        mappings.push(MappingConfig {
            name: program.channel.to_lowercase(),
            program_id: program.id,
            campaign_id: campaign,
            enabled: true,
            status_map: Default::default(),
            channel_type_map: Default::default(),
            conflict_policy: Default::default(),
            backward_policy: Default::default(),
        });
    }
    let mut people = Vec::new();
    for (first, last, email, contact) in PEOPLE {
        let lead = marketo.add_lead(NewLead {
            first_name: Some((*first).into()),
            last_name: Some((*last).into()),
            ..NewLead::email(email)
        });
        let mut fields = json!({ "FirstName": first, "LastName": last, "Email": email });
        let person = if *contact {
            salesforce.create_contact(fields)?
        } else {
            fields["Company"] = json!("Example Corp");
            salesforce.create_lead(fields)?
        };
        people.push((
            format!("{first} {last}"),
            (*email).to_string(),
            lead,
            person,
        ));
    }
    // Two people already in the webinar on the Salesforce side, added by a user: their
    // outbound messages bring them into the program as soon as the service runs.
    let webinar = &mappings[0].campaign_id;
    salesforce.add_member(USER_ID, webinar, &people[0].3, Some("Registered"))?;
    salesforce.add_member(USER_ID, webinar, &people[1].3, Some("Invited"))?;
    Ok(Demo { mappings, people })
}

/// The "Program Status is Changed" → Call Webhook campaigns, once the service's URL is known.
pub fn connect_webhooks(marketo: &MarketoSim, demo: &Demo, service_url: &str) {
    for mapping in &demo.mappings {
        let url = format!("{service_url}/v1/marketo/webhooks");
        marketo.add_webhook(WebhookConfig::documented(
            Some(mapping.program_id),
            &url,
            WEBHOOK_TOKEN,
        ));
    }
}
