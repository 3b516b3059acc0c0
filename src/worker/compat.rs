//! Status compatibility: every Marketo progression status of the program's channel and every
//! member status of the campaign must translate to the other side, or the mapping is held.

use crate::connectors::CallError;

use super::work::WorkError;
use crate::connectors::marketo::{MarketoClient, ProgramInfo, ProgressionStatus};
use crate::connectors::salesforce::{Picklist, SalesforceClient};

use std::collections::BTreeMap;

use crate::store::now_millis;

use super::context::Context;
use super::programs::ProgramCache;
use crate::mappings::Mapping;

/// Reads both status sets and returns each problem, naming the status, program and campaign.
pub async fn problems(
    salesforce: &SalesforceClient,
    marketo: &MarketoClient,
    mapping: &Mapping,
) -> Result<Vec<String>, CallError> {
    Ok(checked(salesforce, marketo, mapping).await?.1)
}

/// As [`problems`], with the program read for them.
pub async fn checked(
    salesforce: &SalesforceClient,
    marketo: &MarketoClient,
    mapping: &Mapping,
) -> Result<(ProgramInfo, Vec<String>), CallError> {
    let program = marketo.program(mapping.config.program_id).await?;
    let statuses = marketo.channel_statuses(&program.channel).await?;
    let labels = salesforce
        .campaign_statuses(&mapping.config.campaign_id)
        .await?;
    let problems = named_problems(mapping, &program, statuses, &labels);
    Ok((program, problems))
}

/// The campaign `Type` the settings pass would write for `program`, when the org's restricted
/// picklist would refuse it: named like a status problem, with the two ways out. `held` is the
/// Type the campaign holds now, when known: a campaign holding it already is not written (a
/// restricted picklist keeps a value a record had before), so nothing is refused.
pub fn type_problem(
    mapping: &Mapping,
    program: &ProgramInfo,
    types: &Picklist,
    held: Option<&str>,
) -> Option<String> {
    let kind = super::settings::campaign_type(mapping, program);
    if types.accepts(&kind) || held == Some(kind.as_str()) {
        return None;
    }
    let from = if mapping
        .config
        .channel_type_map
        .contains_key(&program.channel)
    {
        "channel_type_map's value for channel"
    } else {
        "the program's channel"
    };
    Some(named(
        mapping,
        program,
        &format!(
            "campaign Type {kind:?} ({from} {:?}) is not a value of Salesforce's restricted \
             Campaign Type picklist ({}), so the settings pass would be refused; add it to the \
             picklist, or map the channel to one of its values in the mapping's channel_type_map",
            program.channel,
            quoted(&types.values)
        ),
    ))
}

