//! Console pages about people: search, and one person's state and timeline.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::session::Session;
use super::{or_dash, render, unavailable, when};
use crate::http::AppState;
use crate::http::query::{Limit, MAX_PAGE, Query};
use crate::store::{IdentityRow, Timeline};

pub struct PersonLink {
    id: i64,
    label: String,
}

fn label(p: &IdentityRow) -> String {
    p.email
        .clone()
        .unwrap_or_else(|| format!("person {}", p.id))
}

#[derive(Template)]
#[template(path = "console/people.html")]
struct PeoplePage {
    page: &'static str,
    csrf: String,
    notice: String,
    q: String,
    people: Vec<PersonLink>,
    /// When nobody matches: how many waiting or failed changes mention the text (a person the
    /// sync has not met yet, whose first change waits), shown with a link to the errors page.
    mentioned: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Search {
    q: Option<String>,
}

/// Search; an exact single match goes straight to that person's page.
pub async fn people(
    State(state): State<AppState>,
    session: Session,
    Query(search): Query<Search>,
) -> Response {
    let q = search.q.unwrap_or_default().trim().to_string();
    let found = if q.is_empty() {
        Vec::new()
    } else {
        match state.store().search_people(&q).await {
            Ok(found) => found,
            Err(error) => return unavailable(error),
        }
    };
    if let [one] = found.as_slice() {
        return Redirect::to(&format!("/console/people/{}", one.id)).into_response();
    }
    let mentioned = if found.is_empty() && !q.is_empty() {
        let filter = crate::store::FailingFilter {
            state: None,
            text: Some(q.clone()),
            before: None,
            limit: 100,
            scopes: Vec::new(),
        };
        match state.store().failing(&filter).await {
            Ok(failing) => failing.len(),
            Err(error) => return unavailable(error),
        }
    } else {
        0
    };
    render(&PeoplePage {
        page: "people",
        csrf: session.csrf(),
        notice: String::new(),
        mentioned,
        q,
        people: found
            .iter()
            .map(|p| PersonLink {
                id: p.id,
                label: label(p),
            })
            .collect(),
    })
}

pub struct MirrorLine {
    mapping: String,
    sf_status: String,
    member: String,
    mkto_status: String,
    synced: String,
}

pub struct Entry {
    when: String,
    what: String,
    detail: String,
    class: &'static str,
}

#[derive(Template)]
#[template(path = "console/person.html")]
struct PersonPage {
    page: &'static str,
    csrf: String,
    notice: String,
    id: i64,
    /// How many of each list the page asked for.
    limit: u32,
    /// A longer page to offer when the lists are cut, unless this one is the longest.
    more: Option<u32>,
    /// When a list was cut: the time from which the timeline is whole.
    cut_at: Option<String>,
    label: String,
    marketo: String,
    sf_lead: String,
    sf_contact: String,
    mirror: Vec<MirrorLine>,
    timeline: Vec<Entry>,
}

/// Deliveries, outcomes and trigger events in one list, newest first, each with its time.
fn entries(t: &Timeline) -> Vec<(i64, Entry)> {
    let mut all = Vec::new();
    for d in &t.deliveries {
        // What the delivery said, in its own words: the fields that were set.
        let status = [
            "status",
            "trigger",
            "program_id",
            "campaign_id",
            "member_id",
            "action",
        ]
        .iter()
        .filter_map(|k| match d.payload.get(*k)? {
            serde_json::Value::Null => None,
            serde_json::Value::String(v) => Some(format!("{k} {v}")),
            other => Some(format!("{k} {other}")),
        })
        .collect::<Vec<_>>()
        .join(", ");
        all.push((
            d.received_at,
            format!("received {} #{}", d.kind, d.id),
            format!(
                "{status}; {}",
                delivery_state(&d.state, d.last_error.as_deref())
            ),
            "delivery",
        ));
    }
    for o in &t.outcomes {
        all.push((
            o.recorded_at,
            outcome_what(o),
            format!(
                "{}{}",
                o.mapping.as_deref().unwrap_or("—"),
                o.reason
                    .as_ref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ),
            "outcome",
        ));
    }
    for e in &t.trigger_events {
        all.push((
            e.occurred_at,
            format!("event {}", e.kind.as_str()),
            format!(
                "{}: {} → {} (by {})",
                // A flow action on a campaign no mapping covers names the campaign.
                e.mapping.clone().unwrap_or_else(|| match &e.campaign_id {
                    Some(campaign) => format!("campaign {campaign}"),
                    None => "—".into(),
                }),
                e.old_status.as_deref().unwrap_or("—"),
                e.new_status.as_deref().unwrap_or("—"),
                e.actor.as_str()
            ),
            "event",
        ));
    }
    all.sort_by_key(|e| std::cmp::Reverse(e.0));
    all.into_iter()
        .map(|(at, what, detail, class)| {
            let entry = Entry {
                when: when(Some(at)),
                what,
                detail,
                class,
            };
            (at, entry)
        })
        .collect()
}

/// The person page's one parameter: how many of each list to show (100 unless given, at most
/// 1000, as the API's timeline); any other is refused naming it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonQuery {
    #[serde(default)]
    limit: Limit,
}

