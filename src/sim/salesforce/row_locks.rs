//! The Campaign row a CampaignMember write locks: Salesforce locks the parent Campaign while it
//! writes its members (roll-up counts), so two writes to one campaign's members at once take
//! turns, and one that waits longer than the lock timeout fails its records with
//! `UNABLE_TO_LOCK_ROW`. Deleting members locks the row the same way. Modelled only when
//! `SalesforceSimConfig::campaign_row_hold` is set: each CampaignMember collection write or
//! delete then holds its campaigns' rows that long.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::org::Org;
use super::schema::Kind;
use super::state::{Shared, lock};

/// One async lock per campaign id, made on first use.
#[derive(Default)]
pub struct RowLocks(std::sync::Mutex<HashMap<String, Arc<Mutex<()>>>>);

impl RowLocks {
    fn of(&self, campaign: &str) -> Arc<Mutex<()>> {
        let mut rows = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(rows.entry(campaign.to_owned()).or_default())
    }
}

/// Takes these campaigns' rows (in id order, so two writes never wait on each other
/// crosswise), then holds them for the configured write time. `Err` names the campaigns whose
/// row was not free within the lock timeout: their members' records fail.
pub async fn hold(
    shared: &Shared,
    campaigns: BTreeSet<String>,
) -> Result<Vec<OwnedMutexGuard<()>>, BTreeSet<String>> {
    let hold = shared.config.campaign_row_hold;
    if hold.is_zero() {
        return Ok(Vec::new());
    }
    let mut guards = Vec::with_capacity(campaigns.len());
    let mut refused = BTreeSet::new();
    for campaign in campaigns {
        let row = shared.row_locks.of(&campaign);
        match tokio::time::timeout(shared.config.row_lock_timeout, row.lock_owned()).await {
            Ok(guard) => guards.push(guard),
            Err(_) => {
                refused.insert(campaign);
            }
        }
    }
    if !refused.is_empty() {
        return Err(refused);
    }
    tokio::time::sleep(hold).await;
    Ok(guards)
}

/// The campaigns of CampaignMember records (a create or an update).
pub fn campaigns_of(shared: &Shared, records: &[Value]) -> BTreeSet<String> {
    let org = lock(&shared.org);
    records
        .iter()
        .filter_map(|r| campaign_of(&org, r))
        .collect()
}

/// The campaigns of the CampaignMembers among these ids (a delete).
pub fn campaigns_of_ids(shared: &Shared, ids: &[Value]) -> BTreeSet<String> {
    let org = lock(&shared.org);
    ids.iter()
        .filter_map(|id| campaign_of_id(&org, id.as_str()?))
        .collect()
}

/// The campaign of the stored CampaignMember `id`; `None` for another record or none.
pub fn campaign_of_id(org: &Org, id: &str) -> Option<String> {
    let record = org.get(id).ok()?;
    if record.kind != Kind::CampaignMember {
        return None;
    }
    record.text("CampaignId").map(str::to_owned)
}

/// The campaign of a CampaignMember record: its `CampaignId`, or the stored member's; `None`
/// for another type.
pub fn campaign_of(org: &Org, record: &Value) -> Option<String> {
    if record["attributes"]["type"] != "CampaignMember" {
        return None;
    }
    match record["CampaignId"].as_str() {
        Some(campaign) => Some(campaign.to_owned()),
        None => {
            let id = record["Id"].as_str().or(record["id"].as_str())?;
            org.get(id).ok()?.text("CampaignId").map(str::to_owned)
        }
    }
}
