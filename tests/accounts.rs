//! GroupMe accounts through the whole app under egui_kittest (no display, no keyring: tokens go
//! to their private files under the test's root): the single token of earlier versions becomes
//! the account "default" without loss; accounts added in Settings are chosen in the top bar, an
//! upload goes out (to a scripted service on 127.0.0.1) with the chosen account's token, and the
//! history says which account uploaded; Remove asks first and deletes the token.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::dropped::Dropped;
use common::window::wait_until;
use eframe::egui;
use eframe::egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use groupme_uploader::accounts::{AccountList, LEGACY_KEY};
use groupme_uploader::app::UploaderApp;
use groupme_uploader::jobs::JobState;
use groupme_uploader::settings::{Dirs, EndpointChoice, Settings};
use groupme_uploader::token::Token;
use groupme_uploader::token_store::{TokenSource, TokenStore};

/// The app on `root`, once loaded, uploading to `endpoint` when given.
fn app(
    runtime: &tokio::runtime::Runtime,
    root: &std::path::Path,
    endpoint: Option<String>,
) -> Harness<'static, UploaderApp> {
    if let Some(url) = endpoint {
        let settings = Settings {
            endpoint: Some(EndpointChoice::Custom(url)),
            max_attempts: 1,
            ..Settings::default()
        };
        settings
            .save(&Dirs::under(root).settings())
            .expect("settings");
    }
    let config = common::isolated::app_config(
        root,
        runtime.handle().clone(),
        "http://127.0.0.1:9",
        common::token(),
        Arc::new(common::isolated::NoPicker),
    );
    common::window::loaded(config, [1000.0, 900.0])
}

#[test]
fn the_single_token_of_earlier_versions_becomes_the_account_default_without_loss() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let root = tempfile::tempdir().expect("dir");
    let config_dir = Dirs::under(root.path()).config;
    let old = Token::new("old-single-token-7777").expect("token");
    TokenStore::new(&config_dir, None, None)
        .save(Some(&old))
        .expect("an earlier version's save");
    for start in ["first start", "second start"] {
        let mut h = app(&runtime, root.path(), None);
        let work = &h.state().work;
        let names: Vec<&str> = work
            .accounts
            .list
            .accounts
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(names, ["default"], "{start}");
        assert_eq!(work.accounts.list.chosen.as_deref(), Some(LEGACY_KEY));
        assert_eq!(work.token.as_ref(), Some(&old), "{start}");
        assert_eq!(
            work.token_source,
            TokenSource::File(config_dir.join("token"))
        );
        h.get_by_role_and_label(Role::ComboBox, "Account");
        h.state_mut().shutdown();
    }
    // Nothing moved: the token is where it was; the list holds names and keys only.
    let text = std::fs::read_to_string(config_dir.join("token")).expect("token file");
    assert!(text.contains("old-single-token-7777"));
    let list_text = std::fs::read_to_string(config_dir.join("accounts.json")).expect("list");
    assert!(!list_text.contains("old-single-token"), "{list_text}");
    assert_eq!(
        AccountList::load(&config_dir.join("accounts.json"))
            .expect("list")
            .map(|l| l.accounts.len()),
        Some(1)
    );
}

/// The one labelled text field.
fn type_into(h: &mut Harness<'_, UploaderApp>, label: &str, text: &str) {
    let field = h.get_by_label(label);
    field.focus();
    field.type_text(text);
    h.run_steps(2);
}

fn add_account(h: &mut Harness<'_, UploaderApp>, name: &str, token: &str) {
    type_into(h, "Account name", name);
    type_into(h, "Its token", token);
    h.get_by_label("Add account").click();
    h.run_steps(2);
    wait_until(h, "the account's token to be stored", |app| {
        matches!(app.work.token_source, TokenSource::File(_))
            && app.work.accounts.chosen_name() == Some(name.trim())
    });
}

fn choose_in_top_bar(h: &mut Harness<'_, UploaderApp>, name: &str) {
    h.get_by_label("Queue").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::ComboBox, "Account").click();
    h.run_steps(2);
    h.get_by_label(name).click();
    h.run_steps(2);
}

/// Drops `path` and waits until `n` cards are done.
fn upload(h: &mut Harness<'_, UploaderApp>, path: PathBuf, n: usize) {
    h.input_mut().dropped_files.push(Arc::new(Dropped(path)));
    h.step();
    wait_until(h, "the upload", |app| {
        let jobs = app.work.queue.jobs();
        jobs.len() == n
            && jobs
                .iter()
                .all(|j| matches!(j.state, JobState::Done { .. }))
    });
}

