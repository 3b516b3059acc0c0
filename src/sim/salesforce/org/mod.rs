//! The in-memory org: records by id, the delete log getDeleted reads, and the outbound queue
//! CampaignMember writes feed. Every write goes through `create`/`update`/`delete`, so REST
//! calls and the Rust control API behave the same.

mod lifecycle;
mod queue;

pub use queue::{Acknowledged, Queued};
use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::clock::{Clock, format_z};
use super::error::SfError;
use super::ids;
use super::rules;
use super::schema::Kind;

#[derive(Debug, Clone)]
pub struct Record {
    pub kind: Kind,
    pub fields: Map<String, Value>,
}

impl Record {
    pub fn text(&self, field: &str) -> Option<&str> {
        self.fields.get(field).and_then(Value::as_str)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Deletion {
    pub id: String,
    pub kind: Kind,
    pub at_ms: i64,
}

#[derive(Debug, Clone, Default)]
pub struct Org {
    pub clock: Clock,
    pub started_ms: i64,
    pub outbound_enabled: bool,
    /// Email Address Internationalization: non-ASCII e-mails are accepted.
    pub international_email: bool,
    /// A restricted Campaign `Type` picklist's values (`None`: any value).
    pub campaign_types: Option<Vec<String>>,
    /// Where the delete log begins after a purge (epoch ms; 0 when never purged): getDeleted
    /// reports nothing older and says so in `earliestDateAvailable`.
    pub delete_log_from: i64,
    pub queue: Vec<Queued>,
    /// Acknowledged notifications, oldest first, that `redeliver` may queue again.
    pub acknowledged: Vec<Acknowledged>,
    sequences: HashMap<&'static str, u64>,
    records: BTreeMap<String, Record>,
    deleted: HashSet<String>,
    deletions: Vec<Deletion>,
    /// (CampaignId, LeadId or ContactId) → CampaignMember id, for DUPLICATE_VALUE.
    memberships: HashMap<(String, String), String>,
    /// Campaign id → CampaignMember writes still to refuse with `UNABLE_TO_LOCK_ROW`.
    campaign_locks: HashMap<String, u32>,
    /// Campaign id → its CampaignMemberStatus ids, in creation order: a campaign's statuses
    /// without scanning every campaign's (seeding thousands of programs was quadratic).
    status_ids: HashMap<String, Vec<String>>,
}

impl Org {
    pub fn new(
        outbound_enabled: bool,
        international_email: bool,
        campaign_types: Option<Vec<String>>,
    ) -> Org {
        let clock = Clock::default();
        Org {
            started_ms: clock.now(),
            clock,
            outbound_enabled,
            international_email,
            campaign_types,
            ..Org::default()
        }
    }

    pub fn next_id(&mut self, prefix: &'static str) -> String {
        let sequence = self.sequences.entry(prefix).or_insert(0);
        *sequence += 1;
        ids::make(prefix, *sequence)
    }

    /// Creates a record; a Campaign gets Salesforce's default statuses "Sent" and "Responded".
    pub fn create(
        &mut self,
        kind: Kind,
        input: &Map<String, Value>,
        sends: bool,
    ) -> Result<String, SfError> {
        let id = self.insert(kind, input, sends)?;
        if kind == Kind::Campaign {
            for (order, (label, default, responded)) in
                [("Sent", true, false), ("Responded", false, true)]
                    .into_iter()
                    .enumerate()
            {
                let status = json!({"CampaignId": id, "Label": label, "IsDefault": default,
                    "HasResponded": responded, "SortOrder": order + 1});
                self.insert(Kind::CampaignMemberStatus, as_map(&status), false)?;
            }
        }
        Ok(id)
    }

    /// Creates a record without the defaults a Campaign would get.
    pub fn insert(
        &mut self,
        kind: Kind,
        input: &Map<String, Value>,
        sends: bool,
    ) -> Result<String, SfError> {
        let mut fields = rules::accept(kind, input, true)?;
        rules::check_create(self, kind, &mut fields)?;
        if kind == Kind::CampaignMember {
            let campaign = fields.get("CampaignId").and_then(Value::as_str);
            self.take_campaign_lock(campaign.map(str::to_owned).as_deref())?;
        }
        let id = self.next_id(kind.prefix());
        let now = format_z(self.clock.tick());
        for (name, value) in [
            ("Id", json!(id)),
            ("IsDeleted", json!(false)),
            ("CreatedDate", json!(now)),
        ] {
            fields.insert(name.to_owned(), value);
        }
        self.stamp(&mut fields, &now);
        if kind == Kind::CampaignMember {
            let key = membership_key(&fields);
            self.memberships.insert(key, id.clone());
        }
        if kind == Kind::CampaignMemberStatus && fields.get("IsDefault") == Some(&json!(true)) {
            self.clear_other_defaults(&fields, &id);
        }
        if kind == Kind::CampaignMemberStatus
            && let Some(campaign) = fields.get("CampaignId").and_then(Value::as_str)
        {
            self.status_ids
                .entry(campaign.to_owned())
                .or_default()
                .push(id.clone());
        }
        self.records.insert(id.clone(), Record { kind, fields });
        self.after_write(kind, &id, sends);
        Ok(id)
    }

    pub fn update(
        &mut self,
        id: &str,
        input: &Map<String, Value>,
        sends: bool,
    ) -> Result<(), SfError> {
        let existing = self.get(id)?.clone();
        let changes = rules::accept(existing.kind, input, false)?;
        let mut fields = existing.fields.clone();
        fields.extend(changes);
        rules::check_update(self, &existing, &mut fields)?;
        if existing.kind == Kind::CampaignMember {
            self.take_campaign_lock(existing.text("CampaignId"))?;
        }
        let now = format_z(self.clock.tick());
        self.stamp(&mut fields, &now);
        let id = existing.text("Id").unwrap_or(id).to_owned();
        if existing.kind == Kind::CampaignMemberStatus
            && fields.get("IsDefault") == Some(&json!(true))
        {
            self.clear_other_defaults(&fields, &id);
        }
        self.records.insert(
            id.clone(),
            Record {
                kind: existing.kind,
                fields,
            },
        );
        self.after_write(existing.kind, &id, sends);
        Ok(())
    }

    /// Deletes a record and what hangs off it (a campaign's statuses and members, a person's
    /// memberships). Deletes never queue an outbound message, as in Salesforce.
    pub fn delete(&mut self, id: &str) -> Result<(), SfError> {
        let record = self.get(id)?.clone();
        rules::check_delete(self, &record)?;
        if record.kind == Kind::CampaignMember {
            self.take_campaign_lock(record.text("CampaignId"))?;
        }
        let id = record.text("Id").unwrap_or(id).to_owned();
        let dependent_kinds: &[Kind] = match record.kind {
            Kind::Campaign => &[Kind::CampaignMemberStatus, Kind::CampaignMember],
            Kind::Lead | Kind::Contact => &[Kind::CampaignMember],
            Kind::CampaignMember | Kind::CampaignMemberStatus => &[],
        };
        let dependents: Vec<String> = dependent_kinds
            .iter()
            .flat_map(|kind| self.records_of(*kind))
            .filter(|r| {
                ["CampaignId", "LeadId", "ContactId"]
                    .iter()
                    .any(|f| r.text(f) == Some(id.as_str()))
            })
            .filter_map(|r| r.text("Id").map(str::to_owned))
            .collect();
        for dependent in dependents.into_iter().chain([id]) {
            if let Some(removed) = self.records.remove(&dependent) {
                if removed.kind == Kind::CampaignMember {
                    self.memberships.remove(&membership_key(&removed.fields));
                }
                if removed.kind == Kind::CampaignMemberStatus
                    && let Some(ids) = removed
                        .text("CampaignId")
                        .and_then(|c| self.status_ids.get_mut(c))
                {
                    ids.retain(|s| *s != dependent);
                }
                let at_ms = self.clock.tick();
                self.deletions.push(Deletion {
                    id: dependent.clone(),
                    kind: removed.kind,
                    at_ms,
                });
                self.deleted.insert(dependent);
            }
        }
        Ok(())
    }

    /// The live record for a 15- or 18-character id.
    pub fn get(&self, id: &str) -> Result<&Record, SfError> {
        let id = ids::normalize(id).ok_or_else(SfError::not_found)?;
        match self.records.get(&id) {
            Some(record) => Ok(record),
            None if self.deleted.contains(&id) => Err(SfError::entity_is_deleted()),
            None => Err(SfError::not_found()),
        }
    }

    /// The live records of one type, in creation order. Ids start with their type's key prefix
    /// and are alphanumeric, so one type's records are one range of the map.
    pub fn records_of(&self, kind: Kind) -> impl Iterator<Item = &Record> {
        let prefix = kind.prefix().to_owned();
        let end = format!("{prefix}~");
        self.records.range(prefix..end).map(|(_, record)| record)
    }

    pub fn deletions(&self) -> &[Deletion] {
        &self.deletions
    }

    pub fn member_id(&self, campaign_id: &str, person_id: &str) -> Option<&String> {
        self.memberships
            .get(&(campaign_id.to_owned(), person_id.to_owned()))
    }

    /// The labels of a campaign's member statuses with their HasResponded flags.
    pub fn statuses_of(&self, campaign_id: &str) -> Vec<&Record> {
        let Some(campaign) = ids::normalize(campaign_id) else {
            return Vec::new();
        };
        self.status_ids
            .get(&campaign)
            .into_iter()
            .flatten()
            .filter_map(|id| self.records.get(id))
            .collect()
    }

    fn stamp(&self, fields: &mut Map<String, Value>, now: &str) {
        fields.insert("LastModifiedDate".to_owned(), json!(now));
        fields.insert("SystemModstamp".to_owned(), json!(now));
    }
}

pub fn membership_key(fields: &Map<String, Value>) -> (String, String) {
    let text = |f: &str| fields.get(f).and_then(Value::as_str).map(str::to_owned);
    (
        text("CampaignId").unwrap_or_default(),
        text("ContactId")
            .or_else(|| text("LeadId"))
            .unwrap_or_default(),
    )
}

/// The map inside a JSON object literal built in this module.
pub fn as_map(value: &Value) -> &Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    value
        .as_object()
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}
