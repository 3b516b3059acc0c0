//! One program ⇄ campaign mapping as configured (`[[mappings]]`), and its conflict and
//! backward-move policies.

use std::collections::BTreeMap;

use serde::Deserialize;

/// What wins when both sides changed a member since the last sync.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictPolicy {
    #[default]
    LastWriterWins,
    SalesforceWins,
    MarketoWins,
}

/// What to do when Salesforce moves a member to a status Marketo will not go back to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BackwardPolicy {
    /// Leave Salesforce as the user set it; record the divergence.
    #[default]
    KeepSalesforce,
    /// Set Salesforce back to Marketo's status.
    ResetSalesforce,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingConfig {
    /// Stable name used in logs, metrics and admin calls; defaults to `program_id`.
    #[serde(default)]
    pub name: String,
    pub program_id: i64,
    pub campaign_id: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Marketo status name → Salesforce member status label; unlisted names map to themselves.
    #[serde(default)]
    pub status_map: BTreeMap<String, String>,
    /// Salesforce label → Marketo status, where `status_map` is many-to-one (the chosen reverse).
    #[serde(default)]
    pub status_map_to_marketo: BTreeMap<String, String>,
    /// Marketo channel name → Salesforce campaign Type; unlisted channels map to themselves.
    #[serde(default)]
    pub channel_type_map: BTreeMap<String, String>,
    #[serde(default)]
    pub conflict_policy: ConflictPolicy,
    #[serde(default)]
    pub backward_policy: BackwardPolicy,
}

impl MappingConfig {
    /// An enabled mapping with every other setting at its default, as a `[[mappings]]` table
    /// naming only these three keys reads.
    pub fn new(name: &str, program_id: i64, campaign_id: &str) -> MappingConfig {
        MappingConfig {
            name: name.to_string(),
            program_id,
            campaign_id: campaign_id.to_string(),
            enabled: true,
            status_map: BTreeMap::new(),
            status_map_to_marketo: BTreeMap::new(),
            channel_type_map: BTreeMap::new(),
            conflict_policy: ConflictPolicy::default(),
            backward_policy: BackwardPolicy::default(),
        }
    }

    /// What the mapping's maps cannot hold, each named under `key` (`mappings[0]`): two
    /// statuses reaching one label with no reverse chosen, and a blank name on either side (a
    /// blank campaign Type would clear the campaign's Type at every settings pass).
    pub(super) fn map_problems(&self, key: &str) -> Vec<String> {
        let map = crate::sync::StatusMap::two_way(&self.status_map, &self.status_map_to_marketo);
        let mut problems: Vec<String> = map
            .ambiguities()
            .into_iter()
            .map(|problem| format!("{key}.{problem} (mapping {:?})", self.name))
            .collect();
        for (table, map) in [
            ("status_map", &self.status_map),
            ("status_map_to_marketo", &self.status_map_to_marketo),
            ("channel_type_map", &self.channel_type_map),
        ] {
            for (from, to) in map {
                if from.trim().is_empty() || to.trim().is_empty() {
                    problems.push(format!(
                        "{key}.{table}: {from:?} = {to:?} has a blank name (mapping {:?}); name \
                         both sides, or leave the entry out",
                        self.name
                    ));
                }
            }
        }
        problems
    }
}

fn yes() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::MappingConfig;

    #[test]
    fn a_blank_name_in_a_map_is_a_problem() {
        let mut mapping = MappingConfig::new("roadshow", 1001, "701000000000001AAA");
        assert!(mapping.map_problems("mappings[0]").is_empty());
        mapping
            .channel_type_map
            .insert("Roadshow".into(), "".into());
        mapping.status_map.insert(" ".into(), "Attended".into());
        let problems = mapping.map_problems("mappings[0]").join("\n");
        assert!(
            problems.contains("mappings[0].channel_type_map: \"Roadshow\" = \"\" has a blank name"),
            "{problems}"
        );
        assert!(
            problems.contains("mappings[0].status_map: \" \" = \"Attended\""),
            "{problems}"
        );
    }
}
