//! Picture storage on `object_store`: a local directory by default, any S3-compatible bucket by
//! configuration. A picture is its three thumbnails plus its original, written last: an original
//! that exists marks a complete picture, and every write is atomic (staged file + rename locally,
//! one PUT or one completed multipart upload on S3), so a crash never leaves a half file that
//! would be served. Keys are content-addressed, so instances sharing a bucket need no
//! coordination: two writers of the same picture write the same bytes to the same keys, and
//! correctness never depends on conditional writes (Garage ignores them).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::StreamExt as _;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey, S3ConditionalPut};
use object_store::path::Path as Key;
use object_store::{
    BackoffConfig, ClientConfigKey, GetResultPayload, ObjectStore, ObjectStoreExt as _, PutPayload,
    RetryConfig, WriteMultipart,
};

use crate::cdn_url::Variant;

/// Bytes of renditions kept in memory. Pictures never change, so a cached copy is always right;
/// hot thumbnails are then served without touching the disk or the bucket.
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// Objects larger than this are streamed to the client in chunks and not cached: a client that
/// reads slowly (or not at all) holds a chunk, never a whole original.
pub const STREAM_ABOVE: u64 = 1024 * 1024;

/// Chunk size of a streamed object.
const STREAM_CHUNK: usize = 256 * 1024;

/// Objects larger than this are written as multipart uploads, in parts of this size (S3 wants
/// parts of at least 5 MiB); parts go up in parallel and a failed part is retried alone.
const PART_BYTES: usize = 8 * 1024 * 1024;

/// Staged files of a local store older than this are orphans of a killed process: no write of
/// this service takes that long, so the sweeper can remove them even while other instances
/// share the directory.
pub const STAGED_ORPHAN_AGE: Duration = Duration::from_secs(10 * 60);

/// Weighs a cached rendition by its size.
#[derive(Clone)]
struct BySize;

impl quick_cache::Weighter<String, Bytes> for BySize {
    fn weight(&self, _key: &String, value: &Bytes) -> u64 {
        value.len() as u64 + 64
    }
}

type Cache = quick_cache::sync::Cache<String, Bytes, BySize>;

/// Where pictures live.
#[derive(Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    /// Recently read renditions (immutable, so never stale).
    cache: Arc<Cache>,
    /// The directory of a local store: reads refuse symlinks found there, the sweeper cleans it.
    local_root: Option<PathBuf>,
    /// Shown in logs and errors, e.g. `bucket s3://images at http://127.0.0.1:3900`.
    description: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description)
    }
}

/// One rendition read from the store.
pub enum Object {
    /// Small enough to hold (and cache) whole.
    Whole(Bytes),
    /// Read in chunks as the client takes them.
    Stream {
        /// Its length in bytes.
        len: u64,
        /// Its bytes, [`STREAM_CHUNK`] at a time.
        chunks: futures_util::stream::BoxStream<'static, std::io::Result<Bytes>>,
    },
}

/// A storage failure (shown to clients only as "storage failed").
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(String);

/// The error and its causes on one line: object_store's own message often leaves out why.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text.replace('\n', " ")
}

