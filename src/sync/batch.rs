//! Batching planned writes into API-sized calls: Marketo takes at most 300 leads a call (and
//! one status per `members/status.json` call), Salesforce collections at most 200 records.

use std::collections::BTreeMap;

/// Leads per Marketo batch call (`members/status.json`, `members/delete.json`, lead lookups).
pub const MARKETO_LEADS_PER_CALL: usize = 300;

/// Records per Salesforce sObject Collections call.
pub const SALESFORCE_RECORDS_PER_CALL: usize = 200;

/// Groups items by key (e.g. the Marketo status to set), then cuts each group into calls of at
/// most `per_call`. Keys come out in order; items keep their order within a key.
pub fn group_into_calls<K: Ord + Clone, T>(
    items: impl IntoIterator<Item = (K, T)>,
    per_call: usize,
) -> Vec<(K, Vec<T>)> {
    let mut groups: BTreeMap<K, Vec<T>> = BTreeMap::new();
    for (key, item) in items {
        groups.entry(key).or_default().push(item);
    }
    let mut calls = Vec::new();
    for (key, group) in groups {
        let mut rest = group.into_iter().peekable();
        while rest.peek().is_some() {
            let call: Vec<T> = rest.by_ref().take(per_call.max(1)).collect();
            calls.push((key.clone(), call));
        }
    }
    calls
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn groups_by_key_then_cuts() {
        let items = (0..7).map(|i| (if i % 2 == 0 { "a" } else { "b" }, i));
        let calls = group_into_calls(items, 3);
        assert_eq!(
            calls,
            vec![("a", vec![0, 2, 4]), ("a", vec![6]), ("b", vec![1, 3, 5])]
        );
        assert!(group_into_calls(Vec::<(u8, u8)>::new(), 3).is_empty());
    }

    proptest! {
        #[test]
        fn every_call_fits_and_nothing_is_lost(
            keys in proptest::collection::vec(0u8..4, 0..1500),
            salesforce in any::<bool>(),
        ) {
            let limit = if salesforce { SALESFORCE_RECORDS_PER_CALL } else { MARKETO_LEADS_PER_CALL };
            let items: Vec<(u8, usize)> = keys.iter().copied().zip(0..).collect();
            let calls = group_into_calls(items.clone(), limit);
            let mut seen: Vec<usize> = Vec::new();
            for (key, call) in &calls {
                prop_assert!(!call.is_empty() && call.len() <= limit);
                for &i in call {
                    prop_assert_eq!(items[i].0, *key);
                }
                seen.extend(call);
            }
            seen.sort_unstable();
            prop_assert_eq!(seen, (0..items.len()).collect::<Vec<_>>());
        }
    }
}
