//! The operator console under `/console`: server-rendered pages (askama templates checked at
//! compile time, no script) behind a signed session cookie, with a CSRF token on every form
//! that changes something. It shows what `/admin/...` answers as JSON.

mod errors;
mod job_text;
mod mappings;
mod outcomes;
mod overview;
mod people;
pub mod session;

mod subscription_secret;
mod subscription_switches;
mod subscriptions;
pub(crate) mod throttle;
mod upstream_resume;

use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

pub use errors::{errors, errors_csv, replay};
pub use mappings::{mappings, reconcile, switch};
pub use outcomes::outcomes;
pub use overview::overview;
pub use people::{people, person};
use session::Session;
pub use subscription_secret::rotate as rotate_subscription_secret;
pub use subscription_switches::{delete as delete_subscription, pause as pause_subscription};
pub use subscriptions::{
    create as create_subscription, replay as replay_subscription, subscriptions,
};
pub use upstream_resume::resume;

use super::AppState;

/// Renders a page, or answers 500 with the reason logged.
fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, "console page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page failed to render",
            )
                .into_response()
        }
    }
}

/// A store failure on a page: logged, answered 503 in words.
fn unavailable(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "console page failed on the store");
    page_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "The store did not answer; try again.",
    )
}

/// A form whose fields cannot be used: 400, saying which.
fn bad_form(what: &str) -> Response {
    page_error(StatusCode::BAD_REQUEST, what)
}

/// A form whose CSRF token is not this session's.
fn forbidden() -> Response {
    page_error(
        StatusCode::FORBIDDEN,
        "This form's token is not valid for your session; reload the page and try again.",
    )
}

/// The headers every console answer carries: pages hold personal data (and, once, a signing
/// secret), so nothing is cached, framed, sniffed, scripted or sent on as a referrer.
pub async fn security_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut response = next.run(request).await;
    add_security_headers(&mut response);
    response
}

/// Sets the headers of [`security_headers`] on one answer (also on error pages made outside
/// a console route: an unknown console path, a timeout).
fn add_security_headers(response: &mut Response) {
    use axum::http::HeaderValue;
    use axum::http::header;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// The console's home page; every other page is under [`PAGES`].
pub const PATH: &str = "/console";
pub const PAGES: &str = "/console/";

/// A short HTML error page, for the console's own refusals and for any error answered on a
/// console path (`shape::error_bodies`). The message is escaped: it may name a mapping.
pub(super) fn page_error(status: StatusCode, message: &str) -> Response {
    let message = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    let html = format!(
        "<!doctype html><title>campaign-sync</title><p>{message}</p><p><a href=\"/console\">Back to the console</a></p>"
    );
    let mut response = (status, Html(html)).into_response();
    add_security_headers(&mut response);
    response
}

/// Epoch milliseconds as a UTC time, or a dash.
fn when(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(
            || "—".to_string(),
            |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        )
}

fn or_dash<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "—".to_string(), |v| v.to_string())
}

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    error: String,
    /// Said once signed out, so the page does not read as an unexplained refusal.
    notice: String,
    /// The console page to open once signed in (the one that sent the browser here).
    next: String,
}

#[derive(Deserialize)]
pub struct SignInQuery {
    #[serde(default)]
    next: String,
    /// Set by the sign-out's redirect.
    #[serde(default)]
    signed_out: Option<String>,
}

pub async fn sign_in_page(Query(query): Query<SignInQuery>) -> Response {
    render(&SignInPage {
        error: String::new(),
        notice: if query.signed_out.is_some() {
            "You are signed out.".into()
        } else {
            String::new()
        },
        next: session::console_path(&query.next).unwrap_or_default(),
    })
}

#[derive(Deserialize)]
pub struct SignInForm {
    /// An empty or missing token is refused like a wrong one.
    #[serde(default)]
    token: String,
    #[serde(default)]
    next: String,
}

/// Whether the browser reached us over HTTPS (directly or through a proxy that says so).
fn is_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// Exchanges the admin token for a session cookie. An address refused too often within a
/// minute waits (429) before its next token is checked.
pub async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let now = std::time::Instant::now();
    if let Some(wait) = state.sign_ins().wait(peer.ip(), now) {
        // Rounded up: a client that waits exactly this long is checked again.
        let seconds = u64::try_from(wait.as_millis().div_ceil(1000))
            .unwrap_or(u64::MAX)
            .max(1);
        tracing::warn!(client = %peer.ip(), "console sign-in refused: too many wrong tokens");
        let page = SignInPage {
            error: format!("Too many wrong tokens from this address; try again in {seconds} s."),
            notice: String::new(),
            next: session::console_path(&form.next).unwrap_or_default(),
        };
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, seconds.to_string())],
            render(&page),
        )
            .into_response();
    }
    // Trimmed as the bearer API's header is: a token pasted with a space around it is the token.
    let valid = state
        .config()
        .admin
        .token
        .matches(form.token.trim().as_bytes());
    if !valid {
        state.sign_ins().refused(peer.ip(), now);
    }
    match session::new_cookie(&state, is_https(&headers)).filter(|_| valid) {
        Some(cookie) => {
            tracing::info!("console sign-in");
            let to = session::console_path(&form.next).unwrap_or_else(|| "/console".into());
            ([(header::SET_COOKIE, cookie)], Redirect::to(&to)).into_response()
        }
        None => {
            tracing::warn!("console sign-in refused");
            let admin = &state.config().admin;
            let error = if admin.token.is_empty() {
                "The console is closed: admin.token is not set. Set it (or \
                 CAMPAIGN_SYNC_ADMIN__TOKEN) and restart the service."
            } else if !admin.read_token.is_empty()
                && admin.read_token.matches(form.token.trim().as_bytes())
            {
                // Whoever holds it may read the feeds anyway: saying so gives nothing away.
                "That is admin.read_token, which opens the /v1 feeds but never the console: \
                 sign in with admin.token."
            } else {
                "That is not the admin token."
            };
            let page = SignInPage {
                error: error.into(),
                notice: String::new(),
                next: session::console_path(&form.next).unwrap_or_default(),
            };
            (StatusCode::UNAUTHORIZED, render(&page)).into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn sign_out(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !session.check_csrf(&form.csrf) {
        return forbidden();
    }
    if let Err(error) = session.sign_out(&state).await {
        return unavailable(error);
    }
    tracing::info!("console sign-out");
    (
        [(header::SET_COOKIE, session::cleared_cookie())],
        Redirect::to("/console/sign-in?signed_out=1"),
    )
        .into_response()
}
