//! One isolated environment for everything a test or bench starts: the app, its worker, the CLI
//! or `serve`. Nothing of the machine reaches them: no `GM_*` variable (a person's `GM_TOKEN`
//! would send test images to GroupMe), no proxy variable, no real config or data directory, no
//! keyring. Environment variables are process-wide and tests run on parallel threads, so nothing
//! here changes this process's environment: the app gets everything explicitly
//! ([`app_config`]), and child processes get an emptied environment ([`command`]).
//!
//! Used by the tests through `common::isolated` and by the benches with `#[path]`, so it depends
//! on nothing else in `tests/common/`.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use groupme_uploader::app::worker::{FilePicker, NoDialog};
use groupme_uploader::app::{AppConfig, Environment};
use groupme_uploader::settings::Dirs;
use groupme_uploader::token::Token;

/// Variables a child keeps from this process: where programs are, where temporary files go, and
/// how a panic is reported. Everything else is dropped.
const KEPT: [&str; 3] = ["PATH", "TMPDIR", "RUST_BACKTRACE"];

/// `program` with an emptied environment: [`KEPT`] variables only, and `HOME` and every XDG
/// directory under `root` (so neither the app's standard directories nor a keyring's are the
/// person's). Add what the test means to give with `.env(..)`.
pub fn command(program: impl AsRef<OsStr>, root: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear();
    for key in KEPT {
        if let Some(value) = std::env::var_os(key) {
            cmd.env(key, value);
        }
    }
    for (key, dir) in [
        ("HOME", "home"),
        ("XDG_CONFIG_HOME", "home/.config"),
        ("XDG_DATA_HOME", "home/.local/share"),
        ("XDG_CACHE_HOME", "home/.cache"),
        ("XDG_STATE_HOME", "home/.local/state"),
        ("XDG_RUNTIME_DIR", "run"),
    ] {
        let path = root.join(dir);
        std::fs::create_dir_all(&path).expect("isolated dir");
        cmd.env(key, path);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(root.join("run"), std::fs::Permissions::from_mode(0o700))
            .expect("runtime dir mode");
    }
    cmd
}

/// The app's config with nothing from the machine: directories under `root`, no `GM_TOKEN`, no
/// keyring, no proxy, no command-line items.
pub fn app_config(
    root: &Path,
    runtime: tokio::runtime::Handle,
    local_url: &str,
    local_token: Token,
    picker: Arc<dyn FilePicker>,
) -> AppConfig {
    AppConfig {
        dirs: Dirs::under(root),
        runtime,
        local_url: local_url.to_owned(),
        local_token,
        local_error: None,
        picker,
        environment: Environment::isolated(),
        initial: Vec::new(),
    }
}

/// A picker that offers nothing (never a dialog).
pub struct NoPicker;

impl FilePicker for NoPicker {
    fn pick(&self) -> futures_util::future::BoxFuture<'static, Result<Vec<PathBuf>, NoDialog>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// Writes a history file of `n` entries at `path`, as the app writes them (one JSON line each,
/// distinct names and URLs): what the benches give an isolated data directory to start with.
pub fn write_history(path: &Path, n: usize) {
    use std::io::Write as _;
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("history"));
    for i in 0..n {
        let line = serde_json::json!({
            "name": format!("holiday-photo-{i:05}.jpg"),
            "url": format!("https://i.groupme.com/1024x768.jpeg.{:032x}", i as u128 * 7919),
            "endpoint": "https://image.groupme.com",
            "hash": format!("{:032x}", i),
            "width": 1024, "height": 768, "format": "jpeg", "size": 123456,
            "uploaded_at": 1_700_000_000 + i,
        });
        writeln!(f, "{line}").expect("write");
    }
    f.flush().expect("flush");
}