fn quoted(values: &[String]) -> String {
    if values.is_empty() {
        return "no active values".into();
    }
    values
        .iter()
        .map(|v| format!("{v:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A problem named with its mapping, program and campaign.
fn named(mapping: &Mapping, program: &ProgramInfo, problem: &str) -> String {
    format!(
        "mapping {:?} (program {} {:?}, campaign {}): {problem}",
        mapping.name(),
        program.id,
        program.name,
        mapping.config.campaign_id
    )
}

/// The problem a mapping whose campaign Salesforce does not have is held for.
pub fn campaign_missing(mapping: &Mapping, program: &ProgramInfo) -> String {
    named(
        mapping,
        program,
        &format!(
            "Salesforce campaign {} was not found: it does not exist, or the integration user \
             cannot see it",
            mapping.config.campaign_id
        ),
    )
}

/// What cannot be translated between the channel's statuses and the campaign's labels, each
/// named with the mapping, program and campaign. A hidden status cannot be set on anyone, so it
/// needs no campaign counterpart.
fn named_problems(
    mapping: &Mapping,
    program: &ProgramInfo,
    statuses: Vec<ProgressionStatus>,
    labels: &[String],
) -> Vec<String> {
    let name = |problem: &str| named(mapping, program, problem);
    // Every campaign has at least one member status: none means no campaign to check against.
    if labels.is_empty() {
        return vec![campaign_missing(mapping, program)];
    }
    let settable: Vec<String> = statuses
        .into_iter()
        .filter(|s| !s.hidden)
        .map(|s| s.name)
        .collect();
    mapping
        .statuses
        .untranslatable(&settable, labels)
        .into_iter()
        .map(|problem| name(&problem))
        .collect()
}

/// Where a check's findings go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// Into the store, for every replica: the mapping is held or released.
    Shared,
    /// Into this process alone: a dry run tells what it finds and changes no stored state.
    HereOnly,
}

/// Checks every mapping and holds the incompatible ones; a mapping whose check could not run
/// keeps its previous state. Marketo is read through the cache (channels listed once) and the
/// campaigns' statuses with one SOQL query per 200 campaigns.
pub async fn check_all(ctx: &Context, cache: &mut ProgramCache, record: Record) {
    let ids: Vec<String> = ctx
        .mappings
        .all()
        .iter()
        .map(|m| m.config.campaign_id.clone())
        .collect();
    if ids.is_empty() {
        return;
    }
    let mut by_campaign: BTreeMap<String, Vec<String>> = BTreeMap::new();
    match ctx.salesforce.member_statuses(&ids).await {
        Ok(found) => {
            for (campaign, label) in found {
                by_campaign.entry(campaign).or_default().push(label);
            }
        }
        Err(error) => {
            tracing::warn!(%error, "could not read the campaigns' member statuses");
            return;
        }
    }
    for mapping in ctx.mappings.all() {
        let salesforce = by_campaign
            .get(&mapping.config.campaign_id)
            .cloned()
            .unwrap_or_default();
        match cached_problems(ctx, cache, mapping, &salesforce).await {
            Ok(found) if record == Record::HereOnly => ctx.mappings.hold_here(mapping, found),
            Ok(found) => hold(ctx, mapping, found).await,
            Err(error) => {
                tracing::warn!(mapping = mapping.name(), %error, "could not check status compatibility")
            }
        }
    }
}

async fn cached_problems(
    ctx: &Context,
    cache: &mut ProgramCache,
    mapping: &Mapping,
    labels: &[String],
) -> Result<Vec<String>, CallError> {
    let program = cache.program(ctx, mapping.config.program_id).await?.clone();
    let statuses = cache.channel(ctx, &program.channel, now_millis()).await?;
    Ok(named_problems(mapping, &program, statuses, labels))
}

/// Records a check's findings: the mapping is held while there are any, released once none.
pub(super) async fn hold(ctx: &Context, mapping: &Mapping, found: Vec<String>) {
    for problem in &found {
        tracing::error!(mapping = mapping.name(), %problem, "mapping held");
    }
    let released = found.is_empty() && mapping.is_held();
    if released {
        tracing::info!(
            mapping = mapping.name(),
            "statuses now compatible: mapping released"
        );
    }
    if let Err(error) = ctx.mappings.hold(&ctx.store, mapping, found).await {
        tracing::warn!(mapping = mapping.name(), %error, "could not record the compatibility check");
        return;
    }
    // The changes it held back are looked at now rather than at their next postponement.
    if released && let Err(error) = ctx.store.catch_up(now_millis()).await {
        tracing::warn!(mapping = mapping.name(), %error, "could not make the held changes due");
    }
}

/// Whether a write failed because the other side does not offer the status it named
/// (Marketo's 1025 "status not found", Salesforce refusing the Status picklist value): a
/// status added on one side since the mapping was last checked.
pub fn unknown_status(error: &WorkError) -> bool {
    let WorkError::Call(CallError::Permanent(text)) = error else {
        return false;
    };
    text.starts_with("1025 ") || text.contains("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: Status")
}

/// After a write refused for a status the other side does not offer, checks the mapping's
/// statuses at once (not at the next settings pass) and holds it when they no longer match;
/// answers why it is held back then, so the refused changes wait for the fix instead of
/// ending dead. A check that cannot run leaves them failed as they are.
pub async fn check_after_refusal(ctx: &Context, mapping: &Mapping) -> Option<String> {
    let found = match problems(&ctx.salesforce, &ctx.marketo, mapping).await {
        Ok(found) => found,
        Err(error) => {
            tracing::warn!(mapping = mapping.name(), %error, "could not check the mapping's statuses after a status was refused");
            return None;
        }
    };
    hold(ctx, mapping, found).await;
    ctx.mappings.held_back(mapping)
}
