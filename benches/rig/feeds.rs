//! Waiting on the change feeds' starts: the simulated Salesforce clock after seeding, and the
//! feeds' first passes (their cursors in the service's database); each side's statuses.

use std::collections::HashMap;
use std::time::Duration;

use campaign_sync::store::now_millis;

use super::{PROGRAM, Rig};

impl Rig {
    /// Waits until the wall clock passes the campaign members' newest `SystemModstamp`. The
    /// simulator hands every write its own millisecond, so fast seeding runs its clock ahead of
    /// the wall clock (about 100 s for 50,000 people); a changes feed started before the wall
    /// clock catches up would find every seeded member "changed" since its start.
    /// Each side's memberships now: Salesforce member id → status, Marketo lead → status.
    pub fn statuses(&self) -> (HashMap<String, String>, HashMap<i64, String>) {
        let sf = self
            .sf
            .members_of(&self.campaign)
            .into_iter()
            .filter_map(|m| {
                Some((
                    m.get("Id")?.as_str()?.to_string(),
                    m.get("Status")?.as_str()?.to_string(),
                ))
            })
            .collect();
        let mk = self
            .mk
            .members(PROGRAM)
            .into_iter()
            .map(|m| (m.lead_id, m.status_name))
            .collect();
        (sf, mk)
    }

    /// Restarts the seeded service with its worker loop, its scheduled passes beside it and
    /// Marketo's webhook, once the wall clock has passed the seeded members' stamps.
    pub async fn start_worker_after_seed(&mut self) {
        let behind = self.wait_for_salesforce_clock().await;
        println!(
            "(waited {:.0} s for the wall clock to pass the seeded members' SystemModstamp)",
            behind.as_secs_f64()
        );
        self.stop_service().await;
        self.start_service(|c| c.worker.enabled = true).await;
        self.add_webhook();
        self.wait_for_first_passes().await;
    }

    pub async fn wait_for_salesforce_clock(&self) -> Duration {
        let newest = self
            .sf
            .members_of(&self.campaign)
            .iter()
            .filter_map(|m| {
                let stamp = m.get("SystemModstamp")?;
                stamp
                    .as_i64()
                    .or_else(|| campaign_sync::sync::time::parse_millis(stamp.as_str()?))
            })
            .max()
            .unwrap_or(0);
        let waited = std::time::Instant::now();
        while now_millis() <= newest {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        waited.elapsed()
    }

    /// Each feed's cursor: when its last pass ran (epoch ms), by feed name.
    pub async fn cursor_passes(&self) -> Vec<(String, i64)> {
        sqlx::query_as("SELECT name, updated_at FROM cursors")
            .fetch_all(&self.db)
            .await
            .expect("read cursors")
    }

    /// After the worker's start on a fresh database: waits until both feeds have stored where
    /// they start (their first passes, after the settings pass and the deleted poll, are done)
    /// and until the second they start at has begun (they read time to the second).
    pub async fn wait_for_first_passes(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let passes = self.cursor_passes().await;
            let started = |feed: &str| passes.iter().find(|(n, _)| n == feed).map(|(_, at)| *at);
            if let (Some(a), Some(b)) = (
                started("marketo:activities"),
                started("salesforce:member_changes"),
            ) {
                let begun = (a.max(b) / 1000 + 1) * 1000;
                while now_millis() <= begun {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the feeds' first passes never ran"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
