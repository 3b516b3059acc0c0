//! One-way program settings: channel → campaign Type and the sum of period costs → campaign
//! ActualCost. Written only when different, so Salesforce-side edits are set back next pass.
//! A pass reads Marketo through the program cache (one browse when nothing changed) and the
//! campaigns with one SOQL query per ~500 (as many ids as fit the URI), so its idle cost does
//! not grow with the mappings.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::connectors::CallError;
use crate::connectors::marketo::ProgramInfo;
use crate::connectors::salesforce::classify::refused_with;
use crate::kinds::{Action, Connector, OutcomeResult, Target};
use crate::store::{StoreError, now_millis};

use super::context::Context;
use super::programs::ProgramCache;
use super::record;
use crate::mappings::Mapping;

/// Salesforce's `errorCode` for a value outside a restricted picklist (here the campaign's
/// `Type`).
const RESTRICTED_PICKLIST: &str = "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST";

/// What one pass did for one mapping.
#[derive(Debug, Clone, PartialEq)]
pub enum SettingsOutcome {
    Unchanged,
    /// What was written: each field the campaign differed in (`None`: left as it was).
    Written {
        kind: Option<String>,
        actual_cost: Option<f64>,
    },
}

/// One campaign setting a pass would write, as a reconciliation previews it: the field
/// (`Type` or `ActualCost`), what Salesforce holds (`null`: empty) and what the pass writes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SettingChange {
    pub field: &'static str,
    pub from: Value,
    pub to: Value,
}

/// The campaign `Type` a pass writes for `program`: its channel, or what the mapping's
/// `channel_type_map` maps the channel to.
pub fn campaign_type(mapping: &Mapping, program: &ProgramInfo) -> String {
    mapping
        .config
        .channel_type_map
        .get(&program.channel)
        .cloned()
        .unwrap_or_else(|| program.channel.clone())
}

/// The settings of `campaign` that differ from what `program` says: what a pass writes.
pub fn changes(mapping: &Mapping, program: &ProgramInfo, campaign: &Value) -> Vec<SettingChange> {
    let kind = campaign_type(mapping, program);
    let cost = total_cost(program);
    let mut changes = Vec::new();
    if campaign["Type"].as_str() != Some(kind.as_str()) {
        changes.push(SettingChange {
            field: "Type",
            from: campaign["Type"].clone(),
            to: json!(kind),
        });
    }
    if campaign["ActualCost"].as_f64().map(f64::round) != Some(cost as f64) {
        changes.push(SettingChange {
            field: "ActualCost",
            from: campaign["ActualCost"].clone(),
            to: json!(cost),
        });
    }
    changes
}

/// The fields of `campaign` that differ from what `program` says, as a PATCH body.
fn differences(mapping: &Mapping, program: &ProgramInfo, campaign: &Value) -> Option<Value> {
    let fields: serde_json::Map<String, Value> = changes(mapping, program, campaign)
        .into_iter()
        .map(|c| (c.field.to_string(), c.to))
        .collect();
    (!fields.is_empty()).then_some(Value::Object(fields))
}

/// The program's period costs summed and rounded to whole units, as `ActualCost`
/// (`currency(18,0)`) keeps them: comparing anything finer would rewrite the campaign on every
/// pass.
fn total_cost(program: &ProgramInfo) -> i64 {
    program
        .costs
        .iter()
        .fold(0.0, |total, c| total + c.cost)
        .round() as i64
}

