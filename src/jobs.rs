//! The upload queue and each job's state machine (pure, no egui): queued → uploading (bytes sent
//! of total) → done (URL) | failed (reason, can retry) | cancelled; at most N run at once.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cdn_url::CdnUrl;
use crate::client::UploadError;
use crate::probe::{FileProbeError, ImageInfo, ProbeError};

/// A job's identity, unique for the app's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u64);

/// What to upload.
#[derive(Debug, Clone)]
pub enum Source {
    /// A file on disk, streamed.
    File(PathBuf),
    /// Bytes in memory (a pasted bitmap, encoded), with a display name.
    Bytes { name: String, bytes: Arc<Vec<u8>> },
    /// A remote image the service mirrors.
    Url(String),
}

/// Whether `text` names a web image (`http://` or `https://`, in any case): mirrored by the
/// service, never read from disk. The one rule for the CLI's arguments, the app's command line
/// and pasted text.
pub fn is_web_url(text: &str) -> bool {
    let starts = |prefix: &str| {
        text.get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
    };
    starts("http://") || starts("https://")
}

impl Source {
    /// What the person sees as the item's name.
    pub fn display_name(&self) -> String {
        match self {
            Source::File(p) => p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            Source::Bytes { name, .. } => name.clone(),
            Source::Url(u) => u.clone(),
        }
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, PartialEq)]
pub enum JobState {
    /// Waiting for a free slot.
    Queued,
    /// Sent to the worker; bytes moving.
    Uploading {
        sent: u64,
        total: u64,
        /// When the first byte of this attempt was counted, for the speed.
        since: Option<Instant>,
        /// Set while waiting before another attempt.
        retry_note: Option<String>,
    },
    /// Finished: the CDN URL. `reused` when history already had these bytes.
    Done { url: CdnUrl, reused: bool },
    /// Failed with a reason in plain words; Retry puts it back in the queue.
    Failed {
        reason: String,
        /// Trying again may succeed (a network failure, a busy service); not for a damaged or
        /// refused file, where Retry would only fail the same way.
        retry_helps: bool,
        /// The metadata could not be removed, so nothing was sent: "Upload unchanged" may send
        /// the file as it is, when the person says so.
        can_upload_unchanged: bool,
    },
    /// Stopped by the person.
    Cancelled,
}

impl JobState {
    /// Running in the worker.
    pub fn is_active(&self) -> bool {
        matches!(self, JobState::Uploading { .. })
    }

    /// Done, failed or cancelled.
    pub fn is_finished(&self) -> bool {
        matches!(
            self,
            JobState::Done { .. } | JobState::Failed { .. } | JobState::Cancelled
        )
    }
}

/// What a job fails with when stripping is on and the metadata cannot be removed.
pub const METADATA_NOT_REMOVED: &str = "couldn't remove location data from this file";

/// One item of the queue.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: JobId,
    pub source: Source,
    /// The person chose "Upload unchanged": send it without removing metadata, whatever the
    /// setting says.
    pub keep_metadata: bool,
    /// Size in bytes, when known.
    pub size: Option<u64>,
    /// What the probe learnt, when it ran.
    pub info: Option<ImageInfo>,
    /// Content id of the bytes, once the worker read them (history's dedup key).
    pub hash: Option<String>,
    /// What the before-upload options did to it, once the worker knows.
    pub reduced: Option<Reduction>,
    pub state: JobState,
    /// The drop, pick or paste it came with (counting up): the list shows the newest batch on
    /// top, each in the order it came (`crate::queue_rows`).
    pub batch: u64,
}

/// What the before-upload options did to a job (shown on its card).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduction {
    /// Sent transformed: upright width and height, bytes sent, the original's bytes.
    Sent {
        width: u32,
        height: u32,
        bytes: u64,
        was: u64,
    },
    /// An option applied but the file is an animation (or a GIF): sent as it is.
    KeptAnimation,
}

