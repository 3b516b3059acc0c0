//! The sync's vocabulary as types: trigger-event kinds, actors, write targets and outcome
//! results. Their database (and JSON) strings live here and nowhere else.

use serde::{Deserialize, Serialize};

/// Declares a `Copy` enum with one string per variant, used in the database and in JSON.
macro_rules! named {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The value a stored string names; `None` for anything else.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        /// Stored as its string; a string naming no value is a decode error naming it.
        impl sqlx::Type<sqlx::Any> for $name {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <String as sqlx::Type<sqlx::Any>>::type_info()
            }

            fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
                <String as sqlx::Type<sqlx::Any>>::compatible(ty)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for $name {
            fn decode(
                value: sqlx::any::AnyValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <String as sqlx::Decode<sqlx::Any>>::decode(value)?;
                match Self::parse(&text) {
                    Some(value) => Ok(value),
                    None => Err(Box::new(UnknownName { kind: stringify!($name), text })),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A stored string that names none of a kind's values (written by a newer build, or by hand).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a known {kind}")]
pub struct UnknownName {
    pub kind: &'static str,
    pub text: String,
}

named! {
    /// What a trigger event says happened, on the campaign side or the program side.
    TriggerKind {
        AddedToCampaign => "added_to_campaign",
        RemovedFromCampaign => "removed_from_campaign",
        CampaignStatusChanged => "campaign_status_changed",
        AddedToProgram => "added_to_program",
        RemovedFromProgram => "removed_from_program",
        ProgramStatusChanged => "program_status_changed",
    }
}

named! {
    /// Who caused a change.
    Actor {
        Salesforce => "salesforce",
        Marketo => "marketo",
        /// campaign-sync itself, e.g. setting Salesforce back to Marketo's status.
        CampaignSync => "campaign-sync",
        Reconciliation => "reconciliation",
        Admin => "admin",
    }
}

named! {
    /// The system an outcome's write went to (`none` when nothing was written).
    Connector {
        Salesforce => "salesforce",
        Marketo => "marketo",
        None => "none",
    }
}

named! {
    /// What kind of write an outcome records.
    Action {
        SetStatus => "set_status",
        RemoveMember => "remove_member",
        FlowAction => "flow_action",
        CampaignSettings => "campaign_settings",
        Reconcile => "reconcile",
        None => "none",
    }
}

named! {
    /// How a planned write ended.
    OutcomeResult {
        Applied => "applied",
        Skipped => "skipped",
        Diverged => "diverged",
        Dead => "dead",
    }
}

named! {
    /// An operational event subscribers can ask for, beside the trigger events.
    OperationalEvent {
        /// A mapping's statuses stopped matching; it does not sync until fixed.
        MappingHeld => "mapping_held",
        /// A side stopped being called (daily quota or credentials) until it recovers.
        SidePaused => "side_paused",
        /// A change failed for good and waits for a replay.
        SignalDead => "signal_dead",
    }
}

/// Whether `text` names an event a subscription may ask for.
pub fn is_event_type(text: &str) -> bool {
    TriggerKind::parse(text).is_some() || OperationalEvent::parse(text).is_some()
}

/// Where an outcome's write went: the system and the kind of write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub connector: Connector,
    pub action: Action,
}

impl Target {
    pub const NONE: Target = Target::new(Connector::None, Action::None);
    /// A Marketo flow action's change to a campaign no mapping covers.
    pub const FLOW_ACTION: Target = Target::new(Connector::Salesforce, Action::FlowAction);

    pub const fn new(connector: Connector, action: Action) -> Self {
        Target { connector, action }
    }

    /// What the write was, in words that begin a failure's reason, so a dead letter names the
    /// object that failed; `None` when nothing was being written.
    pub fn doing(self) -> Option<&'static str> {
        Some(match (self.connector, self.action) {
            (Connector::Salesforce, Action::SetStatus) => "writing the Salesforce campaign member",
            (Connector::Salesforce, Action::RemoveMember) => {
                "removing the Salesforce campaign member"
            }
            (Connector::Marketo, Action::SetStatus) => "writing the Marketo program status",
            (Connector::Marketo, Action::RemoveMember) => "removing the Marketo program member",
            (_, Action::FlowAction) => "the flow action's write to the Salesforce campaign",
            (_, Action::CampaignSettings) => "writing the campaign's Type and ActualCost",
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips_through_its_string() {
        fn check<T: Copy + PartialEq + std::fmt::Debug + Serialize>(
            all: &[T],
            text: fn(T) -> &'static str,
            parse: fn(&str) -> Option<T>,
        ) {
            for &value in all {
                assert_eq!(parse(text(value)), Some(value));
                assert_eq!(serde_json::to_value(value).unwrap(), text(value));
            }
        }
        check(TriggerKind::ALL, TriggerKind::as_str, TriggerKind::parse);
        check(Actor::ALL, Actor::as_str, Actor::parse);
        check(Connector::ALL, Connector::as_str, Connector::parse);
        check(Action::ALL, Action::as_str, Action::parse);
        check(
            OutcomeResult::ALL,
            OutcomeResult::as_str,
            OutcomeResult::parse,
        );
        check(
            OperationalEvent::ALL,
            OperationalEvent::as_str,
            OperationalEvent::parse,
        );
        assert_eq!(OutcomeResult::parse("unknown"), None);
        assert!(is_event_type("signal_dead") && is_event_type("added_to_campaign"));
        assert!(!is_event_type("dead"));
    }
}
