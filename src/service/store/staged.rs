//! A local store's original, written while its thumbnails are made: staged under `NAME#N` (the
//! staged-name form object_store uses, so the sweeper knows it), synced, and renamed into place
//! only when the thumbnails are stored. Dropped before that, the staged file is removed.

use std::fs::File;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// An original written (and synced, when the store syncs) under its staged name.
pub struct Staged {
    staged: PathBuf,
    dest: PathBuf,
    fsync: bool,
    /// Renamed into place: nothing left to remove.
    committed: bool,
}

impl Staged {
    /// Writes `bytes` to a new staged file next to `dest` (`dest#1`, or the next free number
    /// when another write of the same picture is under way), creating the directories on the
    /// way; with `fsync` the file and every new directory are synced before this returns.
    pub fn write(dest: PathBuf, bytes: &[u8], fsync: bool) -> io::Result<Staged> {
        let parent = dest
            .parent()
            .ok_or_else(|| io::Error::other("a stored file has a directory"))?;
        create_dirs(parent, fsync)?;
        let (mut file, staged) = create_staged(&dest)?;
        // From here on, dropping `this` removes the staged file.
        let this = Staged {
            staged,
            dest,
            fsync,
            committed: false,
        };
        file.write_all(bytes)?;
        if fsync {
            file.sync_all()?;
        }
        Ok(this)
    }

    /// Renames the staged file into place; with `fsync`, then syncs the directory, so the name
    /// survives a power loss before the upload is acknowledged.
    pub fn commit(self) -> io::Result<()> {
        let fsync = self.fsync;
        let dir = self.rename()?;
        if fsync && let Some(dir) = dir {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }

    /// Renames the staged file into place without syncing its directory; the directory it is in.
    fn rename(mut self) -> io::Result<Option<PathBuf>> {
        std::fs::rename(&self.staged, &self.dest)?;
        self.committed = true;
        Ok(self.dest.parent().map(Path::to_owned))
    }
}

/// Puts a picture in place in one go: each thumbnail written under its staged name and synced,
/// all of them renamed into place and their directory synced once, then the `original` (already
/// written and synced) renamed into place and its directory synced. The original, which marks
/// the picture complete, is never in place before its thumbnails are durably there. Without
/// `fsync`, the same without the syncs. An error leaves no staged file behind.
pub fn put_picture(
    thumbs: impl IntoIterator<Item = (PathBuf, impl AsRef<[u8]>)>,
    original: Staged,
    fsync: bool,
) -> io::Result<()> {
    let staged = thumbs
        .into_iter()
        .map(|(dest, bytes)| {
            // Which file failed, in the error (the caller names the picture).
            let file = dest.file_name().map(|f| f.to_string_lossy().into_owned());
            Staged::write(dest, bytes.as_ref(), fsync)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", file.unwrap_or_default())))
        })
        .collect::<io::Result<Vec<_>>>()?;
    let mut dirs: Vec<PathBuf> = Vec::new();
    for thumb in staged {
        if let Some(dir) = thumb.rename()?
            && !dirs.contains(&dir)
        {
            dirs.push(dir);
        }
    }
    if fsync {
        for dir in dirs {
            File::open(dir)?.sync_all()?;
        }
    }
    original.commit()
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            std::fs::remove_file(&self.staged).ok();
        }
    }
}

