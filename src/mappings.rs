//! The configured program ⇄ campaign mappings at run time: lookup by either side's id, the
//! switches an admin flips without a restart, and the problems that hold a mapping. Switches
//! and problems live in the store, so every replica answers the same; `refresh` reads them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::config::MappingConfig;
use crate::ids::SalesforceId;
use crate::store::{SYNC_SWITCH, Store, StoreError, now_millis};
use crate::sync::StatusMap;

pub struct Mapping {
    pub config: MappingConfig,
    pub statuses: StatusMap,
    /// The run-time switch (stored, shared by every replica); the configuration's `enabled =
    /// false` is off whatever it says.
    switched_on: AtomicBool,
    /// Statuses the mapping cannot translate, from the last compatibility check; `None` until
    /// one has run. A mapping with problems is held: it writes no members.
    problems: Mutex<Option<Vec<String>>>,
}

impl Mapping {
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// On in the configuration and not switched off at run time.
    pub fn is_enabled(&self) -> bool {
        self.config.enabled && self.switched_on.load(Ordering::SeqCst)
    }

    fn set_enabled(&self, enabled: bool) {
        self.switched_on.store(enabled, Ordering::SeqCst);
    }

    fn switch(&self) -> String {
        format!("mapping:{}", self.name())
    }

    pub fn problems(&self) -> Vec<String> {
        self.problems
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_default()
    }

    fn set_problems(&self, problems: Vec<String>) {
        metrics::gauge!("mapping_incompatible_statuses", "mapping" => self.name().to_string())
            .set(problems.len() as f64);
        *self.problems.lock().unwrap_or_else(|e| e.into_inner()) = Some(problems);
    }

    /// Whether a compatibility check has run (here, or on any replica since the store began).
    pub fn is_checked(&self) -> bool {
        self.problems
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// Held when the last compatibility check found statuses it cannot translate.
    pub fn is_held(&self) -> bool {
        !self.problems().is_empty()
    }
}

/// Shared by the worker and the admin API.
#[derive(Clone)]
pub struct Mappings {
    inner: Arc<Inner>,
}

struct Inner {
    all: Vec<Arc<Mapping>>,
    /// The configuration's `sync_enabled`: when false, sync stays off whatever the switch says.
    sync_configured: bool,
    sync_enabled: AtomicBool,
}

impl Mappings {
    /// The mappings with campaign sync allowed by the configuration.
    pub fn new(configs: &[MappingConfig]) -> Self {
        Self::configured(configs, true)
    }

    /// The mappings, and whether the configuration allows campaign sync (`sync_enabled`).
    pub fn configured(configs: &[MappingConfig], sync_configured: bool) -> Self {
        let all = configs
            .iter()
            .map(|c| {
                Arc::new(Mapping {
                    statuses: StatusMap::two_way(&c.status_map, &c.status_map_to_marketo),
                    switched_on: AtomicBool::new(true),
                    problems: Mutex::new(None),
                    config: c.clone(),
                })
            })
            .collect();
        Mappings {
            inner: Arc::new(Inner {
                all,
                sync_configured,
                sync_enabled: AtomicBool::new(true),
            }),
        }
    }

    pub fn all(&self) -> &[Arc<Mapping>] {
        &self.inner.all
    }

    pub fn by_name(&self, name: &str) -> Option<&Arc<Mapping>> {
        self.inner.all.iter().find(|m| m.name() == name)
    }

    pub fn by_program(&self, program_id: i64) -> Option<&Arc<Mapping>> {
        self.inner
            .all
            .iter()
            .find(|m| m.config.program_id == program_id)
    }

    /// Salesforce ids match in their 15- and 18-character forms.
    pub fn by_campaign(&self, campaign_id: &str) -> Option<&Arc<Mapping>> {
        self.inner
            .all
            .iter()
            .find(|m| SalesforceId::same(&m.config.campaign_id, campaign_id))
    }

    /// Campaign sync as a whole, on in the configuration and not switched off at run time;
    /// when off, nothing is written.
    pub fn sync_enabled(&self) -> bool {
        self.inner.sync_configured && self.inner.sync_enabled.load(Ordering::SeqCst)
    }

    fn set_sync_enabled(&self, enabled: bool) {
        self.inner.sync_enabled.store(enabled, Ordering::SeqCst);
    }

    /// Reads the switches and held mappings every replica shares.
    pub async fn refresh(&self, store: &Store) -> Result<(), StoreError> {
        let switches = store.switches().await?;
        let mut problems = store.mapping_problems().await?;
        if let Some(&enabled) = switches.get(SYNC_SWITCH) {
            self.set_sync_enabled(enabled);
        }
        for mapping in self.all() {
            if let Some(&enabled) = switches.get(&mapping.switch()) {
                mapping.set_enabled(enabled);
            }
            if let Some(found) = problems.remove(mapping.name()) {
                mapping.set_problems(found);
            }
        }
        Ok(())
    }

