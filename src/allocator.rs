//! How the window's process sets up glibc's allocator: two heaps ("arenas") in all, not up to
//! eight per core, so what the upload, decode and render threads free is reused by the next of
//! them instead of staying in a heap of its own (README "The window": memory with 1,000 finished
//! cards). The command line and `serve` keep glibc's default. A no-op off glibc, and when
//! `MALLOC_ARENA_MAX` is set: the person's choice wins.
#![allow(unsafe_code)]

/// Arenas for the window's process. Measured with 1,000 finished cards (README): 193–209 MB
/// settled with glibc's default, 159–163 with one, 162–166 with two, 169 with four. The price:
/// the first frame comes 5–10 ms later (threads starting together share heaps). Limiting only
/// from the first upload on saved nothing: the heaps made at start are what grows.
pub const WINDOW_ARENAS: i32 = 2;

/// Limits glibc's malloc to [`WINDOW_ARENAS`] arenas, unless `MALLOC_ARENA_MAX` says otherwise.
/// Call it before threads start: an arena, once made, stays. Whether the limit was set.
pub fn limit_arenas() -> bool {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return false;
    }
    set_arena_max(WINDOW_ARENAS)
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn set_arena_max(arenas: i32) -> bool {
    // SAFETY: `mallopt` sets one of glibc's allocator tunables and has no other effect; any
    // positive M_ARENA_MAX is valid, and it may be called at any time from any thread.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, arenas) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_arena_max(_arenas: i32) -> bool {
    false
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn glibc_takes_the_limit() {
        assert!(super::set_arena_max(super::WINDOW_ARENAS));
    }
}
