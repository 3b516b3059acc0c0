//! The configured program ⇄ campaign mappings at run time: lookup by either side's id, and the
//! enabled switches an admin can flip without a restart.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::config::MappingConfig;
use crate::ids::SalesforceId;
use crate::sync::StatusMap;

pub struct Mapping {
    pub config: MappingConfig,
    pub statuses: StatusMap,
    enabled: AtomicBool,
    /// Statuses the mapping cannot translate, from the last compatibility check; `None` until
    /// one has run. A mapping with problems is held: it writes no members.
    problems: Mutex<Option<Vec<String>>>,
}

impl Mapping {
    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::SeqCst)
    }

    pub fn set_enabled(&self, enabled: bool) {
        self.enabled.store(enabled, Ordering::SeqCst);
    }

    pub fn problems(&self) -> Vec<String> {
        self.problems
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_default()
    }

    pub fn set_problems(&self, problems: Vec<String>) {
        metrics::gauge!("mapping_incompatible_statuses", "mapping" => self.name().to_string())
            .set(problems.len() as f64);
        *self.problems.lock().unwrap_or_else(|e| e.into_inner()) = Some(problems);
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
    sync_enabled: AtomicBool,
}

impl Mappings {
    pub fn new(configs: &[MappingConfig]) -> Self {
        let all = configs
            .iter()
            .map(|c| {
                Arc::new(Mapping {
                    statuses: StatusMap::new(&c.status_map),
                    enabled: AtomicBool::new(c.enabled),
                    problems: Mutex::new(None),
                    config: c.clone(),
                })
            })
            .collect();
        Mappings {
            inner: Arc::new(Inner {
                all,
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

    /// Campaign sync as a whole; when off, no mapping writes.
    pub fn sync_enabled(&self) -> bool {
        self.inner.sync_enabled.load(Ordering::SeqCst)
    }

    pub fn set_sync_enabled(&self, enabled: bool) {
        self.inner.sync_enabled.store(enabled, Ordering::SeqCst);
    }

    /// Whether a mapping may write members now: sync on, mapping on, statuses compatible.
    pub fn writes(&self, mapping: &Mapping) -> bool {
        self.sync_enabled() && mapping.is_enabled() && !mapping.is_held()
    }
}
