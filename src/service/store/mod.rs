//! Picture storage on `object_store`: a local directory by default, any S3-compatible bucket by
//! configuration. A picture is its three thumbnails plus its original, put in place last: an
//! original that exists marks a complete picture, and every write is atomic (staged file + rename
//! locally, one PUT or one completed multipart upload on S3), so a crash never leaves a half file
//! that would be served. Locally the original is written and synced under its staged name while
//! the thumbnails are made ([`Store::stage_original`]), and only renamed into place after them.
//! Keys are content-addressed, so instances sharing a bucket need no coordination: two writers of
//! the same picture write the same bytes to the same keys, and correctness never depends on
//! conditional writes (Garage ignores them).
//!
//! - `s3`: the bucket store's configuration from `AWS_*` variables.
//! - `sweep`: removing what killed processes left in a local store.
//! - `staged`: a local store's original, written while its thumbnails are made.
//! - `error`: typed errors, explained in the terms of whoever runs the service.

mod error;
mod s3;
mod staged;
mod sweep;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt as _;
#[cfg(any(not(target_os = "linux"), test))]
use futures_util::stream::BoxStream;
use object_store::path::Path as Key;
use object_store::{
    GetResultPayload, ObjectStore, ObjectStoreExt as _, PutPayload, WriteMultipart,
};

pub use error::{Reason, StoreError};
pub use sweep::{STAGED_ORPHAN_AGE, spawn_sweeper};

use crate::cdn_url::Variant;
use error::chain;

/// Objects larger than this are streamed to the client and not cached: a client that reads
/// slowly (or not at all) holds a chunk of a bucket's object, or a local file's mapping (the
/// kernel sends it from the file with `sendfile`), never a whole original in memory.
pub const STREAM_ABOVE: u64 = 1024 * 1024;

/// Chunk size of a streamed object.
#[cfg(any(not(target_os = "linux"), test))]
const STREAM_CHUNK: usize = 256 * 1024;

/// Local objects held whole from this size on are mapped rather than read, so a ready answer
/// (`service::ready`) is sent from its file with `sendfile`; smaller ones cost less to copy than
/// a file descriptor kept open for them.
#[cfg(target_os = "linux")]
const MAP_FROM: u64 = 16 * 1024;

/// Objects larger than this are written as multipart uploads, in parts of this size (S3 wants
/// parts of at least 5 MiB); parts go up in parallel and a failed part is retried alone.
const PART_BYTES: usize = 8 * 1024 * 1024;

/// Where pictures live.
#[derive(Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    /// The directory of a local store: reads refuse symlinks found there, the sweeper cleans it.
    local_root: Option<PathBuf>,
    /// Whether a local store syncs each write (file and directory) before it returns.
    fsync: bool,
    /// Shown in logs and errors, e.g. `bucket s3://images at http://127.0.0.1:3900`.
    description: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description)
    }
}

/// The original of a picture on its way into the store: see [`Store::stage_original`].
pub struct Original(Pending);

enum Pending {
    /// A local store's write under the staged name, under way on a blocking thread.
    Staging {
        /// The store's directory, where the thumbnails go too.
        root: PathBuf,
        writing: tokio::task::JoinHandle<std::io::Result<staged::Staged>>,
    },
    /// A bucket's: one PUT after the thumbnails.
    Put(Bytes),
}

/// One rendition read from the store.
pub enum Object {
    /// Small enough to hold whole (the service keeps it as a ready answer).
    Whole(Bytes),
    /// A local file's bytes, mapped (Linux, above [`STREAM_ABOVE`]): sent with `sendfile`, and
    /// worth keeping open for the next request (no memory of this process holds them).
    Mapped(Bytes),
    /// Read in chunks as the client takes them.
    Stream {
        /// Its length in bytes.
        len: u64,
        /// Its bytes in chunks: a bucket's, or a local file's where files are not mapped.
        chunks: futures_util::stream::BoxStream<'static, std::io::Result<Bytes>>,
    },
}

impl Store {
    fn new(inner: Arc<dyn ObjectStore>, description: String) -> Store {
        Store {
            inner,
            local_root: None,
            fsync: false,
            description,
        }
    }