/// A new file `dest#N` for the smallest free N, opened for writing; never an existing file or
/// a link someone placed there.
fn create_staged(dest: &Path) -> io::Result<(File, PathBuf)> {
    for n in 1u32.. {
        let mut staged = dest.as_os_str().to_owned();
        staged.push(format!("#{n}"));
        let staged = PathBuf::from(staged);
        match File::options().write(true).create_new(true).open(&staged) {
            Ok(file) => return Ok((file, staged)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 1000 => continue,
            Err(e) => return Err(e),
        }
    }
    unreachable!("the loop returns by n = 1000")
}

/// Creates `dir` and its missing ancestors; with `fsync`, syncs each new directory and the one
/// it was made in, so the new entries survive a power loss.
fn create_dirs(dir: &Path, fsync: bool) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let existing = dir.ancestors().find(|a| a.is_dir()).map(Path::to_owned);
    std::fs::create_dir_all(dir)?;
    if fsync {
        for new in dir
            .ancestors()
            .take_while(|a| Some(*a) != existing.as_deref())
        {
            File::open(new)?.sync_all()?;
        }
        if let Some(existing) = existing {
            File::open(existing)?.sync_all()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_original_appears_under_its_name_only_when_committed() {
        let root = tempfile::tempdir().expect("dir");
        let dest = root.path().join("pictures/ab/1x1.png.ab12");
        let staged = Staged::write(dest.clone(), b"picture", true).expect("write");
        let dir = root.path().join("pictures/ab");
        assert_eq!(files(&dir), ["1x1.png.ab12#1"]);
        assert!(!dest.exists());
        staged.commit().expect("commit");
        assert_eq!(files(&dir), ["1x1.png.ab12"]);
        assert_eq!(std::fs::read(&dest).expect("read"), b"picture");
    }

    #[test]
    fn an_abandoned_original_leaves_nothing() {
        let root = tempfile::tempdir().expect("dir");
        let dest = root.path().join("ab/x");
        drop(Staged::write(dest.clone(), b"picture", false).expect("write"));
        assert!(files(&root.path().join("ab")).is_empty());
    }

    #[test]
    fn two_writes_of_one_picture_take_their_own_staged_files() {
        let root = tempfile::tempdir().expect("dir");
        let dest = root.path().join("x");
        let first = Staged::write(dest.clone(), b"same", false).expect("first");
        let second = Staged::write(dest.clone(), b"same", false).expect("second");
        assert_eq!(files(root.path()), ["x#1", "x#2"]);
        second.commit().expect("second commit");
        first.commit().expect("first commit");
        assert_eq!(files(root.path()), ["x"]);
        assert_eq!(std::fs::read(&dest).expect("read"), b"same");
    }

    #[test]
    fn a_picture_is_put_in_place_whole_with_no_staged_file_left() {
        let root = tempfile::tempdir().expect("dir");
        let dir = root.path().join("pictures/ab");
        let original = Staged::write(dir.join("x"), b"original", true).expect("original");
        let thumbs = [".preview", ".large", ".avatar"]
            .map(|suffix| (dir.join(format!("x{suffix}")), suffix.as_bytes()));
        put_picture(thumbs, original, true).expect("put");
        assert_eq!(files(&dir), ["x", "x.avatar", "x.large", "x.preview"]);
        assert_eq!(std::fs::read(dir.join("x")).expect("read"), b"original");
        assert_eq!(std::fs::read(dir.join("x.large")).expect("read"), b".large");
    }

    #[test]
    fn a_thumbnail_that_cannot_be_written_leaves_neither_it_nor_the_original() {
        let root = tempfile::tempdir().expect("dir");
        let dir = root.path().join("ab");
        let original = Staged::write(dir.join("x"), b"original", false).expect("original");
        // A directory where a thumbnail's parent should be: its write fails.
        std::fs::write(root.path().join("blocked"), b"a file").expect("file");
        let thumbs = vec![
            (dir.join("x.preview"), &b"preview"[..]),
            (root.path().join("blocked/x.large"), &b"large"[..]),
        ];
        assert!(put_picture(thumbs, original, false).is_err());
        assert!(files(&dir).is_empty(), "{:?}", files(&dir));
    }

    #[cfg(unix)]
    #[test]
    fn a_link_planted_at_the_staged_name_is_never_written_through() {
        let root = tempfile::tempdir().expect("dir");
        let target = root.path().join("elsewhere");
        std::fs::write(&target, b"keep").expect("target");
        let dest = root.path().join("x");
        std::os::unix::fs::symlink(&target, root.path().join("x#1")).expect("link");
        let staged = Staged::write(dest.clone(), b"picture", false).expect("write");
        staged.commit().expect("commit");
        assert_eq!(std::fs::read(&target).expect("target"), b"keep");
        assert_eq!(std::fs::read(&dest).expect("dest"), b"picture");
    }
}
