//! Program status changes under Marketo's rules: progression only moves forward (a lead already
//! in the target status, or at a greater step, is skipped with 1037; another status of the same
//! step is a move), statuses come from the program's channel (1025
//! otherwise), and every change fires the "Program Status is Changed" smart campaigns.

use super::world::{Member, NOT_IN_PROGRAM, World};

/// Who changes a status. Both fire the webhooks, as in Marketo, where the trigger does not care
/// whether the API or a person made the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// `members/status.json`.
    Api,
    /// A Marketo user's "Change Program Status" flow step. It may also set "Not in Program",
    /// which removes the membership (Marketo's documented way to take someone out of a program).
    User,
}

/// A record-level skip reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skip {
    pub code: &'static str,
    pub message: &'static str,
}

pub const ALREADY_PAST: Skip = Skip {
    code: "1037",
    message: "Lead skipped because it is already in or past this status",
};
pub const NOT_IN_PROGRAM_SKIP: Skip = Skip {
    code: "1037",
    message: "Lead not in program",
};
pub const STATUS_NOT_FOUND: Skip = Skip {
    code: "1025",
    message: "Program status not found",
};
pub const LEAD_NOT_FOUND: Skip = Skip {
    code: "1004",
    message: "Lead not found",
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusResult {
    Created,
    Updated,
    /// A user set "Not in Program": the membership is gone.
    Removed,
    Skipped(Skip),
}

impl World {
    /// Moves `lead_id` to `status` in `program_id` if that is a step forward. The caller has
    /// checked that the program exists.
    pub fn change_status(
        &mut self,
        program_id: i64,
        lead_id: i64,
        status: &str,
        actor: Actor,
        now: i64,
    ) -> StatusResult {
        let Some((_, channel)) = self.program_channel(program_id) else {
            return StatusResult::Skipped(STATUS_NOT_FOUND);
        };
        let Some(target) = channel.status(status).cloned() else {
            return StatusResult::Skipped(STATUS_NOT_FOUND);
        };
        if !self.leads.contains_key(&lead_id) {
            return StatusResult::Skipped(LEAD_NOT_FOUND);
        }
        let current = self.members.get(&(program_id, lead_id)).cloned();
        let result = match (&current, target.name.as_str()) {
            (Some(_), NOT_IN_PROGRAM) if actor == Actor::User => {
                self.members.remove(&(program_id, lead_id));
                StatusResult::Removed
            }
            (_, NOT_IN_PROGRAM) => return StatusResult::Skipped(ALREADY_PAST),
            // "If a lead's status has a greater step value than the designated statusName, the
            // request skips that lead": a status sharing the step is not skipped.
            (Some(member), _) if member.step > target.step || member.status_name == target.name => {
                return StatusResult::Skipped(ALREADY_PAST);
            }
            (Some(member), _) => {
                let mut member = member.clone();
                member.status_name = target.name.clone();
                member.step = target.step;
                if target.success && !member.reached_success {
                    member.reached_success = true;
                    member.reached_success_date = Some(now);
                }
                member.updated_at = now;
                self.members.insert((program_id, lead_id), member);
                StatusResult::Updated
            }
            (None, _) => {
                let acquired_by = self.acquire(lead_id, program_id);
                let member = Member {
                    program_id,
                    lead_id,
                    status_name: target.name.clone(),
                    step: target.step,
                    membership_date: now,
                    reached_success: target.success,
                    reached_success_date: target.success.then_some(now),
                    acquired_by,
                    created_at: now,
                    updated_at: now,
                };
                self.members.insert((program_id, lead_id), member);
                StatusResult::Created
            }
        };
        let old = current.map_or(NOT_IN_PROGRAM.to_string(), |m| m.status_name);
        self.log_status_change(program_id, lead_id, &old, &target.name, now);
        self.fire_status_changed(program_id, lead_id, now);
        result
    }

    /// Removes a membership (`members/delete.json`). Not a status change, so no trigger fires;
    /// the log records the member leaving the program (the simulator's reading: Marketo shows
    /// the person back at "Not in Program").
    pub fn delete_member(&mut self, program_id: i64, lead_id: i64, now: i64) -> Result<(), Skip> {
        let removed = self
            .members
            .remove(&(program_id, lead_id))
            .ok_or(NOT_IN_PROGRAM_SKIP)?;
        self.log_status_change(
            program_id,
            lead_id,
            &removed.status_name,
            NOT_IN_PROGRAM,
            now,
        );
        Ok(())
    }

    /// Marks `program_id` as the lead's acquisition program if it has none yet.
    fn acquire(&mut self, lead_id: i64, program_id: i64) -> bool {
        match self.leads.get_mut(&lead_id) {
            Some(lead) if lead.acquisition_program_id.is_none() => {
                lead.acquisition_program_id = Some(program_id);
                true
            }
            _ => false,
        }
    }

    fn fire_status_changed(&mut self, program_id: i64, lead_id: i64, now: i64) {
        let World {
            programs,
            leads,
            webhooks,
            ..
        } = self;
        if let (Some(program), Some(lead)) = (programs.get(&program_id), leads.get(&lead_id)) {
            webhooks.status_changed(lead, program, now);
        }
    }
}
