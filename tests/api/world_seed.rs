//! What the wired world's simulators hold before the service starts: the webinar program and its
//! campaign, and optionally a second pair whose statuses do not match.

use std::collections::BTreeMap;

use campaign_sync::sim::marketo::{Cost, MarketoSim, NewProgram, ProgressionStatus};
use campaign_sync::sim::salesforce::{MemberStatus, SalesforceSim};
use serde_json::json;

use crate::world::{HIDDEN_STATUS, PROGRAM, SECOND_PROGRAM, STATUSES};

/// The webinar channel and program in Marketo, and its campaign in Salesforce labelled through
/// `status_map`; answers the campaign's id.
pub fn webinar(
    mk: &MarketoSim,
    sf: &SalesforceSim,
    status_map: &BTreeMap<String, String>,
) -> String {
    let mut statuses: Vec<ProgressionStatus> = STATUSES
        .iter()
        .enumerate()
        .map(|(i, name)| ProgressionStatus::new(name, 10 * (i as i32 + 1), *name == "Attended"))
        .collect();
    // A retired status, hidden as real channels keep them: no one can be set to it, so the
    // campaign needs no label for it and the mapping must not be held over it.
    let mut retired = ProgressionStatus::new(HIDDEN_STATUS, 15, false);
    retired.hidden = true;
    statuses.push(retired);
    mk.add_channel("Webinar", statuses).unwrap();
    let costs = vec![
        Cost {
            start_date: "2026-10-01".into(),
            cost: 500,
            note: Some("Platform".into()),
        },
        Cost {
            start_date: "2026-11-01".into(),
            cost: 700,
            note: None,
        },
    ];
    mk.add_program(NewProgram {
        id: PROGRAM,
        name: "Webinar Q4".into(),
        channel: "Webinar".into(),
        costs,
        ..NewProgram::default()
    })
    .unwrap();
    let member_statuses: Vec<MemberStatus> = STATUSES
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let label = status_map.get(*s).map_or(*s, String::as_str);
            MemberStatus::new(label, i == 0, *s == "Attended")
        })
        .collect();
    sf.create_campaign(
        json!({ "Name": "Webinar Q4", "IsActive": true }),
        &member_statuses,
    )
    .unwrap()
}

/// A tradeshow program whose campaign lacks a label for "Visited Booth"; answers the campaign's
/// id.
pub fn incompatible_tradeshow(mk: &MarketoSim, sf: &SalesforceSim) -> String {
    mk.add_channel(
        "Tradeshow",
        vec![
            ProgressionStatus::new("Invited", 10, false),
            ProgressionStatus::new("Visited Booth", 20, true),
        ],
    )
    .unwrap();
    mk.add_program(NewProgram {
        id: SECOND_PROGRAM,
        name: "Data Summit".into(),
        channel: "Tradeshow".into(),
        ..NewProgram::default()
    })
    .unwrap();
    let statuses = [
        MemberStatus::new("Invited", true, false),
        MemberStatus::new("Responded", false, true),
    ];
    sf.create_campaign(json!({ "Name": "Data Summit" }), &statuses)
        .unwrap()
}

/// A second program on the webinar channel (program 1002) and its campaign, with the webinar's
/// statuses under their own names; answers the campaign's id.
pub fn second_webinar(mk: &MarketoSim, sf: &SalesforceSim) -> String {
    mk.add_program(NewProgram {
        id: SECOND_PROGRAM,
        name: "Webinar Q1".into(),
        channel: "Webinar".into(),
        ..NewProgram::default()
    })
    .unwrap();
    let statuses: Vec<MemberStatus> = STATUSES
        .iter()
        .enumerate()
        .map(|(i, s)| MemberStatus::new(s, i == 0, *s == "Attended"))
        .collect();
    sf.create_campaign(json!({ "Name": "Webinar Q1", "IsActive": true }), &statuses)
        .unwrap()
}
