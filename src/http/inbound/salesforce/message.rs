//! The typed outbound message: what the parser produces and the renderer writes, and why a body
//! is refused.

/// Salesforce sends at most this many notifications in one message.
pub const MAX_NOTIFICATIONS: usize = 100;

/// One outbound message: the `notifications` element of the SOAP body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundMessage {
    pub organization_id: String,
    pub action_id: String,
    /// `None` when the message definition does not send a session id (`xsi:nil`).
    pub session_id: Option<String>,
    pub enterprise_url: Option<String>,
    pub partner_url: Option<String>,
    /// The notifications understood, in document order. With `rejected`, one to
    /// [`MAX_NOTIFICATIONS`].
    pub notifications: Vec<Notification>,
    /// Notifications that could not be understood; the rest of the message still counts.
    pub rejected: Vec<RejectedNotification>,
    /// Notifications dropped as repeats of an id earlier in the message (the first stands).
    pub repeats: usize,
}

/// A notification kept aside: its raw XML (bounded) and why it was refused. It is acknowledged
/// with the others, because Salesforce would otherwise redeliver the whole message for a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedNotification {
    /// The notification id when it had a valid one (the deduplication key of a redelivery).
    pub id: Option<String>,
    pub raw: String,
    pub reason: ParseError,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Unique per notification and repeated on redelivery: the deduplication key.
    pub id: String,
    pub object: NotifiedObject,
    /// The notification's XML as it came (bounded), kept only for one the receiver sets aside
    /// though it parsed: a CampaignMember without `Status`.
    pub raw: Option<String>,
}

impl Notification {
    pub fn new(id: String, object: NotifiedObject) -> Self {
        Notification {
            id,
            object,
            raw: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifiedObject {
    CampaignMember(CampaignMemberFields),
    /// A CampaignMember notification whose `sObject` is empty, not even an `Id` (which every
    /// live record's notification has): Salesforce sends one when the record was deleted
    /// before the notification went out. There is nothing to sync; the deleted-records poll
    /// removes the member.
    Vanished,
    /// Any other sObject type, by its API name (`Contact`, `Lead`, `State_Province__c`…).
    Other {
        sobject_type: String,
    },
}

/// The CampaignMember fields the sync reads. `None` means the element was absent, nil or
/// empty: null in Salesforce or not selected in the message definition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CampaignMemberFields {
    pub id: String,
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

/// Why a body is not an acceptable outbound message; the text goes into the SOAP fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("malformed XML at byte {position}: {message}")]
    Malformed { position: u64, message: String },
    #[error("document type declarations are not accepted")]
    Dtd,
    #[error("{0} is not a character XML allows")]
    ForbiddenCharacter(String),
    #[error(
        "entity reference &{0}; is not allowed (only the five predefined XML entities and character references are)"
    )]
    Entity(String),
    #[error("elements are nested deeper than {0} levels")]
    TooDeep(usize),
    #[error("expected {expected}, found <{found}>")]
    NotOutboundMessage {
        expected: &'static str,
        found: String,
    },
    #[error("unexpected element <{found}> inside <{inside}>")]
    Unexpected { found: String, inside: String },
    #[error("unexpected text {0:?} between elements")]
    StrayText(String),
    #[error("content after the SOAP envelope")]
    TrailingContent,
    #[error("missing required element {0}")]
    Missing(&'static str),
    #[error(
        "the CampaignMember has no {0}, which the sync needs: add {0} to the outbound \
         message's fields"
    )]
    MissingField(&'static str),
    #[error("element {0} appears more than once")]
    Duplicate(&'static str),
    #[error("more than {MAX_NOTIFICATIONS} Notification elements")]
    TooManyNotifications,
    #[error("{element} is {length} characters long; Salesforce allows at most {max}")]
    TooLong {
        element: &'static str,
        length: usize,
        max: usize,
    },
    #[error("{element} {value:?} is not a Salesforce id: {reason}")]
    BadId {
        element: &'static str,
        value: String,
        reason: crate::ids::IdError,
    },
    #[error("{element} {value:?} is invalid: {reason}")]
    Invalid {
        element: &'static str,
        value: String,
        reason: &'static str,
    },
}
