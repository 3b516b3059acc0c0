//! Trigger events into Marketo: each event posted as a custom activity on the person (≤300
//! per call), and the smart campaigns a mapping asks to request (≤100 leads per call).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde_json::{Value, json};

use super::Failure;
use super::provision::api_name;
use crate::config::{Change, Config};
use crate::connectors::CallError;
use crate::connectors::marketo::MarketoClient;
use crate::connectors::salesforce::SalesforceClient;
use crate::kinds::TriggerKind;
use crate::store::{Delivery, Store};
use crate::sync::StatusMap;

/// Request Campaign `{{my.…}}` tokens: name, value.
type Tokens = Vec<(String, String)>;

/// Posts activities and requests campaigns for claimed outbox rows.
pub struct MarketoDestination {
    pub(super) marketo: MarketoClient,
    pub(super) salesforce: SalesforceClient,
    /// Salesforce campaign names by id, read once per process.
    names: Mutex<HashMap<String, String>>,
    /// Approved custom activity types' ids by API name, read when one is first wanted.
    type_ids: Mutex<HashMap<String, i64>>,
    /// Whether the types were read during the round under way (and how the read failed, if it
    /// did): a type still missing is looked for again in the next round, not once per activity
    /// waiting for it.
    types_read: Mutex<Option<Result<(), Failure>>>,
}

impl MarketoDestination {
    pub fn new(marketo: MarketoClient, salesforce: SalesforceClient) -> Self {
        MarketoDestination {
            marketo,
            salesforce,
            names: Mutex::default(),
            type_ids: Mutex::default(),
            types_read: Mutex::default(),
        }
    }

    /// The id Marketo gave the approved custom activity type `api_name`: activities name their
    /// type by id. Read again when unknown, once a round, so types provisioned while running
    /// are found and activities waiting for a type not provisioned cost one call, not one each.
    async fn type_id(&self, api_name: &str) -> Result<i64, Failure> {
        if let Some(id) = self.cached_type_id(api_name) {
            return Ok(id);
        }
        let read = self
            .types_read
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match read {
            Some(Ok(())) => return Err(not_provisioned(api_name)),
            Some(Err(failure)) => return Err(failure),
            None => {}
        }
        let answer = self.marketo.custom_activity_types().await;
        *self.types_read.lock().unwrap_or_else(|e| e.into_inner()) = Some(
            answer
                .as_ref()
                .map(|_| ())
                .map_err(|error| Failure::from(error.clone())),
        );
        let types = answer?;
        let approved = types
            .into_iter()
            .filter(|t| t.status.starts_with("approved"))
            .filter_map(|t| Some((t.api_name, t.id?)));
        self.type_ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(approved);
        self.cached_type_id(api_name)
            .ok_or_else(|| not_provisioned(api_name))
    }

    fn cached_type_id(&self, api_name: &str) -> Option<i64> {
        let ids = self.type_ids.lock().unwrap_or_else(|e| e.into_inner());
        ids.get(api_name).copied()
    }

