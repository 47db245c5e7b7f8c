//! One upload job: read the source, apply the before-upload options (`shrink`), hash it, reuse
//! what history already holds for the same bytes, strip metadata (failing closed), upload with
//! progress; and the service's `.preview` thumbnail of a finished job.

use std::path::Path;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use super::{Event, KnownIndex, Outbox, shrink};
use crate::cdn_url::CdnUrl;
use crate::client::{self, Client, Options};
use crate::downscale::BeforeUpload;
use crate::jobs::{Failure, JobId, Source, Update};
use crate::preview::{self, PreviewImage};

/// What a job needs to know besides its source.
pub(super) struct JobSetup {
    pub(super) endpoint: String,
    pub(super) strip_metadata: bool,
    /// Shrink before upload.
    pub(super) before_upload: BeforeUpload,
    pub(super) known: Arc<Mutex<KnownIndex>>,
}

/// Hashes, checks history for the same bytes, strips metadata, then uploads; returns the final
/// update.
pub(super) async fn run_job(
    client: &Client,
    job: JobId,
    source: Source,
    setup: &JobSetup,
    cancel: CancellationToken,
    out: &Outbox,
) -> Update {
    let observer_out = out.clone();
    let options = Options {
        observer: Some(Arc::new(move |event| {
            let update = match event {
                client::Event::Probed(info) => Update::Probed(info),
                client::Event::Progress { sent, total } => Update::Progress { sent, total },
                client::Event::Retrying {
                    attempt,
                    of,
                    delay,
                    reason,
                } => Update::Retrying(format!(
                    "attempt {attempt} of {of} in {:.0}s — {reason}",
                    delay.as_secs_f32().ceil()
                )),
            };
            observer_out.send(Event::Job(job, update));
        })),
        cancel,
    };
    // Fail closed: with stripping on, nothing is sent unless the metadata is known to be gone.
    let Prepared {
        hash,
        clean: stripped,
        reduced,
    } = match prepare(&source, setup.strip_metadata, setup.before_upload).await {
        Ok(p) => p,
        Err(PrepareError::MetadataNotRemoved) => return Update::MetadataNotRemoved,
        Err(e) => return Update::Failed(e.into_failure()),
    };
    if let Some(reduction) = reduced {
        out.send(Event::Job(job, Update::Reduced(reduction)));
    }
    if let Some(hash) = &hash {
        out.send(Event::Job(job, Update::Hashed(hash.clone())));
        let existing = setup
            .known
            .lock()
            .ok()
            .and_then(|k| k.get(&(setup.endpoint.clone(), hash.clone())).cloned());
        if let Some(url) = existing.and_then(|u| CdnUrl::parse(&u).ok()) {
            return Update::Done { url, reused: true };
        }
    }
    let result = match (&source, stripped) {
        (Source::Url(url), _) => client.mirror(url, &options).await,
        (_, Some(clean)) => client.upload_bytes(clean, &options).await,
        (Source::File(path), None) => client.upload_file(path, &options).await,
        (Source::Bytes { bytes, .. }, None) => {
            client
                .upload_bytes(bytes::Bytes::from(bytes.as_ref().clone()), &options)
                .await
        }
    };
    match result {
        Ok(up) => Update::Done {
            url: up.url,
            reused: false,
        },
        Err(client::UploadError::Cancelled) => Update::Cancelled,
        Err(e) => Update::Failed(Failure::of_upload(&e)),
    }
}

/// A job's bytes, read before upload.
#[derive(Debug)]
struct Prepared {
    /// History's dedup key (see `shrink::apply`); `None` for a URL, or a file that could not be
    /// hashed while streaming (the upload then reports why).
    hash: Option<String>,
    /// The bytes to send instead of the source: shrunk by the before-upload options and/or
    /// without their metadata; `None` sends the source as it is.
    clean: Option<Vec<u8>>,
    /// What the before-upload options did, for the card.
    reduced: Option<crate::jobs::Reduction>,
}

