//! The `sobject` label of `outbound_notifications_ignored_total`: the sender names the type,
//! so only the first few types a process is sent are series of their own, any more `other`,
//! and a name that is not an identifier `invalid` (series are kept for good).

use std::sync::{Mutex, PoisonError};

/// How many object types are named before `other`.
const SHOWN: usize = 20;

/// The label for a notification of `sobject_type` that the receiver ignores.
pub fn sobject(sobject_type: &str) -> String {
    static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut seen = SEEN.lock().unwrap_or_else(PoisonError::into_inner);
    bounded(&mut seen, sobject_type, SHOWN)
}

fn bounded(seen: &mut Vec<String>, sobject_type: &str, shown: usize) -> String {
    let valid = sobject_type.len() <= 80
        && sobject_type
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid {
        return "invalid".to_string();
    }
    if seen.iter().any(|s| s == sobject_type) {
        return sobject_type.to_string();
    }
    if seen.len() < shown {
        seen.push(sobject_type.to_string());
        return sobject_type.to_string();
    }
    "other".to_string()
}

#[cfg(test)]
mod tests {
    use super::bounded;

    #[test]
    fn the_first_types_are_named_then_other() {
        let mut seen = Vec::new();
        assert_eq!(bounded(&mut seen, "Lead", 2), "Lead");
        assert_eq!(
            bounded(&mut seen, "Event_Booking__c", 2),
            "Event_Booking__c"
        );
        assert_eq!(bounded(&mut seen, "Rand123__c", 2), "other");
        assert_eq!(
            bounded(&mut seen, "Lead", 2),
            "Lead",
            "one named stays named"
        );
        assert_eq!(bounded(&mut seen, "sf:Lead\"", 2), "invalid");
    }
}
