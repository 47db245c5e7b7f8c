//! groupme-uploader: put images on the GroupMe Image CDN — a desktop app, a command line and a
//! local image service that speaks the same API. The layout, by layer (the README's "Layout" is
//! this list):
//!
//! **Models (pure, no I/O, no egui)**
//! - [`cdn_url`]: the CDN URL model (`{w}x{h}.{format}.{id}` and its `.preview`/`.large`/`.avatar`).
//! - [`snippet`]: how a URL is written for pasting (URL, Markdown, HTML, BBCode).
//! - [`geometry`]: thumbnail sizes (cover and fit).
//! - [`content_id`]: a picture's id from its bytes (service names, app duplicates).
//! - [`jobs`]: the upload queue's state machine and where items come from.
//! - [`queue_rows`]: the queue list's order and what each row offers for its job's state.
//! - [`batch`]: when a batch of uploads has finished, and what the notification says.
//! - [`copying`]: what auto-copy of a batch copies, the words saying what was copied, and how
//!   long a Copy button says "Copied ✔".
//! - [`settings`]: the person's settings and the app's directories.
//! - [`token`]: the access token as a secret (masked, never logged).
//! - [`downscale`]: the before-upload options and what they do to a file (size maths, format).
//! - [`gallery`]: the History gallery's search, day grouping and which rows are in view.
//!
//! **Media**
//! - [`probe`]: format sniffing and header dimensions.
//! - [`plausible`]: whether a file's data could fill the size its header claims.
//! - [`metadata`]: removing location and other metadata without re-encoding.
//! - [`thumbnail`]: decoding within limits and rendering the three thumbnails.
//! - [`png_encode`]: PNG renditions (adaptive filtering, libdeflate level 6; indexed when smaller).
//! - [`webp_lossy`]: lossy WebP encoding through libwebp (renditions of lossy WebP originals).
//! - [`preview`]: the app's local preview of a file.
//! - [`card_slots`]: where each queue card's picture sits in the shared card textures.
//! - [`reencode`]: the before-upload transform (upright, downscaled, re-encoded, ICC kept).
//!
//! **Storage on this machine**
//! - [`files`]: atomic writes and time stamps.
//! - [`history`]: the upload history (append-only JSON lines).
//! - [`thumb_cache`]: the History's thumbnails on disk (bounded, least recently used go).
//! - [`token_store`]: where the token is kept (`GM_TOKEN`, keyring, a private file).
//! - [`accounts`]: the named GroupMe accounts (`accounts.json`), the chosen one, name rules,
//!   migration of the single token of earlier versions.
//!
//! **Clients**
//! - [`client`]: the Image Service client (upload, mirror; retries, progress, cancel).
//! - [`groupme`]: the GroupMe API v3 client (send pictures to groups, direct chats and bots).
//! - [`backoff`]: how long both wait before a retry.
//!
//! **The local image service**
//! - [`service`]: routes, address policy, fetch, storage, admission budgets, ready answers for
//!   hot pictures, GETs of them answered before hyper, connection loop.
//!
//! **The desktop app**
//! - [`app`]: its state (settings, view, work, images), what it takes from the machine, Send to
//!   GroupMe (`app::groupme`), undo of history changes, and the worker on the tokio runtime (all
//!   I/O off the UI thread).
//! - [`ui`]: one file per panel; edits the settings and view it is bound to, clicks become actions.
//! - [`notify`]: desktop notifications over D-Bus, sent from the tokio side.
//! - [`path_completion`]: what the path field (no file dialog) completes to.
//! - [`gui`]: opening the window (embedded service, icon, options).
//! - [`instance`]: one window per data directory; later launches hand it their files.
//! - [`clipboard_keeper`]: keeps the last copy on the clipboard after the window closes.
//!
//! **Edges**
//! - [`cli`]: the command line (`upload`, `send`, `chats`, `serve`, `gui`).
//! - [`logging`]: logging set-up for every command.
//! - [`allocator`]: glibc's allocator set up for the window's process (two arenas).
//! - [`fuzzing`]: the fuzz targets' properties (replayed by `cargo test`).

pub mod accounts;
pub mod allocator;
pub mod app;
pub mod backoff;
pub mod batch;
pub mod card_slots;
pub mod cdn_url;
pub mod cli;
pub mod client;
pub mod clipboard_keeper;
pub mod content_id;
pub mod copying;
pub mod downscale;
pub mod files;
pub mod fuzzing;
pub mod gallery;
pub mod geometry;
pub mod groupme;
pub mod gui;
pub mod history;
pub mod instance;
pub mod jobs;
pub mod logging;
pub mod metadata;
pub mod notify;
pub mod path_completion;
pub mod plausible;
pub mod png_encode;
pub mod preview;
pub mod probe;
pub mod queue_heights;
pub mod queue_rows;
pub mod reencode;
pub mod service;
pub mod settings;
pub mod snippet;
pub mod thumb_cache;
pub mod thumbnail;
pub mod token;
pub mod token_store;
pub mod ui;
pub mod webp_lossy;
