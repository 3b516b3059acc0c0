//! The service's calls as the simulators logged them, grouped by what they did (SOQL by object,
//! paths without ids), for benchmarks that print where the calls went.

use std::collections::BTreeMap;

use super::{Rig, USER};

/// Where the two simulators' call logs stood at one moment.
#[derive(Debug, Clone, Copy)]
pub struct LogPosition {
    marketo: usize,
    salesforce: usize,
}

/// The service's calls on each side since a [`LogPosition`], grouped.
pub struct Calls {
    pub marketo: BTreeMap<String, usize>,
    pub salesforce: BTreeMap<String, usize>,
}

impl Rig {
    pub fn log_position(&self) -> LogPosition {
        LogPosition {
            marketo: self.mk.requests().len(),
            salesforce: self.sf.requests().len(),
        }
    }

    /// The service's calls since `from`: Marketo's own webhook calls, Salesforce's outbound
    /// messages and the simulated users' Salesforce calls left out.
    pub fn calls_since(&self, from: LogPosition) -> Calls {
        let marketo = group_calls(
            self.mk
                .requests()
                .split_off(from.marketo)
                .into_iter()
                .filter(|r| r.kind != "webhook")
                .map(|r| (r.method, r.path, r.query)),
        );
        let salesforce = group_calls(
            self.sf
                .requests()
                .split_off(from.salesforce)
                .into_iter()
                .filter(|r| r.kind != "outbound" && r.client.as_deref() != Some(USER))
                .map(|r| (r.method, r.path, r.query)),
        );
        Calls {
            marketo,
            salesforce,
        }
    }

    /// Marketo's webhook calls to the service since `from`.
    pub fn webhooks_since(&self, from: LogPosition) -> usize {
        self.mk.requests()[from.marketo..]
            .iter()
            .filter(|r| r.kind == "webhook")
            .count()
    }
}

impl Calls {
    pub fn print(&self) {
        print_groups("Marketo", &self.marketo);
        print_groups("Salesforce", &self.salesforce);
    }
}

/// Calls (method, path, query) grouped by what they did: SOQL by object, paths without ids.
fn group_calls(
    paths: impl Iterator<Item = (String, String, Option<String>)>,
) -> BTreeMap<String, usize> {
    let mut groups = BTreeMap::new();
    for (method, path, query) in paths {
        let label = if path.ends_with("/query") {
            let soql = query
                .and_then(|q| {
                    reqwest::Url::parse(&format!("http://x/?{q}"))
                        .ok()?
                        .query_pairs()
                        .find(|(k, _)| k == "q")
                        .map(|(_, v)| v.into_owned())
                })
                .unwrap_or_default();
            let object = soql
                .split_whitespace()
                .skip_while(|w| !w.eq_ignore_ascii_case("FROM"))
                .nth(1)
                .unwrap_or("?")
                .to_string();
            let feed = if soql.contains("SystemModstamp >") {
                " changed since the cursor"
            } else {
                ""
            };
            format!("{method} query FROM {object}{feed}")
        } else {
            let generic: String = path
                .split('/')
                .map(|part| {
                    if part.chars().any(|c| c.is_ascii_digit()) && !part.starts_with('v') {
                        "{id}"
                    } else {
                        part
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            format!("{method} {generic}")
        };
        *groups.entry(label).or_default() += 1;
    }
    groups
}

fn print_groups(side: &str, groups: &BTreeMap<String, usize>) {
    let total: usize = groups.values().sum();
    println!("   {side}: {total} calls");
    for (label, n) in groups {
        println!("      {n:>5}  {label}");
    }
}
