//! The world's faults and org changes: simulator faults added and cleared through their control
//! endpoints as an operator would, a validation rule refusing member writes, a campaign status
//! removed and put back.

use serde_json::json;

use crate::world::{USER, World};

impl World {
    /// Adds a fault to the Salesforce simulator through its control endpoint, as an operator
    /// would (`{"http_status": 503, "calls": 3}`).
    pub async fn sf_fault(&self, fault: serde_json::Value) {
        self.add_fault(&self.sf.base_url(), fault).await;
    }

    /// Adds a fault to the Marketo simulator (`{"error_code": "603"}`).
    pub async fn mk_fault(&self, fault: serde_json::Value) {
        self.add_fault(&self.mk.base_url(), fault).await;
    }

    /// Ends the Salesforce simulator's faults.
    pub async fn sf_faults_cleared(&self) {
        self.clear_faults(&self.sf.base_url()).await;
    }

    /// Ends the Marketo simulator's faults.
    pub async fn mk_faults_cleared(&self) {
        self.clear_faults(&self.mk.base_url()).await;
    }

    async fn add_fault(&self, simulator: &str, fault: serde_json::Value) {
        let added = self
            .app
            .client
            .post(format!("{simulator}/__sim/faults"))
            .json(&fault)
            .send()
            .await
            .expect("POST /__sim/faults");
        assert!(added.status().is_success(), "{fault}: {}", added.status());
    }

    async fn clear_faults(&self, simulator: &str) {
        let cleared = self
            .app
            .client
            .delete(format!("{simulator}/__sim/faults"))
            .send()
            .await
            .expect("DELETE /__sim/faults");
        assert!(cleared.status().is_success(), "{}", cleared.status());
    }

    /// A validation rule of the org refuses every CampaignMember write (each record fails with
    /// `FIELD_CUSTOM_VALIDATION_EXCEPTION`, a failure no retry mends) until
    /// [`World::accept_member_writes`].
    pub async fn refuse_member_writes(&self) {
        self.sf_fault(json!({ "error_code": "FIELD_CUSTOM_VALIDATION_EXCEPTION" }))
            .await;
    }

    /// The validation rule is changed: Salesforce takes member writes again.
    pub async fn accept_member_writes(&self) {
        self.sf_faults_cleared().await;
    }

    /// Removes the campaign's "No Show" member status, as an admin might: the mapping is then
    /// held (its statuses no longer match) until [`World::restore_no_show`] puts it back.
    pub fn remove_no_show(&self) {
        let no_show = self
            .sf
            .statuses_of(&self.campaign)
            .into_iter()
            .find(|s| s.get("Label") == Some(&json!("No Show")))
            .expect("the campaign has a No Show status");
        self.sf
            .delete(USER, no_show["Id"].as_str().unwrap())
            .unwrap();
    }

    pub fn restore_no_show(&self) {
        self.sf
            .create(
                USER,
                "CampaignMemberStatus",
                json!({ "CampaignId": self.campaign, "Label": "No Show", "SortOrder": 9 }),
            )
            .unwrap();
    }
}