/// Why a job was not sent.
#[derive(Debug, thiserror::Error)]
enum PrepareError {
    /// Stripping is on and the file's metadata could not be parsed, so it may still hold the
    /// location: it is not sent (the person may choose "Upload unchanged").
    #[error("couldn't remove location data from this file")]
    MetadataNotRemoved,
    /// The metadata could not be removed because the file is not a whole picture: that is what
    /// the person needs to hear, not a privacy question with "Upload unchanged".
    #[error(transparent)]
    Damaged(crate::probe::ProbeError),
    /// Stripping needs the whole file, and it could not be read.
    #[error("{name}: {reason}")]
    Read { name: String, reason: String },
    /// The before-upload options applied but the picture could not be transformed.
    #[error(transparent)]
    Shrink(#[from] crate::reencode::ReencodeError),
    /// The reading task panicked or was stopped.
    #[error("reading the file failed unexpectedly")]
    Interrupted,
}

impl PrepareError {
    /// The window's words: the card names the file, so a read error says only what happened.
    fn into_failure(self) -> Failure {
        match self {
            PrepareError::Read { reason, .. } => {
                Failure::transient(format!("cannot read this file: {reason}"))
            }
            PrepareError::Damaged(e) => Failure::of_probe(&e),
            // A picture the decoder cannot read will not read on a retry either.
            PrepareError::Shrink(e) => Failure::permanent(e.to_string()),
            other => Failure::transient(other.to_string()),
        }
    }
}

/// Hashes (and with `strip` cleans) a job's bytes off the async threads: up to 40 MiB of
/// hashing and parsing would stall the uploads in flight.
async fn prepare(
    source: &Source,
    strip: bool,
    before: BeforeUpload,
) -> Result<Prepared, PrepareError> {
    let task = match source {
        Source::File(path) => {
            let path = path.clone();
            tokio::task::spawn_blocking(move || prepare_file(&path, strip, &before))
        }
        Source::Bytes { bytes, .. } => {
            let bytes = bytes.clone();
            tokio::task::spawn_blocking(move || prepare_bytes(&bytes, strip, &before))
        }
        Source::Url(_) => {
            return Ok(Prepared {
                hash: None,
                clean: None,
                reduced: None,
            });
        }
    };
    task.await.map_err(|_| PrepareError::Interrupted)?
}

/// Bytes in memory: the before-upload options applied, the dedup key, and with `strip` a copy
/// without metadata. Stripping runs on what is sent: a transformed picture holds only its colour
/// profile already, but the rule "stripping on means the stripper passed" stays one rule.
fn prepare_bytes(
    bytes: &[u8],
    strip: bool,
    before: &BeforeUpload,
) -> Result<Prepared, PrepareError> {
    let shrunk = shrink::apply(bytes, before)?;
    let send = shrunk.bytes.as_deref().unwrap_or(bytes);
    let stripped = if strip {
        crate::metadata::strip(send).map_err(|_| match crate::probe::probe_bytes(send) {
            Err(damaged) => PrepareError::Damaged(damaged),
            Ok(_) => PrepareError::MetadataNotRemoved,
        })?
    } else {
        None
    };
    Ok(Prepared {
        hash: Some(shrunk.hash),
        clean: stripped.or(shrunk.bytes),
        reduced: shrunk.reduction,
    })
}

/// A file: with `strip` or the before-upload options it is read whole (metadata lives anywhere
/// in it; pixels need all of it); without, it is hashed in chunks and streamed later.
fn prepare_file(path: &Path, strip: bool, before: &BeforeUpload) -> Result<Prepared, PrepareError> {
    if !strip && !before.is_on() {
        return Ok(Prepared {
            hash: hash_file(path),
            clean: None,
            reduced: None,
        });
    }
    let bytes = std::fs::read(path).map_err(|e| PrepareError::Read {
        name: Source::File(path.to_owned()).display_name(),
        reason: crate::probe::describe_io(&e),
    })?;
    prepare_bytes(&bytes, strip, before)
}

/// The content id of a file, read in chunks (no whole-file buffer).
fn hash_file(path: &Path) -> Option<String> {
    crate::content_id::of_reader(std::fs::File::open(path).ok()?).ok()
}

/// Why the service's `.preview` of a finished job did not load.
#[derive(Debug, thiserror::Error)]
pub enum ThumbError {
    /// No answer, or the answer broke off.
    #[error("{0}")]
    Request(#[from] reqwest::Error),
    /// The service answered, but not with the picture.
    #[error("the service answered {0}")]
    Status(reqwest::StatusCode),
    /// The bytes are not a picture this app can show.
    #[error(transparent)]
    Preview(#[from] preview::PreviewError),
    /// The decoding task panicked or was stopped.
    #[error("decoding it stopped unexpectedly")]
    Interrupted,
}

/// The bytes of the service's `.preview` at `url`.
pub(super) async fn fetch_thumb_bytes(
    http: &reqwest::Client,
    url: &str,
) -> Result<bytes::Bytes, ThumbError> {
    let response = http.get(url).send().await?;
    if !response.status().is_success() {
        return Err(ThumbError::Status(response.status()));
    }
    Ok(response.bytes().await?)
}

/// Decodes a `.preview` into a texture-sized image fitting `side`, on the blocking pool.
pub(super) async fn decode_thumb(
    bytes: bytes::Bytes,
    side: u32,
) -> Result<PreviewImage, ThumbError> {
    let preview = tokio::task::spawn_blocking(move || preview::from_bytes(&bytes, side))
        .await
        .map_err(|_| ThumbError::Interrupted)?;
    Ok(preview?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripping_fails_closed() {
        // A PNG whose text chunk (a location) has a broken checksum: the stripper refuses it.
        let mut whole = std::io::Cursor::new(Vec::new());
        image::RgbImage::new(4, 4)
            .write_to(&mut whole, image::ImageFormat::Png)
            .expect("encode");
        let whole = whole.into_inner();
        // After the signature (8) and IHDR (25).
        let mut png = whole[..33].to_vec();
        png.extend_from_slice(&[0, 0, 0, 4]);
        png.extend_from_slice(b"tEXtGPS!");
        png.extend_from_slice(&[0, 0, 0, 0]);
        png.extend_from_slice(&whole[33..]);
        assert!(crate::metadata::strip(&png).is_err());
        assert!(matches!(
            prepare_bytes(&png, true, &BeforeUpload::default()),
            Err(PrepareError::MetadataNotRemoved)
        ));
        let kept = prepare_bytes(&png, false, &BeforeUpload::default()).expect("unchanged");
        assert!(kept.clean.is_none(), "sent as it is");
        assert_eq!(
            kept.hash.as_deref(),
            Some(crate::content_id::of_bytes(&png).as_str())
        );
        let dir = tempfile::tempdir().expect("dir");
        let missing = dir.path().join("gone.jpg");
        let err = prepare_file(&missing, true, &BeforeUpload::default()).expect_err("unreadable");
        assert_eq!(err.to_string(), "gone.jpg: no such file");
        let file = dir.path().join("a.png");
        std::fs::write(&file, &png).expect("write");
        assert!(matches!(
            prepare_file(&file, true, &BeforeUpload::default()),
            Err(PrepareError::MetadataNotRemoved)
        ));
        // A picture cut short is damaged, whatever its metadata: never "Upload unchanged".
        let mut jpeg = std::io::Cursor::new(Vec::new());
        image::RgbImage::new(64, 48)
            .write_to(&mut jpeg, image::ImageFormat::Jpeg)
            .expect("encode");
        let cut = &jpeg.get_ref()[..120];
        match prepare_bytes(cut, true, &BeforeUpload::default()) {
            Err(PrepareError::MetadataNotRemoved) => panic!("a damaged file asked about metadata"),
            Err(e) => assert_eq!(
                e.into_failure(),
                Failure::permanent("this file is damaged: the JPEG ends early")
            ),
            // Nothing to strip: the upload's own probe then says it is damaged.
            Ok(_) => {}
        }
    }

    #[test]
    fn pasted_bytes_are_hashed_and_stripped_off_the_async_threads() {
        // One async thread: work done inline would hold it until `prepare` returns, and the
        // ticker could not run once before that.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let ticks = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = ticks.clone();
        let prepared = runtime.block_on(async move {
            tokio::spawn(async move {
                loop {
                    counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    tokio::task::yield_now().await;
                }
            });
            let source = Source::Bytes {
                name: "pasted.png".into(),
                bytes: Arc::new(vec![7u8; 1024 * 1024]),
            };
            let prepared = prepare(&source, true, BeforeUpload::default()).await;
            (prepared, ticks.load(std::sync::atomic::Ordering::SeqCst))
        });
        let (prepared, ticks_meanwhile) = prepared;
        let prepared = prepared.expect("prepared");
        assert_eq!(
            prepared.hash,
            Some(crate::content_id::of_bytes(&vec![7u8; 1024 * 1024]))
        );
        assert!(prepared.clean.is_none(), "not an image: nothing to strip");
        assert!(
            ticks_meanwhile > 0,
            "the async thread stayed free while the bytes were hashed"
        );
    }
}
