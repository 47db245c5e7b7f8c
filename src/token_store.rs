//! Where the access token is kept: `GM_TOKEN` if set, else the OS keyring (Secret Service on
//! Linux), else a 0600 file that says it is unencrypted. Saving falls back to the file when no
//! keyring takes the token (none runs, it fails, or it does not answer within 3 s); loading
//! reads the file when the keyring holds no token.
//! `GM_TOKEN` and the keyring are handed in by the caller (the window passes the real ones,
//! tests pass none or a fake), so nothing here reads the process environment. Keyring calls can
//! block forever on a frozen provider, so each runs on its own thread with a timeout; the app
//! loads and saves from its worker, never on the UI thread.

use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use crate::token::Token;

const SERVICE: &str = "groupme-uploader";
const USER: &str = "access-token";
const KEYRING_TIMEOUT: Duration = Duration::from_secs(3);

/// Why the token could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// No keyring took it, and the fallback file could not be written.
    #[error("cannot save the token in {}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Where the token in use came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// The `GM_TOKEN` variable (read-only: Settings cannot change it).
    Env,
    /// The OS keyring.
    Keyring,
    /// The fallback file, unencrypted.
    File(PathBuf),
    /// No token anywhere.
    Nowhere,
}

impl TokenSource {
    /// How the Settings panel describes it.
    pub fn describe(&self) -> String {
        match self {
            TokenSource::Env => "from the GM_TOKEN variable".into(),
            TokenSource::Keyring => "stored in the system keyring".into(),
            TokenSource::File(p) => format!(
                "stored UNENCRYPTED in {} (no keyring service is running)",
                p.display()
            ),
            TokenSource::Nowhere => "not set".into(),
        }
    }
}

/// A keyring holding one token. Calls may block (a keyring may ask the person, or hang): the
/// store calls them on a thread of their own, with a timeout.
pub trait Keyring: Send + Sync {
    /// The stored token, `None` when there is none.
    fn get(&self) -> Result<Option<Token>, String>;
    /// Stores the token, or with `None` deletes it.
    fn set(&self, token: Option<&Token>) -> Result<(), String>;
}

/// The OS keyring: Secret Service on Linux.
#[derive(Debug, Clone, Copy)]
pub struct SystemKeyring;

impl Keyring for SystemKeyring {
    fn get(&self) -> Result<Option<Token>, String> {
        keyring_get()
    }
    fn set(&self, token: Option<&Token>) -> Result<(), String> {
        keyring_set(token)
    }
}

/// Token storage rooted at a config directory.
#[derive(Clone)]
pub struct TokenStore {
    /// The fallback file.
    file: PathBuf,
    /// The `GM_TOKEN` value, read once by the caller; it wins over anything stored.
    env: Option<Token>,
    /// `None` in tests: never touch the person's real keyring.
    keyring: Option<Arc<dyn Keyring>>,
}

impl std::fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenStore")
            .field("file", &self.file)
            .field("env", &self.env)
            .field("keyring", &self.keyring.is_some())
            .finish()
    }
}

impl TokenStore {
    /// Storage under `config_dir`; `env` is `GM_TOKEN`'s value, `keyring` the keyring to use.
    pub fn new(config_dir: &Path, env: Option<Token>, keyring: Option<Arc<dyn Keyring>>) -> Self {
        TokenStore {
            file: config_dir.join("token"),
            env,
            keyring,
        }
    }

    /// Finds the token: `GM_TOKEN`, keyring, file. Blocking (bounded by a timeout).
    pub fn load(&self) -> (Option<Token>, TokenSource) {
        if let Some(t) = &self.env {
            return (Some(t.clone()), TokenSource::Env);
        }
        if let Some(keyring) = self.keyring.clone()
            && let Some(Ok(Some(t))) = with_timeout(move || keyring.get())
        {
            return (Some(t), TokenSource::Keyring);
        }
        match read_file(&self.file) {
            Some(t) => (Some(t), TokenSource::File(self.file.clone())),
            None => (None, TokenSource::Nowhere),
        }
    }

