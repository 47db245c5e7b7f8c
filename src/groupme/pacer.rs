//! Pacing: at most one request per interval, shared by every call of a client, so a batch of
//! sends stays under the rate at which GroupMe throttles (about 10 requests a second).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Hands out start times at least `interval` apart, in the order they are asked for.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    /// The earliest start of the next request; `None` before the first.
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    /// A pacer allowing one request per `interval` (zero: no pacing).
    pub fn new(interval: Duration) -> Pacer {
        Pacer {
            interval,
            next: Mutex::new(None),
        }
    }

    /// Waits for this request's turn.
    pub async fn wait(&self) {
        let at = self.reserve(Instant::now());
        tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
    }

    /// Books the next slot at or after `now` and returns it. A dropped waiter keeps its slot:
    /// the gap only costs one interval.
    fn reserve(&self, now: Instant) -> Instant {
        // A poisoned lock only means another waiter panicked; the time in it is still good.
        let mut next = self
            .next
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let at = next.map_or(now, |n| n.max(now));
        *next = Some(at + self.interval);
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_an_interval_apart() {
        let pacer = Pacer::new(Duration::from_millis(100));
        let t0 = Instant::now();
        let slots: Vec<Instant> = (0..4).map(|_| pacer.reserve(t0)).collect();
        for (i, slot) in slots.iter().enumerate() {
            assert_eq!(*slot - t0, Duration::from_millis(100) * i as u32);
        }
        // After a quiet spell, the next request goes at once.
        let later = t0 + Duration::from_secs(5);
        assert_eq!(pacer.reserve(later), later);
        assert_eq!(pacer.reserve(later), later + Duration::from_millis(100));
    }

    #[tokio::test]
    async fn waits_between_requests() {
        let pacer = Pacer::new(Duration::from_millis(30));
        let start = Instant::now();
        for _ in 0..4 {
            pacer.wait().await;
        }
        assert!(
            start.elapsed() >= Duration::from_millis(90),
            "{:?}",
            start.elapsed()
        );
    }
}
