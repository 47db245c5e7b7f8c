//! The worker's account jobs, on one thread of their own so they happen in the order asked
//! (keyring calls block, each bounded by the store's timeout): reading the account list and each
//! account's token at start (migrating the single token of earlier versions to the account
//! "default"), writing the list, storing or deleting one account's token.

use std::path::{Path, PathBuf};

use super::{Event, Outbox};
use crate::accounts::{AccountList, ENV_KEY, LEGACY_KEY};
use crate::token::Token;
use crate::token_store::{TokenSource, TokenStore};

/// What the app asks of the account storage.
#[derive(Debug)]
pub enum AccountCommand {
    /// Write the list (names, keys, the choice; never a token).
    SaveList(AccountList),
    /// Store (or with `None` delete) one account's token, by its key.
    SaveToken { key: String, token: Option<Token> },
}

/// One account's token as read, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    pub token: Option<Token>,
    pub source: TokenSource,
}

/// What was read at start.
#[derive(Debug)]
pub struct Loaded {
    pub list: AccountList,
    /// Each listed account's token, by key.
    pub tokens: Vec<(String, StoredToken)>,
    /// `GM_TOKEN`: the account "environment", chosen at start when set.
    pub env: Option<Token>,
    /// Something to tell the person (a damaged list, a failed write).
    pub problem: Option<String>,
}

/// What the account storage answered.
#[derive(Debug)]
pub enum AccountEvent {
    Loaded(Loaded),
    TokenSaved {
        key: String,
        result: Result<TokenSource, String>,
    },
    /// The list could not be written.
    ListNotSaved(String),
}

/// Reads the list and the tokens (blocking).
pub fn load(store: &TokenStore, path: &Path) -> Loaded {
    let (file, mut problem) = match AccountList::load(path) {
        Ok(file) => (file, None),
        Err(e) => (None, Some(e.to_string())),
    };
    let damaged = problem.is_some();
    let legacy = store.for_account(LEGACY_KEY).load();
    let (mut list, write) = AccountList::migrate(file, legacy.0.is_some());
    // A damaged list is not overwritten until the person changes something.
    if write
        && !damaged
        && let Err(e) = list.save(path)
    {
        problem = Some(format!(
            "cannot write the account list {}: {e}",
            path.display()
        ));
    }
    let tokens = list
        .accounts
        .iter()
        .map(|a| {
            let (token, source) = if a.key == LEGACY_KEY {
                legacy.clone()
            } else {
                store.for_account(&a.key).load()
            };
            (a.key.clone(), StoredToken { token, source })
        })
        .collect();
    let env = store.env().cloned();
    if env.is_some() {
        // GM_TOKEN wins at start, as it always did.
        list.chosen = Some(ENV_KEY.to_owned());
    } else if list.chosen.as_deref().is_none_or(|k| list.get(k).is_none()) {
        list.chosen = list.accounts.first().map(|a| a.key.clone());
    }
    Loaded {
        list,
        tokens,
        env,
        problem,
    }
}

/// Starts the account thread: it loads, then runs the commands in order until the sender is
/// dropped (closing), finishing what it holds.
pub fn spawn(
    store: TokenStore,
    path: PathBuf,
    commands: std::sync::mpsc::Receiver<AccountCommand>,
    out: Outbox,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        out.send(Event::Accounts(AccountEvent::Loaded(load(&store, &path))));
        while let Ok(command) = commands.recv() {
            match command {
                AccountCommand::SaveList(list) => {
                    if let Err(e) = list.save(&path) {
                        out.send(Event::Accounts(AccountEvent::ListNotSaved(format!(
                            "cannot write the account list {}: {e}",
                            path.display()
                        ))));
                    }
                }
                AccountCommand::SaveToken { key, token } => {
                    let result = store
                        .for_account(&key)
                        .save(token.as_ref())
                        .map_err(|e| e.to_string());
                    out.send(Event::Accounts(AccountEvent::TokenSaved { key, result }));
                }
            }
        }
    })
}