impl Job {
    /// Bytes per second of the current attempt, once some time has passed.
    pub fn speed(&self, now: Instant) -> Option<f64> {
        let JobState::Uploading {
            sent,
            since: Some(since),
            ..
        } = self.state
        else {
            return None;
        };
        let elapsed = now.saturating_duration_since(since);
        (elapsed >= Duration::from_millis(200)).then(|| sent as f64 / elapsed.as_secs_f64())
    }

    /// Fraction done, 0..=1, for a progress bar.
    pub fn fraction(&self) -> f32 {
        match self.state {
            JobState::Uploading { sent, total, .. } if total > 0 => {
                (sent as f64 / total as f64).clamp(0.0, 1.0) as f32
            }
            JobState::Done { .. } => 1.0,
            _ => 0.0,
        }
    }
}

/// What happened to a job, as the worker reports it.
#[derive(Debug, Clone)]
pub enum Update {
    Probed(ImageInfo),
    Hashed(String),
    /// The before-upload options changed the bytes sent, or kept an animation.
    Reduced(Reduction),
    Progress {
        sent: u64,
        total: u64,
    },
    Retrying(String),
    Done {
        url: CdnUrl,
        reused: bool,
    },
    Failed(Failure),
    /// Stripping is on and the metadata could not be removed: nothing was sent.
    MetadataNotRemoved,
    Cancelled,
}

/// The queue: jobs in the order added, and the concurrency bound.
#[derive(Debug, Default)]
pub struct Queue {
    jobs: Vec<Job>,
    next_id: u64,
    /// The last batch given out.
    batches: u64,
}

impl Queue {
    /// Adds a job in the `Queued` state, as a batch of its own.
    pub fn push(&mut self, source: Source) -> JobId {
        self.batches += 1;
        self.push_into_batch(source)
    }

    /// Adds jobs in the `Queued` state, in this order, as one batch (one drop, pick or paste).
    pub fn push_batch(&mut self, sources: Vec<Source>) -> Vec<JobId> {
        self.batches += 1;
        sources
            .into_iter()
            .map(|s| self.push_into_batch(s))
            .collect()
    }

    fn push_into_batch(&mut self, source: Source) -> JobId {
        self.next_id += 1;
        let id = JobId(self.next_id);
        let size = match &source {
            Source::Bytes { bytes, .. } => Some(bytes.len() as u64),
            _ => None,
        };
        self.jobs.push(Job {
            id,
            source,
            keep_metadata: false,
            size,
            info: None,
            hash: None,
            reduced: None,
            state: JobState::Queued,
            batch: self.batches,
        });
        id
    }

    /// All jobs, oldest first.
    pub fn jobs(&self) -> &[Job] {
        &self.jobs
    }

    /// One job.
    pub fn get(&self, id: JobId) -> Option<&Job> {
        self.jobs.iter().find(|j| j.id == id)
    }

    fn get_mut(&mut self, id: JobId) -> Option<&mut Job> {
        self.jobs.iter_mut().find(|j| j.id == id)
    }

    /// Jobs running now.
    pub fn running(&self) -> usize {
        self.jobs.iter().filter(|j| j.state.is_active()).count()
    }

    /// Moves queued jobs into `Uploading` while fewer than `max_running` run; returns the jobs
    /// the worker must start.
    pub fn start_next(&mut self, max_running: usize) -> Vec<Job> {
        let mut free = max_running.max(1).saturating_sub(self.running());
        let mut started = Vec::new();
        for job in &mut self.jobs {
            if free == 0 {
                break;
            }
            if job.state == JobState::Queued {
                job.state = JobState::Uploading {
                    sent: 0,
                    total: job.size.unwrap_or(0),
                    since: None,
                    retry_note: None,
                };
                free -= 1;
                started.push(job.clone());
            }
        }
        started
    }

