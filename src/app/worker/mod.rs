//! The app's worker on the tokio runtime: the UI sends [`Command`]s, the worker does every piece
//! of I/O (loading settings, token and history at start, uploads, file reads, decoding,
//! clipboard, dialogs, history and settings writes) and sends [`Event`]s back, asking for a
//! repaint each time. The UI thread never blocks, except once when the window closes
//! ([`Command::StopUploads`], [`Command::Flush`]).
//!
//! The history and the settings each have one writer thread that applies changes in the order
//! the UI made them; settings changes are debounced (a slider drag is one write, not one per
//! frame).
//!
//! - `sources`: where items come from (the picker, folders, pasted text, bitmaps, the clipboard).
//! - `upload`: one job: read, hash, reuse or strip, upload; the service's thumbnail.
//! - `shrink`: the before-upload options in a job (bytes sent, dedup key, what the card says).
//! - `writers`: the history and settings writer threads.
//! - `groupme`: Send to… and Set as my avatar (places, sends, uploads to GroupMe first), who I am.
//! - `thumbs`: the service's `.preview` thumbnails through the disk cache (cards and History).
//! - `accounts`: the account list and each account's token (its own thread, in order).
//!
//! A new source (screen capture, a new paste kind) goes in `sources`; a new action on a finished
//! picture (sending it to a chat) is a [`Command`] with its own file beside `upload`.

mod accounts;
mod groupme;
mod shrink;
mod sources;
mod thumbs;
mod upload;
mod writers;

pub use accounts::{AccountCommand, AccountEvent, Loaded as LoadedAccounts, StoredToken};
pub use groupme::{
    Deed, GroupMeCommand, GroupMeEvent, GroupMeSetup, Job as GroupMeJob, Picture, PictureFile,
};
pub use sources::{
    ClipboardContent, ClipboardReader, FilePicker, NativePicker, NoDialog, SystemClipboard,
    WindowPaste, expand,
};
use sources::{paste_shortcut, read_clipboard};
pub use upload::ThumbError;
use upload::{JobSetup, run_job};
use writers::{KnownIndex, history_writer, settings_writer};

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio_util::sync::CancellationToken;

use crate::cdn_url::CdnUrl;
use crate::client::{Client, ClientConfig};
use crate::history::Entry;
use crate::jobs::{Failure, JobId, Source, Update};
use crate::preview::{self, PreviewImage};
use crate::settings::Settings;
use crate::token::Token;
use crate::token_store::TokenStore;

/// How long closing waits for cancelled uploads to end.
const UPLOAD_STOP_DEADLINE: Duration = Duration::from_secs(5);

/// Changes to the history file, applied by the worker in the order the UI made them.
#[derive(Debug, Clone)]
pub enum HistoryOp {
    Add(Entry),
    Remove(usize),
    Clear,
    /// Undo of `Remove`: the entry back at its index.
    Insert(usize, Entry),
    /// Undo of `Clear`: the cleared entries back before those added since.
    Restore(Vec<Entry>),
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
        /// Shrink photos before upload.
        before_upload: crate::downscale::BeforeUpload,
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
    /// The `.preview` of the History entry with this URL, from the disk cache or the service.
    HistoryThumb(String),
    /// Turn dropped or command-line paths into sources (folders give their images).
    Expand(Vec<PathBuf>),
    /// List what the path field's text could complete to ([`Event::PathCompletions`]).
    CompletePath(String),
    /// What another launch handed over (`crate::instance`): absolute paths and web URLs,
    /// queued like a drop.
    Open(Vec<String>),
    /// Open the file picker.
    Pick,
    /// Read the system clipboard: a file list, an image, or text.
    ReadClipboard,
    /// Ctrl+V with no text field focused: read the clipboard as [`Command::ReadClipboard`]
    /// does, with what the window pasted itself (if anything) when the reader finds nothing.
    PasteShortcut(Option<WindowPaste>),
    History(HistoryOp),
    /// Tell the desktop how a batch went (the window is not focused).
    Notify(crate::batch::Message),
    /// Settings to write (debounced: the newest wins).
    SaveSettings(Settings),
    /// The account list and the accounts' tokens.
    Accounts(AccountCommand),
    /// Closing, first step: cancel every upload and wait (bounded) until they have ended and
    /// sent their last event; then answer. Nothing new starts after this.
    StopUploads(std::sync::mpsc::Sender<()>),
    /// Closing, last step: the history and settings writers write what they hold and stop;
    /// then answer.
    Flush(std::sync::mpsc::Sender<()>),
    /// A GroupMe API job (places, a send, the avatar, who I am).
    GroupMe(GroupMeCommand),
}

