//! The simulator's Rust control API for tests, benchmarks and the sandbox: seed records, act as
//! a given client (so a "user" change queues outbound messages exactly like its REST call
//! would), expire or revoke tokens, move the clock, read state, and deliver outbound now (or
//! again, once acknowledged).

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::control_http;
use super::inspect;
use super::org::as_map;
use super::outbound::{self, DeliveryReport};
use super::schema::Kind;
use super::state::{CallRecord, lock};
use super::view;
use super::{SalesforceSim, SimError};
use crate::config::{SalesforceConfig, Secret};

/// One CampaignMemberStatus of a campaign being seeded.
#[derive(Debug, Clone)]
pub struct MemberStatus {
    pub label: String,
    pub is_default: bool,
    pub has_responded: bool,
}

impl MemberStatus {
    pub fn new(label: &str, is_default: bool, has_responded: bool) -> MemberStatus {
        MemberStatus {
            label: label.to_owned(),
            is_default,
            has_responded,
        }
    }
}

impl SalesforceSim {
    /// Creates a campaign with exactly these member statuses (SortOrder in the given order), or
    /// Salesforce's defaults "Sent" and "Responded" when `statuses` is empty.
    pub fn create_campaign(
        &self,
        fields: Value,
        statuses: &[MemberStatus],
    ) -> Result<String, SimError> {
        let mut org = lock(&self.shared.org);
        if statuses.is_empty() {
            return Ok(org.create(Kind::Campaign, as_map(&fields), false)?);
        }
        // All or nothing, without copying the org (a copy per campaign made seeding thousands
        // of programs take minutes): a refused status takes the new campaign away again.
        let id = org.insert(Kind::Campaign, as_map(&fields), false)?;
        for (order, status) in statuses.iter().enumerate() {
            let row = json!({"CampaignId": id, "Label": status.label, "IsDefault": status.is_default,
                "HasResponded": status.has_responded, "SortOrder": order + 1});
            if let Err(error) = org.insert(Kind::CampaignMemberStatus, as_map(&row), false) {
                let _ = org.delete(&id);
                return Err(error.into());
            }
        }
        Ok(id)
    }

    pub fn create_lead(&self, fields: Value) -> Result<String, SimError> {
        Ok(lock(&self.shared.org).create(Kind::Lead, as_map(&fields), false)?)
    }

    pub fn create_contact(&self, fields: Value) -> Result<String, SimError> {
        Ok(lock(&self.shared.org).create(Kind::Contact, as_map(&fields), false)?)
    }

    /// Marks a lead converted (Salesforce's `convertLead`); it can no longer join campaigns.
    pub fn convert_lead(&self, lead_id: &str) -> Result<(), SimError> {
        Ok(lock(&self.shared.org).mark_converted(lead_id)?)
    }

    /// Creates any record as `client_id` would over REST.
    pub fn create(
        &self,
        client_id: &str,
        sobject: &str,
        fields: Value,
    ) -> Result<String, SimError> {
        let sends = self.sends(client_id)?;
        let kind = Kind::parse(sobject).ok_or_else(|| SimError::UnknownType(sobject.to_owned()))?;
        Ok(lock(&self.shared.org).create(kind, as_map(&fields), sends)?)
    }

    pub fn update(&self, client_id: &str, id: &str, fields: Value) -> Result<(), SimError> {
        let sends = self.sends(client_id)?;
        Ok(lock(&self.shared.org).update(id, as_map(&fields), sends)?)
    }

    pub fn delete(&self, client_id: &str, id: &str) -> Result<(), SimError> {
        self.sends(client_id)?;
        Ok(lock(&self.shared.org).delete(id)?)
    }

    /// Adds a Lead or Contact to a campaign as `client_id`; `status` `None` takes the default.
    pub fn add_member(
        &self,
        client_id: &str,
        campaign_id: &str,
        person_id: &str,
        status: Option<&str>,
    ) -> Result<String, SimError> {
        let person_field = if person_id.starts_with("003") {
            "ContactId"
        } else {
            "LeadId"
        };
        let mut fields = json!({"CampaignId": campaign_id, person_field: person_id});
        if let Some(status) = status {
            fields["Status"] = json!(status);
        }
        self.create(client_id, "CampaignMember", fields)
    }

    pub fn update_member(
        &self,
        client_id: &str,
        member_id: &str,
        status: &str,
    ) -> Result<(), SimError> {
        self.update(client_id, member_id, json!({"Status": status}))
    }

    pub fn delete_member(&self, client_id: &str, member_id: &str) -> Result<(), SimError> {
        self.delete(client_id, member_id)
    }

    /// Any live record, with every readable field.
    pub fn record(&self, id: &str) -> Option<Map<String, Value>> {
        let org = lock(&self.shared.org);
        org.get(id).ok().map(|r| view::fields(&org, r))
    }

    pub fn campaign(&self, id: &str) -> Option<Map<String, Value>> {
        self.record(id).filter(|r| {
            r.get("Id")
                .and_then(Value::as_str)
                .is_some_and(|i| i.starts_with("701"))
        })
    }

