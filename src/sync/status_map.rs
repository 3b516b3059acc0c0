//! Per-mapping translation between Marketo status names and Salesforce member status labels,
//! both ways: `status_map` (Marketo → Salesforce) and, where it is many-to-one, the chosen
//! reverse in `status_map_to_marketo` (Salesforce → Marketo).

use std::collections::BTreeMap;

/// Marketo's step 0 of every channel: the person is not (or no longer) a member.
pub const NOT_IN_PROGRAM: &str = "Not in Program";

#[derive(Debug, Clone, Default)]
pub struct StatusMap {
    to_salesforce: BTreeMap<String, String>,
    to_marketo: BTreeMap<String, String>,
    /// The reverse choices the configuration made (`status_map_to_marketo`).
    chosen: BTreeMap<String, String>,
}

impl StatusMap {
    /// `marketo_to_salesforce` lists the names that differ; every other name maps to itself.
    /// Salesforce labels map back through `salesforce_to_marketo` first, then through the
    /// reverse of `marketo_to_salesforce`.
    pub fn new(marketo_to_salesforce: &BTreeMap<String, String>) -> Self {
        Self::two_way(marketo_to_salesforce, &BTreeMap::new())
    }

    pub fn two_way(
        marketo_to_salesforce: &BTreeMap<String, String>,
        salesforce_to_marketo: &BTreeMap<String, String>,
    ) -> Self {
        let mut to_marketo: BTreeMap<String, String> = marketo_to_salesforce
            .iter()
            .map(|(m, s)| (s.clone(), m.clone()))
            .collect();
        to_marketo.extend(salesforce_to_marketo.clone());
        StatusMap {
            to_salesforce: marketo_to_salesforce.clone(),
            to_marketo,
            chosen: salesforce_to_marketo.clone(),
        }
    }

    /// Offline problems (`check-config`): Marketo statuses sharing a Salesforce label without a
    /// chosen reverse, and chosen reverses that do not map forward to their label.
    pub fn ambiguities(&self) -> Vec<String> {
        let mut by_label: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (marketo, label) in &self.to_salesforce {
            by_label.entry(label).or_default().push(marketo);
        }
        let mut problems = Vec::new();
        for (label, names) in by_label {
            if names.len() > 1 && !self.chosen.contains_key(label) {
                let all = if names.len() == 2 { "both" } else { "all" };
                problems.push(format!(
                    "status_map: {} {all} map to Salesforce {label:?}; choose which one \
                     {label:?} maps back to in status_map_to_marketo",
                    quoted(&names)
                ));
            }
        }
        for (label, name) in &self.chosen {
            if self.to_salesforce(name).as_deref() != Some(label) {
                problems.push(format!(
                    "status_map_to_marketo: Salesforce {label:?} maps back to Marketo {name:?}, \
                     which maps to {:?}, not back to {label:?}",
                    self.to_salesforce(name).unwrap_or_default()
                ));
            }
        }
        problems
    }

    /// The Salesforce label for a Marketo status; `None` for "Not in Program" (no member).
    pub fn to_salesforce(&self, marketo: &str) -> Option<String> {
        if marketo.eq_ignore_ascii_case(NOT_IN_PROGRAM) {
            return None;
        }
        Some(
            self.to_salesforce
                .get(marketo)
                .cloned()
                .unwrap_or_else(|| marketo.to_string()),
        )
    }

    pub fn to_marketo(&self, salesforce: &str) -> String {
        self.to_marketo
            .get(salesforce)
            .cloned()
            .unwrap_or_else(|| salesforce.to_string())
    }

