//! Seed data for the sandbox and `campaign-sync simulators`: mapped programs with realistic
//! channels, their campaigns with matching member statuses, and people on both sides — in the
//! simulators, already members of every mapping, linked as Marketo's own sync leaves them.

use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::config::MappingConfig;
use crate::sim::marketo::{
    Cost, MarketoSim, NewLead, NewProgram, ProgressionStatus, WebhookConfig,
};
use crate::sim::salesforce::{MemberStatus, SalesforceSim};

use super::{INTEGRATION_ID, USER_ID, WEBHOOK_TOKEN};

/// What was seeded, for the guide and `--describe`.
#[derive(Debug, Clone)]
pub struct Demo {
    pub mappings: Vec<MappingConfig>,
    /// `(name, e-mail, Marketo lead id, Salesforce Lead or Contact id)`.
    pub people: Vec<(String, String, i64, String)>,
}

/// How much to seed.
#[derive(Debug, Clone, Copy)]
pub struct Amounts {
    pub programs: usize,
    pub people: usize,
    /// Every person is a member of every mapping on both sides, at the first status, and the
    /// Marketo leads carry `sfdcLeadId`/`sfdcContactId`/`sfdcType` (as after years of native
    /// sync). Otherwise the sandbox's demo: two webinar members in Salesforce only.
    pub members_everywhere: bool,
}

struct ProgramSeed {
    name: &'static str,
    channel: &'static str,
    /// `(status, step, success)`, in step order.
    statuses: &'static [(&'static str, i32, bool)],
    cost: i32,
}

