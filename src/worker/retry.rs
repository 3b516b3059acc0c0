//! Retry policy as data plus a pure function: the configured schedule, spread by jitter, never
//! sooner than the server's own hint.

use std::time::Duration;

/// The delay before the next try after `attempt` (1-based) failed, or `None` when the schedule
/// is used up and the item is dead. `random` is uniform in `[0, 1)`.
pub fn next_delay(
    schedule_secs: &[u64],
    attempt: i64,
    jitter_percent: u8,
    random: f64,
    server_hint: Option<Duration>,
) -> Option<Duration> {
    let index = usize::try_from(attempt.checked_sub(1)?).ok()?;
    let base = Duration::from_secs(*schedule_secs.get(index)?);
    let spread = f64::from(jitter_percent.min(100)) / 100.0;
    let factor = 1.0 + spread * (2.0 * random.clamp(0.0, 1.0) - 1.0);
    let jittered = base.mul_f64(factor.max(0.0));
    Some(server_hint.map_or(jittered, |hint| jittered.max(hint)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_schedule_then_gives_up() {
        let schedule = [1, 5, 30];
        assert_eq!(
            next_delay(&schedule, 1, 0, 0.3, None),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            next_delay(&schedule, 3, 0, 0.3, None),
            Some(Duration::from_secs(30))
        );
        assert_eq!(next_delay(&schedule, 4, 0, 0.3, None), None);
        assert_eq!(next_delay(&schedule, 0, 0, 0.3, None), None);
    }

    #[test]
    fn jitter_stays_within_its_band_and_hints_win_when_longer() {
        let schedule = [10];
        assert_eq!(
            next_delay(&schedule, 1, 20, 0.0, None),
            Some(Duration::from_secs(8))
        );
        assert_eq!(
            next_delay(&schedule, 1, 20, 1.0, None),
            Some(Duration::from_secs(12))
        );
        let hint = Some(Duration::from_secs(60));
        assert_eq!(
            next_delay(&schedule, 1, 20, 0.5, hint),
            Some(Duration::from_secs(60))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_scheduled_retry_is_due_exactly_after_its_delay() {
        let delay = next_delay(&[5], 1, 0, 0.0, None).unwrap();
        let start = tokio::time::Instant::now();
        tokio::time::sleep(delay).await;
        assert_eq!(start.elapsed(), Duration::from_secs(5));
    }
}
