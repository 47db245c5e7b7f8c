//! Where the access token is kept: `GM_TOKEN` if set, else the OS keyring (Secret Service on
//! Linux), else a 0600 file that says it is unencrypted. Saving falls back to the file when no
//! keyring takes the token (none runs, it fails, or it does not answer within 3 s); loading
//! reads the file when the keyring holds no token.
//! `GM_TOKEN` and the keyring are handed in by the caller (the window passes the real ones,
//! tests pass none or a fake), so nothing here reads the process environment. Keyring calls can
//! block forever on a frozen provider, so each runs on its own thread with a timeout; the app
//! loads and saves from its worker, never on the UI thread.
//!
//! Each account (`crate::accounts`) has its own entry and file, by its key
//! ([`TokenStore::for_account`]); the key of earlier versions' single token keeps its entry
//! (`access-token`) and file (`token`), so migrating moves nothing.

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

    /// Where the token is, in a few words and without the warning that a file is unencrypted:
    /// the window says that once, in Settings.
    pub fn place(&self) -> &'static str {
        match self {
            TokenSource::Env => "from the GM_TOKEN variable",
            TokenSource::Keyring => "stored in the system keyring",
            TokenSource::File(_) => "stored in a private file",
            TokenSource::Nowhere => "not set",
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
    /// The token of the account whose key is `user`. A keyring that holds one token (a test's)
    /// has only the first account's: the others then go to their files.
    fn get_account(&self, user: &str) -> Result<Option<Token>, String> {
        if user == USER {
            self.get()
        } else {
            Err("this keyring holds one token".into())
        }
    }
    /// Stores (or with `None` deletes) the token of the account whose key is `user`.
    fn set_account(&self, user: &str, token: Option<&Token>) -> Result<(), String> {
        if user == USER {
            self.set(token)
        } else {
            Err("this keyring holds one token".into())
        }
    }
}

/// The OS keyring: Secret Service on Linux.
#[derive(Debug, Clone, Copy)]
pub struct SystemKeyring;

impl Keyring for SystemKeyring {
    fn get(&self) -> Result<Option<Token>, String> {
        keyring_get(USER)
    }
    fn set(&self, token: Option<&Token>) -> Result<(), String> {
        keyring_set(USER, token)
    }
    fn get_account(&self, user: &str) -> Result<Option<Token>, String> {
        keyring_get(user)
    }
    fn set_account(&self, user: &str, token: Option<&Token>) -> Result<(), String> {
        keyring_set(user, token)
    }
}

/// Token storage rooted at a config directory.
#[derive(Clone)]
pub struct TokenStore {
    /// The fallback file.
    file: PathBuf,
    /// The keyring entry's user name: the account's key.
    user: String,
    /// The `GM_TOKEN` value, read once by the caller; it wins over anything stored.
    env: Option<Token>,
    /// `None` in tests: never touch the person's real keyring.
    keyring: Option<Arc<dyn Keyring>>,
}

impl std::fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenStore")
            .field("file", &self.file)
            .field("user", &self.user)
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
            user: USER.to_owned(),
            env,
            keyring,
        }
    }

    /// The store of one account, by its key (`crate::accounts`): its own keyring entry and
    /// file (`token-KEY`; the key of earlier versions' token keeps `token`). `GM_TOKEN` is not
    /// an account's: it is left out.
    pub fn for_account(&self, key: &str) -> TokenStore {
        let dir = self.file.parent().unwrap_or(Path::new("."));
        let file = if key == USER {
            dir.join("token")
        } else {
            dir.join(format!("token-{key}"))
        };
        TokenStore {
            file,
            user: key.to_owned(),
            env: None,
            keyring: self.keyring.clone(),
        }
    }

    /// The `GM_TOKEN` value, if set.
    pub fn env(&self) -> Option<&Token> {
        self.env.as_ref()
    }

    /// Finds the token: `GM_TOKEN`, keyring, file. Blocking (bounded by a timeout).
    pub fn load(&self) -> (Option<Token>, TokenSource) {
        if let Some(t) = &self.env {
            return (Some(t.clone()), TokenSource::Env);
        }
        let user = self.user.clone();
        if let Some(keyring) = self.keyring.clone()
            && let Some(Ok(Some(t))) = with_timeout(move || keyring.get_account(&user))
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
            let user = self.user.clone();
            if let Some(Ok(())) = with_timeout(move || keyring.set_account(&user, owned.as_ref())) {
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
fn entry(user: &str) -> Result<keyring_core::Entry, String> {
    let store = zbus_secret_service_keyring_store::Store::new().map_err(|e| e.to_string())?;
    let store: std::sync::Arc<keyring_core::CredentialStore> = store;
    keyring_core::Entry::new_in_store(&store, SERVICE, user).map_err(|e| e.to_string())
}

#[cfg(not(target_os = "linux"))]
fn entry(_user: &str) -> Result<keyring_core::Entry, String> {
    Err("no keyring store on this platform".into())
}

fn keyring_get(user: &str) -> Result<Option<Token>, String> {
    match entry(user)?.get_password() {
        Ok(p) => Ok(Token::new(p)),
        Err(keyring_core::Error::NoEntry) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

fn keyring_set(user: &str, token: Option<&Token>) -> Result<(), String> {
    let entry = entry(user)?;
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

    #[test]
    fn each_account_has_its_own_file_and_the_first_keeps_the_old_one() {
        let dir = tempfile::tempdir().expect("dir");
        let env = Token::new("env-token-0002").expect("t");
        let store = TokenStore::new(dir.path(), Some(env), None);
        let legacy = store.for_account(USER);
        let other = store.for_account("account-0123456789ab");
        let (a, b) = (
            Token::new("legacy-token-0001").expect("t"),
            Token::new("other-token-0003").expect("t"),
        );
        legacy.save(Some(&a)).expect("save");
        other.save(Some(&b)).expect("save");
        assert_eq!(
            legacy.load(),
            (Some(a), TokenSource::File(dir.path().join("token"))),
            "GM_TOKEN is no account's"
        );
        let other_file = dir.path().join("token-account-0123456789ab");
        assert_eq!(
            other.load(),
            (Some(b), TokenSource::File(other_file.clone()))
        );
        assert_eq!(other.save(None).expect("forget"), TokenSource::Nowhere);
        assert!(!other_file.exists());
        assert!(
            dir.path().join("token").exists(),
            "the other account's token stays"
        );
    }
}
