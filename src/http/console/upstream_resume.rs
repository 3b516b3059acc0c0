//! The console's lift of a side's pause (`POST /console/upstreams/resume`), as
//! `POST /admin/upstreams/{system}/resume` lifts it; the overview then says so.

use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::forbidden;
use super::session::Session;
use crate::http::AppState;

/// The form that lifts a side's pause.
#[derive(Deserialize)]
pub struct ResumeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    system: String,
}

/// Lifts a side's pause (as `POST /admin/upstreams/{system}/resume`) and shows the overview.
pub async fn resume(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<ResumeForm>,
) -> Response {
    if !session.check_csrf(&form.csrf) {
        return forbidden();
    }
    match form.system.as_str() {
        "salesforce" | "marketo" => {}
        other => {
            // A form the console never renders: named as the bad input it is, not a lost page.
            return super::page_error(
                axum::http::StatusCode::BAD_REQUEST,
                &format!("No pause lifted: {other:?} is not an upstream (salesforce or marketo)."),
            );
        }
    }
    match crate::http::admin_upstreams::lift_pause(&state, &form.system).await {
        Ok(lifted) => {
            let was = if lifted.is_some() {
                ""
            } else {
                "&was_paused=0"
            };
            let url = format!("/console?lifted={}{was}", form.system);
            Redirect::to(&session.sealed(&url)).into_response()
        }
        Err(crate::http::error::ApiError::Status { status, message }) => {
            super::page_error(status, &format!("No pause lifted: {message}."))
        }
        Err(error) => error.into_response(),
    }
}