    async fn campaign_name(&self, id: &str) -> Result<String, Failure> {
        if let Some(name) = self.names.lock().unwrap_or_else(|e| e.into_inner()).get(id) {
            return Ok(name.clone());
        }
        // A campaign Salesforce does not know (a flow action's typo) is named by its id.
        let name = match self.salesforce.get("Campaign", id).await {
            Ok(record) => record["Name"].as_str().unwrap_or(id).to_string(),
            Err(error) if error.is_retryable() => return Err(Failure::from(error)),
            Err(error) => {
                tracing::warn!(campaign = id, %error, "campaign name unknown; using its id");
                id.to_string()
            }
        };
        self.names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.into(), name.clone());
        Ok(name)
    }

    /// The event's kind, campaign id and the person's Marketo lead; `Skip` when the
    /// configuration does not post it.
    async fn prepare(
        &self,
        store: &Store,
        config: &Config,
        delivery: &Delivery,
    ) -> Result<(TriggerKind, String, i64), Failure> {
        let data = &delivery.payload["data"];
        let kind = trigger_kind(delivery)?;
        let mapping = data["mapping"].as_str();
        if !config.triggers.posts(mapping, kind) {
            return Err(Failure::Skip(
                "not posted by the [triggers] configuration".into(),
            ));
        }
        let (campaign, lead) = lead_and_campaign(store, delivery).await?;
        Ok((kind, campaign, lead))
    }

    /// Posts one custom activity per delivery, in one call per 300.
    pub(super) async fn post(
        &self,
        store: &Store,
        config: &Config,
        deliveries: &[Delivery],
    ) -> Vec<(i64, Result<(), Failure>)> {
        let mut results = Vec::new();
        let mut ready = Vec::new();
        // A new round may read the types once more.
        *self.types_read.lock().unwrap_or_else(|e| e.into_inner()) = None;
        for delivery in deliveries {
            match self.activity(store, config, delivery).await {
                Ok(activity) => ready.push((delivery.id, activity)),
                Err(failure) => results.push((delivery.id, Err(failure))),
            }
        }
        if ready.is_empty() {
            return results;
        }
        let activities: Vec<Value> = ready.iter().map(|(_, a)| a.clone()).collect();
        match self.marketo.post_custom_activities(&activities).await {
            Ok(answers) => {
                for ((id, _), answer) in ready.iter().zip(answers) {
                    let result = if answer.status == "skipped" {
                        let reasons: Vec<String> = answer
                            .reasons
                            .iter()
                            .map(|r| format!("{} {}", r.code, r.message))
                            .collect();
                        Err(Failure::Permanent(format!(
                            "Marketo skipped the activity: {}",
                            reasons.join("; ")
                        )))
                    } else {
                        Ok(())
                    };
                    results.push((*id, result));
                }
            }
            Err(error) => {
                let failure = Failure::from(error);
                results.extend(ready.iter().map(|(id, _)| (*id, Err(failure.clone()))));
            }
        }
        results
    }

    async fn activity(
        &self,
        store: &Store,
        config: &Config,
        delivery: &Delivery,
    ) -> Result<Value, Failure> {
        let (kind, campaign, lead) = self.prepare(store, config, delivery).await?;
        let data = &delivery.payload["data"];
        let name = self.campaign_name(&campaign).await?;
        let mut attributes = vec![json!({ "apiName": "campaignName", "value": name })];
        let [new, previous] = campaign_statuses(config, kind, data);
        for (api, value) in [("status", new), ("previousStatus", previous)] {
            if let Some(value) = value {
                attributes.push(json!({ "apiName": api, "value": value }));
            }
        }
        let type_id = self.type_id(api_name(Change::of(kind))).await?;
        Ok(json!({
            "leadId": lead,
            "activityDate": delivery.payload["timestamp"],
            "activityTypeId": type_id,
            "primaryAttributeValue": campaign,
            "attributes": attributes,
        }))
    }

    /// Requests each mapping's smart campaign for its events, grouped by campaign and tokens
    /// into calls of at most 100 leads.
    pub(super) async fn request(
        &self,
        store: &Store,
        config: &Config,
        deliveries: &[Delivery],
    ) -> Vec<(i64, Result<(), Failure>)> {
        let mut results = Vec::new();
        let mut groups: BTreeMap<(i64, Tokens), Vec<(i64, i64)>> = BTreeMap::new();
        for delivery in deliveries {
            match self.request_for(store, config, delivery).await {
                Ok((campaign, tokens, lead)) => groups
                    .entry((campaign, tokens))
                    .or_default()
                    .push((delivery.id, lead)),
                Err(failure) => results.push((delivery.id, Err(failure))),
            }
        }
        for ((campaign, tokens), members) in groups {
            let leads: Vec<i64> = members.iter().map(|(_, lead)| *lead).collect();
            let outcome = self
                .marketo
                .request_campaign(campaign, &leads, &tokens)
                .await
                .map_err(Failure::from);
            results.extend(members.iter().map(|(id, _)| (*id, outcome.clone())));
        }
        results
    }

    async fn request_for(
        &self,
        store: &Store,
        config: &Config,
        delivery: &Delivery,
    ) -> Result<(i64, Tokens, i64), Failure> {
        let data = &delivery.payload["data"];
        let kind = trigger_kind(delivery)?;
        let smart_campaign = config
            .triggers
            .requested_campaign(data["mapping"].as_str(), kind)
            .ok_or_else(|| Failure::Skip("no smart campaign to request for this event".into()))?;
        let (campaign, lead) = lead_and_campaign(store, delivery).await?;
        let name = self.campaign_name(&campaign).await?;
        let [new, previous] = campaign_statuses(config, kind, data);
        let tokens = vec![
            ("{{my.campaignName}}".to_string(), name),
            ("{{my.campaignStatus}}".to_string(), new.unwrap_or_default()),
            (
                "{{my.previousStatus}}".to_string(),
                previous.unwrap_or_default(),
            ),
        ];
        Ok((smart_campaign, tokens, lead))
    }
}

