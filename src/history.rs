//! Upload history: every finished upload, kept across restarts in an append-only JSON Lines file.
//!
//! Adding appends one line and syncs it, so a crash loses at most the entry being written and
//! never an earlier one; a damaged line is skipped with a warning. Removing and clearing rewrite
//! the file through a temporary file and a rename, so the old or the new history is always whole.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::cdn_url::{CdnUrl, Format};

/// One finished upload.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    /// File name, or the URL that was mirrored.
    pub name: String,
    /// The CDN URL of the original.
    pub url: String,
    /// The service it went to (dedup is per endpoint).
    pub endpoint: String,
    /// Content id (SHA-256 prefix) of the bytes as read, for "already uploaded".
    #[serde(default)]
    pub hash: Option<String>,
    #[serde(default)]
    pub width: Option<u32>,
    #[serde(default)]
    pub height: Option<u32>,
    #[serde(default)]
    pub format: Option<Format>,
    #[serde(default)]
    pub size: Option<u64>,
    /// Seconds since the Unix epoch.
    pub uploaded_at: u64,
    /// The name of the account whose token uploaded it (empty: the local service, or an entry
    /// from before accounts).
    #[serde(default)]
    pub account: String,
}

impl Entry {
    /// The parsed URL (entries are written from parsed URLs, so this fails only on a hand edit).
    pub fn cdn_url(&self) -> Option<CdnUrl> {
        CdnUrl::parse(&self.url).ok()
    }

    /// Whether `query` (lowercase) matches the name or URL.
    pub fn matches(&self, query: &str) -> bool {
        query.is_empty()
            || self.name.to_lowercase().contains(query)
            || self.url.to_lowercase().contains(query)
    }
}

/// The history and the file behind it.
#[derive(Debug, Default)]
pub struct History {
    /// Oldest first.
    entries: Vec<Entry>,
    /// `None` in tests and when no data directory exists: memory only.
    path: Option<PathBuf>,
    /// Lines skipped while loading, for a warning.
    pub skipped: usize,
}

impl History {
    /// A history kept in memory only.
    pub fn in_memory() -> Self {
        History::default()
    }

    /// Loads `path` (missing means empty), skipping damaged lines.
    pub fn load(path: &Path) -> std::io::Result<Self> {
        let text = match std::fs::read(path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        let mut entries = Vec::new();
        let mut skipped = 0;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match serde_json::from_str::<Entry>(line) {
                Ok(e) => entries.push(e),
                Err(_) => skipped += 1,
            }
        }
        if skipped > 0 {
            tracing::warn!(
                "history: skipped {skipped} damaged line(s) in {}",
                path.display()
            );
        }
        Ok(History {
            entries,
            path: Some(path.to_owned()),
            skipped,
        })
    }

    /// All entries, oldest first.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Appends an entry and syncs it to disk.
    pub fn add(&mut self, entry: Entry) -> std::io::Result<()> {
        if let Some(path) = &self.path {
            let mut line = serde_json::to_vec(&entry).map_err(std::io::Error::other)?;
            line.push(b'\n');
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            // A crash that cut the previous line short left no newline: start on a fresh line
            // so that line stays the only damaged one.
            if file.metadata()?.len() > 0 && !ends_with_newline(path)? {
                file.write_all(b"\n")?;
            }
            file.write_all(&line)?;
            file.sync_data()?;
        }
        self.entries.push(entry);
        Ok(())
    }

    /// Removes the entry at `index`.
    pub fn remove(&mut self, index: usize) -> std::io::Result<()> {
        if index < self.entries.len() {
            let mut kept = self.entries.clone();
            kept.remove(index);
            self.rewrite(&kept)?;
            self.entries = kept;
        }
        Ok(())
    }

    /// Puts `entry` back at `index` (or at the end when the history got shorter): the undo of
    /// [`History::remove`], written atomically like it.
    pub fn insert(&mut self, index: usize, entry: Entry) -> std::io::Result<()> {
        let mut kept = self.entries.clone();
        kept.insert(index.min(kept.len()), entry);
        self.rewrite(&kept)?;
        self.entries = kept;
        Ok(())
    }