const PROGRAMS: &[ProgramSeed] = &[
    ProgramSeed {
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
    ProgramSeed {
        name: "Email: Product Launch",
        channel: "Email Send",
        statuses: &[
            ("Sent", 10, false),
            ("Opened", 20, false),
            ("Clicked", 30, true),
        ],
        cost: 400,
    },
    ProgramSeed {
        name: "Content: Analyst Report",
        channel: "Content",
        statuses: &[("Promoted", 10, false), ("Engaged", 20, true)],
        cost: 2500,
    },
    ProgramSeed {
        name: "Roadshow: City Tour",
        channel: "Roadshow",
        statuses: &[
            ("Invited", 10, false),
            ("Registered", 20, false),
            ("Attended", 30, true),
        ],
        cost: 8000,
    },
];

const PEOPLE: &[(&str, &str, &str, bool)] = &[
    ("Ada", "Lovelace", "ada@example.com", false),
    ("Grace", "Hopper", "grace@example.com", true),
    ("Alan", "Turing", "alan@example.com", false),
    ("Katherine", "Johnson", "katherine@example.com", true),
];

/// Program ids start here, one per mapping in order.
const FIRST_PROGRAM_ID: i64 = 1001;

/// Seeds the simulators; `None` when `stop` was cancelled meanwhile (a shutdown asked for
/// while thousands of programs were being made is not kept waiting for them).
pub fn seed(
    salesforce: &SalesforceSim,
    marketo: &MarketoSim,
    amounts: Amounts,
    stop: &CancellationToken,
) -> anyhow::Result<Option<Demo>> {
    let mut mappings = Vec::with_capacity(amounts.programs);
    for i in 0..amounts.programs {
        if stop.is_cancelled() {
            return Ok(None);
        }
        mappings.push(seed_program(salesforce, marketo, i)?);
    }
    let mut people = Vec::new();
    for i in 0..amounts.people {
        if stop.is_cancelled() {
            return Ok(None);
        }
        people.push(seed_person(
            salesforce,
            marketo,
            i,
            amounts.members_everywhere,
        )?);
    }
    if amounts.members_everywhere {
        for mapping in &mappings {
            if stop.is_cancelled() {
                return Ok(None);
            }
            let first = PROGRAMS[program_index(mapping.program_id)].statuses[0].0;
            for (_, _, lead, person) in &people {
                marketo.set_status_as_user(mapping.program_id, *lead, first)?;
                // The integration user (no "Send Outbound Messages"): history, not news.
                salesforce.add_member(INTEGRATION_ID, &mapping.campaign_id, person, Some(first))?;
            }
        }
    } else if let (Some(webinar), Some(ada), Some(grace)) =
        (mappings.first(), people.first(), people.get(1))
    {
        // Two people already in the webinar on the Salesforce side, added by a user: their
        // outbound messages bring them into the program as soon as the service runs.
        salesforce.add_member(USER_ID, &webinar.campaign_id, &ada.3, Some("Registered"))?;
        salesforce.add_member(USER_ID, &webinar.campaign_id, &grace.3, Some("Invited"))?;
    }
    Ok(Some(Demo { mappings, people }))
}

fn program_index(program_id: i64) -> usize {
    usize::try_from(program_id - FIRST_PROGRAM_ID).unwrap_or(0) % PROGRAMS.len()
}

fn seed_program(
    salesforce: &SalesforceSim,
    marketo: &MarketoSim,
    i: usize,
) -> anyhow::Result<MappingConfig> {
    let program = &PROGRAMS[i % PROGRAMS.len()];
    let round = i / PROGRAMS.len();
    let id = FIRST_PROGRAM_ID + i64::try_from(i)?;
    let (name, mapping_name) = if round == 0 {
        (program.name.to_string(), program.channel.to_lowercase())
    } else {
        let n = round + 1;
        (
            format!("{} #{n}", program.name),
            format!("{}-{n}", program.channel.to_lowercase()),
        )
    };
    if round == 0 {
        let statuses = program
            .statuses
            .iter()
            .map(|(name, step, success)| ProgressionStatus::new(name, *step, *success))
            .collect();
        marketo.add_channel(program.channel, statuses)?;
    }
    let member_statuses: Vec<MemberStatus> = program
        .statuses
        .iter()
        .enumerate()
        .map(|(i, (name, _, success))| MemberStatus::new(name, i == 0, *success))
        .collect();
    let campaign =
        salesforce.create_campaign(json!({ "Name": name, "IsActive": true }), &member_statuses)?;
    marketo.add_program(NewProgram {
        id,
        name: name.clone(),
        channel: program.channel.into(),
        costs: vec![Cost {
            start_date: "2026-11-01".into(),
            cost: program.cost,
            note: Some("Venue and platform".into()),
        }],
        sfdc_id: Some(campaign.clone()),
        sfdc_name: Some(name),
    })?;
    Ok(MappingConfig::new(
        &mapping_name.replace(' ', "-"),
        id,
        &campaign,
    ))
}

/// The i-th person: the four named ones first, then numbered ones, every other a Contact.
fn seed_person(
    salesforce: &SalesforceSim,
    marketo: &MarketoSim,
    i: usize,
    linked: bool,
) -> anyhow::Result<(String, String, i64, String)> {
    let (first, last, email, contact) = match PEOPLE.get(i) {
        Some((first, last, email, contact)) => (
            (*first).to_string(),
            (*last).to_string(),
            (*email).to_string(),
            *contact,
        ),
        None => (
            "Person".to_string(),
            format!("Number{}", i + 1),
            format!("person{}@example.com", i + 1),
            i % 2 == 1,
        ),
    };
    let mut fields = json!({ "FirstName": first, "LastName": last, "Email": email });
    let person = if contact {
        salesforce.create_contact(fields)?
    } else {
        fields["Company"] = json!("Example Corp");
        salesforce.create_lead(fields)?
    };
    let mut lead = NewLead {
        first_name: Some(first.clone()),
        last_name: Some(last.clone()),
        ..NewLead::email(&email)
    };
    if linked {
        if contact {
            lead.sfdc_contact_id = Some(person.clone());
        } else {
            lead.sfdc_lead_id = Some(person.clone());
        }
        let kind = if contact { "Contact" } else { "Lead" };
        lead.fields.insert("sfdcType".into(), json!(kind));
    }
    let lead = marketo.add_lead(lead);
    Ok((format!("{first} {last}"), email, lead, person))
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
