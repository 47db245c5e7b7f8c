//! Admission control for the service's two scarce resources: memory for bodies being received
//! (a budget of bytes shared by every upload and `?url=` fetch) and processing slots (one per
//! core, with a bounded line of waiters). Every count is held by a guard, so a request dropped
//! at any `.await` (its client hung up) gives back exactly what it took.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

/// Bytes of bodies held in memory at once, across all requests.
#[derive(Clone)]
pub struct BodyBudget {
    bytes: Arc<Semaphore>,
    total: usize,
}

/// The budget is spent: answer 503 rather than buffer more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverBudget;

/// Bytes taken from a [`BodyBudget`]; given back when dropped.
pub struct Reservation {
    budget: Arc<Semaphore>,
    held: Option<OwnedSemaphorePermit>,
}

impl BodyBudget {
    /// A budget of `bytes`.
    pub fn new(bytes: usize) -> Self {
        let total = bytes.min(Semaphore::MAX_PERMITS);
        BodyBudget {
            bytes: Arc::new(Semaphore::new(total)),
            total,
        }
    }

    /// An empty reservation, to grow as bytes arrive.
    pub fn reservation(&self) -> Reservation {
        Reservation {
            budget: self.bytes.clone(),
            held: None,
        }
    }

    /// Bytes not reserved now.
    pub fn available(&self) -> usize {
        self.bytes.available_permits()
    }

    /// Bytes reserved now.
    pub fn held(&self) -> usize {
        self.total - self.available()
    }
}

impl Reservation {
    /// Takes `n` more bytes, or fails at once when the budget does not have them.
    pub fn grow(&mut self, n: usize) -> Result<(), OverBudget> {
        if n == 0 {
            return Ok(());
        }
        let n = u32::try_from(n).map_err(|_| OverBudget)?;
        let more = self
            .budget
            .clone()
            .try_acquire_many_owned(n)
            .map_err(|e| match e {
                TryAcquireError::NoPermits | TryAcquireError::Closed => OverBudget,
            })?;
        match &mut self.held {
            Some(held) => held.merge(more),
            None => self.held = Some(more),
        }
        Ok(())
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.held
            .as_ref()
            .map_or(0, OwnedSemaphorePermit::num_permits)
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Processing slots and the line of uploads waiting for one.
#[derive(Clone)]
pub struct Slots {
    free: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
}

/// Why no slot was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoSlot {
    /// `max_waiting` uploads already wait.
    Busy,
    /// The service is stopping.
    Closed,
}

/// One place in the line of waiters; leaves it when dropped, however the wait ends.
struct InLine<'a>(&'a AtomicUsize);

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Slots {
    /// `slots` slots (at least one) and a line of at most `max_waiting`.
    pub fn new(slots: usize, max_waiting: usize) -> Self {
        Slots {
            free: Arc::new(Semaphore::new(slots.max(1))),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting,
        }
    }

    /// A slot: at once when one is free, else after waiting in line; [`NoSlot::Busy`] when the
    /// line is full. Dropping the future while it waits leaves the line.
    pub async fn acquire(&self) -> Result<OwnedSemaphorePermit, NoSlot> {
        if let Ok(permit) = self.free.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let ahead = self.waiting.fetch_add(1, Ordering::SeqCst);
        let place = InLine(&self.waiting);
        if ahead >= self.max_waiting {
            return Err(NoSlot::Busy);
        }
        let permit = self.free.clone().acquire_owned().await;
        drop(place);
        permit.map_err(|_| NoSlot::Closed)
    }

    /// Uploads waiting for a slot now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// Slots free now.
    pub fn free(&self) -> usize {
        self.free.available_permits()
    }

    /// Runs `work` on the blocking pool holding `slot` until `work` returns, not until the
    /// request that asked for it is dropped: a client hanging up mid-render must not free a
    /// slot whose render is still using a core.
    pub async fn run_blocking<T: Send + 'static>(
        slot: OwnedSemaphorePermit,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, tokio::task::JoinError> {
        tokio::task::spawn_blocking(move || {
            let result = work();
            drop(slot);
            result
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// Polls `cond` until it holds, for at most 10 s.
    async fn until(what: &str, cond: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !cond() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    #[test]
    fn reservations_give_back_what_they_took() {
        let budget = BodyBudget::new(100);
        let mut a = budget.reservation();
        a.grow(60).expect("fits");
        assert_eq!(budget.available(), 40);
        let mut b = budget.reservation();
        assert_eq!(b.grow(41), Err(OverBudget));
        b.grow(40).expect("fits");
        assert_eq!((a.len(), b.len(), budget.available()), (60, 40, 0));
        drop(a);
        assert_eq!(budget.available(), 60);
        drop(b);
        assert_eq!(budget.available(), 100);
    }

    #[tokio::test]
    async fn abandoned_waiters_leave_the_line() {
        let slots = Slots::new(1, 4);
        let held = slots.acquire().await.expect("free slot");
        // Four waiters fill the line; their clients hang up (the futures are dropped).
        let mut waiters = Vec::new();
        for _ in 0..4 {
            let slots = slots.clone();
            waiters.push(tokio::spawn(async move { slots.acquire().await.map(drop) }));
        }
        until("4 waiters", || slots.waiting() == 4).await;
        assert_eq!(slots.acquire().await.err(), Some(NoSlot::Busy));
        for w in &waiters {
            w.abort();
        }
        until("an empty line", || slots.waiting() == 0).await;
        drop(held);
        // The line is whole again: one slot plus four places, all served.
        let first = slots.acquire().await.expect("slot");
        let mut burst = Vec::new();
        for _ in 0..4 {
            let slots = slots.clone();
            burst.push(tokio::spawn(async move { slots.acquire().await.map(drop) }));
        }
        until("4 waiters again", || slots.waiting() == 4).await;
        drop(first);
        for b in burst {
            assert_eq!(b.await.expect("join"), Ok(()));
        }
    }

    #[tokio::test]
    async fn a_dropped_request_keeps_its_slot_until_the_render_ends() {
        let slots = Slots::new(1, 0);
        let slot = slots.acquire().await.expect("slot");
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let started = Arc::new(AtomicUsize::new(0));
        let render_started = started.clone();
        let request = tokio::spawn(Slots::run_blocking(slot, move || {
            render_started.store(1, Ordering::SeqCst);
            gate.recv().ok()
        }));
        until("the render started", || started.load(Ordering::SeqCst) == 1).await;
        request.abort();
        assert!(request.await.expect_err("aborted").is_cancelled());
        // The render still runs on the blocking pool: its slot is not free.
        assert_eq!(slots.free(), 0);
        assert_eq!(slots.acquire().await.err(), Some(NoSlot::Busy));
        release.send(()).expect("render waits");
        until("the slot back", || slots.free() == 1).await;
    }
}
