//! The three custom activity types marketers build smart campaigns on ("Added to / Removed
//! from / Status Changed in Salesforce Campaign"), created, completed and approved
//! idempotently by `campaign-sync marketo provision` and by the sandbox at start.

use crate::config::Change;
use crate::connectors::CallError;
use crate::connectors::marketo::{ActivityTypeSpec, AttributeSpec, MarketoClient};

/// The API name of the custom activity type for each kind of change.
pub fn api_name(change: Change) -> &'static str {
    match change {
        Change::Added => "csAddedToSalesforceCampaign",
        Change::Removed => "csRemovedFromSalesforceCampaign",
        Change::StatusChanged => "csStatusChangedInSalesforceCampaign",
    }
}

fn attribute(api_name: &str, name: &str) -> AttributeSpec {
    AttributeSpec {
        api_name: api_name.into(),
        name: name.into(),
        data_type: "string".into(),
    }
}

/// The three types, named so marketers find them next to the native SFDC ones.
pub fn activity_types() -> Vec<ActivityTypeSpec> {
    let names = [
        (
            Change::Added,
            "Added to Salesforce Campaign",
            "Was Added to Salesforce Campaign",
        ),
        (
            Change::Removed,
            "Removed from Salesforce Campaign",
            "Was Removed from Salesforce Campaign",
        ),
        (
            Change::StatusChanged,
            "Status is Changed in Salesforce Campaign",
            "Status was Changed in Salesforce Campaign",
        ),
    ];
    names
        .into_iter()
        .map(|(change, trigger, filter)| ActivityTypeSpec {
            api_name: api_name(change).into(),
            name: trigger.replace("Status is Changed", "Status Changed"),
            trigger_name: trigger.into(),
            filter_name: filter.into(),
            description:
                "Posted by campaign-sync when a person's Salesforce campaign membership changes"
                    .into(),
            primary_attribute: attribute("campaignId", "Salesforce Campaign Id"),
            attributes: vec![
                attribute("campaignName", "Campaign Name"),
                attribute("status", "Status"),
                attribute("previousStatus", "Previous Status"),
            ],
        })
        .collect()
}

/// Creates, completes and approves the three types; one line per type saying what was done
/// or that it already existed as wanted.
pub async fn provision(client: &MarketoClient) -> Result<Vec<String>, CallError> {
    let existing = client.custom_activity_types().await?;
    let mut report = Vec::new();
    for spec in activity_types() {
        let found = existing.iter().find(|t| t.api_name == spec.api_name);
        let (mut done, draft) = match found {
            None => {
                client.create_activity_type(&spec).await?;
                (vec!["created".to_string()], None)
            }
            Some(_) => (
                Vec::new(),
                Some(client.describe_activity_type_draft(&spec.api_name).await?),
            ),
        };
        let present: Vec<&str> = draft
            .iter()
            .flat_map(|d| d.attributes.iter().map(|a| a.api_name.as_str()))
            .collect();
        let missing: Vec<AttributeSpec> = spec
            .attributes
            .iter()
            .filter(|a| !present.contains(&a.api_name.as_str()))
            .cloned()
            .collect();
        if !missing.is_empty() {
            client
                .add_activity_type_attributes(&spec.api_name, &missing)
                .await?;
            let names: Vec<&str> = missing.iter().map(|a| a.api_name.as_str()).collect();
            done.push(format!("added attributes {}", names.join(", ")));
        }
        if !done.is_empty() || found.is_some_and(|t| t.status != "approved") {
            client.approve_activity_type(&spec.api_name).await?;
            done.push("approved".into());
        }
        report.push(if done.is_empty() {
            format!(
                "{} ({}): already existed, approved",
                spec.name, spec.api_name
            )
        } else {
            format!("{} ({}): {}", spec.name, spec.api_name, done.join(", "))
        });
    }
    Ok(report)
}
