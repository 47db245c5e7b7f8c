//! Accounts in the window: the named GroupMe tokens (`crate::accounts`), each in the keyring (or
//! its private file), the one chosen in the top bar, and Settings' add, rename and remove. The
//! chosen account's token is [`super::Work::token`]: choosing another changes where new uploads
//! and sends go, who I am and the places (each account has its own cache); uploads already
//! running keep theirs. `GM_TOKEN` is the account "environment" (not stored, not removable).

use std::collections::HashMap;

use super::UploaderApp;
use super::worker::{AccountCommand, AccountEvent, Command, LoadedAccounts, StoredToken};
use crate::accounts::{AccountList, ENV_KEY, LEGACY_KEY, MIGRATED_NAME};
use crate::token::Token;
use crate::token_store::TokenSource;

/// The accounts part of [`super::Work`].
#[derive(Debug, Clone, Default)]
pub struct AccountsWork {
    /// The stored accounts and the chosen one (its key).
    pub list: AccountList,
    /// Each stored account's token and where it is, by key.
    pub tokens: HashMap<String, StoredToken>,
    /// `GM_TOKEN`: the account "environment".
    pub env: Option<Token>,
}

impl AccountsWork {
    /// What the top bar offers, in order: (key, name); "environment" first when set.
    pub fn choices(&self) -> Vec<(String, String)> {
        let env = self
            .env
            .as_ref()
            .map(|_| (ENV_KEY.to_owned(), ENV_KEY.to_owned()));
        env.into_iter()
            .chain(
                self.list
                    .accounts
                    .iter()
                    .map(|a| (a.key.clone(), a.name.clone())),
            )
            .collect()
    }

    /// The chosen account's name.
    pub fn chosen_name(&self) -> Option<&str> {
        let key = self.list.chosen.as_deref()?;
        if key == ENV_KEY {
            return self.env.as_ref().map(|_| ENV_KEY);
        }
        self.list.get(key).map(|a| a.name.as_str())
    }

    /// The chosen account's token and where it is.
    fn chosen_token(&self) -> (Option<Token>, TokenSource) {
        match self.list.chosen.as_deref() {
            Some(ENV_KEY) if self.env.is_some() => (self.env.clone(), TokenSource::Env),
            Some(key) => self
                .tokens
                .get(key)
                .map_or((None, TokenSource::Nowhere), |s| {
                    (s.token.clone(), s.source.clone())
                }),
            None => (None, TokenSource::Nowhere),
        }
    }
}

/// What the Settings' account controls are editing: part of [`super::View`].
#[derive(Debug, Clone, Default)]
pub struct AccountsView {
    /// The new account's name and token (masked in its field).
    pub name: String,
    pub token: String,
    /// The account being renamed (its key) and the name being typed.
    pub renaming: Option<(String, String)>,
    /// The account whose Remove waits for a confirmation (its key).
    pub removing: Option<String>,
}

/// What the person asked of the accounts.
#[derive(Debug, Clone)]
pub enum AccountAction {
    /// Use this account (by key) for new uploads and sends.
    Choose(String),
    /// Add an account with this name and token, and choose it.
    Add {
        name: String,
        token: String,
    },
    Rename {
        key: String,
        name: String,
    },
    /// Remove an account (confirmed) and delete its token.
    Remove(String),
}

impl UploaderApp {
    pub(super) fn apply_account(&mut self, action: AccountAction) {
        match action {
            AccountAction::Choose(key) => {
                let known = (key == ENV_KEY && self.work.accounts.env.is_some())
                    || self.work.accounts.list.get(&key).is_some();
                if !known || self.work.accounts.list.chosen.as_deref() == Some(key.as_str()) {
                    return;
                }
                self.work.accounts.list.chosen = Some(key);
                self.save_account_list();
                self.use_chosen_account(false);
            }
            AccountAction::Add { name, token } => {
                let list = &self.work.accounts.list;
                let name = match list.check_name(&name, None) {
                    Ok(name) => name,
                    Err(e) => return self.notice(e.to_string(), true),
                };
                let Some(token) = Token::new(token) else {
                    return self.notice("the token is empty", true);
                };
                let key = match list.new_key() {
                    Ok(key) => key,
                    Err(e) => return self.notice(e.to_string(), true),
                };
                self.add_account(&name, key, token);
                self.view.accounts.name.clear();
                self.view.accounts.token.clear();
            }
            AccountAction::Rename { key, name } => {
                match self.work.accounts.list.rename(&key, &name) {
                    Ok(()) => {
                        self.view.accounts.renaming = None;
                        self.save_account_list();
                    }
                    Err(e) => self.notice(e.to_string(), true),
                }
            }
            AccountAction::Remove(key) => {
                self.view.accounts.removing = None;
                let was_chosen = self.work.accounts.list.chosen.as_deref() == Some(key.as_str());
                let Some(removed) = self.work.accounts.list.remove(&key) else {
                    return;
                };
                if was_chosen && self.work.accounts.env.is_some() {
                    self.work.accounts.list.chosen = Some(ENV_KEY.to_owned());
                }
                self.work.accounts.tokens.remove(&key);
                self.send(Command::Accounts(AccountCommand::SaveToken {
                    key,
                    token: None,
                }));
                self.save_account_list();
                self.notice(
                    format!("account \u{201c}{}\u{201d} removed", removed.name),
                    false,
                );
                if was_chosen {
                    self.use_chosen_account(false);
                }
            }
        }
    }