/// What the worker tells the UI.
#[derive(Debug)]
pub enum Event {
    Job(JobId, Update),
    /// A local preview, or why there is none (as text: the card only shows that it has none).
    Preview(JobId, Result<PreviewImage, String>),
    /// The service's `.preview` of a finished job.
    Thumb(JobId, Result<PreviewImage, ThumbError>),
    /// The `.preview` of the History entry with this URL, or why there is none.
    HistoryThumb(String, Result<PreviewImage, String>),
    /// New items to queue; `pasted` ones may need a confirmation.
    Add {
        sources: Vec<Source>,
        pasted: bool,
    },
    /// Something to tell the person (nothing pasted, a write failed…).
    Notice(String),
    /// The file picker could not open (no portal, no zenity): why, and what to install. The
    /// window offers a path field instead.
    NoFileDialog(String),
    /// The completions of the path field's `typed` text.
    PathCompletions {
        typed: String,
        candidates: Vec<crate::path_completion::Candidate>,
    },
    /// The account list and tokens were read (at start), a token was stored, a write failed.
    Accounts(AccountEvent),
    /// At start: the settings file was read (defaults when missing or damaged).
    SettingsLoaded(Settings),
    /// At start: the history file was read; `skipped` damaged lines.
    HistoryLoaded {
        entries: Vec<Entry>,
        skipped: usize,
    },
    /// What a GroupMe API job answered.
    GroupMe(GroupMeEvent),
}

/// Calls back into the UI to ask for a repaint.
pub type Repaint = Arc<dyn Fn() + Send + Sync>;

