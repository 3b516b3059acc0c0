//! The outcomes page: what became of each planned write (applied, skipped, diverged, dead),
//! filtered by mapping, person, result and why a change was skipped, newest first and paged,
//! each row linking to its person's timeline. It reads what `/admin/outcomes` answers.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::session::Session;
use super::{bad_form, or_dash, render, unavailable, when};
use crate::http::AppState;
use crate::http::query::{Cursor, Millis, Query};
use crate::kinds::OutcomeResult;
use crate::store::{NamedOutcome, OutcomeFilter, SkipKind};

/// Rows one page shows.
const ROWS: u32 = 100;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    mapping: Option<String>,
    /// A person's internal id, as their timeline links here.
    person: Option<String>,
    result: Option<String>,
    /// Why a skipped change was skipped: `echo`, `overruled` or `other`.
    skip: Option<String>,
    /// Set (the form's box sends `1`) to leave the echoes out.
    no_echoes: Option<String>,
    since: Option<Millis>,
    before: Option<Cursor>,
}

/// A filter value as the form sends it: an empty field is no filter.
fn given(value: &Option<String>) -> Option<String> {
    value.clone().filter(|v| !v.trim().is_empty())
}

impl Filter {
    /// The store's filter, or why a parameter cannot be used (a 400 page says it).
    fn store_filter(&self) -> Result<OutcomeFilter, String> {
        let result = given(&self.result);
        if let Some(text) = &result
            && OutcomeResult::parse(text).is_none()
        {
            return Err(format!(
                "There is no result {text:?} to filter by: applied, skipped, diverged or dead."
            ));
        }
        let skip = match given(&self.skip) {
            None => None,
            Some(text) => match SkipKind::parse(&text) {
                Some(kind) => Some(kind),
                None => {
                    return Err(format!(
                        "There is no kind of skip {text:?} to filter by: echo, overruled or other."
                    ));
                }
            },
        };
        if skip.is_some() && result.as_deref().is_some_and(|r| r != "skipped") {
            return Err(
                "A kind of skip (skip) filters skipped changes only: leave out result, \
                 or make it skipped."
                    .into(),
            );
        }
        let person = given(&self.person);
        if let Some(person) = person
            .as_deref()
            .filter(|p| p.trim().parse::<u64>().is_err())
        {
            return Err(format!(
                "{person:?} is not a person's id (a whole number, as their page's address has \
                 it): find someone by e-mail or id under People."
            ));
        }
        Ok(OutcomeFilter {
            person: person.map(|p| p.trim().to_string()),
            mapping: given(&self.mapping),
            result,
            skip,
            without_echoes: given(&self.no_echoes).is_some_and(|v| v != "0"),
            since: self.since.map(|t| t.0),
            before: self.before.map(|c| c.0),
            limit: ROWS,
            ..OutcomeFilter::default()
        })
    }
}

pub struct OutcomeRow {
    id: i64,
    when: String,
    mapping: String,
    /// The person's page, when the outcome names one.
    person_link: Option<String>,
    person: String,
    marketo: String,
    salesforce: String,
    what: String,
    result: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "console/outcomes.html")]
struct OutcomesPage {
    page: &'static str,
    csrf: String,
    notice: String,
    mappings: Vec<String>,
    mapping: String,
    person: String,
    result: String,
    skip: String,
    no_echoes: bool,
    since: String,
    /// The filter's own fields, to carry into the pages before and after.
    since_ms: String,
    rows: Vec<OutcomeRow>,
    /// The next (older) page, when this one is full.
    older: Option<String>,
    /// The newest page with the same filter, when this is not it.
    newest: Option<String>,
}

fn row(o: NamedOutcome) -> OutcomeRow {
    let person_id = o.person.as_deref().and_then(|p| p.parse::<i64>().ok());
    OutcomeRow {
        id: o.id,
        when: when(Some(o.recorded_at)),
        mapping: or_dash(o.mapping.clone()),
        person_link: person_id.map(|id| format!("/console/people/{id}")),
        person: o
            .email
            .clone()
            .or_else(|| person_id.map(|id| format!("person {id}")))
            .unwrap_or_else(|| "—".into()),
        marketo: or_dash(o.marketo_lead_id),
        salesforce: or_dash(
            o.salesforce_contact_id
                .clone()
                .or(o.salesforce_lead_id.clone()),
        ),
        what: super::people::outcome_what(&o),
        result: o.result.clone(),
        reason: or_dash(o.reason),
    }
}

/// The page's address with this filter, from `before` on (none: the newest page).
pub(super) fn link(f: &OutcomeFilter, before: Option<i64>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("mapping", f.mapping.clone()),
        ("person", f.person.clone()),
        ("result", f.result.clone()),
        ("skip", f.skip.map(|k| k.as_str().to_string())),
        ("no_echoes", f.without_echoes.then(|| "1".to_string())),
        ("since", f.since.map(|t| t.to_string())),
        ("before", before.map(|b| b.to_string())),
    ] {
        if let Some(value) = value {
            query.append_pair(name, &value);
        }
    }
    let query = query.finish();
    if query.is_empty() {
        "/console/outcomes".into()
    } else {
        format!("/console/outcomes?{query}")
    }
}

pub async fn outcomes(
    State(state): State<AppState>,
    session: Session,
    Query(filter): Query<Filter>,
) -> Response {
    let f = match filter.store_filter() {
        Ok(f) => f,
        Err(why) => return bad_form(&why),
    };
    // As `/admin/outcomes` and the mapping switches: a name neither configured nor in the
    // history is a 404, not an empty list that reads as "nothing happened".
    if let Some(name) = f.mapping.as_deref()
        && state.mappings().by_name(name).is_none()
    {
        match state.store().has_outcomes(name).await {
            Ok(true) => {}
            Ok(false) => {
                return super::page_error(
                    StatusCode::NOT_FOUND,
                    &format!("No such mapping: {name:?}."),
                );
            }
            Err(error) => return unavailable(error),
        }
    }
    let found = match state.store().outcomes_named(&f).await {
        Ok(found) => found,
        Err(error) => return unavailable(error),
    };
    let older = (found.len() == ROWS as usize)
        .then(|| found.last().map(|o| link(&f, Some(o.id))))
        .flatten();
    let mut mappings: Vec<String> = state
        .shared_mappings()
        .await
        .all()
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    // A mapping since removed from the configuration still has its outcomes.
    if let Some(name) = &f.mapping
        && !mappings.contains(name)
    {
        mappings.push(name.clone());
    }
    render(&OutcomesPage {
        page: "outcomes",
        csrf: session.csrf(),
        notice: String::new(),
        mappings,
        mapping: f.mapping.clone().unwrap_or_default(),
        person: f.person.clone().unwrap_or_default(),
        result: f.result.clone().unwrap_or_default(),
        skip: f.skip.map(SkipKind::as_str).unwrap_or_default().into(),
        no_echoes: f.without_echoes,
        since: f.since.map(|t| when(Some(t))).unwrap_or_default(),
        since_ms: f.since.map(|t| t.to_string()).unwrap_or_default(),
        newest: f.before.map(|_| link(&f, None)),
        older,
        rows: found.into_iter().map(row).collect(),
    })
}
