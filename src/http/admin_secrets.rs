//! Rotating a subscription's signing secret: the new one signs from now on, and the one it
//! replaces keeps signing beside it for a while (a day unless told), so a subscriber can move
//! to the new secret without refusing a delivery in between.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::admin::Admin;
use super::error::ApiError;
use super::query::{NoParams, Query, path_id};
use crate::outbox::sign;
use crate::store::now_millis;

/// How long the replaced secret keeps signing when the request does not say.
const DEFAULT_KEEP_SECS: u64 = 24 * 3600;

/// The longest overlap a rotation may ask for: a week.
const MAX_KEEP_SECS: u64 = 7 * 24 * 3600;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Rotation {
    /// The new secret; one is generated (and answered once) without it.
    secret: Option<String>,
    /// How long the replaced secret keeps signing beside the new one; 0 stops it at once.
    keep_previous_secs: Option<u64>,
}

/// The request body, which may be empty (a generated secret, the default overlap).
fn rotation(headers: &axum::http::HeaderMap, body: &[u8]) -> Result<Rotation, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Rotation::default());
    }
    super::admin_subscriptions::json_content(headers)?;
    let read = serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(body));
    read.map_err(|e| {
        let path = e.path().to_string();
        let e = e.into_inner();
        // A body that is not JSON at all names no field.
        let field = if e.is_syntax() || e.is_eof() {
            None
        } else {
            super::shape::quoted_field(&e.to_string())
                .or_else(|| (!path.is_empty() && path != "." && path != "?").then_some(path))
        };
        ApiError::BadRequest {
            field,
            message: format!("body is not a secret rotation: {e}"),
        }
    })
}

/// `POST /admin/subscriptions/{id}/rotate-secret`.
pub async fn rotate(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
    Query(NoParams {}): Query<NoParams>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(&id, "subscription")?;
    let asked = rotation(&headers, &body)?;
    let keep = asked.keep_previous_secs.unwrap_or(DEFAULT_KEEP_SECS);
    if keep > MAX_KEEP_SECS {
        return Err(ApiError::field(
            "keep_previous_secs",
            format!("at most {MAX_KEEP_SECS} (a week), not {keep}"),
        ));
    }
    let (secret, generated) = match asked.secret {
        Some(secret) => {
            sign::secret_key(&secret).map_err(|e| ApiError::field("secret", e.to_string()))?;
            (secret, false)
        }
        None => (sign::generate_secret(), true),
    };
    let now = now_millis();
    let keep_ms = i64::try_from(keep * 1000).unwrap_or(i64::MAX / 2);
    let until = (keep > 0).then_some(now + keep_ms);
    let rotated = state
        .store()
        .rotate_subscription_secret(id, &secret, until, now)
        .await
        .map_err(|error| {
            tracing::error!(%error, "rotating a subscription's secret failed on the store");
            ApiError::Unavailable
        })?;
    if !rotated {
        return Err(ApiError::NotFound(format!("subscription {id}")));
    }
    tracing::info!(
        subscription.id = id,
        previous_secret_until = until,
        "subscription secret rotated"
    );
    let mut answer = json!({ "id": id, "previous_secret_until": until });
    // Shown once, and only when we made it up, as at creation.
    if generated {
        answer["secret"] = Value::String(secret);
    }
    Ok(Json(answer))
}
