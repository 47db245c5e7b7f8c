//! The desktop app's state and bookkeeping, grouped by who may change what (see
//! [`UploaderApp`]): the persisted settings, the view, the work (queue, history, token) and the
//! images; the runtime handles are private. `logic` drains worker events and input; the ui (in
//! `crate::ui`) gets [`UiParts`]: it edits the settings and view its widgets are bound to and turns
//! every other click into an [`Action`], applied after the pass.

pub mod accounts;
pub mod card_pictures;
mod environment;
pub mod groupme;
pub mod history_thumbs;
mod undo;
pub mod worker;

pub use environment::Environment;
pub use undo::{UNDO_LIFETIME, Undo};

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eframe::egui;

use crate::batch::{Batch, Outcome};
use crate::downscale::BeforeUpload;
use crate::files::now_secs;
use crate::history::Entry;
use crate::jobs::{JobId, JobState, Queue, Source, Update};
use crate::preview::PreviewImage;
use crate::settings::{Dirs, EndpointChoice, Settings};
use crate::snippet::Snippet;
use crate::token::Token;
use crate::token_store::{TokenSource, TokenStore};
use worker::{Command, Event, FilePicker, HistoryOp, WindowPaste, WorkerHandle, WorkerSetup};

/// Decoded previews turned into textures per frame: when dozens arrive together, spreading them
/// keeps every frame short.
const TEXTURES_PER_FRAME: usize = 4;

/// How long a notice stays on screen.
const NOTICE_LIFETIME: Duration = Duration::from_secs(6);

/// How long closing waits for each of its two steps (uploads stopped, writers flushed).
const CLOSE_DEADLINE: Duration = Duration::from_secs(10);

/// What the app needs from `main` (or a test).
pub struct AppConfig {
    pub dirs: Dirs,
    pub runtime: tokio::runtime::Handle,
    /// The embedded local service.
    pub local_url: String,
    pub local_token: Token,
    /// What is wrong with the embedded service, if anything (could not start, or runs on a
    /// temporary port).
    pub local_error: Option<String>,
    pub picker: Arc<dyn FilePicker>,
    /// `GM_TOKEN`, the keyring and the proxy settings: the machine's in the window, none in tests.
    pub environment: Environment,
    /// Files and URLs given on the command line.
    pub initial: Vec<String>,
}

/// The tabs of the main area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Queue,
    History,
    Settings,
}

/// Something the person asked for in the last pass.
#[derive(Debug, Clone)]
pub enum Action {
    Pick,
    PasteFromClipboard,
    Mirror(String),
    Cancel(JobId),
    Retry(JobId),
    /// Send a file whose metadata could not be removed as it is.
    UploadUnchanged(JobId),
    Remove(JobId),
    ClearDone,
    ClearFailed,
    /// A path typed in the path field (offered when no file dialog can open).
    AddPath(String),
    Copy(String),
    ConfirmPaste(bool),
    HistoryRemove(usize),
    HistoryClear,
    /// These History entries (by URL) are in view: their thumbnails are wanted.
    HistoryInView(Vec<String>),
    /// Take back the last history Remove or Clear (see [`Undo`]).
    Undo,
    /// A new token for the chosen account (with none yet: the account "default").
    SaveToken(String),
    /// Choose, add, rename or remove an account.
    Account(accounts::AccountAction),
    SettingsChanged,
    SetTab(Tab),
    /// Send to…, Retry a send, Set as my avatar.
    GroupMe(groupme::GroupMeAction),
}

/// What the worker is still reading at start; the window opens before any of it arrives. No
/// upload starts until all of it is known (where uploads go depends on the token and settings,
/// and "already uploaded" on the history).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loading {
    pub settings: bool,
    pub history: bool,
    pub token: bool,
}

impl Loading {
    /// Everything is still to come.
    fn all() -> Loading {
        Loading {
            settings: true,
            history: true,
            token: true,
        }
    }

    /// Nothing is left to read.
    pub fn is_done(&self) -> bool {
        !(self.settings || self.history || self.token)
    }
}

/// A message shown for a while at the bottom.
#[derive(Debug, Clone)]
pub struct Notice {
    pub text: String,
    pub error: bool,
    pub shown_at: Instant,
}

