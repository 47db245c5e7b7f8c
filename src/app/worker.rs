//! The app's worker on the tokio runtime: the UI sends [`Command`]s, the worker does every piece
//! of I/O (loading settings, token and history at start, uploads, file reads, decoding,
//! clipboard, dialogs, history and settings writes) and sends [`Event`]s back, asking for a
//! repaint each time. The UI thread never blocks, except once when the window closes
//! ([`Command::StopUploads`], [`Command::Flush`]).
//!
//! The history and the settings each have one writer thread that applies changes in the order
//! the UI made them; settings changes are debounced (a slider drag is one write, not one per
//! frame).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio_util::sync::CancellationToken;

use crate::cdn_url::CdnUrl;
use crate::client::{self, Client, ClientConfig, Options};
use crate::history::{Entry, History};
use crate::jobs::{JobId, Source, Update};
use crate::preview::{self, PreviewImage};
use crate::settings::Settings;
use crate::token::Token;
use crate::token_store::{TokenSource, TokenStore};

/// Quiet time after the last settings change before the file is written.
const SETTINGS_DEBOUNCE: Duration = Duration::from_millis(300);

/// The longest a settings change waits for the quiet time (a drag that never stops).
const SETTINGS_MAX_DELAY: Duration = Duration::from_secs(2);

/// How long closing waits for cancelled uploads to end.
const UPLOAD_STOP_DEADLINE: Duration = Duration::from_secs(5);

/// Extensions taken from a dropped folder.
const IMAGE_EXTENSIONS: [&str; 5] = ["jpg", "jpeg", "png", "gif", "webp"];

/// Opens the native file picker; behind a trait so tests never open a dialog.
pub trait FilePicker: Send + Sync {
    fn pick(&self) -> futures_util::future::BoxFuture<'static, Vec<PathBuf>>;
}

/// The real picker: rfd's portal/zenity dialog, on its own thread.
pub struct NativePicker;

impl FilePicker for NativePicker {
    fn pick(&self) -> futures_util::future::BoxFuture<'static, Vec<PathBuf>> {
        Box::pin(async {
            rfd::AsyncFileDialog::new()
                .set_title("Add images")
                .add_filter("Images", &IMAGE_EXTENSIONS)
                .pick_files()
                .await
                .unwrap_or_default()
                .into_iter()
                .map(|h| h.path().to_owned())
                .collect()
        })
    }
}

/// What the clipboard holds, the most specific kind only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClipboardContent {
    /// A file manager's copied files.
    Files(Vec<PathBuf>),
    Text(String),
    /// A bitmap, RGBA8 rows.
    Image {
        width: usize,
        height: usize,
        rgba: Vec<u8>,
    },
}

/// Reads the clipboard for the Paste button; behind a trait so tests give their own clipboard
/// and never read the person's.
pub trait ClipboardReader: Send + Sync {
    /// The most specific thing the clipboard holds (files, then text, then a bitmap); `Ok(None)`
    /// when it holds none of them. Blocking.
    fn read(&self) -> Result<Option<ClipboardContent>, String>;
}

/// The system clipboard, through arboard.
pub struct SystemClipboard;

impl ClipboardReader for SystemClipboard {
    fn read(&self) -> Result<Option<ClipboardContent>, String> {
        let mut clipboard = arboard::Clipboard::new().map_err(|e| e.to_string())?;
        if let Ok(files) = clipboard.get().file_list()
            && !files.is_empty()
        {
            return Ok(Some(ClipboardContent::Files(files)));
        }
        if let Ok(text) = clipboard.get_text()
            && !text.trim().is_empty()
        {
            return Ok(Some(ClipboardContent::Text(text)));
        }
        Ok(clipboard
            .get_image()
            .ok()
            .map(|img| ClipboardContent::Image {
                width: img.width,
                height: img.height,
                rgba: img.bytes.into_owned(),
            }))
    }
}

/// Changes to the history file, applied by the worker in the order the UI made them.
#[derive(Debug, Clone)]
pub enum HistoryOp {
    Add(Entry),
    Remove(usize),
    Clear,
}

