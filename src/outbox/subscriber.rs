//! Delivering to subscribers: one POST signed as Standard Webhooks asks, its answer read as
//! delivered, gone (410 pauses the subscription) or a retry, honouring `Retry-After`.

use std::time::Duration;

use super::{Deliverer, Failure, sign};
use crate::store::{Delivery, now_millis};

/// Why a subscription a 410 paused is paused, as its listing says.
fn gone(at: i64) -> String {
    let at = chrono::DateTime::from_timestamp_millis(at).map_or_else(String::new, |t| {
        t.format(" at %Y-%m-%d %H:%M:%S UTC").to_string()
    });
    format!(
        "the subscriber answered 410 Gone{at} (its endpoint is gone): resume it once it is back"
    )
}

impl Deliverer {
    /// One signed POST; any 2xx is delivered, 410 pauses the subscription, anything else is
    /// tried again.
    pub(super) async fn post(&self, delivery: &Delivery) -> Result<(), Failure> {
        let (Some(url), Some(secret)) = (&delivery.url, &delivery.secret) else {
            return Err(Failure::Permanent("the subscription is gone".into()));
        };
        let key = sign::secret_key(secret).map_err(|e| Failure::Permanent(e.to_string()))?;
        // While a rotated secret still signs, each delivery carries both signatures, as
        // Standard Webhooks lets a header hold several: the subscriber may check either.
        let previous = delivery
            .previous_secret
            .as_deref()
            .and_then(|s| sign::secret_key(s).ok());
        let shown = shown_url(url);
        // The same id on every attempt, so a subscriber can drop a repeat.
        let id = format!("msg_{}", delivery.id);
        let timestamp = now_millis() / 1000;
        let body = delivery.payload.to_string();
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                std::iter::once(&key)
                    .chain(previous.as_ref())
                    .map(|key| sign::signature(key, &id, timestamp, body.as_bytes()))
                    .collect::<Vec<_>>()
                    .join(" "),
            )
            .body(body)
            .send()
            .await
            .map_err(|e| Failure::Retry(format!("POST {shown}: {}", without_url(&e)), None))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        if status == reqwest::StatusCode::GONE {
            // Standard Webhooks: a 410 means the endpoint is gone for good; stop sending to it
            // (its later deliveries wait, paused) until an operator resumes the subscription.
            if let Some(subscription) = delivery.subscription_id {
                self.store
                    .set_subscription_paused(subscription, Some(&gone(now_millis())), now_millis())
                    .await
                    .map_err(|e| Failure::Retry(format!("pausing the subscription: {e}"), None))?;
                tracing::warn!(
                    subscription,
                    "a subscriber answered 410 Gone; subscription paused"
                );
            }
            return Err(Failure::Permanent(format!(
                "POST {shown}: answered 410 Gone; the subscription is paused"
            )));
        }
        // A subscriber asking to be left alone for a while (429, 503) is, within the schedule:
        // this delivery, and the subscription's others, which would only meet the same answer.
        let hint = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, now_millis()));
        if let (Some(wait), Some(subscription)) = (hint, delivery.subscription_id)
            && matches!(
                status,
                reqwest::StatusCode::TOO_MANY_REQUESTS | reqwest::StatusCode::SERVICE_UNAVAILABLE
            )
        {
            let now = now_millis();
            let until = now + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2);
            match self
                .store
                .throttle_subscription(subscription, until, now)
                .await
            {
                Ok(()) => tracing::info!(
                    subscription,
                    until_ms = until,
                    "a subscriber asked to wait; its deliveries wait"
                ),
                Err(error) => tracing::warn!(subscription, %error, "could not hold its deliveries"),
            }
        }
        Err(Failure::Retry(
            format!("POST {shown}: answered {status}"),
            hint,
        ))
    }
}

/// The longest a subscriber's `Retry-After` holds its deliveries back.
const RETRY_AFTER_CAP: Duration = Duration::from_secs(3600);

/// `Retry-After` as delta-seconds or an HTTP date (RFC 9110), at most [`RETRY_AFTER_CAP`].
fn retry_after(value: &str, now_ms: i64) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
            let ms = (at.timestamp_millis() - now_ms).max(0);
            Duration::from_millis(u64::try_from(ms).ok()?)
        }
    };
    Some(wait.min(RETRY_AFTER_CAP))
}

/// A subscriber URL as logs and stored errors show it: scheme, host and port only. Webhook URLs
/// often carry a credential in their user info, path or query (`?token=`, a hook's secret
/// path), which must not reach a log line or an admin answer.
pub fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => {
            let host = parsed.host_str().unwrap_or("?");
            match parsed.port() {
                Some(port) => format!("{}://{host}:{port}/…", parsed.scheme()),
                None => format!("{}://{host}/…", parsed.scheme()),
            }
        }
        Err(_) => "the subscriber".to_string(),
    }
}

/// A transport error's text without the URL reqwest appends (it is named once already).
fn without_url(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    kind.to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_subscriber_url_is_shown_without_its_credentials() {
        assert_eq!(
            super::shown_url("https://user:pa55@hooks.example.com:8443/T1/B2/secret?token=abc"),
            "https://hooks.example.com:8443/…"
        );
        assert_eq!(
            super::shown_url("http://hooks.example.com/path"),
            "http://hooks.example.com/…"
        );
        assert_eq!(super::shown_url("not a url"), "the subscriber");
    }

    use super::*;

    #[test]
    fn retry_after_reads_seconds_or_a_date_and_is_capped() {
        // 2026-12-01T10:00:00Z
        let now = 1_796_119_200_000;
        let cases = [
            ("120", Some(120)),
            (" 0 ", Some(0)),
            ("Tue, 01 Dec 2026 10:02:00 GMT", Some(120)),
            ("Tue, 01 Dec 2026 09:00:00 GMT", Some(0)),
            ("86400", Some(3600)),
            ("soon", None),
        ];
        for (value, seconds) in cases {
            assert_eq!(
                retry_after(value, now),
                seconds.map(Duration::from_secs),
                "{value}"
            );
        }
    }
}