/// The whole app, in four groups by who may change what: [`Settings`] (persisted; the settings
/// tab's widgets edit them, then [`Action::SettingsChanged`] has the worker write them), [`View`]
/// (what the window shows and the text being typed; the ui changes it freely), [`Work`] (the
/// uploads, the history, the token; the ui reads it, only [`UploaderApp::apply`] and worker events
/// change it), and [`Images`] (textures the ui draws). The runtime handles are private.
pub struct UploaderApp {
    pub settings: Settings,
    pub view: View,
    pub work: Work,
    pub images: Images,
    runtime: Runtime,
}

/// What the window shows and the text being typed: never persisted, changed by the ui directly.
#[derive(Debug, Clone)]
pub struct View {
    pub tab: Tab,
    /// Text of the URL field.
    pub url_input: String,
    /// Text of the history search field.
    pub search: String,
    /// Text of the token field (empty unless the person is typing a new one).
    pub token_input: String,
    /// The custom endpoint being edited.
    pub custom_endpoint: String,
    /// Text of the path field, offered when no file dialog can open.
    pub path_input: String,
    /// The Send to… picker, when open.
    pub send: Option<groupme::SendDialog>,
    /// Pictures picked for one Send to… (by URL, in the order picked).
    pub selected: Vec<String>,
    /// Queue rows opened to their full card.
    pub expanded: std::collections::HashSet<JobId>,
    /// The newest batch the queue list has scrolled into view (see `crate::queue_rows`).
    pub shown_batch: u64,
    /// The queue rows' heights, for drawing only those in view.
    pub row_heights: crate::queue_heights::RowHeights,
    /// The Settings' account controls.
    pub accounts: accounts::AccountsView,
}

impl Default for View {
    fn default() -> View {
        View {
            tab: Tab::Queue,
            url_input: String::new(),
            search: String::new(),
            token_input: String::new(),
            custom_endpoint: String::new(),
            path_input: String::new(),
            send: None,
            selected: Vec::new(),
            expanded: std::collections::HashSet::new(),
            shown_batch: 0,
            row_heights: crate::queue_heights::RowHeights::default(),
            accounts: accounts::AccountsView::default(),
        }
    }
}

/// The uploads, the history and the token: the ui reads them; [`UploaderApp::apply`] and the
/// worker's events change them.
pub struct Work {
    /// What the worker is still reading at start.
    pub loading: Loading,
    pub queue: Queue,
    /// In-memory copy of the history (the worker owns the file).
    pub history: Vec<Entry>,
    /// Pasted items waiting for "Upload" when confirmation is on.
    pub pending_paste: Vec<Source>,
    pub notices: Vec<Notice>,
    /// The last history Remove or Clear, while it can still be taken back.
    pub undo: Option<Undo>,
    pub token: Option<Token>,
    pub token_source: TokenSource,
    /// The embedded local service.
    pub local: LocalService,
    /// Why the file picker could not open, once it failed: the window then offers a path field.
    pub no_file_dialog: Option<String>,
    /// What the path field's text completes to (folders and images), for the text it was asked
    /// for.
    pub path_completions: (String, Vec<crate::path_completion::Candidate>),
    /// Places, sends and who I am on GroupMe.
    pub groupme: groupme::GroupMeWork,
    /// The GroupMe accounts; `token` is the chosen one's.
    pub accounts: accounts::AccountsWork,
}

impl Work {
    /// Whether settings, token and history are all read.
    pub fn is_loaded(&self) -> bool {
        self.loading.is_done()
    }

    /// Where uploads go now, by these settings.
    pub fn target(&self, settings: &Settings) -> EndpointChoice {
        settings.target(self.token.is_some())
    }

    /// Every finished URL in the chosen style, or `None` when nothing is finished.
    pub fn all_done_urls(&self, style: Snippet) -> Option<String> {
        let urls: Vec<String> = self
            .queue
            .jobs()
            .iter()
            .filter_map(|j| match &j.state {
                JobState::Done { url, .. } => Some(url.to_string()),
                _ => None,
            })
            .collect();
        (!urls.is_empty()).then(|| style.render_all(urls.iter().map(String::as_str)))
    }
}

/// The service built into the app, used when no GroupMe token is set.
pub struct LocalService {
    pub url: String,
    /// Its token: sent to it only, never shown.
    token: Token,
    /// What is wrong with it, if anything (could not start, or runs on a temporary port).
    pub error: Option<String>,
}

