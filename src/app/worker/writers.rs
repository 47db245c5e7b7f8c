//! The writer threads: one owns the history file, one the settings file. Each loads its file at
//! start and tells the UI, then applies changes one by one in the order the UI made them, and
//! writes what it holds before it ends (when closing drops its queue).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use super::{Event, HistoryOp, Outbox};
use crate::history::History;
use crate::settings::Settings;

/// Quiet time after the last settings change before the file is written.
const SETTINGS_DEBOUNCE: Duration = Duration::from_millis(300);

/// The longest a settings change waits for the quiet time (a drag that never stops).
const SETTINGS_MAX_DELAY: Duration = Duration::from_secs(2);

/// (endpoint, content id) → URL, for "already uploaded".
pub(super) type KnownIndex = HashMap<(String, String), String>;

fn index(history: &History) -> KnownIndex {
    history
        .entries()
        .iter()
        .filter_map(|e| Some(((e.endpoint.clone(), e.hash.clone()?), e.url.clone())))
        .collect()
}

/// Owns the history file: loads it and tells the UI, then applies each change in order and
/// refreshes the duplicate index (so a removed entry is not offered again). Ends when the queue
/// is dropped and every change in it is written.
pub(super) fn history_writer(
    path: &Path,
    ops: &std::sync::mpsc::Receiver<HistoryOp>,
    known: &Mutex<KnownIndex>,
    out: &Outbox,
) {
    let mut history = match History::load(path) {
        Ok(h) => h,
        Err(e) => {
            out.send(Event::Notice(format!(
                "could not read the history ({e}); this session's uploads are kept in memory only"
            )));
            History::in_memory()
        }
    };
    if let Ok(mut k) = known.lock() {
        *k = index(&history);
    }
    out.send(Event::HistoryLoaded {
        entries: history.entries().to_vec(),
        skipped: history.skipped,
    });
    for op in ops {
        let result = match op {
            HistoryOp::Add(e) => history.add(e),
            HistoryOp::Remove(i) => history.remove(i),
            HistoryOp::Clear => history.clear(),
            HistoryOp::Insert(i, e) => history.insert(i, e),
            HistoryOp::Restore(older) => history.restore(older),
        };
        if let Err(e) = result {
            out.send(Event::Notice(format!("could not write the history: {e}")));
        }
        if let Ok(mut k) = known.lock() {
            *k = index(&history);
        }
    }
}

/// Owns the settings file: loads it and tells the UI, then writes the newest settings once no
/// change came for [`SETTINGS_DEBOUNCE`] (or one has waited [`SETTINGS_MAX_DELAY`]). One thread,
/// so writes never overtake each other. Ends when the queue is dropped, after writing what it
/// holds.
pub(super) fn settings_writer(
    path: &Path,
    changes: &std::sync::mpsc::Receiver<Settings>,
    out: &Outbox,
) {
    out.send(Event::SettingsLoaded(Settings::load(path)));
    let save = |settings: Settings| {
        if let Err(e) = settings.save(path) {
            out.send(Event::Notice(format!("could not save settings: {e}")));
        }
    };
    // The newest change not yet written, and since when one has been waiting.
    let mut pending: Option<(Settings, Instant)> = None;
    loop {
        let change = match &pending {
            None => match changes.recv() {
                Ok(s) => Some(s),
                Err(_) => return,
            },
            Some((_, since)) => {
                let left = SETTINGS_MAX_DELAY.saturating_sub(since.elapsed());
                match changes.recv_timeout(SETTINGS_DEBOUNCE.min(left)) {
                    Ok(s) => Some(s),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => {
                        if let Some((s, _)) = pending.take() {
                            save(s);
                        }
                        return;
                    }
                }
            }
        };
        if let Some(settings) = change {
            let since = pending.as_ref().map_or_else(Instant::now, |p| p.1);
            pending = Some((settings, since));
            if since.elapsed() < SETTINGS_MAX_DELAY {
                continue;
            }
        }
        if let Some((s, _)) = pending.take() {
            save(s);
        }
    }
}
