//! GroupMe accounts (pure, no egui, no keyring): the named tokens a person keeps, which one is
//! chosen, and the rules for their names. Each account has a stable key (its keyring entry and
//! fallback file, see [`crate::token_store::TokenStore::for_account`]), so renaming never moves a
//! token. The list itself (names, keys, the choice; never a token) is `accounts.json` in the
//! config directory. The single token of earlier versions becomes the account "default" without
//! being moved ([`AccountList::migrate`]); `GM_TOKEN` shows as the account "environment", never
//! stored.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The key of the token earlier versions stored (keyring entry `access-token`, file `token`): the
/// migrated account keeps it, so nothing is copied.
pub const LEGACY_KEY: &str = "access-token";
/// The name the migrated token gets.
pub const MIGRATED_NAME: &str = "default";
/// The key and name of the `GM_TOKEN` account: not stored, not deletable, not renamable.
pub const ENV_KEY: &str = "environment";
/// Longest name, in characters (it sits in the top bar).
pub const MAX_NAME_CHARS: usize = 40;

/// One stored account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// What the person calls it ("me", "club bot owner").
    pub name: String,
    /// Where its token is kept; never changes.
    pub key: String,
}

/// The stored accounts and the chosen one, as kept in `accounts.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountList {
    /// In the order they were added.
    pub accounts: Vec<Account>,
    /// The chosen account's key (may be [`ENV_KEY`] while `GM_TOKEN` is set).
    pub chosen: Option<String>,
}

/// Why a name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("the account needs a name")]
    Empty,
    #[error("there is already an account named \u{201c}{0}\u{201d}")]
    Taken(String),
    #[error("\u{201c}environment\u{201d} is the name of the GM_TOKEN account: choose another")]
    Reserved,
    #[error("the name is longer than {MAX_NAME_CHARS} characters")]
    TooLong,
}

/// Why `accounts.json` could not be read.
#[derive(Debug, thiserror::Error)]
#[error("the account list {path} is damaged ({reason}); its tokens are still in the keyring")]
pub struct LoadError {
    pub path: String,
    pub reason: String,
}