    /// Puts `older` (what a clear removed) back before the entries added since: the undo of
    /// [`History::clear`], written atomically like it.
    pub fn restore(&mut self, older: Vec<Entry>) -> std::io::Result<()> {
        let mut all = older;
        all.extend(self.entries.iter().cloned());
        self.rewrite(&all)?;
        self.entries = all;
        Ok(())
    }

    /// Removes every entry.
    pub fn clear(&mut self) -> std::io::Result<()> {
        self.rewrite(&[])?;
        self.entries.clear();
        Ok(())
    }

    fn rewrite(&self, entries: &[Entry]) -> std::io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let mut text = Vec::new();
        for e in entries {
            text.extend(serde_json::to_vec(e).map_err(std::io::Error::other)?);
            text.push(b'\n');
        }
        crate::files::write_atomic(path, &text)
    }
}

fn ends_with_newline(path: &Path) -> std::io::Result<bool> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    f.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    f.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, hash: &str) -> Entry {
        Entry {
            name: name.into(),
            url: format!("http://127.0.0.1:1/1x1.png.{hash}"),
            endpoint: "http://127.0.0.1:1".into(),
            hash: Some(hash.into()),
            width: Some(1),
            height: Some(1),
            format: Some(Format::Png),
            size: Some(10),
            uploaded_at: 1,
            account: String::new(),
        }
    }

    #[test]
    fn survives_restart_and_damage() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("history.jsonl");
        let mut h = History::load(&path).expect("empty");
        h.add(entry("a.png", "aaa")).expect("add");
        h.add(entry("b.png", "bbb")).expect("add");
        // A crash mid-write: half a line at the end.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open");
        f.write_all(b"{\"name\":\"c.png\",\"ur").expect("write");
        drop(f);
        let mut h = History::load(&path).expect("load");
        assert_eq!(h.entries().len(), 2);
        assert_eq!(h.skipped, 1);
        h.add(entry("d.png", "ddd")).expect("add after damage");
        let h = History::load(&path).expect("reload");
        let names: Vec<&str> = h.entries().iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a.png", "b.png", "d.png"]);
        assert_eq!(h.skipped, 1);
    }

    #[test]
    fn remove_and_clear() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("h.jsonl");
        let mut h = History::load(&path).expect("load");
        h.add(entry("a.png", "aaa")).expect("add");
        h.add(entry("b.png", "bbb")).expect("add");
        h.remove(0).expect("remove");
        let left = History::load(&path).expect("load");
        assert_eq!(left.entries().len(), 1);
        assert_eq!(left.entries()[0].name, "b.png");
        h.clear().expect("clear");
        assert!(History::load(&path).expect("load").entries().is_empty());
    }

    #[test]
    fn undoing_a_remove_or_a_clear_restores_the_file_exactly() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("h.jsonl");
        let mut h = History::load(&path).expect("load");
        for (name, hash) in [("a.png", "aaa"), ("b.png", "bbb"), ("c.png", "ccc")] {
            h.add(entry(name, hash)).expect("add");
        }
        let before = std::fs::read(&path).expect("read");
        let removed = h.entries()[1].clone();
        h.remove(1).expect("remove");
        h.insert(1, removed).expect("undo remove");
        assert_eq!(std::fs::read(&path).expect("read"), before);
        let cleared = h.entries().to_vec();
        h.clear().expect("clear");
        h.restore(cleared).expect("undo clear");
        assert_eq!(std::fs::read(&path).expect("read"), before);
        // What was added between the clear and its undo stays, after the restored ones.
        let cleared = h.entries().to_vec();
        h.clear().expect("clear");
        h.add(entry("d.png", "ddd")).expect("add");
        h.restore(cleared).expect("undo clear");
        let names: Vec<String> = History::load(&path)
            .expect("load")
            .entries()
            .iter()
            .map(|e| e.name.clone())
            .collect();
        assert_eq!(names, ["a.png", "b.png", "c.png", "d.png"]);
    }

    #[test]
    fn search_matches_name_or_url() {
        let e = entry("Holiday.PNG", "abc");
        assert!(e.matches("holiday"));
        assert!(e.matches("1x1.png"));
        assert!(!e.matches("zzz"));
    }
}
