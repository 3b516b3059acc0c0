//! The typed currency between receivers and the worker: what a webhook or outbound message said
//! may have changed. A signal is a hint to re-read state, never the state itself.

use serde::{Deserialize, Serialize};

/// One stored signal's payload. The `kind` tag is what the store keeps in its `kind` column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signal {
    /// A Salesforce outbound message's CampaignMember snapshot.
    SalesforceMember(SalesforceMember),
    /// Salesforce reported the CampaignMember deleted (deleted-records poll or reconciliation).
    SalesforceMemberDeleted(SalesforceMemberDeleted),
    /// A Marketo program member may have changed.
    MarketoMember(MarketoMember),
    /// A Marketo flow action on a Salesforce campaign.
    MarketoFlowAction(FlowAction),
}

impl Signal {
    pub fn kind(&self) -> &'static str {
        match self {
            Signal::SalesforceMember(_) => "salesforce_member",
            Signal::SalesforceMemberDeleted(_) => "salesforce_member_deleted",
            Signal::MarketoMember(_) => "marketo_member",
            Signal::MarketoFlowAction(_) => "marketo_flow_action",
        }
    }

    pub fn source(&self) -> &'static str {
        match self {
            Signal::SalesforceMember(_) | Signal::SalesforceMemberDeleted(_) => "salesforce",
            Signal::MarketoMember(_) | Signal::MarketoFlowAction(_) => "marketo",
        }
    }
}

/// A CampaignMember as an outbound message carried it. `None` means the element was absent:
/// null in Salesforce or not selected in the message definition, so unknown rather than empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesforceMember {
    pub notification_id: String,
    pub organization_id: String,
    pub member_id: String,
    pub campaign_id: Option<String>,
    pub lead_id: Option<String>,
    pub contact_id: Option<String>,
    pub email: Option<String>,
    pub status: Option<String>,
    pub has_responded: Option<bool>,
    pub created_date: Option<String>,
    pub last_modified_date: Option<String>,
    pub system_modstamp: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesforceMemberDeleted {
    pub member_id: String,
    /// When Salesforce says the row was deleted (ISO 8601); `None` when reconciliation found it
    /// missing, which dates nothing (and our clock is not Salesforce's).
    pub deleted_date: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketoMember {
    pub lead_id: i64,
    pub program_id: i64,
    pub email: Option<String>,
    /// A status hard-coded in the webhook template; the worker still re-reads the member.
    pub status: Option<String>,
    pub trigger: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowActionKind {
    AddToCampaign,
    RemoveFromCampaign,
    ChangeCampaignStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowAction {
    pub action: FlowActionKind,
    pub lead_id: i64,
    pub email: Option<String>,
    pub campaign_id: String,
    pub status: Option<String>,
}

/// A signal ready to be recorded: the dedup key decides whether it is new.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSignal {
    pub dedup_key: String,
    pub signal: Signal,
    pub dedup: Dedup,
}

/// The dedup key's prefix of a Marketo webhook the sender named (`webhook-id`).
pub const WEBHOOK_ID_KEY: &str = "mkto:webhook:";
/// The dedup key's prefix of a Marketo webhook keyed by its body.
pub const WEBHOOK_BODY_KEY: &str = "mkto:body:";

/// Whether a signal's dedup key is a Marketo webhook's (a program-member change: not the
/// activity feed's, not a reconciliation's, not a flow action's).
pub fn from_marketo_webhook(dedup_key: &str) -> bool {
    dedup_key.starts_with(WEBHOOK_ID_KEY) || dedup_key.starts_with(WEBHOOK_BODY_KEY)
}

/// What a second signal with a stored key means.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Dedup {
    /// A redelivery of the same thing: stored once, ever (notification ids, webhook ids).
    #[default]
    Once,
    /// The same words, not necessarily the same event (an unsigned webhook body): folded into
    /// the stored signal only while that one still waits; once it is being or has been processed,
    /// the stored signal is made due again with the new payload, so a later change is never lost.
    WhilePending,
}

impl NewSignal {
    pub fn new(dedup_key: impl Into<String>, signal: Signal) -> Self {
        NewSignal {
            dedup_key: dedup_key.into(),
            signal,
            dedup: Dedup::Once,
        }
    }
}

/// An input refused at the edge although its delivery was acknowledged (one bad notification of
/// an outbound message): kept as a `rejected` row with its raw text and the reason, never
/// processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedInput {
    pub dedup_key: String,
    pub source: &'static str,
    pub kind: &'static str,
    pub raw: String,
    pub reason: String,
    /// The records it names, when it was read that far: the errors list shows them.
    pub names: RejectedNames,
}

/// The Salesforce records a rejected notification names (`None`: not given, or not read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RejectedNames {
    pub member_id: Option<String>,
    pub lead_id: Option<String>,
    pub contact_id: Option<String>,
    pub email: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips_with_kind_tag() {
        let signal = Signal::MarketoMember(MarketoMember {
            lead_id: 7,
            program_id: 1001,
            email: Some("a@example.com".into()),
            status: None,
            trigger: None,
        });
        let json = serde_json::to_value(&signal).unwrap();
        assert_eq!(json["kind"], signal.kind());
        assert_eq!(serde_json::from_value::<Signal>(json).unwrap(), signal);
    }
}