async fn write_one(
    ctx: &Context,
    mapping: &Mapping,
    program: &ProgramInfo,
    campaign: &Value,
) -> Result<SettingsOutcome, CallError> {
    let Some(fields) = differences(mapping, program, campaign) else {
        return Ok(SettingsOutcome::Unchanged);
    };
    let kind = fields["Type"].as_str().map(str::to_string);
    let campaign_id = &mapping.config.campaign_id;
    let refused = match ctx.salesforce.patch("Campaign", campaign_id, &fields).await {
        Ok(()) => None,
        Err(error) if kind.is_some() && refused_with(&error, RESTRICTED_PICKLIST) => Some(error),
        Err(error) => return Err(error),
    };
    if let Some(refused) = refused {
        // The org's Type picklist lacks the channel: the cost is still the program's.
        let cost = match fields.get("ActualCost") {
            None => String::new(),
            Some(cost) => {
                let cost = json!({ "ActualCost": cost });
                match ctx.salesforce.patch("Campaign", campaign_id, &cost).await {
                    Ok(()) => "ActualCost was written; ".to_string(),
                    Err(error) => format!("writing ActualCost alone failed too: {error}; "),
                }
            }
        };
        return Err(CallError::Permanent(format!(
            "{refused} ({cost}add the value to the campaign Type picklist, or map the channel \
             {:?} to one of its values in the mapping's channel_type_map)",
            program.channel
        )));
    }
    Ok(SettingsOutcome::Written {
        kind,
        actual_cost: fields.get("ActualCost").map(|_| total_cost(program) as f64),
    })
}

/// Runs the pass for every enabled mapping, recording each write or failure as an outcome.
pub async fn sync_all(ctx: &Context, cache: &mut ProgramCache) -> Result<(), StoreError> {
    let mappings: Vec<_> = ctx
        .mappings
        .all()
        .iter()
        .filter(|m| ctx.mappings.sync_enabled() && m.is_enabled())
        .cloned()
        .collect();
    if mappings.is_empty() {
        return Ok(());
    }
    // Each read is told apart, so a failure names the system and the record that failed.
    if let Err(error) = cache.refresh(ctx, now_millis()).await {
        for mapping in &mappings {
            failed(ctx, mapping, Step::ReadProgram, &error).await?;
        }
        return Ok(());
    }
    let ids: Vec<String> = mappings
        .iter()
        .map(|m| m.config.campaign_id.clone())
        .collect();
    let campaigns: HashMap<String, Value> = match ctx.salesforce.campaigns(&ids).await {
        Ok(found) => found
            .into_iter()
            .filter_map(|c| Some((c["Id"].as_str()?.to_string(), c)))
            .collect(),
        Err(error) => {
            for mapping in &mappings {
                failed(ctx, mapping, Step::ReadCampaign, &error).await?;
            }
            return Ok(());
        }
    };
    for mapping in &mappings {
        let campaign_id = &mapping.config.campaign_id;
        let result = match (
            cache.program(ctx, mapping.config.program_id).await,
            campaigns.get(campaign_id),
        ) {
            (Ok(program), Some(campaign)) => write_one(ctx, mapping, program, campaign)
                .await
                .map_err(|error| (Step::Write, error)),
            (Err(error), _) => Err((Step::ReadProgram, error)),
            (_, None) => Err((Step::ReadCampaign, CallError::Permanent("not found".into()))),
        };
        match result {
            Ok(SettingsOutcome::Unchanged) => recovered(ctx, mapping).await?,
            Ok(SettingsOutcome::Written { kind, actual_cost }) => {
                // Only what the write sent: a field the campaign agreed in was left alone.
                let reason = [
                    kind.map(|kind| format!("Type={kind}")),
                    actual_cost.map(|cost| format!("ActualCost={cost}")),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ");
                tracing::info!(mapping = mapping.name(), %reason, "campaign settings written");
                record::outcome_now(
                    ctx,
                    mapping.name(),
                    target(),
                    OutcomeResult::Applied,
                    &reason,
                )
                .await?;
            }
            Err((step, error)) => failed(ctx, mapping, step, &error).await?,
        }
    }
    Ok(())
}

fn target() -> Target {
    Target::new(Connector::Salesforce, Action::CampaignSettings)
}

/// The step of a pass that failed: which system it called, and what it was doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Reading the program (channel, period costs) from Marketo.
    ReadProgram,
    /// Reading the campaign from Salesforce.
    ReadCampaign,
    /// Writing the campaign's Type and ActualCost.
    Write,
}

impl Step {
    fn target(self) -> Target {
        let connector = match self {
            Step::ReadProgram => Connector::Marketo,
            Step::ReadCampaign | Step::Write => Connector::Salesforce,
        };
        Target::new(connector, Action::CampaignSettings)
    }