/// What the UI asks the worker to do.
pub enum Command {
    /// Use this endpoint and token for the next uploads.
    Configure {
        endpoint: String,
        token: Option<Token>,
        max_attempts: u32,
        /// Remove location and other metadata before upload.
        strip_metadata: bool,
    },
    /// Upload (or reuse) one job.
    Start {
        job: JobId,
        source: Source,
        /// Send it as it is even when stripping is on (the person chose "Upload unchanged").
        keep_metadata: bool,
    },
    Cancel(JobId),
    /// Decode a local preview.
    Preview {
        job: JobId,
        source: Source,
    },
    /// Fetch the service's `.preview` thumbnail of a finished job.
    FetchThumb {
        job: JobId,
        url: CdnUrl,
    },
    /// Turn dropped or command-line paths into sources (folders give their images).
    Expand(Vec<PathBuf>),
    /// Open the file picker.
    Pick,
    /// Read the system clipboard: a file list, an image, or text.
    ReadClipboard,
    /// Text the window pasted: URLs and paths.
    PasteText(String),
    /// A bitmap the window pasted: encode it as PNG.
    PasteImage {
        width: usize,
        height: usize,
        rgba: Vec<u8>,
    },
    History(HistoryOp),
    /// Settings to write (debounced: the newest wins).
    SaveSettings(Settings),
    SaveToken(Option<Token>),
    /// Closing, first step: cancel every upload and wait (bounded) until they have ended and
    /// sent their last event; then answer. Nothing new starts after this.
    StopUploads(std::sync::mpsc::Sender<()>),
    /// Closing, last step: the history and settings writers write what they hold and stop;
    /// then answer.
    Flush(std::sync::mpsc::Sender<()>),
}

/// What the worker tells the UI.
#[derive(Debug)]
pub enum Event {
    Job(JobId, Update),
    Preview(JobId, Result<PreviewImage, String>),
    Thumb(JobId, Result<PreviewImage, String>),
    /// New items to queue; `pasted` ones may need a confirmation.
    Add {
        sources: Vec<Source>,
        pasted: bool,
    },
    /// Something to tell the person (nothing pasted, a write failed…).
    Notice(String),
    TokenSaved(Result<TokenSource, String>),
    /// At start: the settings file was read (defaults when missing or damaged).
    SettingsLoaded(Settings),
    /// At start: the history file was read; `skipped` damaged lines.
    HistoryLoaded {
        entries: Vec<Entry>,
        skipped: usize,
    },
    /// At start: the token was looked up (`GM_TOKEN`, keyring, file).
    TokenLoaded {
        token: Option<Token>,
        source: TokenSource,
    },
}

/// Calls back into the UI to ask for a repaint.
pub type Repaint = Arc<dyn Fn() + Send + Sync>;

/// Everything the worker needs from its creator. Nothing here has been read yet: the worker
/// loads the history, settings and token itself, so the window opens at once.
pub struct WorkerSetup {
    pub history_path: PathBuf,
    pub settings_path: PathBuf,
    pub token_store: TokenStore,
    /// Use the system's proxy settings (off in tests).
    pub system_proxy: bool,
    pub picker: Arc<dyn FilePicker>,
    pub clipboard: Arc<dyn ClipboardReader>,
    pub repaint: Repaint,
}

/// The UI's handle on the worker.
pub struct WorkerHandle {
    pub commands: UnboundedSender<Command>,
    pub events: std::sync::mpsc::Receiver<Event>,
}

