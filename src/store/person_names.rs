//! The people a failing signal names, as the operator lists show them: e-mail, Marketo lead id,
//! Salesforce Lead/Contact and CampaignMember ids, read from its payload and completed from the
//! identity table and the mirror (a webhook names no Salesforce record, a notification no lead).

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;

use super::queries::MappingScope;
use super::{Store, StoreError};

/// Who a failing signal is about, by every id the service knows them by.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PersonNames {
    pub email: Option<String>,
    pub marketo_lead_id: Option<i64>,
    pub salesforce_person_id: Option<String>,
    pub campaign_member_id: Option<String>,
}

impl PersonNames {
    /// What the payload itself says (a Salesforce payload's `lead_id` is a Lead id, a
    /// Marketo one's a lead number).
    pub(super) fn of_payload(payload: &Value) -> Self {
        let text = |k: &str| payload.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let marketo = payload.get("lead_id").and_then(Value::as_i64);
        PersonNames {
            email: text("email"),
            marketo_lead_id: marketo,
            salesforce_person_id: text("contact_id").or_else(|| {
                if marketo.is_none() {
                    text("lead_id")
                } else {
                    None
                }
            }),
            campaign_member_id: text("member_id"),
        }
    }

    fn complete(&self) -> bool {
        self.email.is_some()
            && self.marketo_lead_id.is_some()
            && self.salesforce_person_id.is_some()
            && self.campaign_member_id.is_some()
    }
}

/// Where a failing signal's campaign member may be looked up in the mirror.
pub(super) enum Scope {
    /// The signal names no campaign or program, or no mappings were given.
    Any,
    /// The mapping its campaign or program belongs to.
    In(String),
    /// It names a campaign or program no mapping covers: the mirror has no member of it.
    Outside,
}

pub(super) fn scope_of(scopes: &[MappingScope], payload: &Value) -> Scope {
    if scopes.is_empty() {
        return Scope::Any;
    }
    let campaign = payload.get("campaign_id").and_then(|v| v.as_str());
    let program = payload.get("program_id").and_then(Value::as_i64);
    let found = match (campaign, program) {
        (Some(c), _) => scopes
            .iter()
            .find(|s| crate::ids::SalesforceId::same(&s.campaign_id, c)),
        (None, Some(p)) => scopes.iter().find(|s| s.program_id == p),
        (None, None) => return Scope::Any,
    };
    found.map_or(Scope::Outside, |s| Scope::In(s.name.clone()))
}

impl Store {
    /// The names of the person `payload` is about: what it says, with the ids it does not
    /// carry filled from the identity table and the mirror (the campaign member of the mapping
    /// `scopes` say the signal belongs to). `stored`: the person an earlier try of the signal
    /// found it to be about, kept on it while it failed or waited.
    pub(super) async fn person_names(
        &self,
        payload: &Value,
        scopes: &[MappingScope],
        stored: Option<&str>,
    ) -> Result<PersonNames, StoreError> {
        let mut names = PersonNames::of_payload(payload);
        self.complete_names(&mut names, &scope_of(scopes, payload), stored)
            .await?;
        Ok(names)
    }

    async fn complete_names(
        &self,
        s: &mut PersonNames,
        scope: &Scope,
        stored: Option<&str>,
    ) -> Result<(), StoreError> {
        if s.complete() {
            return Ok(());
        }
        let mut found = self
            .find_identity(
                s.marketo_lead_id,
                s.salesforce_person_id.as_deref(),
                s.email.as_deref(),
            )
            .await?;
        // A deletion names only the campaign member: its person is the one the mirror holds it
        // for.
        if found.is_none()
            && let Some(member) = s.campaign_member_id.as_deref()
            && let Some(row) = self.mirror_by_member(member).await?.into_iter().next()
            && let Ok(id) = row.person.parse()
        {
            found = self.identity(id).await?;
        }
        // Once the removal landed another way, the mirror no longer holds the member.
        if found.is_none()
            && let Some(id) = stored.and_then(|p| p.parse().ok())
        {
            found = self.identity(id).await?;
        }
        let Some(person) = found else {
            return Ok(());
        };
        s.email = s.email.take().or(person.email);
        s.marketo_lead_id = s.marketo_lead_id.or(person.mkto_lead_id);
        s.salesforce_person_id = s
            .salesforce_person_id
            .take()
            .or(person.sf_contact_id)
            .or(person.sf_lead_id);
        let mapping = match scope {
            Scope::Outside => return Ok(()),
            Scope::Any => None,
            Scope::In(mapping) => Some(mapping.as_str()),
        };
        if s.campaign_member_id.is_none() {
            let member = sqlx::query(
                "SELECT sf_member_id FROM mirror WHERE person = $1 \
                 AND ($2 IS NULL OR mapping = $2) \
                 AND sf_member_id IS NOT NULL ORDER BY synced_at DESC LIMIT 1",
            )
            .bind(person.id.to_string())
            .bind(mapping)
            .fetch_optional(&self.pool)
            .await?;
            s.campaign_member_id = member.map(|r| r.try_get(0)).transpose()?;
        }
        Ok(())
    }
}