    /// Statuses of one side that have no counterpart on the other (compatibility check). A
    /// configured name that is no status of its side (a typo in the mapping) is named first,
    /// and a problem it causes is not named again with a fix pointing elsewhere.
    pub fn untranslatable(&self, marketo: &[String], salesforce: &[String]) -> Vec<String> {
        let mut problems = self.unknown_names(marketo, salesforce);
        // The Marketo names the mapping misspelt, whose consequences are already explained.
        let misspelt: Vec<&String> = self
            .to_salesforce
            .keys()
            .chain(self.chosen.values())
            .filter(|name| !marketo.contains(name))
            .collect();
        for name in marketo
            .iter()
            .filter(|n| !n.eq_ignore_ascii_case(NOT_IN_PROGRAM))
        {
            if let Some(label) = self.to_salesforce(name)
                && !salesforce.contains(&label)
            {
                problems.push(format!(
                    "Marketo status {name:?} maps to {label:?}, which the campaign does not have: \
                     add {label:?} to the campaign's member statuses, or map {name:?} to one it \
                     has in the mapping's status_map"
                ));
            }
        }
        for label in salesforce {
            let name = self.to_marketo(label);
            if !marketo.contains(&name) && !misspelt.contains(&&name) {
                problems.push(format!(
                    "Salesforce status {label:?} maps to {name:?}, which the program's channel does \
                     not have: add {label:?} to the channel, map a channel status to it in the \
                     mapping's status_map, or remove it from the campaign's member statuses \
                     (Salesforce refuses while members hold it: move them to another status \
                     first)"
                ));
            }
        }
        problems.extend(self.round_trips(marketo, salesforce));
        problems
    }

    /// The names in `status_map` and `status_map_to_marketo` that are no status of their side:
    /// `status_map` keys and `status_map_to_marketo` values must be the channel's statuses,
    /// `status_map_to_marketo` keys the campaign's member statuses.
    fn unknown_names(&self, marketo: &[String], salesforce: &[String]) -> Vec<String> {
        let channel = quoted_list(marketo);
        let mut problems = Vec::new();
        for name in self.to_salesforce.keys().filter(|n| !marketo.contains(n)) {
            problems.push(format!(
                "status_map: {name:?} is not a status of the program's channel ({channel}): \
                 correct the key"
            ));
        }
        for (label, name) in &self.chosen {
            if !salesforce.contains(label) {
                problems.push(format!(
                    "status_map_to_marketo: {label:?} is not one of the campaign's member \
                     statuses ({}): correct the key",
                    quoted_list(salesforce)
                ));
            }
            if !marketo.contains(name) {
                problems.push(format!(
                    "status_map_to_marketo: {label:?} maps to {name:?}, which is not a status \
                     of the program's channel ({channel}): correct the value"
                ));
            }
        }
        problems
    }

    /// Every status must come back to itself through the other side, unless the configuration
    /// chose its label's reverse (`status_map_to_marketo`).
    fn round_trips(&self, marketo: &[String], salesforce: &[String]) -> Vec<String> {
        let mut problems = Vec::new();
        for name in marketo
            .iter()
            .filter(|n| !n.eq_ignore_ascii_case(NOT_IN_PROGRAM))
        {
            let Some(label) = self.to_salesforce(name) else {
                continue;
            };
            let back = self.to_marketo(&label);
            if &back != name && !self.chosen.contains_key(&label) && marketo.contains(&back) {
                problems.push(format!(
                    "Marketo statuses {name:?} and {back:?} both map to Salesforce {label:?}, \
                     which maps back to {back:?}; choose in status_map_to_marketo"
                ));
            }
        }
        for label in salesforce {
            let name = self.to_marketo(label);
            let back = self.to_salesforce(&name);
            if marketo.contains(&name) && back.as_deref() != Some(label.as_str()) {
                problems.push(format!(
                    "Salesforce status {label:?} maps to Marketo {name:?}, which maps to {:?}, \
                     not back to {label:?}",
                    back.unwrap_or_default()
                ));
            }
        }
        problems
    }
}

