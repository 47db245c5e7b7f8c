//! What the app takes from the machine beyond its directories: `GM_TOKEN`, the keyring, the
//! proxy settings, the clipboard and the desktop's notifications — the real ones in the window,
//! none in tests.

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
}

impl Environment {
    /// The machine's: `GM_TOKEN` as set now, the system keyring, the system's proxies.
    pub fn from_process() -> Environment {
        Environment {
            gm_token: std::env::var("GM_TOKEN").ok().and_then(Token::new),
            keyring: Some(Arc::new(SystemKeyring)),
            system_proxy: true,
            clipboard: Arc::new(worker::SystemClipboard),
            notifier: Some(Arc::new(crate::notify::DesktopNotifier)),
        }
    }

    /// Nothing from the machine: no `GM_TOKEN`, no keyring, no proxy, an empty clipboard, no
    /// notifications.
    pub fn isolated() -> Environment {
        Environment {
            gm_token: None,
            keyring: None,
            system_proxy: false,
            clipboard: Arc::new(EmptyClipboard),
            notifier: None,
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
