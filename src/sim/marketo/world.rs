//! The simulated instance's data: channels with their progression statuses, programs, leads
//! and program memberships. Plain data behind one lock; no I/O.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::activities::{Activity, CHANGE_STATUS_IN_PROGRESSION};
use super::webhooks::Webhooks;

/// Marketo's step-0 status, present in every channel.
pub const NOT_IN_PROGRAM: &str = "Not in Program";

/// One program status of a channel, as `progressionStatuses[]` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressionStatus {
    pub name: String,
    pub step: i32,
    pub success: bool,
    pub hidden: bool,
}

impl ProgressionStatus {
    pub fn new(name: &str, step: i32, success: bool) -> ProgressionStatus {
        ProgressionStatus {
            name: name.to_string(),
            step,
            success,
            hidden: false,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Channel {
    pub id: i64,
    pub name: String,
    pub applicable_program_type: String,
    /// Ordered by step; always starts with "Not in Program" at step 0.
    pub progression_statuses: Vec<ProgressionStatus>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Channel {
    pub fn status(&self, name: &str) -> Option<&ProgressionStatus> {
        self.progression_statuses.iter().find(|s| s.name == name)
    }

    /// A status's id as activities carry it: unique across channels, stable for a status.
    pub fn status_id(&self, name: &str) -> Option<i64> {
        let position = self
            .progression_statuses
            .iter()
            .position(|s| s.name == name)?;
        Some(self.id * 100 + position as i64 + 1)
    }
}

/// A period cost. `cost` is an int32 in Marketo, so cents cannot round-trip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cost {
    pub start_date: String,
    pub cost: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What seeding needs to create a program.
#[derive(Debug, Clone, Default)]
pub struct NewProgram {
    pub id: i64,
    pub name: String,
    pub channel: String,
    pub costs: Vec<Cost>,
    pub sfdc_id: Option<String>,
    pub sfdc_name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Program {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub channel: String,
    pub costs: Vec<Cost>,
    pub sfdc_id: Option<String>,
    pub sfdc_name: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What seeding needs to create a lead; `fields` holds any other field by REST API name.
#[derive(Debug, Clone, Default)]
pub struct NewLead {
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub sfdc_lead_id: Option<String>,
    pub sfdc_contact_id: Option<String>,
    pub fields: Map<String, Value>,
}

impl NewLead {
    pub fn email(email: &str) -> NewLead {
        NewLead {
            email: Some(email.to_string()),
            ..NewLead::default()
        }
    }

    pub(super) fn into_fields(self) -> Map<String, Value> {
        let mut fields = self.fields;
        let named = [
            ("email", self.email),
            ("firstName", self.first_name),
            ("lastName", self.last_name),
            ("sfdcLeadId", self.sfdc_lead_id),
            ("sfdcContactId", self.sfdc_contact_id),
        ];
        for (name, value) in named {
            if let Some(value) = value {
                fields.insert(name.to_string(), Value::String(value));
            }
        }
        fields
    }
}

/// A person. `fields` never holds `id`, `createdAt` or `updatedAt`; those are kept typed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Lead {
    pub id: i64,
    pub fields: Map<String, Value>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The first program the lead became a member of (Marketo's acquisition program).
    pub acquisition_program_id: Option<i64>,
}

impl Lead {
    pub fn email(&self) -> Option<&str> {
        self.fields.get("email").and_then(Value::as_str)
    }

    /// A field as the REST API returns it, including the typed ones.
    pub fn field(&self, name: &str) -> Value {
        match name {
            "id" => Value::from(self.id),
            "createdAt" => Value::from(super::clock::lead_db(self.created_at)),
            "updatedAt" => Value::from(super::clock::lead_db(self.updated_at)),
            _ => self.fields.get(name).cloned().unwrap_or(Value::Null),
        }
    }
}

/// One program membership. Absent membership means "Not in Program".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub program_id: i64,
    pub lead_id: i64,
    pub status_name: String,
    pub step: i32,
    pub membership_date: i64,
    pub reached_success: bool,
    pub reached_success_date: Option<i64>,
    pub acquired_by: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Default)]
pub struct World {
    pub channels: Vec<Channel>,
    pub programs: BTreeMap<i64, Program>,
    pub leads: BTreeMap<i64, Lead>,
    pub members: BTreeMap<(i64, i64), Member>,
    pub webhooks: Webhooks,
    pub next_lead_id: i64,
    /// Every membership change, oldest first (activity id = position + 1).
    pub activities: Vec<Activity>,
    /// Leads another integration creates just before the next lead sync is applied.
    pub racing_leads: Vec<Map<String, Value>>,
}

impl World {
    pub fn channel(&self, name: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.name == name)
    }

    /// The channel of a program: the statuses its members may take.
    pub fn program_channel(&self, program_id: i64) -> Option<(&Program, &Channel)> {
        let program = self.programs.get(&program_id)?;
        Some((program, self.channel(&program.channel)?))
    }

    pub fn insert_lead(&mut self, fields: Map<String, Value>, now: i64) -> i64 {
        self.next_lead_id = self.next_lead_id.max(1000) + 1;
        let id = self.next_lead_id;
        let lead = Lead {
            id,
            fields,
            created_at: now,
            updated_at: now,
            acquisition_program_id: None,
        };
        self.leads.insert(id, lead);
        id
    }

    /// Logs a "Change Status in Progression" activity for a membership change.
    pub fn log_status_change(
        &mut self,
        program_id: i64,
        lead_id: i64,
        old: &str,
        new: &str,
        now: i64,
    ) {
        let program_name = self
            .programs
            .get(&program_id)
            .map(|p| p.name.clone())
            .unwrap_or_default();
        let channel = self.program_channel(program_id).map(|(_, c)| c);
        let status_id = |name: &str| channel.and_then(|c| c.status_id(name)).unwrap_or(0);
        let (old_status_id, new_status_id) = (status_id(old), status_id(new));
        let success = channel
            .and_then(|c| c.status(new))
            .is_some_and(|s| s.success);
        let acquired_by = self
            .members
            .get(&(program_id, lead_id))
            .is_some_and(|m| m.acquired_by);
        let id = self.activities.len() as i64 + 1;
        self.activities.push(Activity {
            id,
            lead_id,
            activity_date: now,
            activity_type_id: CHANGE_STATUS_IN_PROGRESSION,
            program_id,
            program_name,
            old_status: old.to_string(),
            new_status: new.to_string(),
            old_status_id,
            new_status_id,
            success,
            acquired_by,
        });
    }

    /// Leads whose `field` equals `value`; e-mail compares case-insensitively, ids as numbers.
    pub fn leads_matching(&self, field: &str, value: &str) -> Vec<i64> {
        self.leads
            .values()
            .filter(|lead| match field {
                "id" => value.trim().parse::<i64>().is_ok_and(|id| id == lead.id),
                "email" => lead
                    .email()
                    .is_some_and(|e| e.eq_ignore_ascii_case(value.trim())),
                _ => match lead.fields.get(field) {
                    Some(Value::String(s)) => s == value,
                    Some(Value::Number(n)) => n.to_string() == value.trim(),
                    _ => false,
                },
            })
            .map(|lead| lead.id)
            .collect()
    }
}
