//! The cores a bench may use, split: the last one for the side that makes the load (wrk, an
//! upload client), as if it ran on another machine, and the others for the servers.

use rustix::thread::{CpuSet, sched_getaffinity, sched_setaffinity};

/// Pins the calling thread, and every thread and process it starts from now on, to all but the
/// last core it may use. Returns that last core (for the load) and the cores the thread had
/// before (to restore); `None`, and nothing changed, with fewer than two cores.
pub fn keep_last_apart() -> Option<(usize, CpuSet)> {
    let allowed = sched_getaffinity(None).expect("affinity");
    let cpus: Vec<usize> = (0..CpuSet::MAX_CPU)
        .filter(|&c| allowed.is_set(c))
        .collect();
    let (&last, others) = cpus.split_last()?;
    if others.is_empty() {
        return None;
    }
    let mut servers = CpuSet::new();
    for &c in others {
        servers.set(c);
    }
    sched_setaffinity(None, &servers).expect("pin");
    Some((last, allowed))
}
