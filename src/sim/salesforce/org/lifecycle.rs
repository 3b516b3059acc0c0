//! Writes beyond plain field changes: converting a lead, campaign row locks held by another
//! transaction, and keeping one default status per campaign.

use serde_json::{Map, Value, json};

use super::{Org, membership_key};
use crate::sim::salesforce::clock::format_z;
use crate::sim::salesforce::error::SfError;
use crate::sim::salesforce::schema::Kind;

impl Org {
    /// [`Org::convert_lead`] for callers that need no Contact id.
    pub fn mark_converted(&mut self, id: &str) -> Result<(), SfError> {
        self.convert_lead(id).map(drop)
    }

    /// Salesforce's `convertLead`, reduced to what the sync sees: a Contact is created from the
    /// lead's name and e-mail, the lead reads `IsConverted` and `ConvertedContactId`, and its
    /// campaign memberships carry the Contact's id beside the lead's. Returns the Contact's id.
    pub fn convert_lead(&mut self, id: &str) -> Result<String, SfError> {
        let record = self.get(id)?;
        if record.kind != Kind::Lead {
            return Err(SfError::not_found());
        }
        if record.fields.get("IsConverted") == Some(&json!(true)) {
            return Err(SfError::bad_request(
                "CANNOT_UPDATE_CONVERTED_LEAD",
                "cannot reference converted lead",
            ));
        }
        let id = record.text("Id").unwrap_or(id).to_owned();
        let person: Map<String, Value> = ["FirstName", "LastName", "Email"]
            .into_iter()
            .filter_map(|f| Some((f.to_owned(), record.fields.get(f)?.clone())))
            .filter(|(_, v)| !v.is_null())
            .collect();
        let contact = self.insert(Kind::Contact, &person, false)?;
        let now = format_z(self.clock.tick());
        let stamp = |fields: &mut Map<String, Value>| {
            fields.insert("LastModifiedDate".to_owned(), json!(now));
            fields.insert("SystemModstamp".to_owned(), json!(now));
        };
        if let Some(lead) = self.records.get_mut(&id) {
            lead.fields.insert("IsConverted".to_owned(), json!(true));
            lead.fields
                .insert("ConvertedContactId".to_owned(), json!(contact));
            stamp(&mut lead.fields);
        }
        let mut rekeyed = Vec::new();
        for (member_id, member) in &mut self.records {
            if member.kind == Kind::CampaignMember && member.text("LeadId") == Some(id.as_str()) {
                let old_key = membership_key(&member.fields);
                member.fields.insert("ContactId".to_owned(), json!(contact));
                stamp(&mut member.fields);
                rekeyed.push((old_key, membership_key(&member.fields), member_id.clone()));
            }
        }
        for (old_key, new_key, member_id) in rekeyed {
            self.memberships.remove(&old_key);
            self.memberships.insert(new_key, member_id);
        }
        Ok(contact)
    }

    /// Makes the next `writes` CampaignMember writes touching `campaign_id` fail with
    /// `UNABLE_TO_LOCK_ROW`, as when another transaction holds the Campaign's row.
    pub fn hold_campaign_lock(&mut self, campaign_id: &str, writes: u32) -> Result<(), SfError> {
        let campaign = self.get(campaign_id)?;
        if campaign.kind != Kind::Campaign {
            return Err(SfError::not_found());
        }
        let id = campaign.text("Id").unwrap_or(campaign_id).to_owned();
        self.campaign_locks.insert(id, writes);
        Ok(())
    }

    /// Refuses a CampaignMember write while its campaign's row is held.
    pub(super) fn take_campaign_lock(&mut self, campaign_id: Option<&str>) -> Result<(), SfError> {
        let Some(left) = campaign_id.and_then(|c| self.campaign_locks.get_mut(c)) else {
            return Ok(());
        };
        if *left == 0 {
            return Ok(());
        }
        *left -= 1;
        Err(SfError::bad_request(
            "UNABLE_TO_LOCK_ROW",
            "unable to obtain exclusive access to this record",
        ))
    }

    pub(super) fn clear_other_defaults(&mut self, fields: &Map<String, Value>, id: &str) {
        let Some(campaign) = fields.get("CampaignId").and_then(Value::as_str) else {
            return;
        };
        let others = self.status_ids.get(campaign).cloned().unwrap_or_default();
        for other in others.iter().filter(|other| *other != id) {
            if let Some(record) = self.records.get_mut(other) {
                record.fields.insert("IsDefault".to_owned(), json!(false));
            }
        }
    }
}
