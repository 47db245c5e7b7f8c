//! The thumbnail cache on disk: the service's `.preview` of a history entry, kept in the cache
//! directory so the History gallery shows it again without the network. One file per URL, named
//! by a hash of the URL (never the URL itself: it may hold characters a file name cannot), written
//! atomically; the whole cache is bounded ([`LIMIT`]): past it the files used longest ago go
//! (each read refreshes a file's modification time, so "oldest" means least recently shown).
//!
//! The choice of what to evict ([`choose_evictions`]) is pure; the rest is blocking file I/O, run
//! on the worker's blocking pool.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

/// The most the cache holds, in bytes. A `.preview` (200x200) is 5–40 KB, so this keeps a few
/// thousand thumbnails.
pub const LIMIT: u64 = 50 * 1000 * 1000;

/// A cached file that is bigger than this is not a thumbnail: not kept.
pub const MAX_FILE: u64 = 2 * 1000 * 1000;

/// One file in the cache, as eviction sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cached {
    pub name: String,
    pub size: u64,
    /// Last written or read.
    pub used: SystemTime,
}

/// The cache's file name for `url`: the content id of the URL's text (32 hex characters).
pub fn key(url: &str) -> String {
    crate::content_id::of_bytes(url.as_bytes())
}

/// Whether `name` is one of the cache's files (and not, say, a temporary file mid-write).
fn is_key(name: &str) -> bool {
    name.len() == crate::content_id::LEN && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Which files to remove so that what stays is at most `target` bytes: the least recently used
/// first. Nothing when the total is within `limit` (eviction then brings it down to `target`,
/// a little below, so that it does not run again at the next write).
pub fn choose_evictions(mut files: Vec<Cached>, limit: u64, target: u64) -> Vec<String> {
    let mut total: u64 = files.iter().map(|f| f.size).sum();
    if total <= limit {
        return Vec::new();
    }
    // Oldest first; the name breaks ties so the choice does not depend on the listing's order.
    files.sort_by(|a, b| a.used.cmp(&b.used).then_with(|| a.name.cmp(&b.name)));
    let mut out = Vec::new();
    for f in files {
        if total <= target {
            break;
        }
        total -= f.size;
        out.push(f.name);
    }
    out
}

/// The cache directory and what it holds.
#[derive(Debug)]
pub struct ThumbCache {
    dir: PathBuf,
    limit: u64,
    /// Bytes held, once counted (the first write lists the directory); `None` before.
    total: Mutex<Option<u64>>,
}

impl ThumbCache {
    /// The cache in `dir` (created at the first write), bounded by [`LIMIT`].
    pub fn new(dir: PathBuf) -> ThumbCache {
        ThumbCache::with_limit(dir, LIMIT)
    }

    /// The cache in `dir`, bounded by `limit` bytes.
    pub fn with_limit(dir: PathBuf, limit: u64) -> ThumbCache {
        ThumbCache {
            dir,
            limit,
            total: Mutex::new(None),
        }
    }

    /// Where `url`'s thumbnail is kept.
    pub fn path(&self, url: &str) -> PathBuf {
        self.dir.join(key(url))
    }

    /// The cached bytes of `url`, if any; marks them used. Blocking.
    pub fn get(&self, url: &str) -> Option<Vec<u8>> {
        let path = self.path(url);
        let bytes = std::fs::read(&path).ok()?;
        // Refresh the time eviction goes by; a failure only makes it older.
        if let Ok(file) = std::fs::File::options().write(true).open(&path) {
            file.set_modified(SystemTime::now()).ok();
        }
        Some(bytes)
    }

    /// Keeps `bytes` as `url`'s thumbnail (atomically: a reader sees the whole file or none),
    /// then evicts the least recently used files if the cache went past its limit. Blocking.
    pub fn put(&self, url: &str, bytes: &[u8]) -> std::io::Result<()> {
        if bytes.len() as u64 > MAX_FILE {
            return Ok(());
        }
        crate::files::write_atomic(&self.path(url), bytes)?;
        let mut total = self
            .total
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = match *total {
            Some(t) => t + bytes.len() as u64,
            None => self.list()?.iter().map(|f| f.size).sum(),
        };
        *total = Some(now);
        if now > self.limit {
            *total = Some(self.evict()?);
        }
        Ok(())
    }

    /// Removes `url`'s file (it did not decode). Blocking.
    pub fn forget(&self, url: &str) {
        std::fs::remove_file(self.path(url)).ok();
        // Counted again at the next write.
        *self
            .total
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    /// The cache's files.
    pub fn list(&self) -> std::io::Result<Vec<Cached>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut files = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if !is_key(&name) || !meta.is_file() {
                continue;
            }
            files.push(Cached {
                name,
                size: meta.len(),
                used: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            });
        }
        Ok(files)
    }

    /// Brings the cache down to 90 % of its limit; returns the bytes left.
    fn evict(&self) -> std::io::Result<u64> {
        let files = self.list()?;
        let target = self.limit / 10 * 9;
        let gone = choose_evictions(files.clone(), self.limit, target);
        for name in &gone {
            std::fs::remove_file(self.dir.join(name)).ok();
        }
        Ok(files
            .iter()
            .filter(|f| !gone.contains(&f.name))
            .map(|f| f.size)
            .sum())
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn file(name: &str, size: u64, age_secs: u64) -> Cached {
        Cached {
            name: name.into(),
            size,
            used: SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 - age_secs),
        }
    }

    #[test]
    fn keys_are_hex_of_fixed_length_and_differ_by_url() {
        let a = key("http://127.0.0.1:1/10x10.png.aaaa.preview");
        let b = key("http://127.0.0.1:1/10x10.png.aaab.preview");
        assert_eq!(a.len(), 32);
        assert!(is_key(&a));
        assert_ne!(a, b);
        assert_eq!(a, key("http://127.0.0.1:1/10x10.png.aaaa.preview"));
        assert!(!is_key(".tmpXYZ123"));
    }

    #[test]
    fn nothing_is_evicted_within_the_limit() {
        let files = vec![file("a", 40, 10), file("b", 60, 5)];
        assert!(choose_evictions(files, 100, 90).is_empty());
    }

    #[test]
    fn the_least_recently_used_go_first_down_to_the_target() {
        // 140 bytes against a limit of 100: the two oldest (c, a) bring it to 70 ≤ 90.
        let files = vec![
            file("a", 30, 50),
            file("b", 30, 10),
            file("c", 40, 90),
            file("d", 40, 1),
        ];
        assert_eq!(choose_evictions(files, 100, 90), ["c", "a"]);
        // Only as many as needed: 110 against 100, the oldest alone suffices.
        let files = vec![file("x", 50, 1), file("y", 20, 2), file("z", 40, 3)];
        assert_eq!(choose_evictions(files, 100, 90), ["z"]);
    }

    #[test]
    fn equal_times_are_broken_by_name() {
        let files = vec![file("b", 60, 5), file("a", 60, 5)];
        assert_eq!(choose_evictions(files, 100, 90), ["a"]);
    }

    #[test]
    fn put_get_and_eviction_on_disk() {
        let dir = tempfile::tempdir().expect("dir");
        let cache = ThumbCache::with_limit(dir.path().join("thumbs"), 250);
        assert_eq!(cache.get("u1"), None);
        cache.put("u1", &[1; 100]).expect("put");
        cache.put("u2", &[2; 100]).expect("put");
        // u1 read again: now u2 is the least recently used.
        let old = SystemTime::now() - Duration::from_secs(3600);
        for u in ["u1", "u2"] {
            std::fs::File::options()
                .write(true)
                .open(cache.path(u))
                .expect("open")
                .set_modified(old)
                .expect("age");
        }
        assert_eq!(cache.get("u1"), Some(vec![1; 100]));
        cache.put("u3", &[3; 100]).expect("put");
        // 300 > 250: down to ≤ 225, so u2 (oldest) goes and u1, u3 stay.
        assert_eq!(cache.get("u2"), None);
        assert_eq!(cache.get("u1"), Some(vec![1; 100]));
        assert_eq!(cache.get("u3"), Some(vec![3; 100]));
        let mut names: Vec<String> = std::fs::read_dir(cache.dir())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let mut expected = vec![key("u1"), key("u3")];
        expected.sort();
        assert_eq!(names, expected, "no temporary file left, nothing else");
        cache.forget("u1");
        assert_eq!(cache.get("u1"), None);
    }
}