    pub fn members_of(&self, campaign_id: &str) -> Vec<Map<String, Value>> {
        self.related(Kind::CampaignMember, campaign_id)
    }

    pub fn statuses_of(&self, campaign_id: &str) -> Vec<Map<String, Value>> {
        let org = lock(&self.shared.org);
        org.statuses_of(campaign_id)
            .into_iter()
            .map(|r| view::fields(&org, r))
            .collect()
    }

    /// Everything `GET /__sim/state` shows.
    pub fn state(&self) -> Value {
        inspect::snapshot(&lock(&self.shared.org))
    }

    pub fn requests(&self) -> Vec<CallRecord> {
        lock(&self.shared.log).clone()
    }

    pub fn api_usage(&self) -> u64 {
        self.shared.api_usage.used(self.shared.now())
    }

    pub fn outbound_queue_len(&self) -> usize {
        lock(&self.shared.org).queue.len()
    }

    /// Invalidates every issued token, as an admin revoking sessions does.
    pub fn revoke_tokens(&self) {
        lock(&self.shared.sessions).clear();
    }

    /// Revokes a client's credentials (every client's with `None`): its sessions end and token
    /// requests get 400 `invalid_grant` "authentication failure", until `restore_credentials`.
    pub fn revoke_credentials(&self, client_id: Option<&str>) {
        self.shared
            .revoke_credentials(&self.clients_named(client_id));
    }

    pub fn restore_credentials(&self, client_id: Option<&str>) {
        self.shared
            .restore_credentials(&self.clients_named(client_id));
    }

    fn clients_named(&self, client_id: Option<&str>) -> Vec<String> {
        let every = self.shared.config.clients.iter();
        crate::sim::credentials::named(client_id, every.map(|c| c.client_id.as_str()))
    }

    /// Ends every session as if its idle timeout had passed.
    pub fn expire_tokens(&self) {
        lock(&self.shared.sessions).clear();
    }

    /// Moves the org's clock forward: timestamps, getDeleted windows and outbound ages follow.
    pub fn advance_clock(&self, by: Duration) {
        lock(&self.shared.org).clock.advance(by);
    }

    /// Purges the org's delete log, as Salesforce may when it grows large: getDeleted reports
    /// no deletion made before now, and its `earliestDateAvailable` says where the log begins.
    pub fn purge_delete_log(&self) {
        let mut org = lock(&self.shared.org);
        org.delete_log_from = org.clock.now();
    }

    /// The org's clock, epoch milliseconds (the machine's, plus what tests advanced it by).
    pub fn now(&self) -> i64 {
        self.shared.now()
    }

    /// Points outbound messages at `endpoint_url` (with its `?token=`), for a service started
    /// after the simulator.
    pub fn set_outbound_endpoint(&self, endpoint_url: &str) {
        control_http::set_endpoint(&self.shared, endpoint_url);
    }

    /// Sets the service's Salesforce settings to reach this simulator as `client_id`: login and
    /// instance URL, API version, credentials and the org id its receiver must accept.
    pub fn configure_service(
        &self,
        settings: &mut SalesforceConfig,
        client_id: &str,
    ) -> Result<(), SimError> {
        let client = self
            .shared
            .config
            .client(client_id)
            .ok_or_else(|| SimError::UnknownClient(client_id.to_owned()))?;
        settings.login_url = self.shared.base_url.clone();
        settings.instance_url = self.shared.base_url.clone();
        settings.api_version = format!("v{}", self.shared.config.api_version);
        settings.client_id = client.client_id.clone();
        settings.client_secret = Secret::new(client.client_secret.clone());
        settings.organization_ids = vec![self.shared.config.organization_id.clone()];
        Ok(())
    }

    /// Queues acknowledged notifications to be delivered again with their own notification
    /// ids, as Salesforce's at-least-once delivery may: those named, or every one remembered
    /// when `notification_ids` is empty. Answers the ids queued.
    pub fn redeliver_acknowledged(
        &self,
        notification_ids: &[String],
    ) -> Result<Vec<String>, SimError> {
        lock(&self.shared.org)
            .redeliver(notification_ids)
            .map_err(SimError::UnknownNotification)
    }

    /// Sends every queued notification now, in batches, whatever its retry time.
    pub async fn deliver_outbound_now(&self) -> DeliveryReport {
        outbound::deliver(&self.shared, true).await
    }

    fn sends(&self, client_id: &str) -> Result<bool, SimError> {
        self.shared
            .config
            .client(client_id)
            .map(|c| c.sends_outbound_messages)
            .ok_or_else(|| SimError::UnknownClient(client_id.to_owned()))
    }

    fn related(&self, kind: Kind, campaign_id: &str) -> Vec<Map<String, Value>> {
        let org = lock(&self.shared.org);
        let campaign = org
            .get(campaign_id)
            .ok()
            .and_then(|c| c.text("Id"))
            .map(str::to_owned);
        org.records_of(kind)
            .filter(|r| r.text("CampaignId").map(str::to_owned) == campaign)
            .map(|r| view::fields(&org, r))
            .collect()
    }
}
