//! The Marketo activity feed: program status activities (joining, moving, leaving) of mapped
//! programs since the stored paging token, each a member signal the worker re-reads.

use std::collections::{BTreeMap, BTreeSet};

use crate::connectors::marketo::activities::ActivityRecord;
use crate::sync::activity_synced;
use crate::sync::time::parse_millis;

use crate::signal::{Dedup, MarketoMember, NewSignal, Signal};
use crate::store::cursors::MARKETO_ACTIVITIES;
use crate::sync::time::format_millis;

use super::super::context::Context;
use super::super::work::WorkError;

/// Pages read in one pass at most; the next pass continues from the stored token.
const MAX_PAGES: usize = 50;

/// Reads the feed up to now; returns how many signals it recorded. On a fresh database the
/// feed starts at `now` (the service's first pass).
pub async fn read(ctx: &Context, now: i64) -> Result<usize, WorkError> {
    let programs: BTreeSet<i64> = ctx
        .mappings
        .all()
        .iter()
        .map(|m| m.config.program_id)
        .collect();
    if programs.is_empty() {
        return Ok(0);
    }
    let mut token = match ctx.store.cursor(MARKETO_ACTIVITIES).await? {
        Some(token) => token,
        None => {
            let token = ctx
                .marketo
                .activity_paging_token(&format_millis(next_second(now)))
                .await?;
            ctx.store
                .set_cursor(MARKETO_ACTIVITIES, &token, now)
                .await?;
            token
        }
    };
    let ids: Vec<i64> = programs.iter().copied().collect();
    let mut recorded = 0;
    for _ in 0..MAX_PAGES {
        let page = ctx.marketo.status_activities(&token, &ids).await?;
        let signals = unsynced(ctx, &page.activities, &programs).await?;
        recorded += signals.len();
        // Recorded before the cursor moves: a crash in between reads the page again, and
        // the dedup key folds it.
        ctx.store
            .record(signals, crate::store::now_millis())
            .await?;
        ctx.store
            .set_cursor(MARKETO_ACTIVITIES, &page.next_token, now)
            .await?;
        token = page.next_token;
        if !page.more {
            break;
        }
    }
    Ok(recorded)
}

/// Member signals for the activities of mapped programs whose change the mirror does not hold
/// yet; the others were synced by their webhook (or were our own writes) and fold into it.
async fn unsynced(
    ctx: &Context,
    activities: &[ActivityRecord],
    programs: &BTreeSet<i64>,
) -> Result<Vec<NewSignal>, WorkError> {
    let mut by_program: BTreeMap<i64, Vec<&ActivityRecord>> = BTreeMap::new();
    for activity in activities {
        if let Some(program) = activity
            .primary_attribute_value_id
            .filter(|p| programs.contains(p))
        {
            by_program.entry(program).or_default().push(activity);
        }
    }
    let mut signals = Vec::new();
    for (program, activities) in by_program {
        let leads: Vec<i64> = activities.iter().map(|a| a.lead_id).collect();
        let mirror = match ctx.mappings.by_program(program) {
            Some(mapping) => ctx.store.mirrors_by_lead(mapping.name(), &leads).await?,
            None => Default::default(),
        };
        for activity in activities {
            let at = activity.activity_date.as_deref().and_then(parse_millis);
            let synced = activity_synced(mirror.get(&activity.lead_id), activity.new_status(), at);
            let outcome = if synced { "synced" } else { "signal" };
            metrics::counter!("marketo_feed_activities_total", "outcome" => outcome).increment(1);
            if !synced {
                signals.push(member_signal(program, activity.lead_id));
            }
        }
    }
    Ok(signals)
}

/// The first whole second at or after `now`: a start time is read to the second, and a
/// fresh feed should not pick up what happened before the service started.
pub(super) fn next_second(now: i64) -> i64 {
    (now + 999).div_euclid(1000) * 1000
}

/// One key per member of a program, folded while it waits: several activities (or a webhook
/// and an activity) for the same member cost one re-read.
fn member_signal(program_id: i64, lead_id: i64) -> NewSignal {
    NewSignal {
        dedup_key: format!("mkto:feed:{program_id}:{lead_id}"),
        signal: Signal::MarketoMember(MarketoMember {
            lead_id,
            program_id,
            email: None,
            status: None,
            trigger: Some("activity feed".into()),
        }),
        dedup: Dedup::WhilePending,
    }
}