    /// Applies a worker update. Updates for finished or unknown jobs are ignored (a late progress
    /// event after a cancel must not revive the job).
    pub fn apply(&mut self, id: JobId, update: Update, now: Instant) {
        let Some(job) = self.get_mut(id) else {
            return;
        };
        if job.state.is_finished() {
            return;
        }
        match update {
            Update::Probed(info) => job.info = Some(info),
            Update::Hashed(hash) => job.hash = Some(hash),
            Update::Reduced(reduction) => {
                if let Reduction::Sent { was, .. } = reduction {
                    // The card's size is the file's; "sent as" tells what went.
                    job.size = Some(was);
                }
                job.reduced = Some(reduction);
            }
            Update::Progress { sent, total } => {
                let since = match &job.state {
                    JobState::Uploading {
                        since: Some(s),
                        sent: before,
                        ..
                    } if sent >= *before => Some(*s),
                    _ => Some(now),
                };
                if total > 0 {
                    job.size.get_or_insert(total);
                }
                job.state = JobState::Uploading {
                    sent,
                    total,
                    since,
                    retry_note: None,
                };
            }
            Update::Retrying(note) => {
                if let JobState::Uploading { retry_note, .. } = &mut job.state {
                    *retry_note = Some(note);
                }
            }
            Update::Done { url, reused } => job.state = JobState::Done { url, reused },
            Update::Failed(Failure {
                reason,
                retry_helps,
            }) => {
                job.state = JobState::Failed {
                    reason,
                    retry_helps,
                    can_upload_unchanged: false,
                };
            }
            Update::MetadataNotRemoved => {
                job.state = JobState::Failed {
                    reason: METADATA_NOT_REMOVED.to_owned(),
                    // The same bytes would fail the same way: "Upload unchanged" is the way on.
                    retry_helps: false,
                    can_upload_unchanged: true,
                };
            }
            Update::Cancelled => job.state = JobState::Cancelled,
        }
    }

    /// Puts a failed or cancelled job back in the queue. Returns whether it did.
    pub fn retry(&mut self, id: JobId) -> bool {
        match self.get_mut(id) {
            Some(job) if matches!(job.state, JobState::Failed { .. } | JobState::Cancelled) => {
                job.state = JobState::Queued;
                true
            }
            _ => false,
        }
    }

    /// Queues again a job whose metadata could not be removed, to be sent as it is. Returns
    /// whether it did (only such a failed job can be).
    pub fn upload_unchanged(&mut self, id: JobId) -> bool {
        match self.get_mut(id) {
            Some(job)
                if matches!(
                    job.state,
                    JobState::Failed {
                        can_upload_unchanged: true,
                        ..
                    }
                ) =>
            {
                job.keep_metadata = true;
                job.state = JobState::Queued;
                true
            }
            _ => false,
        }
    }

    /// Marks a queued or running job cancelled. Returns whether the worker must be told.
    pub fn cancel(&mut self, id: JobId) -> bool {
        match self.get_mut(id) {
            Some(job) if !job.state.is_finished() => {
                let was_running = job.state.is_active();
                job.state = JobState::Cancelled;
                was_running
            }
            _ => false,
        }
    }

    /// Removes a job that is not running. Returns whether it did.
    pub fn remove(&mut self, id: JobId) -> bool {
        let before = self.jobs.len();
        self.jobs.retain(|j| j.id != id || j.state.is_active());
        self.jobs.len() != before
    }

    /// Removes every finished job that succeeded.
    pub fn clear_done(&mut self) {
        self.jobs
            .retain(|j| !matches!(j.state, JobState::Done { .. }));
    }

    /// Removes every failed job.
    pub fn clear_failed(&mut self) {
        self.jobs
            .retain(|j| !matches!(j.state, JobState::Failed { .. }));
    }
}

/// Why a job failed, as the window shows it: plain words about the picture (no path: the card
/// names the file), and whether Retry can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub reason: String,
    pub retry_helps: bool,
}

impl Failure {
    /// A failure another attempt may mend (a network error, a busy service, a setting to fix).
    pub fn transient(reason: impl Into<String>) -> Self {
        Failure {
            reason: reason.into(),
            retry_helps: true,
        }
    }