/// Everything the worker needs from its creator. Nothing here has been read yet: the worker
/// loads the history, settings and token itself, so the window opens at once.
pub struct WorkerSetup {
    pub history_path: PathBuf,
    pub settings_path: PathBuf,
    /// `accounts.json`: the account names and keys.
    pub accounts_path: PathBuf,
    pub token_store: TokenStore,
    /// Use the system's proxy settings (off in tests).
    pub system_proxy: bool,
    pub picker: Arc<dyn FilePicker>,
    pub clipboard: Arc<dyn ClipboardReader>,
    /// Where notifications go; none in tests.
    pub notifier: Option<Arc<dyn crate::notify::Notifier>>,
    pub repaint: Repaint,
    /// Where the GroupMe jobs call and cache.
    pub groupme: GroupMeSetup,
    /// The directory of the thumbnail cache (`crate::thumb_cache`).
    pub thumb_cache: PathBuf,
    /// Fetch History thumbnails from any host, not only loopback (off in tests).
    pub remote_thumbnails: bool,
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
    before_upload: crate::downscale::BeforeUpload,
    cancels: HashMap<JobId, CancellationToken>,
    /// (endpoint, content id) → URL of what history already holds.
    known: Arc<Mutex<KnownIndex>>,
    /// The history writer thread's queue: it applies changes one by one, in the UI's order.
    /// `None` once closing dropped it (the thread then finishes what it holds and ends).
    history: Option<std::sync::mpsc::Sender<HistoryOp>>,
    /// The settings writer thread's queue, as `history`.
    settings: Option<std::sync::mpsc::Sender<Settings>>,
    /// The account thread's queue, as `history`.
    accounts: Option<std::sync::mpsc::Sender<AccountCommand>>,
    /// The two writer threads, joined when closing.
    writers: Vec<std::thread::JoinHandle<()>>,
    /// The upload tasks, awaited when closing.
    uploads: tokio::task::JoinSet<()>,
    /// Set by [`Command::StopUploads`]: nothing new starts.
    closing: bool,
    /// Use the system's proxy settings for uploads (off in tests).
    system_proxy: bool,
    picker: Arc<dyn FilePicker>,
    clipboard: Arc<dyn ClipboardReader>,
    notifier: Option<Arc<dyn crate::notify::Notifier>>,
    http: reqwest::Client,
    /// Where the GroupMe jobs call and cache.
    groupme: GroupMeSetup,
    /// The thumbnail cache and the History's fetch slots.
    thumbs: Arc<thumbs::Thumbs>,
    /// Previews decoding at once ([`preview::decode_slots`]): a core stays free for the window.
    decodes: Arc<tokio::sync::Semaphore>,
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
    let (accounts_tx, accounts_rx) = std::sync::mpsc::channel();
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
        // A keyring may take seconds (or its whole timeout) to answer: never before the first
        // frame, never on the UI thread.
        accounts::spawn(
            setup.token_store,
            setup.accounts_path,
            accounts_rx,
            outbox.clone(),
        ),
    ];
    let system_proxy = setup.system_proxy;
    let worker = move |http| Worker {
        out: Outbox {
            events: ev_tx,
            repaint: setup.repaint,
        },
        client: None,
        client_error: Some("the worker is not configured yet".into()),
        endpoint: String::new(),
        strip_metadata: true,
        before_upload: crate::downscale::BeforeUpload::default(),
        cancels: HashMap::new(),
        known,
        history: Some(history_tx),
        settings: Some(settings_tx),
        accounts: Some(accounts_tx),
        writers,
        uploads: tokio::task::JoinSet::new(),
        closing: false,
        system_proxy: setup.system_proxy,
        picker: setup.picker,
        clipboard: setup.clipboard,
        notifier: setup.notifier,
        http,
        groupme: setup.groupme,
        thumbs: Arc::new(thumbs::Thumbs::new(
            crate::thumb_cache::ThumbCache::new(setup.thumb_cache),
            setup.remote_thumbnails,
        )),
        decodes: Arc::new(tokio::sync::Semaphore::new(preview::decode_slots(
            std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        ))),
    };
    // The HTTP client is built on the runtime: loading the system's root certificates takes tens
    // of milliseconds, and this runs on the UI thread before the first frame.
    runtime.spawn(async move { worker(thumbnail_client(system_proxy)).run(cmd_rx).await });
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
        self.accounts = None;
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
                Command::Start { .. }
                    | Command::FetchThumb { .. }
                    | Command::HistoryThumb(_)
                    | Command::Preview { .. }
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
                before_upload,
            } => {
                self.strip_metadata = strip_metadata;
                self.before_upload = before_upload;
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
                let slots = self.decodes.clone();
                // In the order asked (the semaphore is fair): the first dropped show first.
                tokio::spawn(async move {
                    let Ok(_slot) = slots.acquire_owned().await else {
                        return;
                    };
                    tokio::task::spawn_blocking(move || {
                        let result = match &source {
                            Source::File(p) => preview::from_file(p, preview::CARD_SIDE),
                            Source::Bytes { bytes, .. } => {
                                preview::from_bytes(bytes, preview::CARD_SIDE)
                            }
                            Source::Url(_) => return,
                        };
                        out.send(Event::Preview(job, result.map_err(|e| e.to_string())));
                    })
                    .await
                    .ok();
                });
            }
            Command::FetchThumb { job, url } => {
                let http = self.http.clone();
                let thumbs = self.thumbs.clone();
                tokio::spawn(async move {
                    let result = thumbs.card(&http, &url).await;
                    out.send(Event::Thumb(job, result));
                });
            }
            Command::CompletePath(typed) => {
                tokio::task::spawn_blocking(move || {
                    let home = directories::BaseDirs::new().map(|d| d.home_dir().to_owned());
                    let candidates =
                        crate::path_completion::complete(&typed, home.as_deref(), |name| {
                            sources::has_image_extension(std::path::Path::new(name))
                        });
                    out.send(Event::PathCompletions { typed, candidates });
                });
            }
            Command::HistoryThumb(url) => self.thumbs.history(self.http.clone(), url, out),
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
            Command::Open(items) => {
                tokio::task::spawn_blocking(move || {
                    let (urls, paths): (Vec<String>, Vec<String>) =
                        items.into_iter().partition(|s| crate::jobs::is_web_url(s));
                    let mut sources: Vec<Source> = urls.into_iter().map(Source::Url).collect();
                    sources.extend(expand(
                        &paths.into_iter().map(PathBuf::from).collect::<Vec<_>>(),
                    ));
                    if !sources.is_empty() {
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
                    match picker.pick().await {
                        Ok(paths) if paths.is_empty() => {}
                        Ok(paths) => out.send(Event::Add {
                            sources: paths.into_iter().map(Source::File).collect(),
                            pasted: false,
                        }),
                        Err(no_dialog) => out.send(Event::NoFileDialog(no_dialog.to_string())),
                    }
                });
            }
            Command::ReadClipboard => {
                let clipboard = self.clipboard.clone();
                tokio::task::spawn_blocking(move || {
                    for event in read_clipboard(clipboard.as_ref()) {
                        out.send(event);
                    }
                });
            }
            Command::PasteShortcut(window) => {
                let clipboard = self.clipboard.clone();
                tokio::task::spawn_blocking(move || {
                    for event in paste_shortcut(clipboard.as_ref(), window) {
                        out.send(event);
                    }
                });
            }
            Command::History(op) => self.history_op(op),
            Command::Notify(message) => {
                if let Some(notifier) = &self.notifier {
                    // Its own task: a slow notification server delays nothing else.
                    tokio::spawn(notifier.notify(message));
                }
            }
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
            Command::Accounts(command) => {
                let sent = self
                    .accounts
                    .as_ref()
                    .is_some_and(|w| w.send(command).is_ok());
                if !sent {
                    out.send(Event::Notice(
                        "the account storage stopped; changes are not saved".into(),
                    ));
                }
            }
            Command::GroupMe(command) => groupme::handle(&self.groupme, out, command),
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
                "no GroupMe access token: add it in Settings, or choose the local service there"
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
            // A setting to fix (the token, the endpoint): Retry helps once it is.
            out.send(Event::Job(job, Update::Failed(Failure::transient(reason))));
            return;
        };
        let cancel = CancellationToken::new();
        self.cancels.insert(job, cancel.clone());
        let job_setup = JobSetup {
            endpoint: self.endpoint.clone(),
            strip_metadata: self.strip_metadata && !keep_metadata,
            before_upload: self.before_upload,
            known: self.known.clone(),
        };
        self.uploads.spawn(async move {
            let update = run_job(&client, job, source, &job_setup, cancel, &out).await;
            out.send(Event::Job(job, update));
        });
    }
}
