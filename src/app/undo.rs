//! Undo for the history's Remove and Clear: instead of asking first (a confirmation that
//! appears under the pointer is one double-click from wiping everything), the change happens at
//! once and a toast offers to take it back for [`UNDO_LIFETIME`]. Undoing restores exactly what
//! was there; the worker writes it atomically like the change itself.

use std::time::{Duration, Instant};

use super::worker::HistoryOp;
use crate::history::Entry;

/// How long the Undo toast stays.
pub const UNDO_LIFETIME: Duration = Duration::from_secs(8);

/// The last history change that can still be taken back.
#[derive(Debug, Clone)]
pub struct Undo {
    /// What the toast says ("Removed beach.png").
    pub text: String,
    change: Change,
    shown_at: Instant,
}

#[derive(Debug, Clone)]
enum Change {
    /// The entry that was at `index`.
    Removed { index: usize, entry: Entry },
    /// Everything a clear removed, oldest first.
    Cleared(Vec<Entry>),
}

impl Undo {
    /// `entry` was removed from `index`.
    pub fn removed(index: usize, entry: Entry, now: Instant) -> Undo {
        Undo {
            text: format!("Removed {}", entry.name),
            change: Change::Removed { index, entry },
            shown_at: now,
        }
    }

    /// A clear removed `entries`.
    pub fn cleared(entries: Vec<Entry>, now: Instant) -> Undo {
        let n = entries.len();
        Undo {
            text: format!("Cleared {n} upload{} from the history", plural(n)),
            change: Change::Cleared(entries),
            shown_at: now,
        }
    }

    /// Whether the toast has had its time.
    pub fn is_expired(&self, now: Instant) -> bool {
        now.duration_since(self.shown_at) >= UNDO_LIFETIME
    }

    /// How long the toast has left.
    pub fn remaining(&self, now: Instant) -> Duration {
        UNDO_LIFETIME.saturating_sub(now.duration_since(self.shown_at))
    }

    /// Puts the change back into the app's copy of the history and returns the same change for
    /// the history file.
    pub fn revert(self, history: &mut Vec<Entry>) -> HistoryOp {
        match self.change {
            Change::Removed { index, entry } => {
                history.insert(index.min(history.len()), entry.clone());
                HistoryOp::Insert(index, entry)
            }
            Change::Cleared(older) => {
                let newer = std::mem::replace(history, older.clone());
                history.extend(newer);
                HistoryOp::Restore(older)
            }
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str) -> Entry {
        Entry {
            name: name.into(),
            url: format!("http://127.0.0.1:1/1x1.png.{name}"),
            endpoint: "http://127.0.0.1:1".into(),
            hash: None,
            width: None,
            height: None,
            format: None,
            size: None,
            uploaded_at: 1,
            account: String::new(),
        }
    }

    #[test]
    fn reverting_puts_back_exactly_what_was_there() {
        let now = Instant::now();
        let mut history = vec![entry("a"), entry("c")];
        let undo = Undo::removed(1, entry("b"), now);
        assert_eq!(undo.text, "Removed b");
        assert!(matches!(undo.revert(&mut history), HistoryOp::Insert(1, _)));
        let names: Vec<&str> = history.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);

        let mut history = vec![entry("new")];
        let undo = Undo::cleared(vec![entry("a"), entry("b")], now);
        assert_eq!(undo.text, "Cleared 2 uploads from the history");
        undo.revert(&mut history);
        let names: Vec<&str> = history.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "new"]);
    }

    #[test]
    fn the_toast_expires() {
        let now = Instant::now();
        let undo = Undo::cleared(vec![entry("a")], now);
        assert!(!undo.is_expired(now));
        assert!(undo.is_expired(now + UNDO_LIFETIME));
        assert_eq!(undo.remaining(now + UNDO_LIFETIME * 2), Duration::ZERO);
    }
}