    /// A failure of the picture itself: the same bytes fail the same way.
    pub fn permanent(reason: impl Into<String>) -> Self {
        Failure {
            reason: reason.into(),
            retry_helps: false,
        }
    }

    /// An upload or mirror error in the window's words. The CLI prints the error's own words
    /// (with the path, and its flags for the token); the window names the file on the card and
    /// the token's place in Settings.
    pub fn of_upload(e: &UploadError) -> Self {
        match e {
            UploadError::File(FileProbeError::Image { source, .. })
            | UploadError::Bytes(source) => Self::of_probe(source),
            UploadError::File(FileProbeError::Directory { .. }) => {
                Self::permanent("this is a folder, not an image")
            }
            UploadError::File(FileProbeError::Io { source, .. }) => Self::transient(format!(
                "cannot read this file: {}",
                crate::probe::describe_io(source)
            )),
            UploadError::TokenRefused { status, .. } => Self::transient(format!(
                "the access token was refused ({status}): add or check it in Settings"
            )),
            UploadError::Rejected {
                detail: Some(detail),
                ..
            } => Self::permanent(format!("the service refused this image: {detail}")),
            UploadError::Rejected { status, .. } => Self::permanent(format!(
                "the service refused this image ({status}): not an image it accepts"
            )),
            UploadError::UnexpectedStatus { status, .. } if (400..500).contains(status) => {
                Self::permanent(e.to_string())
            }
            UploadError::BadSource(_)
            | UploadError::TooLarge { .. }
            | UploadError::LinkRefused { .. } => Self::permanent(e.to_string()),
            UploadError::RemoteStatus { .. } if !e.is_retryable() => Self::permanent(e.to_string()),
            _ => Self::transient(e.to_string()),
        }
    }

