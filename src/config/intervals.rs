//! Durations that must not be zero: a connector call with no time to answer fails every time,
//! and a schedule of 0 s would poll without pause and spend the day's API quota on nothing.

use super::Config;

impl Config {
    /// Each time setting at 0, as `key: must be greater than 0 …`.
    pub(super) fn zero_intervals(&self) -> Vec<String> {
        let s = &self.schedules;
        let m = &self.marketo;
        let schedules = [
            ("schedules.deleted_poll_secs", s.deleted_poll_secs),
            ("schedules.reconcile_secs", s.reconcile_secs),
            ("schedules.program_settings_secs", s.program_settings_secs),
            (
                "schedules.program_costs_full_secs",
                s.program_costs_full_secs,
            ),
            ("schedules.marketo_activity_secs", s.marketo_activity_secs),
            (
                "schedules.salesforce_changes_secs",
                s.salesforce_changes_secs,
            ),
            ("marketo.extract_poll_secs", m.extract_poll_secs),
            ("marketo.extract_poll_max_secs", m.extract_poll_max_secs),
        ];
        let calls = [
            (
                "salesforce.request_timeout_secs",
                self.salesforce.request_timeout_secs,
            ),
            ("marketo.request_timeout_secs", m.request_timeout_secs),
        ];
        let mut problems = Vec::new();
        for (key, secs) in schedules {
            if secs == 0 {
                problems.push(format!(
                    "{key}: must be greater than 0 (seconds between passes; 0 would poll \
                     without pause)"
                ));
            }
        }
        for (key, secs) in calls {
            if secs == 0 {
                problems.push(format!(
                    "{key}: must be greater than 0 (seconds a call may take; 0 fails every call)"
                ));
            }
        }
        if m.extract_timeout_secs == 0 {
            problems.push(
                "marketo.extract_timeout_secs: must be greater than 0 (seconds a bulk extract \
                 job may take, from its creation to its file; 0 cancels every job)"
                    .to_string(),
            );
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_schedule_or_call_timeout_is_named() {
        assert!(Config::default().zero_intervals().is_empty());
        let mut config = Config::default();
        config.schedules.marketo_activity_secs = 0;
        config.schedules.reconcile_secs = 0;
        config.salesforce.request_timeout_secs = 0;
        let problems = config.zero_intervals();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("schedules.reconcile_secs: must be greater than 0"));
        assert!(problems[1].starts_with("schedules.marketo_activity_secs: must be greater than 0"));
        assert!(
            problems[2].starts_with("salesforce.request_timeout_secs: must be greater than 0"),
            "{problems:?}"
        );
        // A bulk extract's timeout bounds the whole job, not one call.
        let mut config = Config::default();
        config.marketo.extract_timeout_secs = 0;
        let problems = config.zero_intervals();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("bulk extract job"), "{problems:?}");
    }
}
