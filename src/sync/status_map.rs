//! Per-mapping translation between Marketo status names and Salesforce member status labels.

use std::collections::BTreeMap;

/// Marketo's step 0 of every channel: the person is not (or no longer) a member.
pub const NOT_IN_PROGRAM: &str = "Not in Program";

#[derive(Debug, Clone, Default)]
pub struct StatusMap {
    to_salesforce: BTreeMap<String, String>,
    to_marketo: BTreeMap<String, String>,
}

impl StatusMap {
    /// `marketo_to_salesforce` lists the names that differ; every other name maps to itself.
    pub fn new(marketo_to_salesforce: &BTreeMap<String, String>) -> Self {
        StatusMap {
            to_salesforce: marketo_to_salesforce.clone(),
            to_marketo: marketo_to_salesforce
                .iter()
                .map(|(m, s)| (s.clone(), m.clone()))
                .collect(),
        }
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

    /// Statuses of one side that have no counterpart on the other (compatibility check).
    pub fn untranslatable(&self, marketo: &[String], salesforce: &[String]) -> Vec<String> {
        let mut problems = Vec::new();
        for name in marketo
            .iter()
            .filter(|n| !n.eq_ignore_ascii_case(NOT_IN_PROGRAM))
        {
            if let Some(label) = self.to_salesforce(name)
                && !salesforce.contains(&label)
            {
                problems.push(format!(
                    "Marketo status {name:?} maps to {label:?}, which the campaign does not have"
                ));
            }
        }
        for label in salesforce {
            let name = self.to_marketo(label);
            if !marketo.contains(&name) {
                problems.push(format!(
                    "Salesforce status {label:?} maps to {name:?}, which the program's channel does not have"
                ));
            }
        }
        problems
    }
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
    }
}