    /// What the probe found wrong with a picture, in plain words. All of it is permanent except a
    /// read error (a disk or permission problem may be mended).
    pub fn of_probe(e: &ProbeError) -> Self {
        match e {
            ProbeError::Empty => Self::permanent("this file is empty"),
            ProbeError::NotAnImage => {
                Self::permanent("this is not a picture (JPEG, PNG, GIF or WebP are accepted)")
            }
            ProbeError::Unsupported(_) => Self::permanent(e.to_string()),
            ProbeError::BadHeader(format, detail) => {
                let detail = detail.to_ascii_lowercase();
                let ends_early = [
                    "not enough bytes",
                    "eof",
                    "end of",
                    "ends inside",
                    "truncat",
                ]
                .iter()
                .any(|w| detail.contains(w));
                Self::permanent(if ends_early {
                    format!("this file is damaged: the {} ends early", format.name())
                } else {
                    format!(
                        "this file is damaged: its {} header cannot be read",
                        format.name()
                    )
                })
            }
            ProbeError::ZeroSize(w, h) => Self::permanent(format!(
                "this file is damaged: it says the picture is {w}×{h}"
            )),
            ProbeError::Read(io) => Self::transient(format!(
                "cannot read this file: {}",
                crate::probe::describe_io(io)
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_urls_are_told_from_paths_in_any_case() {
        for url in [
            "http://a.example/p.png",
            "https://a.example/p.png",
            "HTTPS://A.EXAMPLE/P.PNG",
        ] {
            assert!(is_web_url(url), "{url}");
        }
        for path in [
            "/home/me/http://x.png",
            "photo.jpg",
            "http:/x",
            "ftp://a/b.png",
            "é",
            "",
        ] {
            assert!(!is_web_url(path), "{path}");
        }
    }

    fn url() -> CdnUrl {
        CdnUrl::parse("https://i.groupme.com/1x1.png.abc").expect("url")
    }

    fn file(name: &str) -> Source {
        Source::File(PathBuf::from(format!("/tmp/{name}")))
    }

    #[test]
    fn runs_at_most_n_at_once() {
        let mut q = Queue::default();
        let ids: Vec<JobId> = (0..5).map(|i| q.push(file(&format!("{i}.png")))).collect();
        let started = q.start_next(3);
        assert_eq!(started.iter().map(|j| j.id).collect::<Vec<_>>(), ids[..3]);
        assert!(q.start_next(3).is_empty());
        q.apply(
            ids[0],
            Update::Done {
                url: url(),
                reused: false,
            },
            Instant::now(),
        );
        let next = q.start_next(3);
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].id, ids[3]);
    }

    #[test]
    fn failure_keeps_the_job_and_retry_requeues_it() {
        let mut q = Queue::default();
        let a = q.push(file("a.png"));
        let b = q.push(file("b.png"));
        q.start_next(3);
        q.apply(
            a,
            Update::Failed(Failure::transient("the service failed (500)")),
            Instant::now(),
        );
        q.apply(
            b,
            Update::Done {
                url: url(),
                reused: false,
            },
            Instant::now(),
        );
        assert!(
            matches!(&q.get(a).expect("a").state, JobState::Failed { reason, can_upload_unchanged: false, retry_helps: true } if reason.contains("500"))
        );
        assert!(
            matches!(q.get(b).expect("b").state, JobState::Done { .. }),
            "one failure never stops the others"
        );
        assert!(q.retry(a));
        assert_eq!(q.get(a).expect("a").state, JobState::Queued);
        assert!(!q.retry(b), "a done job is not retried");
    }

    #[test]
    fn only_metadata_failures_can_be_sent_unchanged() {
        let mut q = Queue::default();
        let a = q.push(file("a.png"));
        let b = q.push(file("b.png"));
        q.start_next(3);
        q.apply(a, Update::MetadataNotRemoved, Instant::now());
        q.apply(
            b,
            Update::Failed(Failure::transient("the service failed (500)")),
            Instant::now(),
        );
        assert_eq!(
            q.get(a).expect("a").state,
            JobState::Failed {
                reason: "couldn't remove location data from this file".into(),
                retry_helps: false,
                can_upload_unchanged: true
            }
        );
        assert!(
            !q.upload_unchanged(b),
            "an ordinary failure is retried, not sent unchanged"
        );
        assert!(!q.get(b).expect("b").keep_metadata);
        assert!(q.upload_unchanged(a));
        let job = q.get(a).expect("a");
        assert_eq!(job.state, JobState::Queued);
        assert!(job.keep_metadata);
        let started = q.start_next(3);
        assert_eq!(started.len(), 1);
        assert!(
            started[0].keep_metadata,
            "the worker is told to keep it unchanged"
        );
        assert!(!q.upload_unchanged(a), "only from the failed state");
    }

    #[test]
    fn cancel_wins_over_late_events() {
        let mut q = Queue::default();
        let a = q.push(file("a.png"));
        q.start_next(1);
        assert!(q.cancel(a), "running: the worker must be told");
        q.apply(a, Update::Progress { sent: 5, total: 10 }, Instant::now());
        q.apply(
            a,
            Update::Done {
                url: url(),
                reused: false,
            },
            Instant::now(),
        );
        assert_eq!(q.get(a).expect("a").state, JobState::Cancelled);
        let b = q.push(file("b.png"));
        assert!(!q.cancel(b), "queued: nothing to tell the worker");
        assert!(q.remove(b));
    }

    #[test]
    fn progress_and_speed() {
        let mut q = Queue::default();
        let a = q.push(file("a.png"));
        q.start_next(1);
        let t0 = Instant::now();
        q.apply(
            a,
            Update::Progress {
                sent: 0,
                total: 1000,
            },
            t0,
        );
        q.apply(
            a,
            Update::Progress {
                sent: 500,
                total: 1000,
            },
            t0 + Duration::from_millis(100),
        );
        let job = q.get(a).expect("a");
        assert_eq!(job.fraction(), 0.5);
        let speed = job.speed(t0 + Duration::from_secs(1)).expect("speed");
        assert!((speed - 500.0).abs() < 1.0, "{speed}");
        assert_eq!(job.size, Some(1000));
    }

    #[test]
    fn running_jobs_cannot_be_removed() {
        let mut q = Queue::default();
        let a = q.push(file("a.png"));
        q.start_next(1);
        assert!(!q.remove(a));
        q.apply(
            a,
            Update::Done {
                url: url(),
                reused: false,
            },
            Instant::now(),
        );
        q.clear_done();
        assert!(q.jobs().is_empty());
    }

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([9, 99, 199]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Jpeg)
            .expect("encode");
        out.into_inner()
    }

    #[test]
    fn damaged_and_refused_pictures_are_plain_words_without_retry() {
        let whole = jpeg(64, 48);
        for cut in [30, 120] {
            let err = crate::probe::probe_bytes(&whole[..cut]).expect_err("cut");
            let failure = Failure::of_probe(&err);
            assert_eq!(
                failure,
                Failure::permanent("this file is damaged: the JPEG ends early"),
                "{err}"
            );
        }
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("cut.jpg");
        std::fs::write(&path, &whole[..120]).expect("write");
        let err = UploadError::File(crate::probe::probe_file(&path).expect_err("cut"));
        let failure = Failure::of_upload(&err);
        assert!(
            !failure.reason.contains(&*dir.path().to_string_lossy()),
            "the card names the file; the reason does not repeat its path: {failure:?}"
        );
        assert!(!failure.retry_helps);
        for (err, words) in [
            (
                ProbeError::NotAnImage,
                "this is not a picture (JPEG, PNG, GIF or WebP are accepted)",
            ),
            (ProbeError::Empty, "this file is empty"),
            (
                ProbeError::Unsupported(crate::probe::Unsupported::Heic),
                "HEIC images are not accepted (use JPEG, PNG, GIF or WebP)",
            ),
            (
                ProbeError::ZeroSize(0, 7),
                "this file is damaged: it says the picture is 0×7",
            ),
        ] {
            assert_eq!(Failure::of_probe(&err), Failure::permanent(words));
        }
        for err in [
            UploadError::TooLarge { detail: None },
            UploadError::Rejected {
                status: 422,
                detail: Some("the JPEG header is truncated".into()),
            },
            UploadError::RemoteStatus { status: 404 },
            UploadError::LinkRefused {
                reason: "the URL points at a loopback address".into(),
            },
            UploadError::UnexpectedStatus {
                status: 404,
                detail: None,
            },
        ] {
            assert!(!Failure::of_upload(&err).retry_helps, "{err:?}");
        }
    }

    #[test]
    fn network_and_service_failures_keep_retry() {
        for err in [
            UploadError::Unreachable {
                host: "h".into(),
                reason: "refused".into(),
            },
            UploadError::Server {
                status: 502,
                detail: None,
            },
            UploadError::Stalled {
                after: Duration::from_secs(30),
            },
            UploadError::Network("reset".into()),
            UploadError::RemoteStatus { status: 503 },
            UploadError::TokenRefused {
                status: 401,
                detail: None,
            },
        ] {
            assert!(Failure::of_upload(&err).retry_helps, "{err:?}");
        }
        let words = Failure::of_upload(&UploadError::TokenRefused {
            status: 401,
            detail: Some("unauthorized".into()),
        })
        .reason;
        assert_eq!(
            words,
            "the access token was refused (401): add or check it in Settings"
        );
        assert!(
            !words.contains("GM_TOKEN"),
            "the CLI's words stay in the CLI"
        );
    }

    #[test]
    fn clear_failed_keeps_the_rest() {
        let mut q = Queue::default();
        let a = q.push(file("a.png"));
        let b = q.push(file("b.png"));
        let c = q.push(file("c.png"));
        q.start_next(2);
        q.apply(
            a,
            Update::Failed(Failure::permanent("damaged")),
            Instant::now(),
        );
        q.apply(
            b,
            Update::Done {
                url: url(),
                reused: false,
            },
            Instant::now(),
        );
        q.clear_failed();
        let left: Vec<JobId> = q.jobs().iter().map(|j| j.id).collect();
        assert_eq!(left, [b, c]);
    }
}