struct Worker {
    /// Where events go, and how the UI is woken.
    out: Outbox,
    client: Option<Client>,
    /// Why there is no client (no token for GroupMe, bad endpoint).
    client_error: Option<String>,
    endpoint: String,
    strip_metadata: bool,
    cancels: HashMap<JobId, CancellationToken>,
    /// (endpoint, content id) → URL of what history already holds.
    known: Arc<Mutex<KnownIndex>>,
    /// The history writer thread's queue: it applies changes one by one, in the UI's order.
    /// `None` once closing dropped it (the thread then finishes what it holds and ends).
    history: Option<std::sync::mpsc::Sender<HistoryOp>>,
    /// The settings writer thread's queue, as `history`.
    settings: Option<std::sync::mpsc::Sender<Settings>>,
    /// The two writer threads, joined when closing.
    writers: Vec<std::thread::JoinHandle<()>>,
    /// The upload tasks, awaited when closing.
    uploads: tokio::task::JoinSet<()>,
    /// Set by [`Command::StopUploads`]: nothing new starts.
    closing: bool,
    token_store: TokenStore,
    /// Use the system's proxy settings for uploads (off in tests).
    system_proxy: bool,
    picker: Arc<dyn FilePicker>,
    clipboard: Arc<dyn ClipboardReader>,
    http: reqwest::Client,
}

/// Spawns the worker on `runtime`.
pub fn spawn(runtime: &tokio::runtime::Handle, setup: WorkerSetup) -> WorkerHandle {
    let (cmd_tx, cmd_rx) = unbounded_channel();
    let (ev_tx, ev_rx) = std::sync::mpsc::channel();
    let outbox = Outbox {
        events: ev_tx.clone(),
        repaint: setup.repaint.clone(),
    };
    let known = Arc::new(Mutex::new(KnownIndex::new()));
    let (history_tx, history_rx) = std::sync::mpsc::channel();
    let (settings_tx, settings_rx) = std::sync::mpsc::channel();
    let writers = vec![
        {
            let known = known.clone();
            let out = outbox.clone();
            let path = setup.history_path;
            std::thread::spawn(move || history_writer(&path, &history_rx, &known, &out))
        },
        {
            let out = outbox.clone();
            let path = setup.settings_path;
            std::thread::spawn(move || settings_writer(&path, &settings_rx, &out))
        },
    ];
    {
        // A keyring may take seconds (or its whole timeout) to answer: never before the first
        // frame, never on the UI thread.
        let store = setup.token_store.clone();
        runtime.spawn_blocking(move || {
            let (token, source) = store.load();
            outbox.send(Event::TokenLoaded { token, source });
        });
    }
    let worker = Worker {
        out: Outbox {
            events: ev_tx,
            repaint: setup.repaint,
        },
        client: None,
        client_error: Some("the worker is not configured yet".into()),
        endpoint: String::new(),
        strip_metadata: true,
        cancels: HashMap::new(),
        known,
        history: Some(history_tx),
        settings: Some(settings_tx),
        writers,
        uploads: tokio::task::JoinSet::new(),
        closing: false,
        token_store: setup.token_store,
        system_proxy: setup.system_proxy,
        picker: setup.picker,
        clipboard: setup.clipboard,
        http: thumbnail_client(setup.system_proxy),
    };
    runtime.spawn(worker.run(cmd_rx));
    WorkerHandle {
        commands: cmd_tx,
        events: ev_rx,
    }
}

/// The client that fetches the service's thumbnails.
fn thumbnail_client(system_proxy: bool) -> reqwest::Client {
    let builder = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(30));
    let builder = if system_proxy {
        builder
    } else {
        builder.no_proxy()
    };
    // Building fails only when TLS cannot start; the default client would fail the same way.
    builder.build().unwrap_or_default()
}

/// Sends events and wakes the UI; cheap to clone into tasks.
#[derive(Clone)]
struct Outbox {
    events: std::sync::mpsc::Sender<Event>,
    repaint: Repaint,
}

impl Outbox {
    fn send(&self, event: Event) {
        self.events.send(event).ok();
        (self.repaint)();
    }
}

impl Worker {
    fn outbox(&self) -> Outbox {
        self.out.clone()
    }

