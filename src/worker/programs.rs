//! What the settings pass and the compatibility check know of Marketo, kept between passes so
//! that an idle pass costs the same for 1 or 500 mappings: each mapped program (read by id
//! only when the browse says it changed, or on the slower full pass, since Marketo does not
//! document that a cost edit moves `updatedAt`), and every channel's statuses (listed once,
//! again when a program names an unknown channel, with each full pass, and daily).

use std::collections::{BTreeMap, BTreeSet};

use crate::connectors::CallError;
use crate::connectors::marketo::{ProgramInfo, ProgressionStatus};
use crate::sync::time::format_millis;

use super::context::Context;

const DAY_MS: i64 = 86_400_000;
/// The browse looks back this much further than the previous one ended: Marketo's clock and
/// ours may differ, and a program read twice costs one call.
const BROWSE_OVERLAP_MS: i64 = 60_000;

#[derive(Default)]
pub struct ProgramCache {
    programs: BTreeMap<i64, ProgramInfo>,
    channels: BTreeMap<String, Vec<ProgressionStatus>>,
    channels_at: Option<i64>,
    /// Where the last browse ended (epoch ms), `None` before the first.
    browsed_to: Option<i64>,
    full_at: Option<i64>,
}

impl ProgramCache {
    /// Brings the mapped programs up to date: all of them on the first and every full pass,
    /// otherwise those the browse lists as changed. Returns how many were read by id.
    pub async fn refresh(&mut self, ctx: &Context, now: i64) -> Result<usize, CallError> {
        let mapped: BTreeSet<i64> = ctx
            .mappings
            .all()
            .iter()
            .map(|m| m.config.program_id)
            .collect();
        let full_every = i64::try_from(ctx.config.schedules.program_costs_full_secs)
            .unwrap_or(i64::MAX / 2000)
            .saturating_mul(1000);
        let full = self.full_at.is_none_or(|at| now - at >= full_every);
        // Read up to the next whole second: the browse compares to the second.
        let until = (now + 999).div_euclid(1000) * 1000;
        let stale: BTreeSet<i64> = match self.browsed_to {
            Some(from) if !full => ctx
                .marketo
                .programs_updated(
                    &format_millis(from - BROWSE_OVERLAP_MS),
                    &format_millis(until),
                )
                .await?
                .into_iter()
                .filter(|p| mapped.contains(&p.id))
                // The overlap lists recent programs again; unchanged ones are not read again.
                .filter(|p| {
                    self.programs.get(&p.id).is_none_or(|known| {
                        known.updated_at.is_none() || known.updated_at != p.updated_at
                    })
                })
                .map(|p| p.id)
                .chain(
                    mapped
                        .iter()
                        .copied()
                        .filter(|id| !self.programs.contains_key(id)),
                )
                .collect(),
            _ => mapped.clone(),
        };
        for &id in &stale {
            let program = ctx.marketo.program(id).await?;
            self.programs.insert(id, program);
        }
        self.programs.retain(|id, _| mapped.contains(id));
        self.browsed_to = Some(until);
        if full {
            self.full_at = Some(now);
            // The channel list goes with the full pass (a status added to a channel since).
            self.channels_at = None;
        }
        Ok(stale.len())
    }

    /// The program as last read, reading it now if it was never read.
    pub async fn program(&mut self, ctx: &Context, id: i64) -> Result<&ProgramInfo, CallError> {
        if let std::collections::btree_map::Entry::Vacant(slot) = self.programs.entry(id) {
            slot.insert(ctx.marketo.program(id).await?);
        }
        Ok(&self.programs[&id])
    }

    /// The statuses of a channel, listing every channel again when this one is unknown, after
    /// each full pass, or when the list is a day old.
    pub async fn channel(
        &mut self,
        ctx: &Context,
        name: &str,
        now: i64,
    ) -> Result<Vec<ProgressionStatus>, CallError> {
        let old = self.channels_at.is_none_or(|at| now - at >= DAY_MS);
        if old || !self.channels.contains_key(name) {
            self.channels = ctx
                .marketo
                .channels()
                .await?
                .into_iter()
                .map(|c| (c.name, c.progression_statuses))
                .collect();
            self.channels_at = Some(now);
        }
        self.channels
            .get(name)
            .cloned()
            .ok_or_else(|| CallError::Permanent(format!("Marketo channel {name:?} not found")))
    }
}
