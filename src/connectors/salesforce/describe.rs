//! The campaign `Type` picklist, from the Campaign object's describe: whether the org restricts
//! it and which values are active, so a check can tell before the settings pass whether
//! Salesforce will refuse the `Type` a program's channel maps to.

use reqwest::Method;
use serde::Deserialize;

use super::SalesforceClient;
use super::classify::malformed;
use crate::connectors::CallError;

/// A picklist field as the org defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picklist {
    /// A restricted picklist refuses any value outside `values`
    /// (`INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`); an open one stores any text.
    pub restricted: bool,
    /// The active values, in the org's order.
    pub values: Vec<String>,
}

impl Picklist {
    /// Whether a write of `value` would be accepted.
    pub fn accepts(&self, value: &str) -> bool {
        !self.restricted || self.values.iter().any(|v| v == value)
    }
}

#[derive(Deserialize)]
struct Describe {
    fields: Vec<Field>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Field {
    name: String,
    #[serde(default)]
    restricted_picklist: bool,
    #[serde(default)]
    picklist_values: Vec<PicklistValue>,
}

#[derive(Deserialize)]
struct PicklistValue {
    value: String,
    #[serde(default = "active_by_default")]
    active: bool,
}

fn active_by_default() -> bool {
    true
}

/// How long a read Campaign Type picklist serves: one describe for a reconciliation's mappings
/// (it was one per mapping), read again for a later pass, so an admin's edit of the picklist is
/// seen within a minute.
const PICKLIST_KEPT: std::time::Duration = std::time::Duration::from_secs(60);

impl SalesforceClient {
    /// The Campaign `Type` picklist (one describe call, kept for [`PICKLIST_KEPT`]).
    pub async fn campaign_type_picklist(&self) -> Result<Picklist, CallError> {
        let kept = self
            .picklist
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some((read_at, picklist)) = kept.filter(|(at, _)| at.elapsed() < PICKLIST_KEPT) {
            tracing::debug!(
                age_ms = read_at.elapsed().as_millis() as u64,
                "campaign Type picklist kept"
            );
            return Ok(picklist);
        }
        let picklist = self.read_campaign_type_picklist().await?;
        *self.picklist.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((std::time::Instant::now(), picklist.clone()));
        Ok(picklist)
    }

    async fn read_campaign_type_picklist(&self) -> Result<Picklist, CallError> {
        let answer = self
            .send(Method::GET, "/sobjects/Campaign/describe", None)
            .await?;
        let describe: Describe =
            serde_json::from_value(answer).map_err(|e| malformed("Campaign describe", e))?;
        let field = describe
            .fields
            .into_iter()
            .find(|f| f.name == "Type")
            .ok_or_else(|| malformed("Campaign describe", "no Type field"))?;
        Ok(Picklist {
            restricted: field.restricted_picklist,
            values: field
                .picklist_values
                .into_iter()
                .filter(|v| v.active)
                .map(|v| v.value)
                .collect(),
        })
    }
}