    /// A failure's reason, beginning with what was being done and in which mapping, as a
    /// failed member write's does.
    fn reason(self, mapping: &Mapping, error: &CallError) -> String {
        let doing = match self {
            Step::ReadProgram => {
                format!("reading the Marketo program {}", mapping.config.program_id)
            }
            Step::ReadCampaign => {
                format!(
                    "reading the Salesforce campaign {}",
                    mapping.config.campaign_id
                )
            }
            Step::Write => target().doing().unwrap_or_default().to_string(),
        };
        format!("{doing} (mapping {}): {error}", mapping.name())
    }
}

/// A pass that finds the campaign as the program wants it after one that failed says so: the
/// failure no longer stands (the overview stops counting it, the console's last settings pass
/// no longer reads dead), though nothing had to be written.
async fn recovered(ctx: &Context, mapping: &Mapping) -> Result<(), StoreError> {
    let last = ctx.store.last_settings_outcome(mapping.name()).await?;
    if last.is_some_and(|(_, result, _)| result != OutcomeResult::Applied.as_str()) {
        record::outcome_now(
            ctx,
            mapping.name(),
            target(),
            OutcomeResult::Applied,
            IN_SYNC,
        )
        .await?;
    }
    Ok(())
}

/// The reason of a pass that found the campaign in sync after a failed one.
const IN_SYNC: &str = "in sync: the campaign already has the program's Type and ActualCost";

/// A pass that failed: for good (a refused value or permission) it is recorded dead with the
/// reason, once while later passes meet the same failure; a passing failure (an outage, a rate limit) is no outcome, as a change waiting for
/// another try is none: the next pass tries again, and the side's health shows the error.
async fn failed(
    ctx: &Context,
    mapping: &Mapping,
    step: Step,
    error: &CallError,
) -> Result<(), StoreError> {
    let reason = step.reason(mapping, error);
    tracing::warn!(mapping = mapping.name(), %reason, "campaign settings pass failed; next pass tries again");
    if error.is_retryable() {
        return Ok(());
    }
    // The same failure met again is the one already recorded: one outcome (and one count in
    // `sync_outcomes_total`, which a dead-rate alert reads) until it ends or changes.
    let last = ctx.store.last_settings_outcome(mapping.name()).await?;
    let recorded = last.is_some_and(|(_, result, said)| {
        result == OutcomeResult::Dead.as_str() && said.as_deref() == Some(reason.as_str())
    });
    if recorded {
        return Ok(());
    }
    record::outcome_now(
        ctx,
        mapping.name(),
        step.target(),
        OutcomeResult::Dead,
        &reason,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MappingConfig;
    use crate::connectors::marketo::Cost;
    use crate::mappings::Mappings;

    fn program(costs: &[f64]) -> ProgramInfo {
        ProgramInfo {
            id: 1001,
            name: "Webinar".into(),
            channel: "Webinar".into(),
            sfdc_id: None,
            sfdc_name: None,
            costs: costs
                .iter()
                .map(|&cost| Cost {
                    start_date: None,
                    cost,
                    note: None,
                })
                .collect(),
            updated_at: None,
        }
    }

    #[test]
    fn costs_are_compared_in_whole_units_as_actual_cost_keeps_them() {
        let mappings = Mappings::new(&[MappingConfig::new("webinar", 1001, "701000000000001AAA")]);
        let mapping = &mappings.all()[0];
        let campaign = |cost: Value| json!({ "Type": "Webinar", "ActualCost": cost });
        let cases = [
            (vec![500.0, 734.5], json!(1235), None),
            (vec![500.0, 734.4], json!(1234), None),
            (vec![500.0, 700.0], json!(1200.0), None),
            (
                vec![500.0, 734.5],
                json!(1234),
                Some(json!({ "ActualCost": 1235 })),
            ),
            (vec![], json!(null), Some(json!({ "ActualCost": 0 }))),
        ];
        for (costs, actual, expected) in cases {
            assert_eq!(
                differences(mapping, &program(&costs), &campaign(actual.clone())),
                expected,
                "{costs:?} against {actual}"
            );
        }
    }
}
