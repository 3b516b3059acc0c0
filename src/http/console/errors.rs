//! The errors page: dead, rejected, retrying and postponed signals with the people and records
//! they name, replay of one, the selected, or all matching the filter (dead ones: a rejected
//! input is never processed), and the same list as CSV.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::session::Session;
use super::{bad_form, forbidden, or_dash, render, unavailable, when};
use crate::http::AppState;
use crate::http::query::Query;
use crate::store::{FailingFilter, FailingSignal, now_millis};

/// Rows one page or CSV shows.
const ROWS: u32 = 1000;

pub struct ErrorRow {
    id: i64,
    dead: bool,
    /// A dead letter whose person's later write landed since: replaying it changes nothing.
    superseded: bool,
    state: String,
    kind: String,
    email: String,
    marketo: String,
    salesforce: String,
    member: String,
    message: String,
    attempts: i64,
    first_seen: String,
    last_seen: String,
}

#[derive(Template)]
#[template(path = "console/errors.html")]
struct ErrorsPage {
    page: &'static str,
    csrf: String,
    notice: String,
    q: String,
    q_url: String,
    state: String,
    rows: Vec<ErrorRow>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    q: Option<String>,
    state: Option<String>,
    replayed: Option<usize>,
    /// How many the replay asked for, when more than were replayed.
    asked: Option<usize>,
    /// A replay that had nothing to replay: `selected` (none was ticked) or `all` (no dead
    /// letter matched the filter).
    nothing: Option<String>,
    /// The session's seal of the report above (see `Session::sealed`): without it the page
    /// shows no notice.
    #[serde(rename = "seal")]
    _seal: Option<String>,
}

/// The states the page filters by (empty: all four).
const STATES: [&str; 5] = ["", "dead", "rejected", "retrying", "postponed"];

impl Filter {
    /// A 400 page for a `state` the page does not offer (a link typed by hand).
    fn unknown_state(&self) -> Option<Response> {
        let state = self.state.as_deref().unwrap_or_default();
        (!STATES.contains(&state)).then(|| {
            bad_form(&format!(
                "There is no state {state:?} to filter by: dead, rejected, retrying or postponed."
            ))
        })
    }

    fn store_filter(&self, state: &AppState) -> FailingFilter {
        FailingFilter {
            scopes: state.mapping_scopes(),
            state: self.state.clone().filter(|s| !s.is_empty()),
            text: self.q.clone().filter(|t| !t.trim().is_empty()),
            before: None,
            limit: ROWS,
        }
    }
}

fn row(s: FailingSignal) -> ErrorRow {
    ErrorRow {
        id: s.id,
        dead: s.state == "dead",
        superseded: s.superseded,
        state: s.state,
        kind: s.kind,
        email: or_dash(s.email),
        marketo: or_dash(s.marketo_lead_id),
        salesforce: or_dash(s.salesforce_person_id),
        member: or_dash(s.campaign_member_id),
        message: or_dash(s.last_error),
        attempts: s.attempts,
        first_seen: when(Some(s.first_seen)),
        last_seen: when(Some(s.last_seen)),
    }
}

pub async fn errors(
    State(state): State<AppState>,
    session: Session,
    uri: axum::http::Uri,
    Query(filter): Query<Filter>,
) -> Response {
    if let Some(refused) = filter.unknown_state() {
        return refused;
    }
    let rows = match state.store().failing(&filter.store_filter(&state)).await {
        Ok(rows) => rows.into_iter().map(row).collect(),
        Err(error) => return unavailable(error),
    };
    let q = filter.q.clone().unwrap_or_default();
    render(&ErrorsPage {
        page: "errors",
        csrf: session.csrf(),
        notice: match (filter.nothing.as_deref(), filter.replayed) {
            _ if !session.sealed_here(&uri) => String::new(),
            (Some("selected"), _) => "Nothing was selected, so nothing was replayed: tick the \
                dead letters to replay, then Replay selected."
                .into(),
            (Some(_), _) => "No dead letter matches the filter: nothing was replayed.".into(),
            (None, Some(n)) => replayed_notice(n, filter.asked.unwrap_or(n)),
            (None, None) => String::new(),
        },
        q_url: url_encode(&q),
        q,
        state: filter.state.clone().unwrap_or_default(),
        rows,
    })
}

/// Percent-encodes a query value.
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One CSV field, quoted when it must be.
/// One CSV cell. A cell a spreadsheet would read as a formula (an e-mail from a public form
/// can start with `=`) gets a leading `'`, as OWASP advises, so it stays text.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

