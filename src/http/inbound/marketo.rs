//! Placeholder receiver for marketo (replaced by its issue's implementation).

use axum::http::StatusCode;

pub async fn receive() -> StatusCode {
    StatusCode::NOT_IMPLEMENTED
}