#[test]
fn the_account_chosen_in_the_top_bar_uploads_and_history_says_which() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let url = "http://127.0.0.1:9/10x10.png.0123456789abcdef0123456789abcdef";
    let server = runtime.block_on(common::Scripted::start(vec![common::Reply::json(
        200,
        &format!(r#"{{"payload":{{"url":"{url}","picture_url":"{url}"}}}}"#),
    )]));
    let root = tempfile::tempdir().expect("dir");
    let files = tempfile::tempdir().expect("dir");
    let mut h = app(&runtime, root.path(), Some(server.url()));
    assert!(
        h.query_by_role_and_label(Role::ComboBox, "Account")
            .is_none(),
        "no account, no choice"
    );
    h.get_by_label("Settings").click();
    h.run_steps(2);
    add_account(&mut h, " me ", "token-of-me-aaaa1111");
    // Names are checked: the same name again is refused, and says why.
    type_into(&mut h, "Account name", "ME");
    type_into(&mut h, "Its token", "token-of-another-0000");
    h.get_by_label("Add account").click();
    h.run_steps(2);
    h.get_by_label_contains("there is already an account named \u{201c}me\u{201d}");
    assert_eq!(h.state().work.accounts.list.accounts.len(), 1);
    h.state_mut().view.accounts = Default::default();
    add_account(&mut h, "club bot owner", "token-of-club-bbbb2222");
    assert_eq!(
        h.state().work.accounts.chosen_name(),
        Some("club bot owner")
    );

    choose_in_top_bar(&mut h, "me");
    assert_eq!(h.state().work.accounts.chosen_name(), Some("me"));
    let a = files.path().join("a.png");
    std::fs::write(&a, common::png(10, 10)).expect("write");
    upload(&mut h, a, 1);
    choose_in_top_bar(&mut h, "club bot owner");
    let b = files.path().join("b.png");
    std::fs::write(&b, common::png(12, 10)).expect("write");
    upload(&mut h, b, 2);

    let tokens: Vec<Option<String>> = server
        .requests()
        .iter()
        .map(|r| r.header("X-Access-Token").map(str::to_owned))
        .collect();
    assert_eq!(
        tokens,
        [
            Some("token-of-me-aaaa1111".to_owned()),
            Some("token-of-club-bbbb2222".to_owned())
        ]
    );
    assert!(
        server
            .requests()
            .iter()
            .all(|r| !r.target.contains("token-of"))
    );
    let accounts: Vec<&str> = h
        .state()
        .work
        .history
        .iter()
        .map(|e| e.account.as_str())
        .collect();
    assert_eq!(accounts, ["me", "club bot owner"]);
    h.get_by_label("History (2)").click();
    h.run_steps(2);
    h.get_by_label_contains("· account me");
    h.get_by_label_contains("· account club bot owner");
    assert!(
        h.query_by_label_contains("token-of").is_none(),
        "no token shown unmasked"
    );

    // Rename: the token stays where it is (same key), the new name is checked.
    h.get_by_label("Settings").click();
    h.run_steps(2);
    h.get_all_by_label("Rename").last().expect("Rename").click();
    h.run_steps(2);
    h.get_by_label("New name").focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(1);
    h.get_by_label("New name").type_text("  club  ");
    h.run_steps(2);
    h.get_by_label("Save name").click();
    h.run_steps(2);
    assert_eq!(h.state().work.accounts.chosen_name(), Some("club"));
    assert!(
        h.state().view.accounts.renaming.is_none(),
        "the field closed"
    );
    h.get_by_label("club");

    // Remove asks first; then the account and its token are gone, the choice moves on.
    let key = h.state().work.accounts.list.chosen.clone().expect("chosen");
    let token_file = Dirs::under(root.path()).config.join(format!("token-{key}"));
    assert!(token_file.exists());
    h.get_all_by_label("Remove").last().expect("Remove").click();
    h.run_steps(2);
    h.get_by_label("Remove \u{201c}club\u{201d}? Its token is deleted from this computer.");
    assert_eq!(h.state().work.accounts.list.accounts.len(), 2, "not yet");
    h.get_by_label("Remove account").click();
    h.run_steps(2);
    wait_until(&mut h, "the token file to go", |_| !token_file.exists());
    assert_eq!(h.state().work.accounts.chosen_name(), Some("me"));
    assert_eq!(
        h.state().work.token.as_ref().map(Token::expose),
        Some("token-of-me-aaaa1111")
    );
    h.state_mut().shutdown();
    let saved = AccountList::load(&Dirs::under(root.path()).config.join("accounts.json"))
        .expect("list")
        .expect("written");
    assert_eq!(saved.accounts.len(), 1);
    assert_eq!(saved.accounts[0].name, "me");
    // The tokens are only in their own files: not in the list, the history, the caches.
    let dirs = Dirs::under(root.path());
    let mut checked = 0;
    for dir in [&dirs.config, &dirs.data] {
        for entry in std::fs::read_dir(dir).expect("dir").flatten() {
            let path = entry.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() || name.starts_with("token") {
                continue;
            }
            let bytes = std::fs::read(&path).expect("read");
            assert!(
                !bytes.windows(8).any(|w| w == b"token-of"),
                "{} holds a token",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 2, "the list and the history were looked at");
}

#[test]
fn the_account_choice_fits_the_top_bar_at_the_minimum_size() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let root = tempfile::tempdir().expect("dir");
    let dirs = Dirs::under(root.path());
    TokenStore::new(&dirs.config, None, None)
        .save(Token::new("old-single-token-7777").as_ref())
        .expect("save");
    // GroupMe (short label) and the local service (the longest label the bar shows).
    for endpoint in [None, Some(EndpointChoice::Local)] {
        let settings = Settings {
            endpoint: endpoint.clone(),
            ..Settings::default()
        };
        settings.save(&dirs.settings()).expect("settings");
        let config = common::isolated::app_config(
            root.path(),
            runtime.handle().clone(),
            "http://127.0.0.1:9",
            common::token(),
            Arc::new(common::isolated::NoPicker),
        );
        let mut h = common::window::loaded(config, [560.0, 420.0]);
        let combo = h.get_by_role_and_label(Role::ComboBox, "Account").rect();
        assert!(
            combo.right() <= 560.0 && combo.width() >= 40.0,
            "{endpoint:?}: {combo:?}"
        );
        h.state_mut().shutdown();
    }
}
