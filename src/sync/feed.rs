//! Whether a Marketo activity-feed entry still needs the worker: a status change the mirror
//! already holds was synced by its webhook (or was our own write), so it costs no re-read.

use crate::store::MirrorRow;

use super::NOT_IN_PROGRAM;

/// True when the mirror, written at or after the activity, shows the status the activity moved
/// the member to. Only the latest activity of a member decides what Marketo shows now, and an
/// older one matching the mirror is harmless to skip: a later one with another status is not.
pub fn activity_synced(
    mirror: Option<&MirrorRow>,
    new_status: Option<&str>,
    at: Option<i64>,
) -> bool {
    let (Some(row), Some(status), Some(at)) = (mirror, new_status, at) else {
        return false;
    };
    let now_in_program = !status.eq_ignore_ascii_case(NOT_IN_PROGRAM);
    let same = match row.mkto_status.as_deref() {
        Some(known) => now_in_program && known == status,
        None => !now_in_program,
    };
    same && row.synced_at >= at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(status: Option<&str>, synced_at: i64) -> MirrorRow {
        MirrorRow {
            mkto_status: status.map(str::to_string),
            synced_at,
            ..MirrorRow::default()
        }
    }

    #[test]
    fn only_a_change_the_mirror_holds_since_is_synced() {
        let cases = [
            (
                Some(row(Some("Attended"), 2_000)),
                Some("Attended"),
                Some(1_000),
                true,
            ),
            (
                Some(row(Some("Attended"), 2_000)),
                Some("Attended"),
                Some(2_000),
                true,
            ),
            (
                Some(row(Some("Attended"), 1_000)),
                Some("Attended"),
                Some(2_000),
                false,
            ),
            (
                Some(row(Some("Registered"), 2_000)),
                Some("Attended"),
                Some(1_000),
                false,
            ),
            (
                Some(row(None, 2_000)),
                Some("Not in Program"),
                Some(1_000),
                true,
            ),
            (
                Some(row(Some("Attended"), 2_000)),
                Some("Not in Program"),
                Some(1_000),
                false,
            ),
            (Some(row(None, 2_000)), Some("Attended"), Some(1_000), false),
            (None, Some("Attended"), Some(1_000), false),
            (Some(row(Some("Attended"), 2_000)), None, Some(1_000), false),
            (
                Some(row(Some("Attended"), 2_000)),
                Some("Attended"),
                None,
                false,
            ),
        ];
        for (mirror, status, at, synced) in cases {
            assert_eq!(
                activity_synced(mirror.as_ref(), status, at),
                synced,
                "{mirror:?} {status:?} {at:?}"
            );
        }
    }
}