/// The pictures the ui draws, made from decoded images a few per frame.
#[derive(Default)]
pub struct Images {
    /// Each card's picture: its local preview, then the service's own `.preview` thumbnail
    /// once it finished (which proves the URL works).
    pub cards: card_pictures::CardPictures,
    /// Why a preview could not be made.
    pub preview_errors: HashMap<JobId, String>,
    /// Decoded images waiting to become textures: (job, is the service's thumbnail, pixels).
    pending: std::collections::VecDeque<(JobId, bool, PreviewImage)>,
    /// The History gallery's thumbnails, by entry URL.
    pub history: history_thumbs::HistoryThumbs,
}

/// What only the app touches: the worker, what it was configured with, the context.
struct Runtime {
    worker: WorkerHandle,
    /// The jobs that ended since the queue was last idle: a desktop notification when they are
    /// all done and the window is not focused.
    batch: Batch,
    /// What the worker was last configured with (endpoint, token, attempts, stripping, the
    /// before-upload options).
    configured: Option<(String, Option<Token>, u32, bool, BeforeUpload)>,
    /// For event handling outside a frame (closing).
    ctx: egui::Context,
    /// Ctrl+V bookkeeping, see [`UploaderApp::read_input`].
    paste_keys: PasteKeys,
    /// The text last put on the clipboard: handed to the clipboard keeper on exit.
    last_copy: Option<String>,
    /// The program that keeps it there after exit (none in tests).
    clipboard_keeper: Option<PathBuf>,
    /// The path field's text whose completions were last asked of the worker.
    completion_asked: String,
    /// The account each running upload started with (its name, for the history).
    started_as: HashMap<JobId, String>,
}

/// What one Ctrl+V looked like so far. egui turns the key press into a paste of the clipboard's
/// text or bitmap, and into nothing when it holds neither (a file manager's copied files); the V
/// key's release arrives either way, without its press (taken for the paste).
#[derive(Debug, Default)]
struct PasteKeys {
    /// A V press reached the app: it was typing, not a paste.
    v_pressed: bool,
    /// egui's own paste of this keystroke was already acted on.
    pasted: bool,
}

/// What the ui gets for one pass: it may edit the settings (widgets bound to them, followed by
/// [`Action::SettingsChanged`]) and the view, and reads the rest.
pub struct UiParts<'a> {
    pub settings: &'a mut Settings,
    pub view: &'a mut View,
    pub work: &'a Work,
    pub images: &'a Images,
}

impl UiParts<'_> {
    /// Where uploads go now.
    pub fn target(&self) -> EndpointChoice {
        self.work.target(self.settings)
    }
}

impl UploaderApp {
    /// Builds the app and starts the worker, which reads settings, token and history (none of
    /// it here: the first frame is drawn at once, in the loading state); queues the
    /// command-line items (they start once everything is read).
    pub fn new(ctx: &egui::Context, config: AppConfig) -> Self {
        crate::ui::theme::install(ctx);
        let token_store = TokenStore::new(
            &config.dirs.config,
            config.environment.gm_token.clone(),
            config.environment.keyring.clone(),
        );
        let repaint_ctx = ctx.clone();
        let worker = worker::spawn(
            &config.runtime,
            WorkerSetup {
                history_path: config.dirs.history(),
                settings_path: config.dirs.settings(),
                accounts_path: config.dirs.config.join("accounts.json"),
                token_store,
                system_proxy: config.environment.system_proxy,
                picker: config.picker,
                clipboard: config.environment.clipboard,
                notifier: config.environment.notifier,
                repaint: Arc::new(move || repaint_ctx.request_repaint()),
                groupme: worker::GroupMeSetup {
                    api_endpoint: config.environment.api_endpoint.clone(),
                    image_endpoint: config.environment.groupme_image_endpoint.clone(),
                    places_cache: groupme::places_cache(&config.dirs.data),
                    system_proxy: config.environment.system_proxy,
                },
                thumb_cache: config.dirs.thumbs(),
                remote_thumbnails: config.environment.remote_thumbnails,
            },
        );
        let mut app = UploaderApp {
            settings: Settings::default(),
            view: View::default(),
            work: Work {
                loading: Loading::all(),
                queue: Queue::default(),
                history: Vec::new(),
                pending_paste: Vec::new(),
                notices: Vec::new(),
                undo: None,
                token: None,
                token_source: TokenSource::Nowhere,
                no_file_dialog: None,
                path_completions: (String::new(), Vec::new()),
                local: LocalService {
                    url: config.local_url,
                    token: config.local_token,
                    error: config.local_error,
                },
                groupme: groupme::GroupMeWork::default(),
                accounts: accounts::AccountsWork::default(),
            },
            images: Images::default(),
            runtime: Runtime {
                worker,
                batch: Batch::default(),
                configured: None,
                ctx: ctx.clone(),
                paste_keys: PasteKeys::default(),
                last_copy: None,
                clipboard_keeper: config.environment.clipboard_keeper.clone(),
                completion_asked: String::new(),
                started_as: HashMap::new(),
            },
        };
        let (urls, paths): (Vec<String>, Vec<String>) = config
            .initial
            .into_iter()
            .partition(|s| crate::jobs::is_web_url(s));
        app.add_all(urls.into_iter().map(Source::Url).collect());
        if !paths.is_empty() {
            app.send(Command::Expand(
                paths.into_iter().map(PathBuf::from).collect(),
            ));
        }
        app
    }

