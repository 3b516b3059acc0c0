//! Writes beyond plain field changes: converting a lead, and keeping one default status per
//! campaign.

use serde_json::{Map, Value, json};

use super::Org;
use crate::sim::salesforce::clock::format_z;
use crate::sim::salesforce::error::SfError;
use crate::sim::salesforce::schema::Kind;

impl Org {
    /// Salesforce's `convertLead`, reduced to what the sync sees: the lead reads `IsConverted`.
    pub fn mark_converted(&mut self, id: &str) -> Result<(), SfError> {
        let record = self.get(id)?;
        if record.kind != Kind::Lead {
            return Err(SfError::not_found());
        }
        let id = record.text("Id").unwrap_or(id).to_owned();
        let now = format_z(self.clock.tick());
        if let Some(lead) = self.records.get_mut(&id) {
            lead.fields.insert("IsConverted".to_owned(), json!(true));
            lead.fields
                .insert("LastModifiedDate".to_owned(), json!(now));
            lead.fields.insert("SystemModstamp".to_owned(), json!(now));
        }
        Ok(())
    }

    pub(super) fn clear_other_defaults(&mut self, fields: &Map<String, Value>, id: &str) {
        let campaign = fields.get("CampaignId").cloned();
        for (other, record) in &mut self.records {
            if record.kind == Kind::CampaignMemberStatus
                && other != id
                && record.fields.get("CampaignId") == campaign.as_ref()
            {
                record.fields.insert("IsDefault".to_owned(), json!(false));
            }
        }
    }
}
