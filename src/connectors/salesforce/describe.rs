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

impl SalesforceClient {
    /// The Campaign `Type` picklist (one describe call).
    pub async fn campaign_type_picklist(&self) -> Result<Picklist, CallError> {
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
