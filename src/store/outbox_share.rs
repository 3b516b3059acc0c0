//! Subscribers share the delivery slots: a round starts no more of one subscription's
//! deliveries than its share of the slots, so a subscriber that does not answer (each attempt
//! waits out its timeout) holds its share, not every slot, and the others' deliveries go on.

use std::collections::{BTreeSet, HashMap};

/// What a round may start of the subscribers' deliveries.
#[derive(Debug, Clone, Default)]
pub struct SubscriberShare {
    /// Slots free now.
    pub free: usize,
    /// Slots in all.
    pub slots: usize,
    /// Deliveries in flight, by subscription.
    pub in_flight: HashMap<i64, usize>,
}

impl SubscriberShare {
    /// Of the due deliveries' subscriptions, oldest delivery first, the indexes a round
    /// starts: at most `free`, and no subscription past an equal share of the slots among the
    /// subscriptions with a delivery due or in flight (a lone one may take them all).
    pub fn pick(&self, due: &[i64]) -> Vec<usize> {
        let mut active: BTreeSet<i64> = self
            .in_flight
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(s, _)| *s)
            .collect();
        active.extend(due.iter().copied());
        let share = (self.slots / active.len().max(1)).max(1);
        let mut taken: HashMap<i64, usize> = HashMap::new();
        let mut picked = Vec::new();
        for (i, subscription) in due.iter().enumerate() {
            if picked.len() >= self.free {
                break;
            }
            let busy = self.in_flight.get(subscription).copied().unwrap_or(0)
                + taken.get(subscription).copied().unwrap_or(0);
            if busy < share {
                picked.push(i);
                *taken.entry(*subscription).or_default() += 1;
            }
        }
        picked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(free: usize, in_flight: &[(i64, usize)]) -> SubscriberShare {
        SubscriberShare {
            free,
            slots: 16,
            in_flight: in_flight.iter().copied().collect(),
        }
    }

    #[test]
    fn a_lone_subscription_may_take_every_slot() {
        let due = vec![1; 20];
        assert_eq!(share(16, &[]).pick(&due).len(), 16);
        assert_eq!(share(4, &[(1, 12)]).pick(&due).len(), 4);
    }

    #[test]
    fn a_subscription_holding_its_share_leaves_the_rest_to_the_others() {
        // Subscription 1 (not answering) has 8 in flight, its share of two; 2's go out.
        let due = [1, 1, 1, 2, 2, 1, 2];
        let picked = share(8, &[(1, 8)]).pick(&due);
        assert_eq!(picked, vec![3, 4, 6]);
        // Three subscriptions due at once: five slots each at most.
        let due: Vec<i64> = [1; 10].into_iter().chain([2; 10]).chain([3; 2]).collect();
        let picked = share(16, &[]).pick(&due);
        let of = |s: i64| picked.iter().filter(|&&i| due[i] == s).count();
        assert_eq!((of(1), of(2), of(3)), (5, 5, 2));
    }
}
