//! Seeding and control from Rust (`MarketoSim` methods): channels, programs, leads, webhooks, a
//! Marketo user's status change, token expiry and revocation, fault injection, inspection and
//! webhook delivery. `control_http` offers the sandbox's part of it over HTTP.

use std::time::Instant;

use serde_json::Value;

use super::MarketoSim;
use super::clock;
use super::inspect::{self, CallRecord};
use super::progression::{Actor, StatusResult};
use super::shared::{Shared, lock};
use super::webhooks::{WebhookCall, WebhookConfig};
use super::world::{
    Channel, Lead, Member, NOT_IN_PROGRAM, NewLead, NewProgram, Program, ProgressionStatus,
};

/// Errors of the simulator's Rust control API.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot bind the simulator's listener")]
    Bind(#[from] std::io::Error),
    #[error("channel {0:?} already exists")]
    DuplicateChannel(String),
    #[error("no channel named {0:?}")]
    UnknownChannel(String),
    #[error("program {0} already exists")]
    DuplicateProgram(i64),
    #[error("no program {0}")]
    UnknownProgram(i64),
    #[error("status change skipped: {code} {message}")]
    Skipped { code: String, message: String },
    #[error("{0} is not a transient failure code (604, 608, 611, 713)")]
    UnknownFault(String),
}

/// What a user's status change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    Created,
    Updated,
    /// "Not in Program": the membership was removed.
    Removed,
}

impl MarketoSim {
    /// Adds a channel. Statuses are ordered by step; "Not in Program" at step 0 is added when
    /// missing, since every Marketo channel has it.
    pub fn add_channel(
        &self,
        name: &str,
        mut statuses: Vec<ProgressionStatus>,
    ) -> Result<i64, SimError> {
        if !statuses.iter().any(|s| s.name == NOT_IN_PROGRAM) {
            statuses.push(ProgressionStatus::new(NOT_IN_PROGRAM, 0, false));
        }
        statuses.sort_by_key(|s| s.step);
        let now = clock::now_ms();
        let mut world = lock(&self.shared.world);
        if world.channel(name).is_some() {
            return Err(SimError::DuplicateChannel(name.to_string()));
        }
        let id = world.channels.len() as i64 + 1;
        world.channels.push(Channel {
            id,
            name: name.to_string(),
            applicable_program_type: "program".to_string(),
            progression_statuses: statuses,
            created_at: now,
            updated_at: now,
        });
        Ok(id)
    }

    /// Adds a program in an existing channel.
    pub fn add_program(&self, program: NewProgram) -> Result<(), SimError> {
        let now = clock::now_ms();
        let mut world = lock(&self.shared.world);
        if world.channel(&program.channel).is_none() {
            return Err(SimError::UnknownChannel(program.channel));
        }
        if world.programs.contains_key(&program.id) {
            return Err(SimError::DuplicateProgram(program.id));
        }
        let program = Program {
            id: program.id,
            name: program.name,
            description: String::new(),
            channel: program.channel,
            costs: program.costs,
            sfdc_id: program.sfdc_id,
            sfdc_name: program.sfdc_name,
            created_at: now,
            updated_at: now,
        };
        world.programs.insert(program.id, program);
        Ok(())
    }

    /// Adds a person and returns its id. E-mails need not be unique (Marketo allows duplicates).
    pub fn add_lead(&self, lead: NewLead) -> i64 {
        lock(&self.shared.world).insert_lead(lead.into_fields(), clock::now_ms())
    }

    /// Adds `lead` just before the next lead sync (`POST leads.json`) is applied: another
    /// integration creating the person while a caller looked them up and found nobody.
    pub fn add_lead_before_next_sync(&self, lead: NewLead) {
        lock(&self.shared.world)
            .racing_leads
            .push(lead.into_fields());
    }

    /// Merges `loser` into `winner` as a Marketo user's "Merge Leads" does: the loser is gone
    /// (any call naming it finds no lead), its program memberships move to the winner where the
    /// winner is not a member already. False when either lead is unknown.
    pub fn merge_leads(&self, winner: i64, loser: i64) -> bool {
        let mut world = lock(&self.shared.world);
        if winner == loser
            || !world.leads.contains_key(&winner)
            || world.leads.remove(&loser).is_none()
        {
            return false;
        }
        world.move_memberships(winner, loser);
        true
    }

    /// Adds a "Program Status is Changed" campaign that calls a webhook.
    pub fn add_webhook(&self, webhook: WebhookConfig) {
        lock(&self.shared.world).webhooks.configs.push(webhook);
    }

    /// A Marketo user's "Change Program Status" flow step: joins the program if needed, moves
    /// forward only ("A person cannot move backwards to an earlier program status"; skipped
    /// 1037), and fires the webhooks. "Not in Program" removes the membership.
    pub fn set_status_as_user(
        &self,
        program_id: i64,
        lead_id: i64,
        status: &str,
    ) -> Result<StatusChange, SimError> {
        set_status_as_user(&self.shared, program_id, lead_id, status)
    }

    pub fn member(&self, program_id: i64, lead_id: i64) -> Option<Member> {
        lock(&self.shared.world)
            .members
            .get(&(program_id, lead_id))
            .cloned()
    }

    pub fn members(&self, program_id: i64) -> Vec<Member> {
        let world = lock(&self.shared.world);
        let range = (program_id, i64::MIN)..=(program_id, i64::MAX);
        world.members.range(range).map(|(_, m)| m.clone()).collect()
    }

