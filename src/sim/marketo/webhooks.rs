//! "Program Status is Changed" smart campaigns with a Call Webhook step: rendering on each status
//! change, a queue, and delivery — sequential, 30 s timeout, never retried, each call logged.

use std::collections::VecDeque;
use std::time::Duration;

use serde::Serialize;

use super::clock;
use super::template::{self, TokenContext, TokenEncoding};
use super::world::{Lead, Program};

/// One trigger campaign: "Program Status is Changed" (in one program, or any) → Call Webhook.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookConfig {
    /// `None` listens to every program.
    pub program_id: Option<i64>,
    pub url: String,
    pub template: String,
    pub headers: Vec<(String, String)>,
    pub token_encoding: TokenEncoding,
}

impl WebhookConfig {
    /// The template and header the service documents, pointed at `url` with `token`.
    pub fn documented(program_id: Option<i64>, url: &str, token: &str) -> WebhookConfig {
        WebhookConfig {
            program_id,
            url: url.to_string(),
            template: DOCUMENTED_TEMPLATE.to_string(),
            headers: vec![("Authorization".to_string(), format!("Bearer {token}"))],
            token_encoding: TokenEncoding::Json,
        }
    }
}

/// The payload template the service's README asks Marketo admins to paste.
pub const DOCUMENTED_TEMPLATE: &str = r#"{"leadId": {{lead.Id}}, "programId": {{program.id}}, "email": {{lead.Email Address}}, "trigger": {{trigger.Trigger Name}}}"#;

/// A rendered call waiting for delivery.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingCall {
    pub program_id: i64,
    pub lead_id: i64,
    pub url: String,
    pub body: String,
    pub headers: Vec<(String, String)>,
}

/// What happened to one call: the receiver's HTTP status, or the transport error (timeout,
/// refused). Nothing is retried either way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookCall {
    pub program_id: i64,
    pub lead_id: i64,
    pub url: String,
    pub body: String,
    pub headers: Vec<(String, String)>,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub at: String,
}

#[derive(Debug, Default)]
pub struct Webhooks {
    pub configs: Vec<WebhookConfig>,
    pub pending: VecDeque<PendingCall>,
}

impl Webhooks {
    /// Renders and queues a call for every campaign listening to this program.
    pub fn status_changed(&mut self, lead: &Lead, program: &Program, now: i64) {
        let context = TokenContext { lead, program, now };
        for config in &self.configs {
            if config.program_id.is_some_and(|id| id != program.id) {
                continue;
            }
            let plain = TokenEncoding::None;
            self.pending.push_back(PendingCall {
                program_id: program.id,
                lead_id: lead.id,
                url: template::render(&config.url, &context, plain),
                body: template::render(&config.template, &context, config.token_encoding),
                headers: config
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), template::render(v, &context, plain)))
                    .collect(),
            });
        }
    }
}

/// Sends the calls one after another, as Marketo runs a flow step per person.
pub async fn deliver(
    client: &reqwest::Client,
    calls: Vec<PendingCall>,
    timeout: Duration,
) -> Vec<WebhookCall> {
    let mut done = Vec::with_capacity(calls.len());
    for call in calls {
        let mut request = client
            .post(&call.url)
            .timeout(timeout)
            .body(call.body.clone());
        for (name, value) in &call.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let (status, error) = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                // Marketo logs 1001 when the body is empty; reading it also frees the connection.
                let _body = response.bytes().await;
                (Some(status), None)
            }
            Err(e) => (
                None,
                Some(crate::sim::calls::transport_error(e, Some(timeout))),
            ),
        };
        done.push(WebhookCall {
            program_id: call.program_id,
            lead_id: call.lead_id,
            url: call.url,
            body: call.body,
            headers: call.headers,
            status,
            error,
            at: clock::lead_db(clock::now_ms()),
        });
    }
    done
}