    async fn run(mut self, mut commands: UnboundedReceiver<Command>) {
        while let Some(command) = commands.recv().await {
            // Forget the uploads that ended.
            while self.uploads.try_join_next().is_some() {}
            match command {
                Command::StopUploads(done) => {
                    self.stop_uploads().await;
                    done.send(()).ok();
                }
                Command::Flush(done) => {
                    self.flush().await;
                    done.send(()).ok();
                }
                command => self.handle(command),
            }
        }
    }

    /// Cancels every upload and waits (bounded) until each has ended and sent its last event:
    /// one that finished meanwhile reports `Done`, so the UI can still record it.
    async fn stop_uploads(&mut self) {
        self.closing = true;
        for (_, cancel) in self.cancels.drain() {
            cancel.cancel();
        }
        let uploads = &mut self.uploads;
        let all_ended = async { while uploads.join_next().await.is_some() {} };
        if tokio::time::timeout(UPLOAD_STOP_DEADLINE, all_ended)
            .await
            .is_err()
        {
            tracing::warn!("some uploads did not stop within {UPLOAD_STOP_DEADLINE:?}");
        }
    }

    /// Drops the writers' queues, so each writes what it holds and ends, and waits for both.
    async fn flush(&mut self) {
        self.history = None;
        self.settings = None;
        let writers = std::mem::take(&mut self.writers);
        let joined = tokio::task::spawn_blocking(move || {
            for writer in writers {
                writer.join().ok();
            }
        });
        joined.await.ok();
    }

    fn handle(&mut self, command: Command) {
        let out = self.outbox();
        if self.closing
            && matches!(
                command,
                Command::Start { .. } | Command::FetchThumb { .. } | Command::Preview { .. }
            )
        {
            return;
        }
        match command {
            Command::Configure {
                endpoint,
                token,
                max_attempts,
                strip_metadata,
            } => {
                self.strip_metadata = strip_metadata;
                self.configure(endpoint, token, max_attempts);
            }
            Command::Start {
                job,
                source,
                keep_metadata,
            } => self.start(job, source, keep_metadata),
            Command::Cancel(job) => {
                if let Some(c) = self.cancels.remove(&job) {
                    c.cancel();
                }
            }
            Command::Preview { job, source } => {
                tokio::task::spawn_blocking(move || {
                    let result = match &source {
                        Source::File(p) => preview::from_file(p, preview::PREVIEW_SIDE),
                        Source::Bytes { bytes, .. } => {
                            preview::from_bytes(bytes, preview::PREVIEW_SIDE)
                        }
                        Source::Url(_) => return,
                    };
                    out.send(Event::Preview(job, result));
                });
            }
            Command::FetchThumb { job, url } => {
                let http = self.http.clone();
                tokio::spawn(async move {
                    let result = fetch_thumb(&http, &url.preview().to_string()).await;
                    out.send(Event::Thumb(job, result));
                });
            }
            Command::Expand(paths) => {
                tokio::task::spawn_blocking(move || {
                    let sources = expand(&paths);
                    if sources.is_empty() {
                        out.send(Event::Notice("no images found in what was dropped".into()));
                    } else {
                        out.send(Event::Add {
                            sources,
                            pasted: false,
                        });
                    }
                });
            }
            Command::Pick => {
                let picker = self.picker.clone();
                tokio::spawn(async move {
                    let paths = picker.pick().await;
                    if !paths.is_empty() {
                        out.send(Event::Add {
                            sources: paths.into_iter().map(Source::File).collect(),
                            pasted: false,
                        });
                    }
                });
            }
            Command::ReadClipboard => {
                let clipboard = self.clipboard.clone();
                tokio::task::spawn_blocking(move || out.send(read_clipboard(clipboard.as_ref())));
            }
            Command::PasteText(text) => {
                tokio::task::spawn_blocking(move || out.send(sources_from_text(&text)));
            }
            Command::PasteImage {
                width,
                height,
                rgba,
            } => {
                tokio::task::spawn_blocking(move || out.send(encode_pasted(width, height, rgba)));
            }
            Command::History(op) => self.history_op(op),
            Command::SaveSettings(settings) => {
                let sent = self
                    .settings
                    .as_ref()
                    .is_some_and(|w| w.send(settings).is_ok());
                if !sent {
                    out.send(Event::Notice(
                        "the settings writer stopped; changes are not saved".into(),
                    ));
                }
            }
            Command::SaveToken(token) => {
                let store = self.token_store.clone();
                tokio::task::spawn_blocking(move || {
                    out.send(Event::TokenSaved(store.save(token.as_ref())));
                });
            }
            Command::StopUploads(done) | Command::Flush(done) => {
                // Handled in `run`, which can wait.
                done.send(()).ok();
            }
        }
    }

