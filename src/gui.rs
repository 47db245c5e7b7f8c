//! Starts the desktop window: the embedded local service on the given runtime, then eframe.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use eframe::egui;

use crate::app::worker::NativePicker;
use crate::app::{AppConfig, UploaderApp};
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

/// Opens the window and runs until it closes; uploads and the local service run on `runtime`.
pub fn run(args: GuiArgs, runtime: &tokio::runtime::Runtime) -> ExitCode {
    crate::logging::init("warn");
    let dirs = args
        .data_dir
        .as_deref()
        .map_or_else(Dirs::standard, Dirs::under);
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
    let result = eframe::run_native(
        "GroupMe Uploader",
        options,
        Box::new(move |cc| Ok(Box::new(UploaderApp::new(&cc.egui_ctx, config)))),
    );
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
