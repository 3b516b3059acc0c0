//! Status compatibility: every Marketo progression status of the program's channel and every
//! member status of the campaign must translate to the other side, or the mapping is held.

use crate::connectors::CallError;
use crate::connectors::marketo::MarketoClient;
use crate::connectors::salesforce::SalesforceClient;

use super::context::Context;
use crate::mappings::Mapping;

/// Reads both status sets and returns each problem, naming the status, program and campaign.
pub async fn problems(
    salesforce: &SalesforceClient,
    marketo: &MarketoClient,
    mapping: &Mapping,
) -> Result<Vec<String>, CallError> {
    let program = marketo.program(mapping.config.program_id).await?;
    let marketo: Vec<String> = marketo
        .channel_statuses(&program.channel)
        .await?
        .into_iter()
        // A hidden status cannot be set on anyone: it needs no campaign counterpart.
        .filter(|s| !s.hidden)
        .map(|s| s.name)
        .collect();
    let salesforce = salesforce
        .campaign_statuses(&mapping.config.campaign_id)
        .await?;
    Ok(mapping
        .statuses
        .untranslatable(&marketo, &salesforce)
        .into_iter()
        .map(|problem| {
            format!(
                "mapping {:?} (program {} {:?}, campaign {}): {problem}",
                mapping.name(),
                program.id,
                program.name,
                mapping.config.campaign_id
            )
        })
        .collect())
}

/// Checks every mapping and holds the incompatible ones; a mapping whose check could not run
/// keeps its previous state.
pub async fn check_all(ctx: &Context) {
    for mapping in ctx.mappings.all() {
        match problems(&ctx.salesforce, &ctx.marketo, mapping).await {
            Ok(found) => {
                for problem in &found {
                    tracing::error!(mapping = mapping.name(), %problem, "incompatible statuses: mapping held");
                }
                if found.is_empty() && mapping.is_held() {
                    tracing::info!(
                        mapping = mapping.name(),
                        "statuses now compatible: mapping released"
                    );
                }
                if let Err(error) = ctx.mappings.hold(&ctx.store, mapping, found).await {
                    tracing::warn!(mapping = mapping.name(), %error, "could not record the compatibility check");
                }
            }
            Err(error) => {
                tracing::warn!(mapping = mapping.name(), %error, "could not check status compatibility")
            }
        }
    }
}