    /// A store in a local directory, created if missing, with every write synced to disk before
    /// it is acknowledged.
    pub fn local(dir: &Path) -> Result<Store, StoreError> {
        Store::local_with(dir, true)
    }

    /// A store in a local directory; `fsync` syncs each written file and its directory before a
    /// write returns, so an acknowledged picture survives a power loss.
    pub fn local_with(dir: &Path, fsync: bool) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Directory {
            dir: dir.to_owned(),
            doing: "create",
            cause: e.to_string(),
        })?;
        let fs = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| StoreError::Directory {
                dir: dir.to_owned(),
                doing: "use",
                cause: chain(&e),
            })?
            .with_fsync(fsync);
        let mut store = Store::new(Arc::new(fs), format!("directory {}", dir.display()));
        store.local_root = Some(dir.to_owned());
        store.fsync = fsync;
        Ok(store)
    }

    /// `file:DIR`, a plain directory path, or `s3://BUCKET` (endpoint, region and credentials
    /// from the standard `AWS_*` variables). Nothing is contacted yet: [`Store::check`] does that.
    pub fn from_spec(spec: &str, fsync: bool) -> Result<Store, StoreError> {
        if let Some(bucket) = spec.strip_prefix("s3://") {
            return Store::s3(bucket.trim_end_matches('/'), std::env::vars());
        }
        let dir = spec.strip_prefix("file:").unwrap_or(spec);
        if dir.is_empty() || dir.contains("://") {
            return Err(StoreError::Spec(spec.to_owned()));
        }
        Store::local_with(&PathBuf::from(dir), fsync)
    }

    /// Lists, writes and deletes a probe object, so that a missing bucket, a wrong region,
    /// refused credentials, an unreachable endpoint or a read-only directory stop the service at
    /// start with one line, not at the first upload.
    pub async fn check(&self) -> Result<(), StoreError> {
        let mut listing = self.inner.list(Some(&Key::from("pictures")));
        if let Some(Err(e)) = listing.next().await {
            return Err(self.fail(e));
        }
        // A name of its own, so instances starting together never delete each other's probe.
        let mut raw = [0u8; 8];
        let unique = match getrandom::fill(&mut raw) {
            Ok(()) => hex::encode(raw),
            Err(_) => format!(
                "{}-{}",
                std::process::id(),
                std::time::UNIX_EPOCH
                    .elapsed()
                    .unwrap_or_default()
                    .as_nanos()
            ),
        };
        let probe = Key::from(format!("probe/{unique}"));
        self.inner
            .put(&probe, PutPayload::from_static(b"probe"))
            .await
            .map_err(|e| self.fail(e))?;
        self.inner.delete(&probe).await.map_err(|e| self.fail(e))?;
        Ok(())
    }

    /// The error, with one line that says what is wrong with this store in the user's terms.
    fn fail(&self, e: object_store::Error) -> StoreError {
        StoreError::failed(&self.description, &e)
    }

    /// A read of `key`'s file that failed.
    fn io_failed(&self, key: &Key, e: std::io::Error) -> StoreError {
        StoreError::Failed {
            store: self.description.clone(),
            reason: Reason::Other(format!("{key}: {e}")),
        }
    }

    /// The `range` of `key`'s `file`, mapped to be sent with `sendfile`.
    #[cfg(target_os = "linux")]
    fn map(
        &self,
        key: &Key,
        file: std::fs::File,
        range: std::ops::Range<u64>,
    ) -> Result<Bytes, StoreError> {
        crate::service::sendfile::map(file, range.start, range.end - range.start)
            .map_err(|e| self.io_failed(key, e))
    }

    /// The key of one rendition: sharded by the id's first two characters.
    fn key(name: &str, id: &str, variant: Variant) -> Key {
        let shard = id.get(..2).unwrap_or("00");
        match variant.suffix() {
            Some(suffix) => Key::from(format!("pictures/{shard}/{name}.{suffix}")),
            None => Key::from(format!("pictures/{shard}/{name}")),
        }
    }

    /// Whether the complete picture `name` is stored.
    pub async fn exists(&self, name: &str, id: &str) -> Result<bool, StoreError> {
        let key = Self::key(name, id, Variant::Original);
        match self.inner.head(&key).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Starts storing the original of picture `name`: in a local store it is written (and
    /// synced) under a staged name `NAME#N` on a blocking thread right away, while the caller
    /// makes the thumbnails; [`Store::put_picture`] renames it into place after them. Dropped
    /// unfinished (an error, a client gone), the staged file is removed. A bucket gets it with
    /// one PUT in [`Store::put_picture`].
    pub fn stage_original(&self, name: &str, id: &str, bytes: Bytes) -> Original {
        let Some(root) = &self.local_root else {
            return Original(Pending::Put(bytes));
        };
        let dest = root.join(Self::key(name, id, Variant::Original).as_ref());
        let fsync = self.fsync;
        Original(Pending::Staging {
            root: root.clone(),
            writing: tokio::task::spawn_blocking(move || {
                staged::Staged::write(dest, &bytes, fsync)
            }),
        })
    }

    /// Stores the thumbnails, then puts the original in place: only when they are all there. A
    /// bucket gets the three PUTs at once (each waits on the network, not on a core), then the
    /// original's. A local store, once the original is staged, does it all on one blocking
    /// thread ([`staged::put_picture`]): three files written and synced, renamed, their directory
    /// synced once, then the original renamed and the directory synced again (one hand-off to
    /// the blocking pool and two directory syncs, where a task per file took four and four).
    pub async fn put_picture(
        &self,
        name: &str,
        id: &str,
        original: Original,
        thumbs: [(Variant, Bytes); 3],
    ) -> Result<(), StoreError> {
        let key = Self::key(name, id, Variant::Original);
        let (root, writing) = match original.0 {
            Pending::Staging { root, writing } => (root, writing),
            Pending::Put(bytes) => {
                futures_util::future::try_join_all(
                    thumbs
                        .into_iter()
                        .map(|(variant, bytes)| self.put(Self::key(name, id, variant), bytes)),
                )
                .await?;
                return self.put(key, bytes).await;
            }
        };
        let joined = |e: tokio::task::JoinError| std::io::Error::other(e);
        let staged = writing
            .await
            .map_err(joined)
            .and_then(|written| written)
            .map_err(|e| self.io_failed(&key, e))?;
        let thumbs = thumbs
            .map(|(variant, bytes)| (root.join(Self::key(name, id, variant).as_ref()), bytes));
        let fsync = self.fsync;
        tokio::task::spawn_blocking(move || staged::put_picture(thumbs, staged, fsync))
            .await
            .map_err(joined)
            .and_then(|put| put)
            .map_err(|e| self.io_failed(&key, e))
    }

    async fn put(&self, key: Key, bytes: Bytes) -> Result<(), StoreError> {
        if bytes.len() <= PART_BYTES {
            self.inner
                .put(&key, PutPayload::from_bytes(bytes))
                .await
                .map_err(|e| self.fail(e))?;
            return Ok(());
        }
        // Nothing is visible under `key` until the upload completes; a failed one is aborted.
        let upload = self
            .inner
            .put_multipart(&key)
            .await
            .map_err(|e| self.fail(e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        writer.put(bytes);
        writer.finish().await.map_err(|e| self.fail(e))?;
        Ok(())
    }

    /// Reads one rendition; `None` when it is not stored. Objects up to [`STREAM_ABOVE`] come
    /// whole, larger ones mapped (a local directory on Linux) or as a stream. Nothing is cached
    /// here: the service keeps ready answers and open files (`service::ready`), one layer up.
    pub async fn get(
        &self,
        name: &str,
        id: &str,
        variant: Variant,
    ) -> Result<Option<Object>, StoreError> {
        let key = Self::key(name, id, variant);
        // Thumbnails are written first: without its original, a thumbnail belongs to a write
        // that never finished (a crash), and a picture is served whole or not at all.
        if variant != Variant::Original && !self.exists(name, id).await? {
            return Ok(None);
        }
        // This service writes regular files only; a symlink was planted, and may point anywhere.
        if let Some(root) = &self.local_root {
            let path = root.join(key.as_ref());
            if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
                tracing::warn!("refusing to serve a symlink: {}", path.display());
                return Ok(None);
            }
        }
        match self.inner.get(&key).await {
            Ok(found) if found.meta.size <= STREAM_ABOVE => {
                // A local file worth it is mapped, to be sent with `sendfile` whenever asked for.
                #[cfg(target_os = "linux")]
                if found.meta.size >= MAP_FROM
                    && crate::service::sendfile::room()
                    && let GetResultPayload::File(file, _) = found.payload
                {
                    return Ok(Some(Object::Whole(self.map(&key, file, found.range)?)));
                }
                let bytes = found.bytes().await.map_err(|e| self.fail(e))?;
                Ok(Some(Object::Whole(bytes)))
            }
            Ok(found) => {
                let len = found.range.end - found.range.start;
                let chunks = match found.payload {
                    #[cfg(target_os = "linux")]
                    GetResultPayload::File(file, _) => {
                        return Ok(Some(Object::Mapped(self.map(&key, file, found.range)?)));
                    }
                    #[cfg(not(target_os = "linux"))]
                    GetResultPayload::File(file, _) => file_body(file, found.range.start, len)
                        .map_err(|e| self.io_failed(&key, e))?,
                    GetResultPayload::Stream(stream) => stream
                        .map(|chunk| chunk.map_err(std::io::Error::other))
                        .boxed(),
                };
                Ok(Some(Object::Stream { len, chunks }))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.fail(e)),
        }
    }
}

/// `len` bytes of `file` from `offset`, as the body of a response: read in chunks.
#[cfg(not(target_os = "linux"))]
fn file_body(
    mut file: std::fs::File,
    offset: u64,
    len: u64,
) -> std::io::Result<BoxStream<'static, std::io::Result<Bytes>>> {
    use std::io::Seek as _;
    file.seek(std::io::SeekFrom::Start(offset))?;
    Ok(file_chunks(file, len))
}

#[cfg(any(not(target_os = "linux"), test))]
/// The next `len` bytes of `file`, [`STREAM_CHUNK`] at a time, each read on the blocking pool
/// straight into the buffer that is sent (tokio's `File` reads into a buffer of its own and
/// copies it out: one more pass over every byte). One chunk is in memory per read in flight.
fn file_chunks(file: std::fs::File, len: u64) -> BoxStream<'static, std::io::Result<Bytes>> {
    futures_util::stream::try_unfold((file, len), |(file, left)| async move {
        if left == 0 {
            return Ok(None);
        }
        let want = left.min(STREAM_CHUNK as u64);
        let (file, chunk) = tokio::task::spawn_blocking(move || {
            use std::io::Read as _;
            let mut chunk = Vec::with_capacity(want as usize);
            (&file).take(want).read_to_end(&mut chunk)?;
            if chunk.len() as u64 != want {
                // The file is shorter than its length said: never send fewer bytes than the
                // Content-Length promised without an error.
                return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
            }
            Ok((file, chunk))
        })
        .await
        .map_err(std::io::Error::other)??;
        Ok(Some((Bytes::from(chunk), (file, left - want))))
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_file_is_streamed_whole_in_chunks_from_where_it_was_seeked() {
        use std::io::{Seek as _, Write as _};
        let data: Vec<u8> = (0..STREAM_CHUNK * 2 + 1000)
            .map(|i| (i % 251) as u8)
            .collect();
        let mut file = tempfile::tempfile().expect("file");
        file.write_all(&data).expect("write");
        file.seek(std::io::SeekFrom::Start(10)).expect("seek");
        let chunks: Vec<Bytes> = file_chunks(file, data.len() as u64 - 10)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()
            .expect("read");
        let sizes: Vec<usize> = chunks.iter().map(Bytes::len).collect();
        assert_eq!(sizes, [STREAM_CHUNK, STREAM_CHUNK, 990]);
        assert_eq!(chunks.concat(), data[10..]);
    }

    #[tokio::test]
    async fn a_file_shorter_than_promised_ends_the_stream_with_an_error() {
        use std::io::{Seek as _, Write as _};
        let mut file = tempfile::tempfile().expect("file");
        file.write_all(&[1u8; 100]).expect("write");
        file.rewind().expect("rewind");
        let results: Vec<_> = file_chunks(file, 200).collect().await;
        assert_eq!(results.len(), 1);
        let e = results[0].as_ref().expect_err("short");
        assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn specs_that_are_neither_are_refused() {
        for spec in ["gs://bucket", "file:", "s3://", "s3://a/b"] {
            assert!(Store::from_spec(spec, true).is_err(), "{spec}");
        }
    }
}