/// The event's `[new, previous]` statuses as the campaign names them. The activities and tokens
/// speak of the Salesforce campaign, but an event of the program (a change made in Salesforce,
/// written to Marketo) carries Marketo's names: they are translated back through the mapping's
/// status map, so a trigger on *Status* = a campaign status sees every change to it.
fn campaign_statuses(config: &Config, kind: TriggerKind, data: &Value) -> [Option<String>; 2] {
    let status = |field: &str| data[field].as_str().map(str::to_string);
    let statuses = [status("new_status"), status("old_status")];
    let of_program = matches!(
        kind,
        TriggerKind::AddedToProgram
            | TriggerKind::RemovedFromProgram
            | TriggerKind::ProgramStatusChanged
    );
    let mapping = data["mapping"]
        .as_str()
        .and_then(|name| config.mappings.iter().find(|m| m.name == name));
    match mapping.filter(|_| of_program) {
        Some(mapping) => {
            let map = StatusMap::two_way(&mapping.status_map, &mapping.status_map_to_marketo);
            statuses.map(|status| status.and_then(|s| map.to_salesforce(&s)))
        }
        None => statuses,
    }
}

/// The trigger event a delivery carries; any other event type is not Marketo's to receive.
fn not_provisioned(api_name: &str) -> Failure {
    Failure::Permanent(format!(
        "Marketo has no approved custom activity type {api_name}; \
         run `campaign-sync marketo provision`, then replay"
    ))
}

fn trigger_kind(delivery: &Delivery) -> Result<TriggerKind, Failure> {
    TriggerKind::parse(&delivery.event_type).ok_or_else(|| {
        Failure::Permanent(format!("{:?} is not a trigger event", delivery.event_type))
    })
}

/// The event's campaign id and the person's Marketo lead.
async fn lead_and_campaign(store: &Store, delivery: &Delivery) -> Result<(String, i64), Failure> {
    let campaign = delivery.payload["data"]["campaign_id"]
        .as_str()
        .ok_or_else(|| Failure::Permanent("the event names no campaign".into()))?;
    let person: i64 = delivery.person.parse().map_err(|_| {
        Failure::Permanent(format!("person {:?} is not an identity", delivery.person))
    })?;
    let identity = store
        .identity(person)
        .await
        .map_err(|e| Failure::Retry(e.to_string(), None))?;
    let lead = identity
        .and_then(|i| i.mkto_lead_id)
        .ok_or_else(|| Failure::Permanent(format!("person {person} has no Marketo lead")))?;
    Ok((campaign.to_string(), lead))
}

impl From<CallError> for Failure {
    fn from(error: CallError) -> Self {
        if let Some(until) = error.paused_until() {
            return Failure::Paused {
                reason: error.to_string(),
                until,
            };
        }
        if error.is_retryable() {
            let after = match &error {
                CallError::Retry { after, .. } => *after,
                _ => None,
            };
            Failure::Retry(error.to_string(), after)
        } else {
            Failure::Permanent(error.to_string())
        }
    }
}