    fn configure(&mut self, endpoint: String, token: Option<Token>, max_attempts: u32) {
        self.endpoint = endpoint.clone();
        let Some(token) = token else {
            self.client = None;
            self.client_error = Some(
                "no GroupMe access token: add it in Settings (or set GM_TOKEN), or switch to the local service"
                    .into(),
            );
            return;
        };
        match ClientConfig::new(&endpoint, token).and_then(|mut c| {
            c.max_attempts = max_attempts.max(1);
            c.system_proxy = self.system_proxy;
            Client::new(c)
        }) {
            Ok(c) => {
                self.client = Some(c);
                self.client_error = None;
            }
            Err(e) => {
                self.client = None;
                self.client_error = Some(e.to_string());
            }
        }
    }

    fn history_op(&mut self, op: HistoryOp) {
        let sent = self.history.as_ref().is_some_and(|w| w.send(op).is_ok());
        if !sent {
            self.outbox().send(Event::Notice(
                "the history writer stopped; changes are not saved".into(),
            ));
        }
    }

    fn start(&mut self, job: JobId, source: Source, keep_metadata: bool) {
        let out = self.outbox();
        let Some(client) = self.client.clone() else {
            let reason = self
                .client_error
                .clone()
                .unwrap_or_else(|| "not configured".into());
            out.send(Event::Job(job, Update::Failed(reason)));
            return;
        };
        let cancel = CancellationToken::new();
        self.cancels.insert(job, cancel.clone());
        let job_setup = JobSetup {
            endpoint: self.endpoint.clone(),
            strip_metadata: self.strip_metadata && !keep_metadata,
            known: self.known.clone(),
        };
        self.uploads.spawn(async move {
            let update = run_job(&client, job, source, &job_setup, cancel, &out).await;
            out.send(Event::Job(job, update));
        });
    }
}

/// (endpoint, content id) → URL, for "already uploaded".
type KnownIndex = HashMap<(String, String), String>;

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
fn history_writer(
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
fn settings_writer(path: &Path, changes: &std::sync::mpsc::Receiver<Settings>, out: &Outbox) {
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

/// What a job needs to know besides its source.
struct JobSetup {
    endpoint: String,
    strip_metadata: bool,
    known: Arc<Mutex<KnownIndex>>,
}

/// Hashes, checks history for the same bytes, strips metadata, then uploads; returns the final
/// update.
async fn run_job(
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
    } = match prepare(&source, setup.strip_metadata).await {
        Ok(p) => p,
        Err(PrepareError::MetadataNotRemoved) => return Update::MetadataNotRemoved,
        Err(e) => return Update::Failed(e.to_string()),
    };
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
        Err(e) => Update::Failed(e.to_string()),
    }
}

/// A job's bytes, read before upload.
#[derive(Debug)]
struct Prepared {
    /// Content id of the bytes as read (history's dedup key); `None` for a URL, or a file that
    /// could not be hashed while streaming (the upload then reports why).
    hash: Option<String>,
    /// The bytes without their metadata, when stripping removed something; `None` sends the
    /// source as it is (stripping off, or nothing to remove).
    clean: Option<Vec<u8>>,
}

