//! Starts the desktop window: one per data directory (a later launch hands its items to the open
//! window, see [`crate::instance`]), the embedded local service on the given runtime, then eframe.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use eframe::egui;

use crate::app::worker::NativePicker;
use crate::app::{AppConfig, UploaderApp};
use crate::instance::{self, Claim, InstanceError};
use crate::service::store::StoreError;
use crate::service::{self, RunningService, ServiceConfig, ServiceState, SetupError, Store};
use crate::settings::Dirs;
use crate::token::Token;

/// The application id: Wayland app id, X11 `WM_CLASS` (both parts), desktop entry and icon name.
pub const APP_ID: &str = "groupme-uploader";

/// The window icon, from the 256 px PNG of `assets/icons/`.
fn window_icon() -> Option<egui::IconData> {
    let png = include_bytes!("../assets/icons/groupme-uploader-256.png");
    let rgba = image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .ok()?
        .into_rgba8();
    Some(egui::IconData {
        width: rgba.width(),
        height: rgba.height(),
        rgba: rgba.into_raw(),
    })
}

/// Sets both parts of the window's X11 `WM_CLASS` to [`APP_ID`] (instance and class; desktop
/// entries match `StartupWMClass` and docks group windows by it). egui-winit 0.37 hands the app
/// id to winit as `with_name(app_id, "")`, which on X11 leaves the instance part empty, and
/// eframe offers no hook on winit's attributes. The window is still unmapped here (eframe shows
/// it after the first frame), so this is in place before a window manager reads it, as ICCCM
/// asks. Nothing on Wayland, where the app id is already right.
#[cfg(target_os = "linux")]
fn set_x11_wm_class(window: &impl raw_window_handle::HasWindowHandle) {
    use raw_window_handle::RawWindowHandle;
    let id = match window.window_handle().map(|h| h.as_raw()) {
        Ok(RawWindowHandle::Xlib(h)) => u32::try_from(h.window).ok(),
        Ok(RawWindowHandle::Xcb(h)) => Some(h.window.get()),
        _ => None,
    };
    let Some(id) = id else {
        return;
    };
    if let Err(e) = write_wm_class(id) {
        tracing::warn!("cannot set the window's WM_CLASS: {e}");
    }
}

/// Replaces `WM_CLASS` on X11 window `id`, over a connection of its own (pure Rust, the display
/// winit uses: `DISPLAY`), and waits for the server to have applied it.
#[cfg(target_os = "linux")]
fn write_wm_class(id: u32) -> Result<(), Box<dyn std::error::Error>> {
    use x11rb::protocol::xproto::{AtomEnum, PropMode};
    use x11rb::wrapper::ConnectionExt as _;
    let (conn, _) = x11rb::connect(None)?;
    let value = format!("{APP_ID}\0{APP_ID}\0");
    // `check` is a round trip: the change is applied before winit maps the window.
    conn.change_property8(
        PropMode::REPLACE,
        id,
        AtomEnum::WM_CLASS,
        AtomEnum::STRING,
        value.as_bytes(),
    )?
    .check()?;
    Ok(())
}

/// The embedded service's fixed port, so URLs in history stay valid across restarts.
pub const LOCAL_PORT: u16 = 8737;

/// Arguments of `gui` (also what runs with no subcommand).
#[derive(Debug, Default, clap::Args)]
pub struct GuiArgs {
    /// Keep settings, history and local pictures under this directory instead of the user's
    /// standard data and config directories.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Image files, folders and http(s) URLs to queue at start.
    #[arg(value_name = "FILE|URL")]
    pub items: Vec<String>,
}

/// The embedded service's token: made once, kept in the data directory (mode 0600). An error
/// when none is stored and the random source fails.
fn service_token(dirs: &Dirs) -> Result<Token, crate::token::RandomError> {
    let path = dirs.data.join("service-token");
    if let Some(t) = std::fs::read_to_string(&path).ok().and_then(Token::new) {
        return Ok(t);
    }
    let token = Token::generate()?;
    if let Err(e) = crate::files::write_atomic(&path, token.expose().as_bytes()) {
        tracing::warn!(
            "cannot keep the local service token in {}: {e}",
            path.display()
        );
    }
    Ok(token)
}

