//! The campaign settings a reconciliation previews: what the next settings pass would write to
//! the mapping's campaign (channel → `Type`, period costs → `ActualCost`), compared as that
//! pass compares them, with the campaign read by the same query. A reconciliation never writes
//! them: the settings pass of `serve` does, at its start and every
//! `schedules.program_settings_secs`.

use crate::connectors::CallError;
use crate::connectors::marketo::ProgramInfo;
use crate::mappings::Mapping;

use super::super::context::Context;
use super::super::settings::{SettingChange, changes};

/// The settings that differ, each with what Salesforce holds and what the pass would write;
/// `None` when Salesforce has no such campaign (deleted, or hidden from the integration user).
pub async fn preview(
    ctx: &Context,
    mapping: &Mapping,
    program: &ProgramInfo,
) -> Result<Option<Vec<SettingChange>>, CallError> {
    let id = &mapping.config.campaign_id;
    let read = ctx.salesforce.campaigns(std::slice::from_ref(id)).await;
    let found = read
        .map_err(|error| error.context(&format!("reading the Salesforce campaign {id}")))?
        .into_iter()
        .find(|c| c["Id"].as_str() == Some(id.as_str()));
    Ok(found.map(|campaign| changes(mapping, program, &campaign)))
}

/// When the preview writes a `Type` (so the campaign holds another), whether the org's
/// restricted Campaign Type picklist would refuse it (one describe call): the warning the
/// settings pass's dead outcome would bring later, told now.
pub async fn refused_type(
    ctx: &Context,
    mapping: &Mapping,
    program: &ProgramInfo,
    changes: &[SettingChange],
) -> Option<String> {
    changes.iter().find(|c| c.field == "Type")?;
    match ctx.salesforce.campaign_type_picklist().await {
        Ok(types) => super::super::compat::type_problem(mapping, program, &types, None),
        Err(error) => Some(format!(
            "whether Salesforce's Campaign Type picklist accepts the Type the settings pass \
             writes was not checked: {error}"
        )),
    }
}

/// The warning of a preview that could not be made (its read failed for good).
pub fn not_previewed(error: &str) -> String {
    format!(
        "the campaign's settings (Type, ActualCost) were not compared: {error}; the settings \
         pass of `serve` writes them where they differ from the program"
    )
}