/// Why a job was not sent.
#[derive(Debug, thiserror::Error)]
enum PrepareError {
    /// Stripping is on and the file's metadata could not be parsed, so it may still hold the
    /// location: it is not sent (the person may choose "Upload unchanged").
    #[error("couldn't remove location data from this file")]
    MetadataNotRemoved,
    /// Stripping needs the whole file, and it could not be read.
    #[error("{name}: {reason}")]
    Read { name: String, reason: String },
    /// The reading task panicked or was stopped.
    #[error("reading the file failed unexpectedly")]
    Interrupted,
}

/// Hashes (and with `strip` cleans) a job's bytes off the async threads: up to 40 MiB of
/// hashing and parsing would stall the uploads in flight.
async fn prepare(source: &Source, strip: bool) -> Result<Prepared, PrepareError> {
    let task = match source {
        Source::File(path) => {
            let path = path.clone();
            tokio::task::spawn_blocking(move || prepare_file(&path, strip))
        }
        Source::Bytes { bytes, .. } => {
            let bytes = bytes.clone();
            tokio::task::spawn_blocking(move || prepare_bytes(&bytes, strip))
        }
        Source::Url(_) => {
            return Ok(Prepared {
                hash: None,
                clean: None,
            });
        }
    };
    task.await.map_err(|_| PrepareError::Interrupted)?
}

/// Bytes in memory: their content id, and with `strip` a copy without metadata.
fn prepare_bytes(bytes: &[u8], strip: bool) -> Result<Prepared, PrepareError> {
    let clean = if strip {
        crate::metadata::strip(bytes).map_err(|_| PrepareError::MetadataNotRemoved)?
    } else {
        None
    };
    Ok(Prepared {
        hash: Some(crate::content_id::of_bytes(bytes)),
        clean,
    })
}

/// A file: with `strip` it is read whole (metadata lives anywhere in it); without, it is hashed
/// in chunks and streamed later.
fn prepare_file(path: &Path, strip: bool) -> Result<Prepared, PrepareError> {
    if !strip {
        return Ok(Prepared {
            hash: hash_file(path),
            clean: None,
        });
    }
    let bytes = std::fs::read(path).map_err(|e| PrepareError::Read {
        name: Source::File(path.to_owned()).display_name(),
        reason: crate::probe::describe_io(&e),
    })?;
    prepare_bytes(&bytes, true)
}

/// The content id of a file, read in chunks (no whole-file buffer).
fn hash_file(path: &Path) -> Option<String> {
    crate::content_id::of_reader(std::fs::File::open(path).ok()?).ok()
}

async fn fetch_thumb(http: &reqwest::Client, url: &str) -> Result<PreviewImage, String> {
    let response = http.get(url).send().await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("the service answered {}", response.status()));
    }
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    tokio::task::spawn_blocking(move || preview::from_bytes(&bytes, preview::PREVIEW_SIDE))
        .await
        .map_err(|e| e.to_string())?
}

fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Files stay as given (the probe judges them); folders give their images, three levels deep.
pub fn expand(paths: &[PathBuf]) -> Vec<Source> {
    fn walk(dir: &Path, depth: usize, out: &mut Vec<Source>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut children: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        children.sort();
        for child in children {
            if child.is_dir() {
                if depth > 0 {
                    walk(&child, depth - 1, out);
                }
            } else if has_image_extension(&child) {
                out.push(Source::File(child));
            }
        }
    }
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, 2, &mut out);
        } else {
            out.push(Source::File(path.clone()));
        }
    }
    out
}

/// Pasted text: each `http(s)://` URL is mirrored, each existing path (or `file://` URI) uploaded.
fn sources_from_text(text: &str) -> Event {
    let mut sources = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            sources.extend(line.split_whitespace().map(|u| Source::Url(u.to_owned())));
        } else if let Some(path) = url::Url::parse(line)
            .ok()
            .filter(|u| u.scheme() == "file")
            .and_then(|u| u.to_file_path().ok())
        {
            sources.extend(expand(&[path]));
        } else if Path::new(line).exists() {
            sources.extend(expand(&[PathBuf::from(line)]));
        }
    }
    if sources.is_empty() {
        Event::Notice("the pasted text holds no http(s) URL and no path to an image".into())
    } else {
        Event::Add {
            sources,
            pasted: true,
        }
    }
}