/// Where a timeline was cut: each list the store gave more of than `limit`, shortened to it,
/// and the time from which every list is whole (the newest of the cut lists' oldest shown).
fn cut(t: &mut Timeline, limit: usize) -> Option<i64> {
    let mut whole_since = None;
    let mut note = |times: Vec<i64>| {
        if times.len() > limit {
            let oldest_shown = times[..limit].iter().copied().min();
            whole_since = whole_since.max(oldest_shown);
        }
    };
    note(t.deliveries.iter().map(|d| d.received_at).collect());
    note(t.outcomes.iter().map(|o| o.recorded_at).collect());
    note(t.trigger_events.iter().map(|e| e.occurred_at).collect());
    t.deliveries.truncate(limit);
    t.outcomes.truncate(limit);
    t.trigger_events.truncate(limit);
    whole_since
}

pub async fn person(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Query(query): Query<PersonQuery>,
) -> Response {
    // As the API's timeline: a malformed id is the link's mistake, not a person missing.
    let id = match id.parse::<i64>() {
        Ok(id) if id >= 0 => id,
        _ => {
            let why = format!("A person id is a whole number not below 0, not {id:?}.");
            return super::page_error(axum::http::StatusCode::BAD_REQUEST, &why);
        }
    };
    let limit = query.limit.0;
    // One more than shown: whether a list goes on past the page.
    let mut t = match state.store().timeline(id, limit + 1).await {
        Ok(Some(t)) => t,
        Ok(None) => return super::page_error(axum::http::StatusCode::NOT_FOUND, "No such person."),
        Err(error) => return unavailable(error),
    };
    let whole_since = cut(&mut t, limit as usize);
    // Older entries of the lists that go on further would read as the whole story: left out.
    let timeline = entries(&t)
        .into_iter()
        .filter(|(at, _)| whole_since.is_none_or(|since| *at >= since))
        .map(|(_, entry)| entry)
        .collect();
    render(&PersonPage {
        id,
        limit,
        more: (limit < MAX_PAGE).then(|| (limit * 10).min(MAX_PAGE)),
        // To the millisecond: entries of the same second before the cut are not shown.
        cut_at: whole_since
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string()),
        page: "people",
        csrf: session.csrf(),
        notice: String::new(),
        label: label(&t.person),
        marketo: or_dash(t.person.mkto_lead_id),
        sf_lead: or_dash(t.person.sf_lead_id.clone()),
        sf_contact: or_dash(t.person.sf_contact_id.clone()),
        mirror: t
            .mirror
            .iter()
            .map(|m| MirrorLine {
                mapping: m.mapping.clone(),
                sf_status: or_dash(m.sf_status.clone()),
                member: or_dash(m.sf_member_id.clone()),
                mkto_status: or_dash(m.mkto_status.clone()),
                synced: when(Some(m.synced_at)),
            })
            .collect(),
        timeline,
    })
}

/// "applied set_status on marketo"; without a write to name (an echo, a stale message), the
/// result alone, and without a system, the result and the action ("skipped reconcile").
pub(super) fn outcome_what(o: &crate::store::NamedOutcome) -> String {
    match (o.action.as_str(), o.connector.as_str()) {
        ("none", _) => o.result.to_string(),
        (action, "none") => format!("{} {action}", o.result),
        (action, connector) => format!("{} {action} on {connector}", o.result),
    }
}

/// A delivery's state as the timeline says it: the error of a signal still failing, and of one
/// done only as what happened on the way (its outcomes say how it ended).
fn delivery_state(state: &str, last_error: Option<&str>) -> String {
    match (state, last_error) {
        (_, None) => state.to_string(),
        ("done", Some(error)) => format!("done, after an earlier try failed ({error})"),
        (_, Some(error)) => format!("{state}: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::delivery_state;

    #[test]
    fn a_done_delivery_does_not_read_as_failing() {
        assert_eq!(delivery_state("done", None), "done");
        assert_eq!(
            delivery_state("done", Some("HTTP 503 (retryable)")),
            "done, after an earlier try failed (HTTP 503 (retryable))"
        );
        assert_eq!(delivery_state("dead", Some("HTTP 400")), "dead: HTTP 400");
    }
}