    fn send(&self, command: Command) {
        self.runtime.worker.commands.send(command).ok();
    }

    /// Takes what another launch hands over (`crate::instance`), from any thread: its items
    /// are queued like a drop, and the window is raised.
    pub fn opener(&self) -> impl Fn(Vec<String>) + Send + Sync + 'static {
        let commands = self.runtime.worker.commands.clone();
        let ctx = self.runtime.ctx.clone();
        move |items| {
            if !items.is_empty() {
                commands.send(Command::Open(items)).ok();
            }
            ctx.send_viewport_cmd(egui::ViewportCommand::Minimized(false));
            ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
            ctx.send_viewport_cmd(egui::ViewportCommand::RequestUserAttention(
                egui::UserAttentionType::Informational,
            ));
            ctx.request_repaint();
        }
    }

    /// Where uploads go now.
    pub fn target(&self) -> EndpointChoice {
        self.work.target(&self.settings)
    }

    /// The endpoint URL in use.
    pub fn endpoint(&self) -> String {
        self.target().endpoint(&self.work.local.url)
    }

    /// Tells the worker about endpoint/token changes (once per change, not per frame).
    fn configure_worker(&mut self) {
        let endpoint = self.endpoint();
        let token = match self.target() {
            EndpointChoice::Local => Some(self.work.local.token.clone()),
            _ => self.work.token.clone(),
        };
        let key = (
            endpoint.clone(),
            token.clone(),
            self.settings.max_attempts,
            self.settings.strip_metadata,
            self.settings.before_upload,
        );
        if self.runtime.configured.as_ref() == Some(&key) {
            return;
        }
        self.runtime.configured = Some(key);
        self.send(Command::Configure {
            endpoint,
            token,
            max_attempts: self.settings.max_attempts,
            strip_metadata: self.settings.strip_metadata,
            before_upload: self.settings.before_upload,
        });
    }

    /// Queues one item and asks for its preview.
    pub fn add(&mut self, source: Source) -> JobId {
        let id = self.work.queue.push(source.clone());
        self.preview(id, source);
        id
    }

    /// Queues the items of one drop, pick or paste, in this order, and asks for their previews.
    pub fn add_all(&mut self, sources: Vec<Source>) -> Vec<JobId> {
        let ids = self.work.queue.push_batch(sources.clone());
        for (id, source) in ids.iter().zip(sources) {
            self.preview(*id, source);
        }
        ids
    }

    fn preview(&self, job: JobId, source: Source) {
        if !matches!(source, Source::Url(_)) {
            self.send(Command::Preview { job, source });
        }
    }

    fn notice(&mut self, text: impl Into<String>, error: bool) {
        self.work.notices.push(Notice {
            text: text.into(),
            error,
            shown_at: Instant::now(),
        });
    }

    /// Whether settings, token and history are all read.
    pub fn is_loaded(&self) -> bool {
        self.work.is_loaded()
    }

    /// The parts the ui may see for one pass (see [`UiParts`]).
    pub fn ui_parts(&mut self) -> UiParts<'_> {
        UiParts {
            settings: &mut self.settings,
            view: &mut self.view,
            work: &self.work,
            images: &self.images,
        }
    }

    /// Drains worker events, reads drops and pastes, starts queued jobs. Never blocks.
    pub fn logic(&mut self, ctx: &egui::Context) {
        self.drain_events();
        for _ in 0..TEXTURES_PER_FRAME {
            let Some((id, thumb, img)) = self.images.pending.pop_front() else {
                break;
            };
            if self.work.queue.get(id).is_none() {
                continue; // removed while it decoded
            }
            self.images.cards.put(ctx, id, &img, thumb);
        }
        let more =
            self.images
                .history
                .make_textures(ctx, TEXTURES_PER_FRAME, ctx.cumulative_pass_nr());
        if more || !self.images.pending.is_empty() {
            ctx.request_repaint();
        }
        self.read_input(ctx);
        if self.work.no_file_dialog.is_some()
            && self.view.path_input != self.runtime.completion_asked
        {
            self.runtime
                .completion_asked
                .clone_from(&self.view.path_input);
            self.send(Command::CompletePath(self.view.path_input.clone()));
        }
        // Items wait in the queue until where they go is known.
        let started = if self.is_loaded() {
            self.configure_worker();
            self.work.queue.start_next(self.settings.concurrency())
        } else {
            Vec::new()
        };
        for job in started {
            let account = self.uploading_as();
            self.runtime.started_as.insert(job.id, account);
            self.send(Command::Start {
                job: job.id,
                source: job.source,
                keep_metadata: job.keep_metadata,
            });
        }
        self.settle_batch(ctx);
        let now = Instant::now();
        self.work
            .notices
            .retain(|n| now.duration_since(n.shown_at) < NOTICE_LIFETIME);
        if !self.work.notices.is_empty() {
            ctx.request_repaint_after(Duration::from_millis(500));
        }
        if self.work.undo.as_ref().is_some_and(|u| u.is_expired(now)) {
            self.work.undo = None;
        }
        if let Some(undo) = &self.work.undo {
            ctx.request_repaint_after(undo.remaining(now));
        }
        if self.work.queue.running() > 0 {
            // Keep the speed readout fresh even between progress events.
            ctx.request_repaint_after(Duration::from_millis(250));
        }
    }

    /// When the last queued or uploading job has ended while the window is not focused, tells
    /// the desktop how the batch went.
    fn settle_batch(&mut self, ctx: &egui::Context) {
        let busy = self
            .work
            .queue
            .jobs()
            .iter()
            .any(|j| !j.state.is_finished());
        let auto_copy = self.settings.auto_copy.then_some(self.settings.copy_format);
        let settled = self.runtime.batch.settle(busy, auto_copy);
        if let Some(copy) = settled.copy {
            self.notice(copy.message(), false);
            self.copy(ctx, copy.text);
        }
        if let Some(message) = settled.message
            && ctx.input(|i| i.viewport().focused) == Some(false)
        {
            self.send(Command::Notify(message));
        }
    }

    /// Puts `text` on the clipboard (at the end of this pass), remembered for the keeper.
    fn copy(&mut self, ctx: &egui::Context, text: String) {
        ctx.copy_text(text.clone());
        self.runtime.last_copy = Some(text);
    }

    /// On exit, hands the last copy to the clipboard keeper, which serves it after the window is
    /// gone (no clipboard manager keeps it otherwise). Waits for its answer: the window serves
    /// the copy meanwhile, so the keeper can check it is still the clipboard's.
    fn keep_clipboard(&mut self) {
        let (Some(exe), Some(text)) = (&self.runtime.clipboard_keeper, &self.runtime.last_copy)
        else {
            return;
        };
        match crate::clipboard_keeper::hand_over(std::process::Command::new(exe), text) {
            Ok(crate::clipboard_keeper::Answer::Failed(why)) => {
                tracing::warn!("the last copy leaves the clipboard with the window: {why}");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(
                "the last copy leaves the clipboard with the window: cannot start {}: {e}",
                exe.display()
            ),
        }
    }

    /// Takes what it acts on out of the input (drops, Ctrl+O, pastes), so that nothing is acted
    /// on twice: while the window is hidden eframe calls `logic` again with the last shown
    /// frame's input, and a paste left there would be uploaded on every such call.
    fn read_input(&mut self, ctx: &egui::Context) {
        // A paste goes to the focused text field when there is one; otherwise Ctrl+V is the
        // Paste button.
        let pastes_are_uploads = !ctx.egui_wants_keyboard_input();
        let keys = &mut self.runtime.paste_keys;
        let (dropped, shortcuts, open) = ctx.input_mut(|i| {
            let open = i.consume_shortcut(&egui::KeyboardShortcut::new(
                egui::Modifiers::COMMAND,
                egui::Key::O,
            ));
            let mut shortcuts = Vec::new();
            let mut kept = Vec::new();
            for event in std::mem::take(&mut i.events) {
                match event {
                    egui::Event::Paste(text) if pastes_are_uploads => {
                        keys.pasted = true;
                        shortcuts.push(Some(WindowPaste::Text(text)));
                    }
                    egui::Event::PasteImage(image) if pastes_are_uploads => {
                        keys.pasted = true;
                        shortcuts.push(Some(WindowPaste::Image {
                            width: image.size[0],
                            height: image.size[1],
                            rgba: image
                                .pixels
                                .iter()
                                .flat_map(|c| c.to_srgba_unmultiplied())
                                .collect(),
                        }));
                    }
                    egui::Event::Paste(_) | egui::Event::PasteImage(_) => {
                        keys.pasted = true;
                        kept.push(event);
                    }
                    egui::Event::Key {
                        key: egui::Key::V | egui::Key::Paste,
                        pressed,
                        ..
                    } => {
                        if pressed {
                            keys.v_pressed = true;
                        } else {
                            // A release whose press never arrived was a paste; egui pasted
                            // nothing for it when the clipboard held only copied files.
                            if pastes_are_uploads && !keys.v_pressed && !keys.pasted {
                                shortcuts.push(None);
                            }
                            *keys = PasteKeys::default();
                        }
                        kept.push(event);
                    }
                    other => kept.push(other),
                }
            }
            i.events = kept;
            (std::mem::take(&mut i.raw.dropped_files), shortcuts, open)
        });
        if open {
            self.apply(ctx, Action::Pick);
        }
        let paths: Vec<PathBuf> = dropped
            .iter()
            .map(|f| f.path().to_owned())
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        if !paths.is_empty() {
            self.view.tab = Tab::Queue;
            self.send(Command::Expand(paths));
        }
        for window in shortcuts {
            self.send(Command::PasteShortcut(window));
        }
    }

    fn drain_events(&mut self) {
        while let Ok(event) = self.runtime.worker.events.try_recv() {
            self.on_event(event);
        }
    }

    /// Closing the window: stops every upload (one that finished meanwhile still goes into the
    /// history), then has the worker write the history and settings it holds, and hands the last
    /// copy to the clipboard keeper ([`crate::clipboard_keeper`]). Blocks, at most
    /// [`CLOSE_DEADLINE`] per step: it runs once, as the window closes (`on_exit`), before the
    /// embedded service is stopped.
    pub fn shutdown(&mut self) {
        let (done, stopped) = std::sync::mpsc::channel();
        self.send(Command::StopUploads(done));
        if stopped.recv_timeout(CLOSE_DEADLINE).is_err() {
            tracing::warn!("closing: the uploads did not stop within {CLOSE_DEADLINE:?}");
        }
        // Their last events: a `Done` becomes a history entry, the rest show as cancelled.
        self.drain_events();
        for id in self
            .work
            .queue
            .jobs()
            .iter()
            .map(|j| j.id)
            .collect::<Vec<_>>()
        {
            self.work.queue.cancel(id);
        }
        let (done, flushed) = std::sync::mpsc::channel();
        self.send(Command::Flush(done));
        if flushed.recv_timeout(CLOSE_DEADLINE).is_err() {
            tracing::warn!(
                "closing: the history and settings were not written within {CLOSE_DEADLINE:?}"
            );
        }
        self.keep_clipboard();
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::SettingsLoaded(settings) => {
                self.view.custom_endpoint = match &settings.endpoint {
                    Some(EndpointChoice::Custom(u)) => u.clone(),
                    _ => String::new(),
                };
                self.settings = settings;
                self.work.loading.settings = false;
            }
            Event::HistoryLoaded { entries, skipped } => {
                // Entries recorded before the file was read (none: nothing starts before) stay
                // after the loaded ones.
                let newer = std::mem::replace(&mut self.work.history, entries);
                self.work.history.extend(newer);
                self.work.loading.history = false;
                if skipped > 0 {
                    self.notice(
                        format!(
                            "{skipped} damaged history line(s) were skipped; the rest is intact"
                        ),
                        true,
                    );
                }
            }
            Event::Accounts(event) => self.on_account_event(event),
            Event::GroupMe(event) => self.on_groupme_event(event),
            Event::Job(id, update) => self.on_job_update(id, update),
            Event::Preview(id, result) => match result {
                Ok(img) => self.images.pending.push_back((id, false, img)),
                Err(e) => {
                    self.images.preview_errors.insert(id, e);
                }
            },
            Event::Thumb(id, result) => match result {
                Ok(img) => self.images.pending.push_back((id, true, img)),
                Err(e) => self.notice(format!("the service's preview did not load: {e}"), true),
            },
            Event::HistoryThumb(url, result) => self.images.history.arrived(url, result),
            Event::Add { sources, pasted } => {
                self.view.tab = Tab::Queue;
                if pasted && self.settings.confirm_paste {
                    self.work.pending_paste.extend(sources);
                } else {
                    self.add_all(sources);
                }
            }
            Event::Notice(text) => self.notice(text, true),
            Event::NoFileDialog(text) => {
                self.view.tab = Tab::Queue;
                self.work.no_file_dialog = Some(text);
            }
            Event::PathCompletions { typed, candidates } => {
                // Only the answer for what the field holds now (answers can cross).
                if typed == self.view.path_input {
                    self.work.path_completions = (typed, candidates);
                }
            }
        }
    }

    fn on_job_update(&mut self, id: JobId, update: Update) {
        let done_url = match &update {
            Update::Done { url, .. } => Some(url.clone()),
            _ => None,
        };
        let was_finished = self.work.queue.get(id).map(|j| j.state.is_finished());
        self.work.queue.apply(id, update, Instant::now());
        // Who started it is kept while it runs: a failed or cancelled one forgets it too.
        let account = if self
            .work
            .queue
            .get(id)
            .is_none_or(|j| j.state.is_finished())
        {
            self.runtime.started_as.remove(&id).unwrap_or_default()
        } else {
            String::new()
        };
        if was_finished == Some(false)
            && let Some(job) = self.work.queue.get(id)
        {
            match &job.state {
                JobState::Done { url, .. } => {
                    self.runtime.batch.ended(Outcome::Uploaded);
                    // Auto-copy copies the batch's links once it is over.
                    self.runtime.batch.link(id.0, &url.to_string());
                }
                JobState::Failed { .. } => self.runtime.batch.ended(Outcome::Failed),
                JobState::Cancelled => self.runtime.batch.ended(Outcome::Cancelled),
                JobState::Queued | JobState::Uploading { .. } => {}
            }
        }
        let Some(url) = done_url else {
            return;
        };
        let Some(job) = self.work.queue.get(id) else {
            return;
        };
        if !matches!(job.state, JobState::Done { .. }) {
            return;
        }
        let reused = matches!(job.state, JobState::Done { reused: true, .. });
        if !reused {
            let entry = Entry {
                name: job.source.display_name(),
                url: url.to_string(),
                endpoint: self.endpoint(),
                hash: job.hash.clone(),
                width: url.dimensions().map(|d| d.0).or(job.info.map(|i| i.width)),
                height: url.dimensions().map(|d| d.1).or(job.info.map(|i| i.height)),
                format: url.format().or(job.info.map(|i| i.format)),
                // What the service holds: the shrunk file's bytes when the options shrank it.
                size: match job.reduced {
                    Some(crate::jobs::Reduction::Sent { bytes, .. }) => Some(bytes),
                    _ => job.size,
                },
                uploaded_at: now_secs(),
                account,
            };
            self.work.history.push(entry.clone());
            self.send(Command::History(HistoryOp::Add(entry)));
        }
        self.send(Command::FetchThumb { job: id, url });
    }

    /// Applies what the person asked for.
    pub fn apply(&mut self, ctx: &egui::Context, action: Action) {
        match action {
            Action::Pick => self.send(Command::Pick),
            Action::PasteFromClipboard => self.send(Command::ReadClipboard),
            Action::Mirror(text) => {
                let text = text.trim().to_owned();
                if text.is_empty() {
                    return;
                }
                let words: Vec<&str> = text.split_whitespace().collect();
                if let Some(word) = words.iter().find(|w| !crate::jobs::is_web_url(w)) {
                    // The field keeps the text, so a typo can be mended.
                    let word: String = word.chars().take(60).collect();
                    self.notice(format!("not a link: \u{201c}{word}\u{201d}"), true);
                    return;
                }
                // Typed and sent on purpose, like a drop: not pasted content, no question.
                self.view.tab = Tab::Queue;
                self.add_all(
                    words
                        .into_iter()
                        .map(|link| Source::Url(link.to_owned()))
                        .collect(),
                );
                self.view.url_input.clear();
            }
            Action::AddPath(text) => match typed_path(&text) {
                Some(path) => {
                    self.view.path_input.clear();
                    self.view.tab = Tab::Queue;
                    self.send(Command::Expand(vec![path]));
                }
                None if text.trim().is_empty() => {}
                None => self.notice(format!("no such file or folder: {}", text.trim()), true),
            },
            Action::Cancel(id) => {
                if self.work.queue.cancel(id) {
                    self.send(Command::Cancel(id));
                }
            }
            Action::Retry(id) => {
                self.work.queue.retry(id);
            }
            Action::UploadUnchanged(id) => {
                self.work.queue.upload_unchanged(id);
            }
            Action::Remove(id) => {
                if self.work.queue.remove(id) {
                    self.images.cards.remove(id);
                }
            }
            Action::ClearDone | Action::ClearFailed => {
                if matches!(action, Action::ClearDone) {
                    self.work.queue.clear_done();
                } else {
                    self.work.queue.clear_failed();
                }
                let queue = &self.work.queue;
                self.images.cards.retain(|id| queue.get(id).is_some());
            }
            // The button says "Copied ✔" itself (ui::copy_button).
            Action::Copy(text) => self.copy(ctx, text),
            Action::ConfirmPaste(yes) => {
                let pending = std::mem::take(&mut self.work.pending_paste);
                if yes {
                    self.add_all(pending);
                }
            }
            Action::HistoryRemove(index) => {
                if index < self.work.history.len() {
                    let entry = self.work.history.remove(index);
                    self.work.undo = Some(Undo::removed(index, entry, Instant::now()));
                    self.send(Command::History(HistoryOp::Remove(index)));
                }
            }
            Action::HistoryClear => {
                let cleared = std::mem::take(&mut self.work.history);
                if !cleared.is_empty() {
                    self.work.undo = Some(Undo::cleared(cleared, Instant::now()));
                    self.send(Command::History(HistoryOp::Clear));
                }
            }
            Action::HistoryInView(urls) => {
                let pass = ctx.cumulative_pass_nr();
                for url in self.images.history.in_view(urls, pass) {
                    self.send(Command::HistoryThumb(url));
                }
            }
            Action::Undo => {
                if let Some(undo) = self.work.undo.take() {
                    let op = undo.revert(&mut self.work.history);
                    self.send(Command::History(op));
                }
            }
            Action::SaveToken(text) => self.save_token(text),
            Action::Account(action) => self.apply_account(action),
            Action::SettingsChanged => {
                if let Some(EndpointChoice::Custom(u)) = &mut self.settings.endpoint {
                    u.clone_from(&self.view.custom_endpoint);
                }
                self.send(Command::SaveSettings(self.settings.clone()));
            }
            Action::SetTab(tab) => self.view.tab = tab,
            Action::GroupMe(action) => self.apply_groupme(action),
        }
    }
}

/// A path typed or pasted into the path field, when it names something that exists: as it is, as
/// a `file://` URI, with quotes around it, or from `~/`.
fn typed_path(text: &str) -> Option<PathBuf> {
    let text = text.trim().trim_matches(['"', '\'']);
    let path = if let Some(rest) = text.strip_prefix("~/") {
        directories::BaseDirs::new()?.home_dir().join(rest)
    } else if let Ok(uri) = url::Url::parse(text)
        && uri.scheme() == "file"
    {
        uri.to_file_path().ok()?
    } else {
        PathBuf::from(text)
    };
    (path.is_absolute() && path.exists()).then_some(path)
}

fn texture(ctx: &egui::Context, name: &str, img: &PreviewImage) -> egui::TextureHandle {
    let color = egui::ColorImage::from_rgba_unmultiplied(
        [img.width as usize, img.height as usize],
        &img.rgba,
    );
    ctx.load_texture(name, color, egui::TextureOptions::LINEAR)
}

impl eframe::App for UploaderApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        UploaderApp::logic(self, ctx);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.shutdown();
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let actions = crate::ui::app_ui(ui, &mut self.ui_parts());
        let ctx = ui.ctx().clone();
        for action in actions {
            self.apply(&ctx, action);
        }
    }
}