fn encode_pasted(width: usize, height: usize, rgba: Vec<u8>) -> Event {
    let Some(img) = image::RgbaImage::from_raw(width as u32, height as u32, rgba) else {
        return Event::Notice("the pasted image has an odd size".into());
    };
    let mut png = std::io::Cursor::new(Vec::new());
    if let Err(e) = img.write_to(&mut png, image::ImageFormat::Png) {
        return Event::Notice(format!("could not encode the pasted image: {e}"));
    }
    Event::Add {
        sources: vec![Source::Bytes {
            name: format!("pasted-{}.png", crate::history::now_secs()),
            bytes: Arc::new(png.into_inner()),
        }],
        pasted: true,
    }
}

/// The clipboard, most specific first: a copied file list (files keep their bytes: GIFs stay
/// animated), then text (URLs, paths), then a bitmap.
fn read_clipboard(clipboard: &dyn ClipboardReader) -> Event {
    match clipboard.read() {
        Err(e) => Event::Notice(format!("cannot read the clipboard: {e}")),
        Ok(Some(ClipboardContent::Files(files))) => Event::Add {
            sources: expand(&files),
            pasted: true,
        },
        Ok(Some(ClipboardContent::Text(text))) => sources_from_text(&text),
        Ok(Some(ClipboardContent::Image {
            width,
            height,
            rgba,
        })) => encode_pasted(width, height, rgba),
        Ok(None) => Event::Notice("the clipboard holds no image, file or URL".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_gives_urls_and_paths() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("a.png");
        std::fs::write(&file, b"x").expect("write");
        let text = format!(
            "https://example.com/a.gif http://example.com/b.png\n{}\nnot a thing\nfile://{}",
            file.display(),
            file.display()
        );
        let Event::Add { sources, pasted } = sources_from_text(&text) else {
            panic!("expected sources");
        };
        assert!(pasted);
        let names: Vec<String> = sources.iter().map(Source::display_name).collect();
        assert_eq!(
            names,
            [
                "https://example.com/a.gif",
                "http://example.com/b.png",
                "a.png",
                "a.png"
            ]
        );
        assert!(matches!(sources_from_text("hello"), Event::Notice(_)));
    }

    #[test]
    fn stripping_fails_closed() {
        // A PNG whose text chunk (a location) has a broken checksum: the stripper refuses it.
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend_from_slice(&[0, 0, 0, 4]);
        png.extend_from_slice(b"tEXtGPS!");
        png.extend_from_slice(&[0, 0, 0, 0]);
        assert!(crate::metadata::strip(&png).is_err());
        assert!(matches!(
            prepare_bytes(&png, true),
            Err(PrepareError::MetadataNotRemoved)
        ));
        let kept = prepare_bytes(&png, false).expect("unchanged");
        assert!(kept.clean.is_none(), "sent as it is");
        assert_eq!(
            kept.hash.as_deref(),
            Some(crate::content_id::of_bytes(&png).as_str())
        );
        let dir = tempfile::tempdir().expect("dir");
        let missing = dir.path().join("gone.jpg");
        let err = prepare_file(&missing, true).expect_err("unreadable");
        assert_eq!(err.to_string(), "gone.jpg: no such file");
        let file = dir.path().join("a.png");
        std::fs::write(&file, &png).expect("write");
        assert!(matches!(
            prepare_file(&file, true),
            Err(PrepareError::MetadataNotRemoved)
        ));
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
            let prepared = prepare(&source, true).await;
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

    #[test]
    fn folders_give_their_images() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        for name in ["b.PNG", "a.jpg", "notes.txt", "sub/c.gif"] {
            std::fs::write(dir.path().join(name), b"x").expect("write");
        }
        let names: Vec<String> = expand(&[dir.path().to_owned()])
            .iter()
            .map(Source::display_name)
            .collect();
        assert_eq!(names, ["a.jpg", "b.PNG", "c.gif"]);
    }
}