    /// Why the run-time switch cannot turn this on (a mapping, or sync as a whole for `None`):
    /// the configuration holds it off. `None` when it can.
    pub fn off_in_config(&self, mapping: Option<&Mapping>) -> Option<String> {
        match mapping {
            Some(m) if !m.config.enabled => Some(format!(
                "mapping {:?} is disabled in the configuration (enabled = false in its [[mappings]] entry); set it to true there and restart",
                m.name()
            )),
            None if !self.inner.sync_configured => Some(
                "campaign sync is disabled in the configuration (sync_enabled = false); set it to true there and restart".into(),
            ),
            _ => None,
        }
    }

    /// What switched off at run time keeps every write from being made, when something does:
    /// campaign sync, or every mapping.
    pub fn switched_off(&self) -> Option<&'static str> {
        if !self.sync_enabled() {
            return Some(
                "campaign sync is switched off (POST /admin/sync/enable or the console's switch turns it on)",
            );
        }
        let all = self.all();
        (!all.is_empty() && !all.iter().any(|m| m.is_enabled())).then_some(
            "every mapping is switched off (POST /admin/mappings/{name}/enable or the console turns one on)",
        )
    }

    /// Switches one mapping for every replica.
    pub async fn switch_mapping(
        &self,
        store: &Store,
        mapping: &Mapping,
        enabled: bool,
    ) -> Result<(), StoreError> {
        store
            .set_switch(&mapping.switch(), enabled, now_millis())
            .await?;
        mapping.set_enabled(enabled);
        Ok(())
    }

    /// Switches campaign sync as a whole for every replica.
    pub async fn switch_sync(&self, store: &Store, enabled: bool) -> Result<(), StoreError> {
        store.set_switch(SYNC_SWITCH, enabled, now_millis()).await?;
        self.set_sync_enabled(enabled);
        Ok(())
    }

    /// Records a compatibility check's result for every replica.
    pub async fn hold(
        &self,
        store: &Store,
        mapping: &Mapping,
        problems: Vec<String>,
    ) -> Result<(), StoreError> {
        store
            .set_mapping_problems(mapping.name(), &problems, now_millis())
            .await?;
        mapping.set_problems(problems);
        Ok(())
    }

    /// Records a compatibility check's result in this process alone (a dry run's).
    pub fn hold_here(&self, mapping: &Mapping, problems: Vec<String>) {
        mapping.set_problems(problems);
    }

    /// Whether a mapping may write members now: sync on, mapping on, statuses compatible.
    pub fn writes(&self, mapping: &Mapping) -> bool {
        self.held_back(mapping).is_none()
    }

    /// Why no mapping writes now (campaign sync off), or `None` when sync is on.
    pub fn sync_held_back(&self) -> Option<String> {
        if self.sync_enabled() {
            return None;
        }
        Some(match self.off_in_config(None) {
            Some(_) => {
                "campaign sync is disabled in the configuration (sync_enabled = false)".into()
            }
            None => "campaign sync is switched off (POST /admin/sync/enable, or Enable sync on \
                     the console's Mappings page)"
                .into(),
        })
    }

    /// Why this mapping writes no members now, in the words its postponed changes carry (what
    /// is off or held, and what turns it on), or `None` when it writes.
    pub fn held_back(&self, mapping: &Mapping) -> Option<String> {
        let name = mapping.name();
        if let Some(off) = self.sync_held_back() {
            return Some(off);
        }
        if !mapping.is_enabled() {
            return Some(match self.off_in_config(Some(mapping)) {
                Some(_) => {
                    format!("mapping {name} is disabled in the configuration (enabled = false)")
                }
                None => {
                    format!(
                        "mapping {name} is switched off (POST /admin/mappings/{name}/enable, or \
                         Enable on the console's Mappings page)"
                    )
                }
            });
        }
        let problems = mapping.problems();
        (!problems.is_empty()).then(|| {
            format!(
                "mapping {name} is held until its program and campaign can be synced: {}",
                problems.join("; ")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapping_held_back_says_what_holds_it_and_what_turns_it_on() {
        let mappings = Mappings::new(&[MappingConfig::new("webinar", 1001, "701000000000001AAA")]);
        let mapping = mappings.all()[0].clone();
        assert_eq!(mappings.held_back(&mapping), None);
        mapping.set_problems(vec![
            "Marketo status \"Waitlisted\" has no Salesforce status".into(),
        ]);
        let held = mappings.held_back(&mapping).unwrap();
        assert!(held.starts_with("mapping webinar is held"), "{held}");
        assert!(held.contains("Waitlisted"), "{held}");
        mapping.set_enabled(false);
        assert_eq!(
            mappings.held_back(&mapping).as_deref(),
            Some(
                "mapping webinar is switched off (POST /admin/mappings/webinar/enable, or Enable \
                 on the console's Mappings page)"
            )
        );
        mappings.set_sync_enabled(false);
        assert_eq!(
            mappings.held_back(&mapping).as_deref(),
            Some(
                "campaign sync is switched off (POST /admin/sync/enable, or Enable sync on the \
                 console's Mappings page)"
            )
        );
        assert!(!mappings.writes(&mapping));
    }
}