    pub fn lead(&self, lead_id: i64) -> Option<Lead> {
        lock(&self.shared.world).leads.get(&lead_id).cloned()
    }

    pub fn leads(&self) -> Vec<Lead> {
        lock(&self.shared.world).leads.values().cloned().collect()
    }

    pub fn program(&self, program_id: i64) -> Option<Program> {
        lock(&self.shared.world).programs.get(&program_id).cloned()
    }

    /// Every token answers 601 from now on.
    pub fn revoke_tokens(&self) {
        lock(&self.shared.tokens).revoke_all();
    }

    /// Revokes a client's credentials (every client's with `None`): identity refuses them and
    /// their tokens answer 601, until `restore_credentials`.
    pub fn revoke_credentials(&self, client_id: Option<&str>) {
        let clients = self.clients_named(client_id);
        lock(&self.shared.tokens).revoke_credentials(&clients);
    }

    pub fn restore_credentials(&self, client_id: Option<&str>) {
        let clients = self.clients_named(client_id);
        lock(&self.shared.tokens).restore_credentials(&clients);
    }

    fn clients_named(&self, client_id: Option<&str>) -> Vec<String> {
        let every = self.shared.config.clients.iter();
        crate::sim::credentials::named(client_id, every.map(|c| c.client_id.as_str()))
    }

    /// Every token answers 602 from now on; identity then issues a new one.
    pub fn expire_tokens(&self) {
        lock(&self.shared.tokens).expire_all(Instant::now());
    }

    /// The next REST calls fail with these transient codes, in order.
    pub fn inject_faults(&self, codes: &[&str]) -> Result<(), SimError> {
        lock(&self.shared.faults)
            .queue(codes)
            .map_err(SimError::UnknownFault)
    }

    /// The call log: identity, REST and webhook calls, in order.
    pub fn requests(&self) -> Vec<CallRecord> {
        lock(&self.shared.log).clone()
    }

    /// Every webhook call made so far.
    pub fn webhook_calls(&self) -> Vec<WebhookCall> {
        lock(&self.shared.webhook_calls).clone()
    }

    pub fn pending_webhooks(&self) -> usize {
        lock(&self.shared.world).webhooks.pending.len()
    }

    /// Sends every queued webhook call now and returns what happened to each.
    pub async fn deliver_webhooks_now(&self) -> Vec<WebhookCall> {
        self.shared.deliver_pending().await
    }

    /// The `/__sim/state` snapshot.
    pub fn state(&self) -> Value {
        inspect::snapshot(&self.shared)
    }
}

pub(super) fn set_status_as_user(
    shared: &Shared,
    program_id: i64,
    lead_id: i64,
    status: &str,
) -> Result<StatusChange, SimError> {
    if !lock(&shared.world).programs.contains_key(&program_id) {
        return Err(SimError::UnknownProgram(program_id));
    }
    let now = clock::now_ms();
    let result = shared
        .change_world(|world| world.change_status(program_id, lead_id, status, Actor::User, now));
    match result {
        StatusResult::Created => Ok(StatusChange::Created),
        StatusResult::Updated => Ok(StatusChange::Updated),
        StatusResult::Removed => Ok(StatusChange::Removed),
        StatusResult::Skipped(skip) => Err(SimError::Skipped {
            code: skip.code.to_string(),
            message: skip.message.to_string(),
        }),
    }
}

impl MarketoSim {
    /// A smart campaign whose trigger is "Campaign is Requested" (source Web Service API).
    pub fn add_requestable_campaign(&self, id: i64, name: &str) {
        lock(&self.shared.custom_activities)
            .campaigns
            .insert(id, name.to_string());
    }

    pub fn custom_activity_types(&self) -> Vec<crate::sim::marketo::ActivityType> {
        lock(&self.shared.custom_activities).types.clone()
    }

    pub fn custom_activities(&self) -> Vec<crate::sim::marketo::PostedActivity> {
        lock(&self.shared.custom_activities).posted.clone()
    }

    pub fn campaign_requests(&self) -> Vec<crate::sim::marketo::CampaignRequest> {
        lock(&self.shared.custom_activities).requests.clone()
    }
}

impl MarketoSim {
    /// Every bulk export job (whoever created it) as its status endpoint shows it, oldest first.
    pub fn export_jobs(&self) -> Vec<Value> {
        let exports = lock(&self.shared.exports);
        exports.jobs().iter().map(|job| job.view()).collect()
    }

    /// Export jobs that finish processing from now on fail with `error` (`None`: they complete).
    pub fn fail_exports(&self, error: Option<&str>) {
        lock(&self.shared.exports).fail_with = error.map(str::to_string);
    }

    /// The next export file answer breaks off after `bytes` bytes, as a dropped connection does.
    pub fn cut_next_export_file(&self, bytes: usize) {
        lock(&self.shared.exports).cut_next_file = Some(bytes);
    }

    /// Members a program may have for a member query by status or `updatedAt` from now on
    /// (`MarketoSimConfig::member_filter_cap` until then): a bench lowers it to send one run
    /// of a seeded program through the bulk extract.
    pub fn set_member_filter_cap(&self, cap: usize) {
        self.shared
            .member_filter_cap
            .store(cap, std::sync::atomic::Ordering::Relaxed);
    }
}