impl Store {
    fn new(inner: Arc<dyn ObjectStore>, description: String) -> Store {
        Store {
            inner,
            cache: Arc::new(Cache::with_weighter(4096, CACHE_BYTES, BySize)),
            local_root: None,
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
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError(format!("cannot create {}: {e}", dir.display())))?;
        let fs = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| StoreError(format!("cannot use {}: {}", dir.display(), chain(&e))))?
            .with_fsync(fsync);
        let mut store = Store::new(Arc::new(fs), format!("directory {}", dir.display()));
        store.local_root = Some(dir.to_owned());
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
            return Err(StoreError(format!(
                "--store {spec:?} is neither file:DIR nor s3://BUCKET"
            )));
        }
        Store::local_with(&PathBuf::from(dir), fsync)
    }

    /// An S3 bucket configured by `AWS_*` variables (`vars`: the environment, or given by a
    /// caller). Credentials must be given explicitly: the instance-metadata and container
    /// credential services are never asked.
    pub fn s3(
        bucket: &str,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Store, StoreError> {
        if bucket.is_empty() || bucket.contains('/') {
            return Err(StoreError(format!(
                "s3://{bucket}: give a bucket name only, like s3://images"
            )));
        }
        let vars: Vec<(String, String)> = vars
            .into_iter()
            .filter(|(k, v)| k.starts_with("AWS_") && !v.trim().is_empty())
            .collect();
        let given = |name: &str| vars.iter().any(|(k, _)| k == name);
        if !given("AWS_ACCESS_KEY_ID") || !given("AWS_SECRET_ACCESS_KEY") {
            return Err(StoreError(format!(
                "s3://{bucket} needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY \
                 (instance metadata and container credentials are never used)"
            )));
        }
        let mut builder = AmazonS3Builder::new();
        for (key, value) in &vars {
            // The same reading as `AmazonS3Builder::from_env`, over `vars`.
            if let Ok(key) = key.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
                builder = builder.with_config(key, value);
            }
        }
        let mut builder = builder
            .with_bucket_name(bucket)
            // Garage ignores If-None-Match; this store never asks for conditional writes, and
            // this makes any future attempt an explicit error instead of a silent overwrite.
            .with_conditional_put(S3ConditionalPut::Disabled)
            // Fail within seconds when the endpoint is down, instead of object_store's 3 minutes:
            // the client of this service retries, and the service answers while it can.
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(2),
                    base: 2.0,
                },
                max_retries: 3,
                retry_timeout: Duration::from_secs(15),
            });
        for (key, default) in [
            (ClientConfigKey::ConnectTimeout, "3s"),
            (ClientConfigKey::Timeout, "60s"),
        ] {
            let key = AmazonS3ConfigKey::Client(key);
            if builder.get_config_value(&key).is_none() {
                builder = builder.with_config(key, default);
            }
        }
        let endpoint = builder
            .get_config_value(&AmazonS3ConfigKey::Endpoint)
            .unwrap_or_else(|| "AWS".to_owned());
        let region = builder
            .get_config_value(&AmazonS3ConfigKey::Region)
            .unwrap_or_else(|| "us-east-1".to_owned());
        let s3 = builder
            .build()
            .map_err(|e| StoreError(format!("s3://{bucket}: {}", chain(&e))))?;
        Ok(Store::new(
            Arc::new(s3),
            format!("bucket s3://{bucket} at {endpoint} (region {region})"),
        ))
    }

    /// Lists, writes and deletes a probe object, so that a missing bucket, a wrong region,
    /// refused credentials, an unreachable endpoint or a read-only directory stop the service at
    /// start with one line, not at the first upload.
    pub async fn check(&self) -> Result<(), StoreError> {
        let mut listing = self.inner.list(Some(&Key::from("pictures")));
        if let Some(Err(e)) = listing.next().await {
            return Err(self.fail(e));
        }
        let mut raw = [0u8; 8];
        getrandom::fill(&mut raw).ok();
        let probe = Key::from(format!("probe/{}", hex::encode(raw)));
        self.inner
            .put(&probe, PutPayload::from_static(b"probe"))
            .await
            .map_err(|e| self.fail(e))?;
        self.inner.delete(&probe).await.map_err(|e| self.fail(e))?;
        Ok(())
    }

    /// The error, with one line that says what is wrong with this store in the user's terms.
    fn fail(&self, e: object_store::Error) -> StoreError {
        let mut root: &dyn std::error::Error = &e;
        while let Some(cause) = root.source() {
            root = cause;
        }
        StoreError(format!(
            "{}: {}",
            self.description,
            reason(&chain(&e), &root.to_string())
        ))
    }

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
        if self.cache.get(key.as_ref()).is_some() {
            return Ok(true);
        }
        match self.inner.head(&key).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Stores the thumbnails, then the original.
    pub async fn put_picture(
        &self,
        name: &str,
        id: &str,
        original: Bytes,
        thumbs: [(Variant, Bytes); 3],
    ) -> Result<(), StoreError> {
        for (variant, bytes) in thumbs {
            self.put(Self::key(name, id, variant), bytes).await?;
        }
        self.put(Self::key(name, id, Variant::Original), original)
            .await
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
    /// whole (and are cached), larger ones as a stream.
    pub async fn get(
        &self,
        name: &str,
        id: &str,
        variant: Variant,
    ) -> Result<Option<Object>, StoreError> {
        let key = Self::key(name, id, variant);
        if let Some(hit) = self.cache.get(key.as_ref()) {
            return Ok(Some(Object::Whole(hit)));
        }
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
                let bytes = found.bytes().await.map_err(|e| self.fail(e))?;
                self.cache.insert(key.to_string(), bytes.clone());
                Ok(Some(Object::Whole(bytes)))
            }
            Ok(found) => {
                let len = found.range.end - found.range.start;
                let chunks = match found.payload {
                    GetResultPayload::File(mut file, _) => {
                        use std::io::Seek as _;
                        use tokio::io::AsyncReadExt as _;
                        file.seek(std::io::SeekFrom::Start(found.range.start))
                            .map_err(|e| StoreError(format!("{self:?}: {key}: {e}")))?;
                        let file = tokio::fs::File::from_std(file).take(len);
                        tokio_util::io::ReaderStream::with_capacity(file, STREAM_CHUNK).boxed()
                    }
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

/// The text between `<{tag}>` and `</{tag}>` in an S3 error document, unescaped.
fn xml_field(detail: &str, tag: &str) -> Option<String> {
    let start = detail.find(&format!("<{tag}>"))? + tag.len() + 2;
    let len = detail[start..].find(&format!("</{tag}>"))?;
    let text = &detail[start..start + len];
    Some(
        text.replace("&apos;", "'")
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// What a store error (`detail`, with its innermost cause `root`) means for whoever runs the
/// service: a missing bucket, a wrong region, refused credentials, an endpoint that cannot be
/// reached or one that answers with an error.
fn reason(detail: &str, root: &str) -> String {
    let code = xml_field(detail, "Code").unwrap_or_default();
    let message = xml_field(detail, "Message").unwrap_or_default();
    let status = detail
        .split_once("status code: ")
        .and_then(|(_, rest)| rest.get(..3))
        .and_then(|s| s.parse::<u16>().ok());
    let said = if message.is_empty() {
        String::new()
    } else {
        format!(" (the store says: {message})")
    };
    if detail.contains("URL scheme is not allowed") {
        "the endpoint is plain http:// (set AWS_ALLOW_HTTP=true to allow it)".to_owned()
    } else if code == "NoSuchBucket" {
        "the bucket does not exist (create it, or fix the name)".to_owned()
    } else if matches!(
        code.as_str(),
        "AuthorizationHeaderMalformed" | "IllegalLocationConstraint" | "PermanentRedirect"
    ) {
        format!("the region is wrong for this endpoint (set AWS_REGION){said}")
    } else if matches!(
        code.as_str(),
        "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "AccessDenied"
    ) || status == Some(403)
    {
        format!(
            "the credentials were refused (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
             and the key's rights on the bucket){said}"
        )
    } else if let Some(status) = status {
        let code = if code.is_empty() {
            String::new()
        } else {
            format!(" {code}")
        };
        format!("the store answered {status}{code}{said}")
    } else if detail.contains("error sending request") || detail.contains("timed out") {
        format!("cannot reach the endpoint (check AWS_ENDPOINT): {root}")
    } else {
        detail.to_owned()
    }
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

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn s3_without_credentials_is_refused_before_any_connection() {
        for given in [
            vars(&[("AWS_ENDPOINT", "http://127.0.0.1:9")]),
            vars(&[("AWS_ACCESS_KEY_ID", "GK1"), ("AWS_SECRET_ACCESS_KEY", " ")]),
            // Container credentials are not a way in either.
            vars(&[
                ("AWS_ACCESS_KEY_ID", "GK1"),
                (
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                    "http://127.0.0.1:9/creds",
                ),
            ]),
        ] {
            let e = Store::s3("images", given).expect_err("no credentials");
            assert!(e.to_string().contains("AWS_SECRET_ACCESS_KEY"), "{e}");
        }
    }

    #[test]
    fn s3_settings_come_from_the_variables() {
        let store = Store::s3(
            "images",
            vars(&[
                ("AWS_ENDPOINT", "http://127.0.0.1:3900"),
                ("AWS_REGION", "garage"),
                ("AWS_ACCESS_KEY_ID", "GK1"),
                ("AWS_SECRET_ACCESS_KEY", "secret"),
                ("AWS_ALLOW_HTTP", "true"),
                ("HOME", "/elsewhere"),
            ]),
        )
        .expect("store");
        let shown = format!("{store:?}");
        assert_eq!(
            shown,
            "bucket s3://images at http://127.0.0.1:3900 (region garage)"
        );
        assert!(!shown.contains("secret"));
    }

    /// Errors as object_store 0.14 reports them from Garage 2.5 (seen in `tests/garage.rs`).
    const GET: &str = "Generic S3 error: Error performing list request: Error performing GET \
        http://127.0.0.1:3900/images?list-type=2&prefix=pictures%2F in 1.05ms - ";

    #[test]
    fn store_errors_are_explained_in_the_users_terms() {
        let xml = |status: &str, code: &str, message: &str| {
            format!(
                "{GET}Server returned non-2xx status code: {status}: <?xml version=\"1.0\" \
                 encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message>\
                 <Resource>/images</Resource><Region>garage</Region></Error>"
            )
        };
        let cases = [
            (
                xml(
                    "400 Bad Request",
                    "AuthorizationHeaderMalformed",
                    "unexpected scope: &apos;us-east-1&apos;",
                ),
                "the region is wrong for this endpoint (set AWS_REGION) (the store says: unexpected scope: 'us-east-1')",
            ),
            (
                xml("404 Not Found", "NoSuchBucket", "Bucket not found: nope"),
                "the bucket does not exist (create it, or fix the name)",
            ),
            (
                xml(
                    "403 Forbidden",
                    "AccessDenied",
                    "Forbidden: Invalid signature",
                ),
                "the credentials were refused (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
                 and the key's rights on the bucket) (the store says: Forbidden: Invalid signature)",
            ),
            (
                xml(
                    "503 Service Unavailable",
                    "ServiceUnavailable",
                    "Could not reach quorum of 2. Not connected: b7c1",
                ),
                "the store answered 503 ServiceUnavailable (the store says: Could not reach quorum of 2. Not connected: b7c1)",
            ),
            (
                format!(
                    "{GET}HTTP error: error sending request: client error (Connect): tcp connect error: Connection refused (os error 111)"
                ),
                "cannot reach the endpoint (check AWS_ENDPOINT): Connection refused (os error 111)",
            ),
            (
                format!("{GET}HTTP error: builder error: URL scheme is not allowed"),
                "the endpoint is plain http:// (set AWS_ALLOW_HTTP=true to allow it)",
            ),
        ];
        for (detail, expected) in cases {
            assert_eq!(
                reason(&detail, "Connection refused (os error 111)"),
                expected
            );
        }
    }

    #[test]
    fn specs_that_are_neither_are_refused() {
        for spec in ["gs://bucket", "file:", "s3://", "s3://a/b"] {
            assert!(Store::from_spec(spec, true).is_err(), "{spec}");
        }
    }
}