/// Why the embedded local service did not start: the window opens anyway and says so.
#[derive(Debug, thiserror::Error)]
enum LocalServiceError {
    /// Its picture directory cannot be used.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Neither the fixed port nor a free one could be had on 127.0.0.1.
    #[error("cannot listen on 127.0.0.1: {0}")]
    Listen(#[from] std::io::Error),
    /// The service's own set-up failed.
    #[error(transparent)]
    Setup(#[from] SetupError),
}

/// Starts the local service on 127.0.0.1:8737, or on a free port when that one is taken (then
/// with a warning: that run's URLs stop working once it closes).
async fn start_local(
    dirs: &Dirs,
    token: Token,
) -> Result<(RunningService, Option<String>), LocalServiceError> {
    let store = Store::local(&dirs.service())?;
    let fixed = SocketAddr::from(([127, 0, 0, 1], LOCAL_PORT));
    let (listener, warning) = match tokio::net::TcpListener::bind(fixed).await {
        Ok(l) => (l, None),
        Err(e) => {
            tracing::warn!(
                "port {LOCAL_PORT} is taken ({e}); the local service uses a free port for this run"
            );
            let l = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
            let warning = format!(
                "port {LOCAL_PORT} is busy: URLs from this run stop working when the app closes"
            );
            (l, Some(warning))
        }
    };
    let addr = listener.local_addr()?;
    let config = ServiceConfig::new(&format!("http://{addr}"), vec![token]);
    service::store::spawn_sweeper(store.clone());
    let state = ServiceState::new(config, store)?;
    let running = service::start(listener, state)?;
    Ok((running, warning))
}

/// Claims the window for `dirs`: `Ok(listener)` when this launch opens it (`Ok(None)` when the
/// socket cannot be made: the window opens anyway, without taking later launches' items);
/// `Err(code)` when this launch is done: an open window took `items`, or did not answer.
fn claim_window(dirs: &Dirs, items: &[String]) -> Result<Option<instance::Listener>, ExitCode> {
    let runtime_dir = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let path = instance::socket_path(&dirs.data, runtime_dir.as_deref());
    let items = match std::env::current_dir() {
        Ok(cwd) => instance::resolve(items, &cwd),
        Err(_) => items.to_vec(),
    };
    match instance::claim(&path, &items) {
        Ok(Claim::First(listener)) => Ok(Some(listener)),
        Ok(Claim::HandedOver(reply)) => {
            let n = reply.queued;
            let what = if n == 1 { "item" } else { "items" };
            println!("GroupMe Uploader is already open: handed it {n} {what} and raised it");
            Err(ExitCode::SUCCESS)
        }
        Err(e @ (InstanceError::NoAnswer(_) | InstanceError::BadAnswer(_))) => {
            eprintln!("error: {e}");
            Err(ExitCode::FAILURE)
        }
        Err(e) => {
            tracing::warn!("{e}; this window will not take other launches' files");
            Ok(None)
        }
    }
}

/// Opens the window and runs until it closes; uploads and the local service run on `runtime`.
pub fn run(args: GuiArgs, runtime: &tokio::runtime::Runtime) -> ExitCode {
    crate::logging::init("warn");
    let dirs = args
        .data_dir
        .as_deref()
        .map_or_else(Dirs::standard, Dirs::under);
    let instance = match claim_window(&dirs, &args.items) {
        Ok(listener) => listener,
        Err(code) => return code,
    };
    let local_token = match service_token(&dirs) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let _enter = runtime.enter();
    let (local, local_error) = match runtime.block_on(start_local(&dirs, local_token.clone())) {
        Ok((s, warning)) => (Some(s), warning),
        Err(e) => (None, Some(format!("unavailable: {e}"))),
    };
    let local_url = local.as_ref().map_or_else(
        || format!("http://127.0.0.1:{LOCAL_PORT}"),
        RunningService::url,
    );
    let config = AppConfig {
        dirs,
        runtime: runtime.handle().clone(),
        local_url,
        local_token,
        local_error,
        picker: Arc::new(NativePicker),
        environment: crate::app::Environment::from_process(),
        initial: args.items,
    };
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("GroupMe Uploader")
        .with_app_id(APP_ID)
        .with_inner_size([920.0, 700.0])
        .with_min_inner_size([560.0, 420.0])
        .with_drag_and_drop(true);
    if let Some(icon) = window_icon() {
        viewport = viewport.with_icon(icon);
    }
    let options = eframe::NativeOptions {
        viewport,
        ..Default::default()
    };
    // The socket's server task, started once the app exists (it hands items to the app).
    let server = Arc::new(std::sync::Mutex::new(None::<tokio::task::JoinHandle<()>>));
    let server_slot = server.clone();
    let handle = runtime.handle().clone();
    let result = eframe::run_native(
        "GroupMe Uploader",
        options,
        Box::new(move |cc| {
            #[cfg(target_os = "linux")]
            set_x11_wm_class(cc);
            let app = UploaderApp::new(&cc.egui_ctx, config);
            if let Some(listener) = instance {
                *server_slot
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) =
                    Some(handle.spawn(listener.serve(app.opener())));
            }
            Ok(Box::new(app))
        }),
    );
    // Launches from now on open a window of their own.
    let server = server.lock().map(|mut s| s.take()).ok().flatten();
    if let Some(server) = server {
        server.abort();
        runtime.block_on(server).ok();
    }
    if let Some(local) = local {
        runtime.block_on(local.stop()).ok();
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot open the window: {e}");
            eprintln!("(no display? `groupme-uploader upload FILE` works without one)");
            ExitCode::FAILURE
        }
    }
}