    /// Settings' "Save token": the chosen account's new token; with no account yet, the account
    /// "default" (kept where earlier versions kept the single token).
    pub(super) fn save_token(&mut self, text: String) {
        if self.work.accounts.list.chosen.as_deref() == Some(ENV_KEY) {
            return self.notice(
                "the GM_TOKEN account cannot be changed here: choose or add another account",
                true,
            );
        }
        let Some(token) = Token::new(text) else {
            return self.notice("the token is empty", true);
        };
        self.view.token_input.clear();
        let chosen = self.work.accounts.list.chosen.clone();
        match chosen {
            Some(key) => {
                let source = self.work.token_source.clone();
                self.work.accounts.tokens.insert(
                    key.clone(),
                    StoredToken {
                        token: Some(token.clone()),
                        source,
                    },
                );
                self.send(Command::Accounts(AccountCommand::SaveToken {
                    key,
                    token: Some(token),
                }));
                // The same account with another token: perhaps another person's places.
                self.use_chosen_account(true);
            }
            None => {
                let key = if self.work.accounts.list.get(LEGACY_KEY).is_none() {
                    LEGACY_KEY.to_owned()
                } else {
                    match self.work.accounts.list.new_key() {
                        Ok(key) => key,
                        Err(e) => return self.notice(e.to_string(), true),
                    }
                };
                let name = (1..)
                    .map(|n| {
                        if n == 1 {
                            MIGRATED_NAME.to_owned()
                        } else {
                            format!("{MIGRATED_NAME} {n}")
                        }
                    })
                    .find(|n| self.work.accounts.list.check_name(n, None).is_ok())
                    .unwrap_or_else(|| MIGRATED_NAME.to_owned());
                self.add_account(&name, key, token);
            }
        }
    }

    /// Adds a checked account, stores its token and chooses it (who I am then checks the token).
    fn add_account(&mut self, name: &str, key: String, token: Token) {
        if self.work.accounts.list.add(name, key.clone()).is_err() {
            return;
        }
        self.work.accounts.tokens.insert(
            key.clone(),
            StoredToken {
                token: Some(token.clone()),
                source: TokenSource::Nowhere,
            },
        );
        self.send(Command::Accounts(AccountCommand::SaveToken {
            key,
            token: Some(token),
        }));
        self.save_account_list();
        self.use_chosen_account(false);
    }

    fn save_account_list(&self) {
        self.send(Command::Accounts(AccountCommand::SaveList(
            self.work.accounts.list.clone(),
        )));
    }

    /// Makes the chosen account's token the one in use: who I am is asked, and the places are
    /// that account's (`refetch`: its cache may hold another token's).
    fn use_chosen_account(&mut self, refetch: bool) {
        let (token, source) = self.work.accounts.chosen_token();
        self.work.token = token;
        self.work.token_source = source;
        self.token_changed();
        if !refetch {
            self.work.groupme.clear_refetch();
        }
    }

    pub(super) fn on_account_event(&mut self, event: AccountEvent) {
        match event {
            AccountEvent::Loaded(LoadedAccounts {
                list,
                tokens,
                env,
                problem,
            }) => {
                self.work.accounts = AccountsWork {
                    list,
                    tokens: tokens.into_iter().collect(),
                    env,
                };
                let (token, source) = self.work.accounts.chosen_token();
                self.work.token = token;
                self.work.token_source = source;
                self.work.loading.token = false;
                if let Some(problem) = problem {
                    self.notice(problem, true);
                }
                self.who_am_i();
            }
            AccountEvent::TokenSaved { key, result } => match result {
                Ok(source) => {
                    let text = match &source {
                        TokenSource::Nowhere => "token forgotten".to_owned(),
                        _ => format!("token saved: {}", source.place()),
                    };
                    if let Some(stored) = self.work.accounts.tokens.get_mut(&key) {
                        stored.source = source.clone();
                    }
                    if self.work.accounts.list.chosen.as_deref() == Some(key.as_str()) {
                        self.work.token_source = source;
                    }
                    self.notice(text, false);
                }
                Err(e) => self.notice(e, true),
            },
            AccountEvent::ListNotSaved(e) => self.notice(e, true),
        }
    }

    /// The name history records for an upload that starts now: the chosen account's, or none
    /// when uploads go to the local service (its own token).
    pub(super) fn uploading_as(&self) -> String {
        if self.target() == crate::settings::EndpointChoice::Local {
            return String::new();
        }
        self.work
            .accounts
            .chosen_name()
            .unwrap_or_default()
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::Account;

    #[test]
    fn the_environment_account_comes_first_and_is_chosen_by_key() {
        let mut work = AccountsWork {
            list: AccountList {
                accounts: vec![Account {
                    name: "me".into(),
                    key: "k1".into(),
                }],
                chosen: Some("k1".into()),
            },
            tokens: HashMap::from([(
                "k1".to_owned(),
                StoredToken {
                    token: Token::new("stored-token-1111"),
                    source: TokenSource::Keyring,
                },
            )]),
            env: None,
        };
        assert_eq!(work.choices(), [("k1".to_owned(), "me".to_owned())]);
        assert_eq!(work.chosen_name(), Some("me"));
        assert_eq!(
            work.chosen_token(),
            (Token::new("stored-token-1111"), TokenSource::Keyring)
        );
        work.env = Token::new("env-token-2222");
        work.list.chosen = Some(ENV_KEY.into());
        assert_eq!(
            work.choices(),
            [
                ("environment".to_owned(), "environment".to_owned()),
                ("k1".to_owned(), "me".to_owned())
            ]
        );
        assert_eq!(work.chosen_name(), Some("environment"));
        assert_eq!(
            work.chosen_token(),
            (Token::new("env-token-2222"), TokenSource::Env)
        );
        work.list.chosen = None;
        assert_eq!(work.chosen_token(), (None, TokenSource::Nowhere));
    }
}
