//! The sweeper of a local store: staged files (`name#N`) that a killed process left behind are
//! removed once they are old enough that no live write can own them.

use std::time::{Duration, SystemTime};

use super::Store;

/// Staged files of a local store older than this are orphans of a killed process: no write of
/// this service takes that long, so the sweeper can remove them even while other instances
/// share the directory.
pub const STAGED_ORPHAN_AGE: Duration = Duration::from_secs(10 * 60);

impl Store {
    /// Removes staged files that a killed process left in a local store (`name#N`, older than
    /// `older_than`); returns how many. A no-op for buckets, where an unfinished PUT leaves nothing.
    pub fn sweep_staged(&self, older_than: Duration) -> usize {
        let Some(root) = &self.local_root else {
            return 0;
        };
        let now = SystemTime::now();
        let mut removed = 0;
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                if kind.is_dir() {
                    dirs.push(entry.path());
                    continue;
                }
                if !kind.is_file() || !is_staged_name(&entry.file_name().to_string_lossy()) {
                    continue;
                }
                let old = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| now.duration_since(t).unwrap_or_default() >= older_than);
                if old && std::fs::remove_file(entry.path()).is_ok() {
                    tracing::info!("removed an unfinished write: {}", entry.path().display());
                    removed += 1;
                }
            }
        }
        removed
    }
}

/// Removes what killed processes left in a local store: now, then every
/// [`STAGED_ORPHAN_AGE`], on the current runtime.
pub fn spawn_sweeper(store: Store) {
    tokio::spawn(async move {
        loop {
            let store = store.clone();
            let removed =
                tokio::task::spawn_blocking(move || store.sweep_staged(STAGED_ORPHAN_AGE))
                    .await
                    .unwrap_or(0);
            if removed > 0 {
                tracing::info!("removed {removed} unfinished writes left by a stopped process");
            }
            tokio::time::sleep(STAGED_ORPHAN_AGE).await;
        }
    });
}

/// A staged write of `object_store`'s local store: `name#N`.
fn is_staged_name(name: &str) -> bool {
    name.rsplit_once('#').is_some_and(|(base, n)| {
        !base.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_names_are_told_from_pictures() {
        assert!(is_staged_name("480x325.jpeg.0123abcd#1"));
        assert!(is_staged_name("480x325.jpeg.0123abcd.preview#12"));
        assert!(!is_staged_name("480x325.jpeg.0123abcd"));
        assert!(!is_staged_name("#1"));
        assert!(!is_staged_name("name#"));
        assert!(!is_staged_name("name#1a"));
    }

    #[test]
    fn the_sweeper_removes_old_staged_files_only() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::local(dir.path()).expect("store");
        let shard = dir.path().join("pictures/ab");
        std::fs::create_dir_all(&shard).expect("mkdir");
        let old = shard.join("1x1.png.ab#1");
        let fresh = shard.join("1x1.png.ab#2");
        let picture = shard.join("1x1.png.ab");
        for p in [&old, &fresh, &picture] {
            std::fs::write(p, b"x").expect("write");
        }
        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        for p in [&old, &picture] {
            std::fs::File::options()
                .write(true)
                .open(p)
                .and_then(|f| f.set_modified(hour_ago))
                .expect("age");
        }
        assert_eq!(store.sweep_staged(STAGED_ORPHAN_AGE), 1);
        assert!(!old.exists(), "an old staged file is an orphan");
        assert!(
            fresh.exists(),
            "a fresh one may be another instance's write"
        );
        assert!(picture.exists(), "pictures are never swept");
    }
}