    /// Stores (or with `None`, forgets) the token: keyring first, else the file.
    pub fn save(&self, token: Option<&Token>) -> Result<TokenSource, SaveError> {
        if let Some(keyring) = self.keyring.clone() {
            let owned = token.cloned();
            if let Some(Ok(())) = with_timeout(move || keyring.set(owned.as_ref())) {
                // Never leave an older copy in the file once the keyring holds it.
                std::fs::remove_file(&self.file).ok();
                return Ok(match token {
                    Some(_) => TokenSource::Keyring,
                    None => TokenSource::Nowhere,
                });
            }
        }
        match token {
            Some(t) => {
                write_file(&self.file, t).map_err(|source| SaveError::File {
                    path: self.file.clone(),
                    source,
                })?;
                Ok(TokenSource::File(self.file.clone()))
            }
            None => {
                std::fs::remove_file(&self.file).ok();
                Ok(TokenSource::Nowhere)
            }
        }
    }
}

fn with_timeout<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        tx.send(f()).ok();
    });
    rx.recv_timeout(KEYRING_TIMEOUT).ok()
}

#[cfg(target_os = "linux")]
fn entry() -> Result<keyring_core::Entry, String> {
    let store = zbus_secret_service_keyring_store::Store::new().map_err(|e| e.to_string())?;
    let store: std::sync::Arc<keyring_core::CredentialStore> = store;
    keyring_core::Entry::new_in_store(&store, SERVICE, USER).map_err(|e| e.to_string())
}

#[cfg(not(target_os = "linux"))]
fn entry() -> Result<keyring_core::Entry, String> {
    Err("no keyring store on this platform".into())
}

fn keyring_get() -> Result<Option<Token>, String> {
    match entry()?.get_password() {
        Ok(p) => Ok(Token::new(p)),
        Err(keyring_core::Error::NoEntry) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

fn keyring_set(token: Option<&Token>) -> Result<(), String> {
    let entry = entry()?;
    match token {
        Some(t) => entry.set_password(t.expose()).map_err(|e| e.to_string()),
        None => match entry.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(e.to_string()),
        },
    }
}

const FILE_HEADER: &str =
    "# groupme-uploader access token. UNENCRYPTED: no keyring service was running.\n";

fn read_file(path: &Path) -> Option<Token> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find(|l| !l.trim_start().starts_with('#'))
        .and_then(Token::new)
}

fn write_file(path: &Path, token: &Token) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    let text = format!("{FILE_HEADER}{}\n", token.expose());
    // tempfile creates the file with mode 0600 before anything is written to it.
    crate::files::write_atomic(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_fallback_round_trip() {
        let dir = tempfile::tempdir().expect("dir");
        let store = TokenStore::new(&dir.path().join("cfg"), None, None);
        let token = Token::new("secret-value-123").expect("t");
        let source = store.save(Some(&token)).expect("save");
        assert!(matches!(source, TokenSource::File(_)));
        assert!(source.describe().contains("UNENCRYPTED"));
        assert_eq!(read_file(&dir.path().join("cfg/token")), Some(token));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join("cfg/token"))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(store.save(None).expect("forget"), TokenSource::Nowhere);
        assert_eq!(read_file(&dir.path().join("cfg/token")), None);
    }

    #[test]
    fn a_file_that_cannot_be_written_says_where() {
        let dir = tempfile::tempdir().expect("dir");
        // The config "directory" is a file: nothing can be created under it.
        let blocker = dir.path().join("cfg");
        std::fs::write(&blocker, b"").expect("write");
        let store = TokenStore::new(&blocker, None, None);
        let e = store
            .save(Some(&Token::new("secret-value-123").expect("t")))
            .expect_err("cannot save");
        let shown = e.to_string();
        assert!(
            shown.starts_with(&format!(
                "cannot save the token in {}: ",
                blocker.join("token").display()
            )),
            "{shown}"
        );
        assert!(!shown.contains("secret-value"), "{shown}");
    }

    #[test]
    fn gm_token_wins_over_what_is_stored() {
        let dir = tempfile::tempdir().expect("dir");
        let stored = Token::new("stored-token-0001").expect("t");
        TokenStore::new(dir.path(), None, None)
            .save(Some(&stored))
            .expect("save");
        let env = Token::new("env-token-0002").expect("t");
        let store = TokenStore::new(dir.path(), Some(env.clone()), None);
        assert_eq!(store.load(), (Some(env), TokenSource::Env));
        let store = TokenStore::new(dir.path(), None, None);
        assert_eq!(
            store.load(),
            (Some(stored), TokenSource::File(dir.path().join("token")))
        );
    }
}
