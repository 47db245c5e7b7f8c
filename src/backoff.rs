//! How long to wait before a retry (pure), for the Image Service client and the GroupMe API
//! client alike: the server's `Retry-After` when it gave one, else exponential backoff with
//! jitter (half fixed, half random, so clients that failed together do not retry together),
//! capped.

use std::time::Duration;

/// How long the waits between attempts are; both clients' configs hold one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// First backoff delay; doubles each attempt, with jitter.
    pub base: Duration,
    /// Longest wait between attempts, including a server's `Retry-After`.
    pub max: Duration,
}

impl Default for Backoff {
    /// Half a second, doubling up to a minute.
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(500),
            max: Duration::from_secs(60),
        }
    }
}

impl Backoff {
    /// The wait before `attempt` (the first retry is attempt 2): `retry_after` when the server
    /// asked, else `base` doubled per earlier retry, half of it random; never more than `max`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(asked) = retry_after {
            return asked.min(self.max);
        }
        let exp = self
            .base
            .saturating_mul(1 << attempt.saturating_sub(2).min(16))
            .min(self.max);
        let half = exp / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_with_jitter_caps_and_honours_retry_after() {
        let (base, cap) = (Duration::from_millis(100), Duration::from_secs(1));
        let backoff = Backoff { base, max: cap };
        for (attempt, full) in [
            (2, 100),
            (3, 200),
            (4, 400),
            (5, 800),
            (6, 1000),
            (40, 1000),
        ] {
            let d = backoff.delay(attempt, None);
            let full = Duration::from_millis(full);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
        let asked = Some(Duration::from_secs(3));
        assert_eq!(backoff.delay(2, asked), cap);
        assert_eq!(
            backoff.delay(2, Some(Duration::from_millis(250))),
            Duration::from_millis(250)
        );
    }
}