pub async fn errors_csv(
    State(state): State<AppState>,
    _: Session,
    Query(filter): Query<Filter>,
) -> Response {
    if let Some(refused) = filter.unknown_state() {
        return refused;
    }
    let rows = match state.store().failing(&filter.store_filter(&state)).await {
        Ok(rows) => rows,
        Err(error) => return unavailable(error),
    };
    let mut csv = String::from(
        "id,state,kind,email,marketo_lead_id,salesforce_person_id,campaign_member_id,message,attempts,first_seen,last_seen,superseded\r\n",
    );
    for s in rows {
        let fields = [
            s.id.to_string(),
            s.state,
            s.kind,
            s.email.unwrap_or_default(),
            s.marketo_lead_id.map(|l| l.to_string()).unwrap_or_default(),
            s.salesforce_person_id.unwrap_or_default(),
            s.campaign_member_id.unwrap_or_default(),
            s.last_error.unwrap_or_default(),
            s.attempts.to_string(),
            when(Some(s.first_seen)),
            when(Some(s.last_seen)),
            s.superseded.to_string(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        csv.push_str(&line.join(","));
        csv.push_str("\r\n");
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"campaign-sync-errors.csv\"",
            ),
        ],
        csv,
    )
        .into_response()
}

/// Replays one (`one`), the checked (`scope=selected`, `ids`), or every dead letter matching
/// the filter (`scope=all`, `filter`).
pub async fn replay(
    State(state): State<AppState>,
    session: Session,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if !session.check_csrf(field("csrf").unwrap_or("")) {
        return forbidden();
    }
    // A field that is not what the page sends is refused, not read as "nothing to replay".
    let ids: Vec<i64> = if let Some(one) = field("one") {
        match one.parse() {
            Ok(id) => vec![id],
            Err(_) => return bad_form("The dead letter to replay is not a signal id."),
        }
    } else {
        match field("scope") {
            // No dead letter is retrying, rejected or postponed: a list filtered to one of
            // those has none to replay.
            Some("all") if !matches!(field("state"), None | Some("" | "dead")) => Vec::new(),
            Some("all") => {
                match crate::http::admin_people::matching_dead(
                    &state,
                    field("filter").unwrap_or(""),
                )
                .await
                {
                    Ok(ids) => ids,
                    Err(_) => return unavailable("listing dead letters failed"),
                }
            }
            None | Some("selected") => {
                let parsed: Result<Vec<i64>, _> = fields
                    .iter()
                    .filter(|(k, _)| k == "ids")
                    .map(|(_, v)| v.parse::<i64>())
                    .collect();
                match parsed {
                    Ok(ids) => ids,
                    Err(_) => return bad_form("A checked dead letter is not a signal id."),
                }
            }
            Some(_) => return bad_form("Replay either the checked dead letters or all of them."),
        }
    };
    // Back to the list as it was filtered.
    let back = back_to(field("state").unwrap_or(""), field("filter").unwrap_or(""));
    if ids.is_empty() {
        let nothing = if field("scope") == Some("all") {
            "all"
        } else {
            "selected"
        };
        return Redirect::to(&session.sealed(&format!("{back}nothing={nothing}"))).into_response();
    }
    match state.store().replay_many(&ids, now_millis()).await {
        Ok(replayed) => {
            tracing::info!(
                count = replayed.len(),
                "dead letters replayed from the console"
            );
            let (done, asked) = (replayed.len(), ids.len());
            let asked = if asked > done {
                format!("&asked={asked}")
            } else {
                String::new()
            };
            Redirect::to(&session.sealed(&format!("{back}replayed={done}{asked}"))).into_response()
        }
        Err(error) => unavailable(error),
    }
}

/// The errors page filtered by `state` and text `q`, ready for one more parameter.
fn back_to(state: &str, q: &str) -> String {
    let mut back = String::from("/console/errors?");
    if STATES.contains(&state) && !state.is_empty() {
        back.push_str(&format!("state={state}&"));
    }
    if !q.is_empty() {
        back.push_str(&format!("q={}&", url_encode(q)));
    }
    back
}

/// What a replay did, in words: those replayed, and why others were not.
fn replayed_notice(replayed: usize, asked: usize) -> String {
    let done = format!("{replayed} dead letter(s) replayed: they are due again.");
    if asked <= replayed {
        return done;
    }
    format!(
        "{done} {} of those chosen were not dead letters (replayed meanwhile from another page \
         or by the API, the page out of date, or no such signal).",
        asked - replayed
    )
}

#[cfg(test)]
mod tests {
    use super::{csv_field, replayed_notice};

    #[test]
    fn a_replay_that_left_some_out_says_why() {
        assert_eq!(
            replayed_notice(2, 2),
            "2 dead letter(s) replayed: they are due again."
        );
        let notice = replayed_notice(0, 1);
        assert!(
            notice.starts_with("0 dead letter(s) replayed")
                && notice.contains("1 of those chosen were not dead letters"),
            "{notice}"
        );
    }

    #[test]
    fn a_cell_is_quoted_when_needed_and_never_a_formula() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(
            csv_field("=HYPERLINK(\"http://x\")@a.b"),
            "\"'=HYPERLINK(\"\"http://x\"\")@a.b\""
        );
        assert_eq!(csv_field("+1"), "'+1");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
    }
}
