//! What the app takes from the machine beyond its directories: `GM_TOKEN`, `GM_API_ENDPOINT`,
//! the keyring, the proxy settings, the clipboard and the desktop's notifications — the real
//! ones in the window, none in tests.

use std::sync::Arc;

use super::worker::{self, ClipboardReader};
use crate::notify::Notifier;
use crate::token::Token;
use crate::token_store::{Keyring, SystemKeyring};

/// What the app takes from the machine beyond its directories. The window passes the real ones
/// ([`Environment::from_process`]); tests and benches pass [`Environment::isolated`], so a
/// person's `GM_TOKEN`, keyring or proxy never reaches them (a real token would send test images
/// to GroupMe). Nothing else in the app reads the process environment.
#[derive(Clone)]
pub struct Environment {
    /// The `GM_TOKEN` value: it wins over the stored token.
    pub gm_token: Option<Token>,
    /// Where the token is stored; `None` keeps it in the fallback file only.
    pub keyring: Option<Arc<dyn Keyring>>,
    /// Use the system's proxy settings (`HTTPS_PROXY`, `NO_PROXY`…) for uploads and thumbnails.
    pub system_proxy: bool,
    /// What the Paste button reads: the system clipboard, or in tests one that is empty or
    /// scripted (never the person's).
    pub clipboard: Arc<dyn ClipboardReader>,
    /// Where "batch finished" notifications go: the desktop's, or in tests none or a recorder
    /// (never the person's desktop).
    pub notifier: Option<Arc<dyn Notifier>>,
    /// The GroupMe API v3 base for Send to… and Set as my avatar: `GM_API_ENDPOINT`, else
    /// GroupMe's. Tests point it at a scripted server.
    pub api_endpoint: String,
    /// GroupMe's Image Service, where a picture the local or a custom service holds is uploaded
    /// before it is sent (GroupMe takes only its own CDN's URLs). Tests point it at a scripted
    /// server.
    pub groupme_image_endpoint: String,
    /// The program started on exit to keep the last copy on the clipboard (this binary, see
    /// [`crate::clipboard_keeper`]); none in tests, which never start it unless they ask.
    pub clipboard_keeper: Option<std::path::PathBuf>,
    /// Fetch the History's thumbnails from any host; when off, only from this machine (tests:
    /// an entry on GroupMe's CDN shows a placeholder rather than reach the internet).
    pub remote_thumbnails: bool,
}

/// Where an isolated app's GroupMe calls go: the discard port on loopback, so a test that forgot
/// to name its scripted server fails at once and nothing leaves the machine.
const NOWHERE: &str = "http://127.0.0.1:9";

impl Environment {
    /// The machine's: `GM_TOKEN` as set now, the system keyring, the system's proxies.
    pub fn from_process() -> Environment {
        Environment {
            gm_token: std::env::var("GM_TOKEN").ok().and_then(Token::new),
            keyring: Some(Arc::new(SystemKeyring)),
            system_proxy: true,
            clipboard: Arc::new(worker::SystemClipboard),
            notifier: Some(Arc::new(crate::notify::DesktopNotifier)),
            api_endpoint: std::env::var("GM_API_ENDPOINT")
                .ok()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| crate::groupme::DEFAULT_API_ENDPOINT.to_owned()),
            groupme_image_endpoint: crate::client::DEFAULT_ENDPOINT.to_owned(),
            clipboard_keeper: std::env::current_exe().ok(),
            remote_thumbnails: true,
        }
    }

    /// Nothing from the machine: no `GM_TOKEN`, no keyring, no proxy, an empty clipboard, no
    /// Nothing from the machine: no `GM_TOKEN`, no keyring, no proxy, an empty clipboard, no
    /// notifications, no clipboard keeper, GroupMe's endpoints on a loopback port nothing answers
    /// (tests set their own), and History thumbnails only from loopback addresses.
    pub fn isolated() -> Environment {
        Environment {
            gm_token: None,
            keyring: None,
            system_proxy: false,
            clipboard: Arc::new(EmptyClipboard),
            notifier: None,
            api_endpoint: NOWHERE.to_owned(),
            groupme_image_endpoint: NOWHERE.to_owned(),
            clipboard_keeper: None,
            remote_thumbnails: false,
        }
    }
}

/// A clipboard that holds nothing: the isolated environment's.
struct EmptyClipboard;

impl ClipboardReader for EmptyClipboard {
    fn read(&self) -> Result<Option<worker::ClipboardContent>, String> {
        Ok(None)
    }
}
