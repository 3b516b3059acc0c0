//! How a planned write ended short of a failure, who caused it, and what Marketo's refusal to
//! move a member back means (the backward-move rule and its reset policy).

use crate::config::BackwardPolicy;
use crate::kinds::{Actor, OutcomeResult};

use super::{Decision, StatusMap};

/// How a planned write ended, short of a failure (failures are retried or dead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    Applied,
    Skipped(String),
    Diverged(String),
}

impl Done {
    pub fn result(&self) -> OutcomeResult {
        match self {
            Done::Applied => OutcomeResult::Applied,
            Done::Skipped(_) => OutcomeResult::Skipped,
            Done::Diverged(_) => OutcomeResult::Diverged,
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Done::Applied => None,
            Done::Skipped(reason) | Done::Diverged(reason) => Some(reason),
        }
    }
}

/// The side whose change drove a decision: the trigger event's actor. A skip is attributed to
/// the side that was observed (Salesforce when this round saw it).
pub fn actor(decision: &Decision, salesforce_observed: bool) -> Actor {
    match decision {
        Decision::SetMarketo(_) | Decision::RemoveFromMarketo => Actor::Salesforce,
        Decision::SetSalesforce(_) | Decision::RemoveFromSalesforce => Actor::Marketo,
        Decision::Skip(_) if salesforce_observed => Actor::Salesforce,
        Decision::Skip(_) => Actor::Marketo,
    }
}

/// Setting Salesforce to the status Marketo kept: back, under `reset_salesforce`, or forward
/// when Marketo's kept status is its own later change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reset {
    pub to: String,
    pub applied: bool,
    /// Whose change the write carries (its trigger event's actor): the sync's own reset, or
    /// Marketo's later change.
    pub actor: Actor,
}

/// The start of the reason of a status change Marketo skipped because the member already had
/// it: both sides in sync.
pub const ALREADY_HAS: &str = "Marketo already has status ";

/// The start of the reason of a status change Marketo skipped for its own later change, which
/// Salesforce was then set to: both sides hold Marketo's.
pub const MARKETO_WINS: &str = "Marketo's own change wins";

/// The end of the reason of a move back Salesforce was set back from: both sides agree.
pub const SET_BACK: &str = "(reset_salesforce)";

/// Marketo skipped a status change with 1037 ("already in or past this status"). When it is
/// already *at* the requested status nothing diverged. When the status it kept is its own
/// change that wins over Salesforce's (`marketo_wins`: made later, or not told apart; see
/// the caller), Salesforce is set to it. Otherwise Salesforce moved back to an earlier status,
/// which Marketo's progression refuses: diverged, and under `reset_salesforce` the member is
/// set back to the status Marketo kept.
pub fn marketo_skipped(
    requested: &str,
    kept: Option<&str>,
    refusal: &str,
    policy: BackwardPolicy,
    map: &StatusMap,
    marketo_wins: bool,
) -> (Done, Option<Reset>) {
    if kept == Some(requested) {
        return (Done::Skipped(format!("{ALREADY_HAS}{requested}")), None);
    }
    let to_salesforce = kept.and_then(|k| Some((k, map.to_salesforce(k)?)));
    if let Some((kept, to)) = to_salesforce.clone().filter(|_| marketo_wins) {
        let done = Done::Skipped(format!(
            "{MARKETO_WINS} (made later, in the same second, or under marketo_wins): \
             the program keeps {kept} ({refusal}), and the campaign member is set to {to}"
        ));
        let reset = Reset {
            to,
            applied: false,
            actor: Actor::Marketo,
        };
        return (done, Some(reset));
    }
    let reset = match policy {
        BackwardPolicy::ResetSalesforce => to_salesforce.map(|(_, to)| Reset {
            to,
            applied: false,
            actor: Actor::CampaignSync,
        }),
        BackwardPolicy::KeepSalesforce => None,
    };
    let done = Done::Diverged(format!(
        "Marketo skipped the move back ({refusal}); the program keeps {}",
        kept.unwrap_or("its later status")
    ));
    (done, reset)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn actors_follow_the_side_that_changed() {
        let cases = [
            (Decision::SetMarketo("A".into()), false, Actor::Salesforce),
            (Decision::RemoveFromMarketo, false, Actor::Salesforce),
            (Decision::SetSalesforce("A".into()), true, Actor::Marketo),
            (Decision::RemoveFromSalesforce, true, Actor::Marketo),
            (Decision::Skip("echo"), true, Actor::Salesforce),
            (Decision::Skip("echo"), false, Actor::Marketo),
        ];
        for (decision, observed, expected) in cases {
            assert_eq!(actor(&decision, observed), expected, "{decision:?}");
        }
    }

    #[test]
    fn backward_moves_diverge_and_reset_only_under_the_policy() {
        let map = StatusMap::new(&BTreeMap::from([("Attended".into(), "Came".into())]));
        let cases = [
            (
                "Registered",
                Some("Attended"),
                BackwardPolicy::KeepSalesforce,
                false,
                None,
            ),
            (
                "Registered",
                Some("Attended"),
                BackwardPolicy::ResetSalesforce,
                false,
                Some("Came"),
            ),
            (
                "Registered",
                None,
                BackwardPolicy::ResetSalesforce,
                false,
                None,
            ),
            (
                "Attended",
                Some("Attended"),
                BackwardPolicy::ResetSalesforce,
                true,
                None,
            ),
        ];
        for (requested, kept, policy, skipped, reset_to) in cases {
            let (done, reset) =
                marketo_skipped(requested, kept, "1037 skipped", policy, &map, false);
            assert_eq!(
                matches!(done, Done::Skipped(_)),
                skipped,
                "{requested} {kept:?}"
            );
            assert_eq!(matches!(done, Done::Diverged(_)), !skipped);
            assert_eq!(reset.map(|r| r.to).as_deref(), reset_to);
        }
    }

    #[test]
    fn marketos_own_later_change_sets_salesforce_whatever_the_backward_policy() {
        let map = StatusMap::new(&BTreeMap::from([("Attended".into(), "Came".into())]));
        for policy in [
            BackwardPolicy::KeepSalesforce,
            BackwardPolicy::ResetSalesforce,
        ] {
            let (done, reset) =
                marketo_skipped("Registered", Some("Attended"), "1037", policy, &map, true);
            assert!(matches!(done, Done::Skipped(_)), "{done:?}");
            let reset = reset.expect("Salesforce is set to Marketo's status");
            assert_eq!((reset.to.as_str(), reset.actor), ("Came", Actor::Marketo));
        }
        // At the requested status already: nothing to set, whoever changed last.
        let (done, reset) = marketo_skipped(
            "Attended",
            Some("Attended"),
            "1037",
            BackwardPolicy::KeepSalesforce,
            &map,
            true,
        );
        assert_eq!(done.reason(), Some("Marketo already has status Attended"));
        assert_eq!(reset, None);
    }

    #[test]
    fn done_names_its_result() {
        assert_eq!(Done::Applied.result(), OutcomeResult::Applied);
        assert_eq!(Done::Skipped("x".into()).reason(), Some("x"));
        assert_eq!(Done::Diverged("y".into()).result(), OutcomeResult::Diverged);
    }
}
