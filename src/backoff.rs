//! How long to wait before a retry (pure), for the Image Service client and the GroupMe API
//! client alike: the server's `Retry-After` when it gave one, else exponential backoff with
//! jitter (half fixed, half random, so clients that failed together do not retry together),
//! capped.

use std::time::Duration;

/// The wait before `attempt` (the first retry is attempt 2): `retry_after` when the server
/// asked, else `base` doubled per earlier retry, half of it random; never more than `cap`.
pub fn delay(
    attempt: u32,
    base: Duration,
    cap: Duration,
    retry_after: Option<Duration>,
) -> Duration {
    if let Some(asked) = retry_after {
        return asked.min(cap);
    }
    let exp = base
        .saturating_mul(1 << attempt.saturating_sub(2).min(16))
        .min(cap);
    let half = exp / 2;
    half + half.mul_f64(fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_with_jitter_caps_and_honours_retry_after() {
        let (base, cap) = (Duration::from_millis(100), Duration::from_secs(1));
        for (attempt, full) in [
            (2, 100),
            (3, 200),
            (4, 400),
            (5, 800),
            (6, 1000),
            (40, 1000),
        ] {
            let d = delay(attempt, base, cap, None);
            let full = Duration::from_millis(full);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
        let asked = Some(Duration::from_secs(3));
        assert_eq!(delay(2, base, cap, asked), cap);
        assert_eq!(
            delay(2, base, cap, Some(Duration::from_millis(250))),
            Duration::from_millis(250)
        );
    }
}