/// Every name of a side, quoted, for a message.
fn quoted_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(" and ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlisted_names_map_to_themselves_and_listed_ones_both_ways() {
        let map = StatusMap::new(&BTreeMap::from([(
            "Attended On-demand".into(),
            "Attended".into(),
        )]));
        assert_eq!(
            map.to_salesforce("Registered").as_deref(),
            Some("Registered")
        );
        assert_eq!(
            map.to_salesforce("Attended On-demand").as_deref(),
            Some("Attended")
        );
        assert_eq!(map.to_marketo("Attended"), "Attended On-demand");
        assert_eq!(map.to_salesforce("Not in Program"), None);
    }

    #[test]
    fn untranslatable_statuses_are_named() {
        let map = StatusMap::default();
        let problems = map.untranslatable(
            &["Not in Program".into(), "Invited".into(), "Attended".into()],
            &["Invited".into(), "Responded".into()],
        );
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("\"Attended\""));
        assert!(problems[1].contains("\"Responded\""));
        // Each says what would fix it.
        assert!(
            problems[0].contains("in the mapping's status_map"),
            "{problems:?}"
        );
        assert!(
            problems[1].contains("map a channel status to it in the mapping's status_map")
                && problems[1].contains("or remove it from the campaign's member statuses")
                && !problems[1].contains("status_map_to_marketo"),
            "{problems:?}"
        );
    }

    /// A misspelt name in the mapping is named as the mistake it is, and the Salesforce
    /// status it leaves without a counterpart is not given a fix pointing elsewhere.
    #[test]
    fn a_misspelt_name_in_the_mapping_is_named_as_such() {
        let marketo: Vec<String> = ["Not in Program", "Registered", "Attended"]
            .map(String::from)
            .into();
        let salesforce: Vec<String> = ["Registered", "Attended"].map(String::from).into();
        let forward = BTreeMap::from([("Atended".to_string(), "Attended".to_string())]);
        let problems = StatusMap::new(&forward).untranslatable(&marketo, &salesforce);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0]
                .starts_with("status_map: \"Atended\" is not a status of the program's channel")
                && problems[0].contains("\"Attended\"")
                && problems[0].ends_with("correct the key"),
            "{problems:?}"
        );
        let chosen = BTreeMap::from([
            ("Attendd".to_string(), "Attended".to_string()),
            ("Registered".to_string(), "Registerd".to_string()),
        ]);
        let problems =
            StatusMap::two_way(&BTreeMap::new(), &chosen).untranslatable(&marketo, &salesforce);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("\"Attendd\" is not one of the campaign's")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p
                .contains("maps to \"Registerd\", which is not a status of the program's channel")),
            "{problems:?}"
        );
        assert!(
            !problems.iter().any(|p| p.contains("or remove it")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_many_to_one_map_needs_a_chosen_reverse() {
        let forward = BTreeMap::from([
            ("Attended On-demand".to_string(), "Attended".to_string()),
            ("Attended Live".to_string(), "Attended".to_string()),
        ]);
        let problems = StatusMap::new(&forward).ambiguities();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("\"Attended Live\" and \"Attended On-demand\""));
        let chosen = BTreeMap::from([("Attended".to_string(), "Attended Live".to_string())]);
        let map = StatusMap::two_way(&forward, &chosen);
        assert!(map.ambiguities().is_empty());
        assert_eq!(map.to_marketo("Attended"), "Attended Live");
        let wrong = BTreeMap::from([("Attended".to_string(), "Registered".to_string())]);
        let problems = StatusMap::two_way(&forward, &wrong).ambiguities();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("not back to \"Attended\"")),
            "{problems:?}"
        );
    }

    #[test]
    fn the_readme_example_is_refused_online_until_the_reverse_is_chosen() {
        let forward = BTreeMap::from([("Attended On-demand".into(), "Attended".into())]);
        let marketo: Vec<String> = [
            "Not in Program",
            "Registered",
            "Attended",
            "Attended On-demand",
        ]
        .map(String::from)
        .into();
        let salesforce: Vec<String> = ["Registered", "Attended"].map(String::from).into();
        let problems = StatusMap::new(&forward).untranslatable(&marketo, &salesforce);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("\"Attended\" and \"Attended On-demand\" both map")),
            "{problems:?}"
        );
        let chosen = BTreeMap::from([("Attended".into(), "Attended".into())]);
        let map = StatusMap::two_way(&forward, &chosen);
        assert_eq!(
            map.untranslatable(&marketo, &salesforce),
            Vec::<String>::new()
        );
        assert_eq!(
            map.to_marketo("Attended"),
            "Attended",
            "a Salesforce user's Attended"
        );
        assert_eq!(
            map.to_salesforce("Attended On-demand").as_deref(),
            Some("Attended")
        );
    }
}
