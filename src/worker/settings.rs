//! One-way program settings: channel → campaign Type and the sum of period costs → campaign
//! ActualCost. Written only when different, so Salesforce-side edits are set back next pass.

use serde_json::{Value, json};

use crate::connectors::CallError;
use crate::kinds::{Action, Connector, OutcomeResult, Target};
use crate::store::StoreError;

use super::context::Context;
use super::record;
use crate::mappings::Mapping;

/// What one pass did for one mapping.
#[derive(Debug, Clone, PartialEq)]
pub enum SettingsOutcome {
    Unchanged,
    Written {
        kind: Option<String>,
        actual_cost: f64,
    },
}

pub async fn sync_one(ctx: &Context, mapping: &Mapping) -> Result<SettingsOutcome, CallError> {
    let program = ctx.marketo.program(mapping.config.program_id).await?;
    let kind = mapping
        .config
        .channel_type_map
        .get(&program.channel)
        .cloned()
        .unwrap_or_else(|| program.channel.clone());
    // Folded from +0.0: an empty `sum` of floats is -0.0.
    let cost: f64 = program.costs.iter().fold(0.0, |total, c| total + c.cost);
    let campaign = ctx
        .salesforce
        .get("Campaign", &mapping.config.campaign_id)
        .await?;
    let current_kind = campaign["Type"].as_str();
    let current_cost = campaign["ActualCost"].as_f64();
    let mut fields = serde_json::Map::new();
    if current_kind != Some(kind.as_str()) {
        fields.insert("Type".into(), json!(kind));
    }
    if current_cost.is_none_or(|c| (c - cost).abs() > 0.005) {
        fields.insert("ActualCost".into(), json!(cost));
    }
    if fields.is_empty() {
        return Ok(SettingsOutcome::Unchanged);
    }
    let written_kind = fields
        .get("Type")
        .and_then(Value::as_str)
        .map(str::to_string);
    ctx.salesforce
        .patch(
            "Campaign",
            &mapping.config.campaign_id,
            &Value::Object(fields),
        )
        .await?;
    Ok(SettingsOutcome::Written {
        kind: written_kind,
        actual_cost: cost,
    })
}

/// Runs the pass for every enabled mapping, recording each write or failure as an outcome.
pub async fn sync_all(ctx: &Context) -> Result<(), StoreError> {
    for mapping in ctx.mappings.all() {
        if !ctx.mappings.sync_enabled() || !mapping.is_enabled() {
            continue;
        }
        match sync_one(ctx, mapping).await {
            Ok(SettingsOutcome::Unchanged) => {}
            Ok(SettingsOutcome::Written { kind, actual_cost }) => {
                let reason = format!(
                    "Type={}, ActualCost={actual_cost}",
                    kind.as_deref().unwrap_or("(unchanged)")
                );
                tracing::info!(mapping = mapping.name(), %reason, "campaign settings written");
                record::outcome_now(
                    ctx,
                    mapping.name(),
                    Target::new(Connector::Salesforce, Action::CampaignSettings),
                    OutcomeResult::Applied,
                    &reason,
                )
                .await?;
            }
            Err(error) => {
                tracing::warn!(mapping = mapping.name(), %error, "campaign settings pass failed; next pass tries again");
                let result = if error.is_retryable() {
                    OutcomeResult::Skipped
                } else {
                    OutcomeResult::Dead
                };
                record::outcome_now(
                    ctx,
                    mapping.name(),
                    Target::new(Connector::Salesforce, Action::CampaignSettings),
                    result,
                    &error.to_string(),
                )
                .await?;
            }
        }
    }
    Ok(())
}
