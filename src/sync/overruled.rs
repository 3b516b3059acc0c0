//! A change the other side's change overruled: when both sides changed a person since the last
//! sync, the mapping's conflict policy lets one win and the other is never written. The losing
//! change is recorded with the winner named, so an operator can tell why it did not arrive.

use crate::config::ConflictPolicy;
use crate::store::MirrorRow;

use super::plan::{Changes, changes, winner};
use super::time::format_millis;
use super::{Observed, Side};

/// The losing side of a conflict, and the reason its change is not written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overruled {
    pub side: Side,
    pub reason: String,
}

/// The reasons of overruled changes start with this.
pub const OVERRULED: &str = "overruled";

/// The reasons of a first sync's losing side start with this: the sides differed before the
/// sync knew the person in this mapping (a cut-over from native sync, a member of both sides
/// already), which is no conflict of two changes, and is not counted as one.
pub const DIFFERED: &str = "differed at the first sync";

/// The change this round's decision overrules, when both sides changed since the last sync.
pub fn overruled(
    mirror: Option<&MirrorRow>,
    salesforce: Option<&Observed>,
    marketo: Option<&Observed>,
    policy: ConflictPolicy,
) -> Option<Overruled> {
    let Changes {
        salesforce: Some(sf),
        marketo: Some(mk),
        ..
    } = changes(mirror, salesforce, marketo)
    else {
        return None;
    };
    let won = winner(sf, mk, policy);
    let (winning, losing, side) = match won {
        Side::Salesforce => (
            change(Side::Salesforce, sf),
            change(Side::Marketo, mk),
            Side::Marketo,
        ),
        Side::Marketo => (
            change(Side::Marketo, mk),
            change(Side::Salesforce, sf),
            Side::Salesforce,
        ),
    };
    let why = match policy {
        ConflictPolicy::SalesforceWins => "the mapping's conflict policy is salesforce_wins".into(),
        ConflictPolicy::MarketoWins => "the mapping's conflict policy is marketo_wins".into(),
        ConflictPolicy::LastWriterWins => {
            let (won_at, lost_at) = match won {
                Side::Salesforce => (sf.at, mk.at),
                Side::Marketo => (mk.at, sf.at),
            };
            last_writer(won_at, lost_at)
        }
    };
    let prefix = if mirror.is_some() {
        OVERRULED
    } else {
        DIFFERED
    };
    Some(Overruled {
        side,
        reason: format!("{prefix}: {winning} wins over this {losing} ({why}); not written"),
    })
}

/// One side's change in words: `Salesforce's change to "Attended"`, `Marketo's removal from the
/// program`.
fn change(side: Side, observed: &Observed) -> String {
    let (system, from) = match side {
        Side::Salesforce => ("Salesforce", "campaign"),
        Side::Marketo => ("Marketo", "program"),
    };
    match &observed.status {
        Some(status) => format!("{system} change to {status:?}"),
        None => format!("{system} removal from the {from}"),
    }
}

fn last_writer(won_at: Option<i64>, lost_at: Option<i64>) -> String {
    // A change with no time of its own (a removal found by the activity feed or a
    // reconciliation) counts as older than any stamp.
    let at = |t: Option<i64>| {
        t.map_or_else(
            || "an unknown time (counted as older than any)".to_string(),
            format_millis,
        )
    };
    if won_at.unwrap_or(0) == lost_at.unwrap_or(0) {
        format!(
            "last-writer-wins: both made in the same second, {}, and ties go to Salesforce",
            at(won_at)
        )
    } else {
        format!(
            "last-writer-wins: made at {}, this one at {}",
            at(won_at),
            at(lost_at)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(status: Option<&str>, at: i64) -> Observed {
        Observed {
            status: status.map(str::to_string),
            at: Some(at),
        }
    }

    fn mirror() -> MirrorRow {
        MirrorRow {
            sf_status: Some("Sent".into()),
            mkto_status: Some("Invited".into()),
            sf_modstamp: Some(1_000),
            ..MirrorRow::default()
        }
    }

    const T: i64 = 1_800_000_000_000;

    #[test]
    fn the_earlier_change_is_overruled_under_last_writer_wins() {
        let sf = seen(Some("Responded"), T);
        let mk = seen(Some("Attended"), T + 2_000);
        let lost = overruled(
            Some(&mirror()),
            Some(&sf),
            Some(&mk),
            ConflictPolicy::LastWriterWins,
        )
        .unwrap();
        assert_eq!(lost.side, Side::Salesforce);
        assert_eq!(
            lost.reason,
            "overruled: Marketo change to \"Attended\" wins over this Salesforce change to \
             \"Responded\" (last-writer-wins: made at 2027-01-15T08:00:02Z, this one at \
             2027-01-15T08:00:00Z); not written"
        );
        let removed = seen(None, T + 3_000);
        let lost = overruled(
            Some(&mirror()),
            Some(&removed),
            Some(&mk),
            ConflictPolicy::LastWriterWins,
        )
        .unwrap();
        assert_eq!(lost.side, Side::Marketo);
        assert!(lost.reason.starts_with(
            "overruled: Salesforce removal from the campaign wins over this Marketo change to \
             \"Attended\""
        ));
    }

    #[test]
    fn a_tie_and_the_fixed_policies_say_so() {
        let sf = seen(Some("Responded"), T);
        let mk = seen(None, T);
        let tie = overruled(
            Some(&mirror()),
            Some(&sf),
            Some(&mk),
            ConflictPolicy::LastWriterWins,
        )
        .unwrap();
        assert_eq!(tie.side, Side::Marketo);
        assert!(
            tie.reason.contains("removal from the program"),
            "{}",
            tie.reason
        );
        assert!(
            tie.reason.contains("ties go to Salesforce"),
            "{}",
            tie.reason
        );
        let fixed = overruled(
            Some(&mirror()),
            Some(&sf),
            Some(&mk),
            ConflictPolicy::MarketoWins,
        )
        .unwrap();
        assert_eq!(fixed.side, Side::Salesforce);
        assert!(fixed.reason.contains("conflict policy is marketo_wins"));
    }

    #[test]
    fn a_change_with_no_time_is_said_to_count_as_older() {
        let sf = seen(Some("Responded"), T);
        let removed = Observed {
            status: None,
            at: None,
        };
        let lost = overruled(
            Some(&mirror()),
            Some(&sf),
            Some(&removed),
            ConflictPolicy::LastWriterWins,
        )
        .unwrap();
        assert!(
            lost.reason
                .ends_with("this one at an unknown time (counted as older than any)); not written"),
            "{}",
            lost.reason
        );
    }

    #[test]
    fn no_conflict_overrules_nothing() {
        let sf = seen(Some("Responded"), T);
        let unchanged = seen(Some("Invited"), T + 5_000);
        let policy = ConflictPolicy::LastWriterWins;
        assert_eq!(
            overruled(Some(&mirror()), Some(&sf), Some(&unchanged), policy),
            None
        );
        assert_eq!(overruled(Some(&mirror()), Some(&sf), None, policy), None);
        // A stale notification is not a change, so it cannot lose one.
        let stale = seen(Some("Responded"), 500);
        let mk = seen(Some("Attended"), T);
        assert_eq!(
            overruled(Some(&mirror()), Some(&stale), Some(&mk), policy),
            None
        );
    }
}
