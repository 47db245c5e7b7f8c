//! Picture storage on `object_store`: a local directory by default, any S3-compatible bucket by
//! configuration. A picture is its three thumbnails plus its original, written last: an original
//! that exists marks a complete picture, and every write is atomic (staged file + rename locally,
//! one PUT on S3), so a crash never leaves a half file that would be served.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};

use crate::cdn_url::Variant;

/// Bytes of renditions kept in memory. Pictures never change, so a cached copy is always right;
/// hot thumbnails are then served without touching the disk or the bucket.
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

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
    /// The directory of a local store: reads refuse symlinks found there.
    local_root: Option<PathBuf>,
    /// Shown in logs and errors.
    description: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description)
    }
}

/// A storage failure (shown to clients only as "storage failed").
#[derive(Debug, thiserror::Error)]
#[error("storage error: {0}")]
pub struct StoreError(String);

impl Store {
    fn new(inner: Arc<dyn ObjectStore>, description: String) -> Store {
        Store {
            inner,
            cache: Arc::new(Cache::with_weighter(4096, CACHE_BYTES, BySize)),
            local_root: None,
            description,
        }
    }

    /// A store in a local directory, created if missing.
    pub fn local(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError(format!("cannot create {}: {e}", dir.display())))?;
        let fs = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| StoreError(e.to_string()))?;
        let mut store = Store::new(Arc::new(fs), format!("directory {}", dir.display()));
        store.local_root = Some(dir.to_owned());
        Ok(store)
    }

    /// `file:DIR`, a plain directory path, or `s3://BUCKET` (endpoint, region and credentials
    /// from the standard `AWS_*` variables).
    pub fn from_spec(spec: &str) -> Result<Store, StoreError> {
        if let Some(bucket) = spec.strip_prefix("s3://") {
            let bucket = bucket.trim_end_matches('/');
            let s3 = object_store::aws::AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()
                .map_err(|e| StoreError(e.to_string()))?;
            return Ok(Store::new(Arc::new(s3), format!("bucket s3://{bucket}")));
        }
        let dir = spec.strip_prefix("file:").unwrap_or(spec);
        Store::local(&PathBuf::from(dir))
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
        match self
            .inner
            .head(&Self::key(name, id, Variant::Original))
            .await
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(StoreError(e.to_string())),
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
        self.inner
            .put(&key, PutPayload::from_bytes(bytes))
            .await
            .map(|_| ())
            .map_err(|e| StoreError(e.to_string()))
    }

    /// Reads one rendition; `None` when it is not stored.
    pub async fn get(
        &self,
        name: &str,
        id: &str,
        variant: Variant,
    ) -> Result<Option<Bytes>, StoreError> {
        let key = Self::key(name, id, variant);
        if let Some(hit) = self.cache.get(key.as_ref()) {
            return Ok(Some(hit));
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
            Ok(found) => {
                let bytes = found.bytes().await.map_err(|e| StoreError(e.to_string()))?;
                self.cache.insert(key.to_string(), bytes.clone());
                Ok(Some(bytes))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(StoreError(e.to_string())),
        }
    }
}