impl AccountList {
    /// Reads `path`; `Ok(None)` when there is no file yet.
    pub fn load(path: &Path) -> Result<Option<AccountList>, LoadError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(LoadError {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                });
            }
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| LoadError {
                path: path.display().to_string(),
                reason: e.to_string(),
            })
    }

    /// Writes `path` atomically (it holds names and keys, never a token).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        crate::files::write_atomic(path, text.as_bytes())
    }

    /// The list at start: the file's, or, when there is none yet and an earlier version stored a
    /// token, that token as the account "default" (chosen). Returns whether the list is new and
    /// must be written.
    pub fn migrate(file: Option<AccountList>, legacy_token: bool) -> (AccountList, bool) {
        match file {
            Some(list) => (list, false),
            None if legacy_token => (
                AccountList {
                    accounts: vec![Account {
                        name: MIGRATED_NAME.to_owned(),
                        key: LEGACY_KEY.to_owned(),
                    }],
                    chosen: Some(LEGACY_KEY.to_owned()),
                },
                true,
            ),
            None => (AccountList::default(), false),
        }
    }

    /// `name` trimmed, when it may name an account (`renaming`: the key of the account being
    /// renamed, which may keep its own name).
    pub fn check_name(&self, name: &str, renaming: Option<&str>) -> Result<String, NameError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(NameError::TooLong);
        }
        if name.eq_ignore_ascii_case(ENV_KEY) {
            return Err(NameError::Reserved);
        }
        let lower = name.to_lowercase();
        if let Some(other) = self
            .accounts
            .iter()
            .find(|a| Some(a.key.as_str()) != renaming && a.name.to_lowercase() == lower)
        {
            return Err(NameError::Taken(other.name.clone()));
        }
        Ok(name.to_owned())
    }

    /// Adds an account named `name` (checked) under `key`, and chooses it.
    pub fn add(&mut self, name: &str, key: String) -> Result<&Account, NameError> {
        let name = self.check_name(name, None)?;
        self.chosen = Some(key.clone());
        self.accounts.push(Account { name, key });
        Ok(&self.accounts[self.accounts.len() - 1])
    }

    /// Renames the account `key` (its token stays where it is).
    pub fn rename(&mut self, key: &str, name: &str) -> Result<(), NameError> {
        let name = self.check_name(name, Some(key))?;
        if let Some(a) = self.accounts.iter_mut().find(|a| a.key == key) {
            a.name = name;
        }
        Ok(())
    }

    /// Removes the account `key`; the choice moves to the first one left (or none).
    pub fn remove(&mut self, key: &str) -> Option<Account> {
        let index = self.accounts.iter().position(|a| a.key == key)?;
        let removed = self.accounts.remove(index);
        if self.chosen.as_deref() == Some(key) {
            self.chosen = self.accounts.first().map(|a| a.key.clone());
        }
        Some(removed)
    }

    /// The account stored under `key`.
    pub fn get(&self, key: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.key == key)
    }

    /// A key no account has: `account-` and 12 random hex digits.
    pub fn new_key(&self) -> Result<String, crate::token::RandomError> {
        loop {
            let random = crate::token::Token::generate()?;
            let key = format!("account-{}", &random.expose()[..12]);
            if self.get(&key).is_none() {
                return Ok(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(names: &[&str]) -> AccountList {
        AccountList {
            accounts: names
                .iter()
                .enumerate()
                .map(|(i, n)| Account {
                    name: (*n).to_owned(),
                    key: format!("k{i}"),
                })
                .collect(),
            chosen: Some("k0".into()),
        }
    }

    #[test]
    fn names_are_trimmed_unique_and_not_empty() {
        let l = list(&["me", "club bot owner"]);
        assert_eq!(l.check_name("  work  ", None), Ok("work".into()));
        assert_eq!(l.check_name("   ", None), Err(NameError::Empty));
        assert_eq!(l.check_name("", None), Err(NameError::Empty));
        assert_eq!(
            l.check_name(" Me ", None),
            Err(NameError::Taken("me".into()))
        );
        assert_eq!(l.check_name("environment", None), Err(NameError::Reserved));
        assert_eq!(l.check_name("ENVIRONMENT", None), Err(NameError::Reserved));
        assert_eq!(l.check_name(&"x".repeat(41), None), Err(NameError::TooLong));
        assert_eq!(l.check_name(&"é".repeat(40), None), Ok("é".repeat(40)));
        // Renaming may keep its own name (or change its case), not take another's.
        assert_eq!(l.check_name("ME", Some("k0")), Ok("ME".into()));
        assert_eq!(
            l.check_name("club bot owner", Some("k0")),
            Err(NameError::Taken("club bot owner".into()))
        );
        assert_eq!(
            NameError::Taken("me".into()).to_string(),
            "there is already an account named \u{201c}me\u{201d}"
        );
    }

    #[test]
    fn add_rename_remove_and_the_choice() {
        let mut l = AccountList::default();
        assert_eq!(l.add(" me ", "a".into()).expect("add").name, "me");
        assert_eq!(l.chosen.as_deref(), Some("a"), "a new account is chosen");
        l.add("club", "b".into()).expect("add");
        assert_eq!(l.chosen.as_deref(), Some("b"));
        assert_eq!(
            l.add("Club", "c".into()),
            Err(NameError::Taken("club".into()))
        );
        assert_eq!(l.accounts.len(), 2, "a refused add changes nothing");
        l.rename("b", " club bot owner ").expect("rename");
        assert_eq!(l.get("b").map(|a| a.name.as_str()), Some("club bot owner"));
        assert_eq!(l.rename("b", "me"), Err(NameError::Taken("me".into())));
        assert_eq!(l.remove("b").map(|a| a.name), Some("club bot owner".into()));
        assert_eq!(
            l.chosen.as_deref(),
            Some("a"),
            "the choice moves to one left"
        );
        assert_eq!(l.remove("b"), None);
        l.remove("a");
        assert_eq!(l.chosen, None);
        let key = l.new_key().expect("key");
        assert!(key.starts_with("account-") && key.len() == 20, "{key}");
    }

    #[test]
    fn the_single_token_of_earlier_versions_becomes_default() {
        let (l, write) = AccountList::migrate(None, true);
        assert!(write);
        assert_eq!(
            l.accounts,
            [Account {
                name: "default".into(),
                key: LEGACY_KEY.into()
            }]
        );
        assert_eq!(l.chosen.as_deref(), Some(LEGACY_KEY));
        // No token, nothing to migrate; a list already written is kept as it is (even empty: the
        // person removed every account).
        assert_eq!(
            AccountList::migrate(None, false),
            (AccountList::default(), false)
        );
        let kept = list(&["me"]);
        assert_eq!(
            AccountList::migrate(Some(kept.clone()), true),
            (kept, false)
        );
        assert_eq!(
            AccountList::migrate(Some(AccountList::default()), true),
            (AccountList::default(), false)
        );
    }

    #[test]
    fn the_file_round_trips_and_a_damaged_one_says_so() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("cfg/accounts.json");
        assert!(AccountList::load(&path).expect("none").is_none());
        let l = list(&["me", "club"]);
        l.save(&path).expect("save");
        assert_eq!(AccountList::load(&path).expect("load"), Some(l));
        std::fs::write(&path, "{not json").expect("write");
        let e = AccountList::load(&path).expect_err("damaged").to_string();
        assert!(e.contains("is damaged"), "{e}");
        // Fields added later load with their defaults.
        std::fs::write(&path, r#"{"accounts":[{"name":"me","key":"k"}]}"#).expect("write");
        assert_eq!(
            AccountList::load(&path).expect("load").map(|l| l.chosen),
            Some(None)
        );
    }
}
