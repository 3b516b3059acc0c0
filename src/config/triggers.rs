//! `[triggers]`: which trigger events reach Marketo as custom activities, and which smart
//! campaigns are requested, per mapping (by name); mappings not listed take the defaults.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::MappingConfig;
use crate::kinds::TriggerKind;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TriggersConfig {
    /// Post trigger events as custom activities on the person (the types must exist:
    /// `campaign-sync marketo provision`).
    pub marketo_activities: bool,
    /// Which events are posted: for every mapping (each may set some of them otherwise in
    /// `mappings`) and for campaigns touched by flow actions.
    pub activities: ActivityChoice,
    pub mappings: BTreeMap<String, MappingTriggers>,
}

impl Default for TriggersConfig {
    fn default() -> Self {
        TriggersConfig {
            marketo_activities: true,
            activities: ActivityChoice::default(),
            mappings: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActivityChoice {
    pub added: bool,
    pub removed: bool,
    pub status_changed: bool,
}

impl Default for ActivityChoice {
    fn default() -> Self {
        ActivityChoice {
            added: true,
            removed: true,
            status_changed: true,
        }
    }
}

/// A mapping's own choice of events to post: a key it leaves out keeps the `[triggers]`
/// table's value, so narrowing one event does not switch on others turned off for all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActivityOverrides {
    pub added: Option<bool>,
    pub removed: Option<bool>,
    pub status_changed: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MappingTriggers {
    pub activities: ActivityOverrides,
    /// Marketo smart campaigns ("Campaign is Requested", source Web Service API) to request.
    pub request_campaigns: RequestCampaigns,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequestCampaigns {
    pub added: Option<i64>,
    pub removed: Option<i64>,
    pub status_changed: Option<i64>,
}

/// The three things a trigger event can say, whichever side was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added,
    Removed,
    StatusChanged,
}

impl Change {
    pub fn of(kind: TriggerKind) -> Change {
        match kind {
            TriggerKind::AddedToCampaign | TriggerKind::AddedToProgram => Change::Added,
            TriggerKind::RemovedFromCampaign | TriggerKind::RemovedFromProgram => Change::Removed,
            TriggerKind::CampaignStatusChanged | TriggerKind::ProgramStatusChanged => {
                Change::StatusChanged
            }
        }
    }
}

impl TriggersConfig {
    /// A `[triggers.mappings.NAME]` naming no mapping (a typo would silently post everything)
    /// and smart campaign ids that cannot exist.
    pub(super) fn problems(&self, mappings: &[MappingConfig]) -> Vec<String> {
        let mut problems = Vec::new();
        for (name, triggers) in &self.mappings {
            if !mappings.iter().any(|m| &m.name == name) {
                problems.push(format!(
                    "triggers.mappings.{name}: no mapping is named {name:?}"
                ));
            }
            let ids = triggers.request_campaigns;
            for (change, id) in [
                ("added", ids.added),
                ("removed", ids.removed),
                ("status_changed", ids.status_changed),
            ] {
                if id.is_some_and(|id| id <= 0) {
                    problems.push(format!(
                        "triggers.mappings.{name}.request_campaigns.{change}: must be a smart campaign id (positive)"
                    ));
                }
            }
        }
        problems
    }

    /// Whether an event of `kind` on `mapping` (none for a flow action) is posted to Marketo.
    pub fn posts(&self, mapping: Option<&str>, kind: TriggerKind) -> bool {
        if !self.marketo_activities {
            return false;
        }
        let own = mapping
            .and_then(|m| self.mappings.get(m))
            .map(|m| m.activities)
            .unwrap_or_default();
        let all = self.activities;
        match Change::of(kind) {
            Change::Added => own.added.unwrap_or(all.added),
            Change::Removed => own.removed.unwrap_or(all.removed),
            Change::StatusChanged => own.status_changed.unwrap_or(all.status_changed),
        }
    }

    /// The smart campaign to request for an event of `kind` on `mapping`, if any.
    pub fn requested_campaign(&self, mapping: Option<&str>, kind: TriggerKind) -> Option<i64> {
        let campaigns = mapping
            .and_then(|m| self.mappings.get(m))?
            .request_campaigns;
        match Change::of(kind) {
            Change::Added => campaigns.added,
            Change::Removed => campaigns.removed,
            Change::StatusChanged => campaigns.status_changed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapping_overrides_the_defaults_and_the_switch_wins() {
        let mut config = TriggersConfig::default();
        config.mappings.insert(
            "webinar".into(),
            MappingTriggers {
                activities: ActivityOverrides {
                    removed: Some(false),
                    ..ActivityOverrides::default()
                },
                request_campaigns: RequestCampaigns {
                    added: Some(42),
                    ..RequestCampaigns::default()
                },
            },
        );
        let removed = TriggerKind::RemovedFromProgram;
        assert!(!config.posts(Some("webinar"), removed));
        assert!(config.posts(Some("other"), removed));
        assert!(config.posts(None, TriggerKind::AddedToCampaign));
        assert_eq!(
            config.requested_campaign(Some("webinar"), TriggerKind::AddedToProgram),
            Some(42)
        );
        assert_eq!(config.requested_campaign(Some("webinar"), removed), None);
        // A key the mapping leaves out keeps the table's value, switched off for all here.
        config.activities.status_changed = false;
        let changed = TriggerKind::ProgramStatusChanged;
        assert!(!config.posts(Some("webinar"), changed));
        config
            .mappings
            .get_mut("webinar")
            .unwrap()
            .activities
            .status_changed = Some(true);
        assert!(config.posts(Some("webinar"), changed));
        assert!(!config.posts(Some("other"), changed));
        config.marketo_activities = false;
        assert!(!config.posts(None, TriggerKind::AddedToCampaign));
    }

    #[test]
    fn unknown_mappings_and_impossible_campaign_ids_are_problems() {
        let mut config = TriggersConfig::default();
        let bad = RequestCampaigns {
            removed: Some(0),
            ..RequestCampaigns::default()
        };
        for name in ["webinar", "webniar"] {
            let triggers = MappingTriggers {
                activities: ActivityOverrides::default(),
                request_campaigns: bad,
            };
            config.mappings.insert(name.into(), triggers);
        }
        let mapping = MappingConfig::new("webinar", 1001, "701000000000001AAA");
        let problems = config.problems(&[mapping]);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].contains("request_campaigns.removed"),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("no mapping is named \"webniar\""))
        );
    }
}
