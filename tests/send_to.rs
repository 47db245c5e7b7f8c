//! Send to GroupMe from the window, under egui_kittest (no display): the picker against the
//! scripted GroupMe API on 127.0.0.1 (which also plays GroupMe's Image Service, so a picture the
//! local service holds is uploaded to "GroupMe" first), the exact requests it makes, a Retry that
//! reuses its `source_guid`, and what the window says without a token.

mod common;

use common::window::wait_until;
use std::path::PathBuf;
use std::sync::Arc;

use common::dropped::Dropped;
use common::groupme_api::{Fault, GroupMeApi, body_json, path_and_query};
use common::{TestService, token};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use groupme_uploader::app::groupme::{DeliveryState, WhoAmI};
use groupme_uploader::app::{AppConfig, Tab, UploaderApp};
use groupme_uploader::history::{Entry, History};
use groupme_uploader::jobs::JobState;
use groupme_uploader::settings::{Dirs, EndpointChoice, Settings};

/// The local image service, the scripted GroupMe, and the app's directories.
struct World {
    runtime: tokio::runtime::Runtime,
    service: TestService,
    api: GroupMeApi,
    root: tempfile::TempDir,
    files: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let service = runtime.block_on(common::start_service());
        let api = runtime.block_on(GroupMeApi::start());
        World {
            runtime,
            service,
            api,
            root: tempfile::tempdir().expect("dir"),
            files: tempfile::tempdir().expect("dir"),
        }
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.files.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        path
    }

    /// The isolated app, GroupMe's endpoints on the scripted server; with `gm_token` it has
    /// the GroupMe token, and uploads still go to the local service (chosen in its settings).
    fn app(&self, gm_token: bool) -> Harness<'static, UploaderApp> {
        let dirs = Dirs::under(self.root.path());
        let settings = Settings {
            endpoint: Some(EndpointChoice::Local),
            ..Settings::default()
        };
        settings.save(&dirs.settings()).expect("settings");
        let mut config: AppConfig = common::isolated::app_config(
            self.root.path(),
            self.runtime.handle().clone(),
            &self.service.url(),
            token(),
            Arc::new(common::isolated::NoPicker),
        );
        config.environment.api_endpoint = self.api.url();
        config.environment.groupme_image_endpoint = self.api.url();
        if gm_token {
            config.environment.gm_token = Some(token());
        }
        common::window::loaded(config, [1000.0, 900.0])
    }
}

/// Drops `path` on the window and waits until its upload to the local service is done; returns
/// the URL the card shows.
fn upload(h: &mut Harness<'_, UploaderApp>, path: PathBuf) -> String {
    h.input_mut().dropped_files.push(Arc::new(Dropped(path)));
    h.step();
    wait_until(h, "the upload", |app| {
        app.work
            .queue
            .jobs()
            .iter()
            .any(|j| matches!(j.state, JobState::Done { .. }))
    });
    match &h.state().work.queue.jobs()[0].state {
        JobState::Done { url, .. } => url.to_string(),
        other => panic!("not done: {other:?}"),
    }
}

/// The one labelled text field.
fn type_into(h: &mut Harness<'_, UploaderApp>, label: &str, text: &str) {
    let field = h.get_by_label(label);
    field.focus();
    field.type_text(text);
    h.run_steps(2);
}

fn delivery_states(app: &UploaderApp) -> Vec<DeliveryState> {
    app.work
        .groupme
        .deliveries
        .iter()
        .map(|d| d.state.clone())
        .collect()
}

#[test]
fn the_picker_sends_a_local_picture_through_groupme_with_the_exact_request() {
    let world = World::new();
    let bytes = common::png(30, 20);
    let path = world.file("beach.png", &bytes);
    let mut h = world.app(true);
    let local_url = upload(&mut h, path);
    assert!(
        local_url.starts_with(&world.service.url()),
        "went to the local service: {local_url}"
    );

    h.get_by_label("More actions: beach.png").click();
    h.run_steps(2);
    h.get_by_label("Send to…").click();
    h.run_steps(2);
    wait_until(&mut h, "the places", |app| {
        app.work.groupme.places.places().is_some()
    });
    h.get_by_label("Family (group)");
    h.get_by_label("Alice (direct chat)");
    h.get_by_label("Weather (bot)");
    h.get_by_label_contains("uploading to GroupMe first");

    type_into(&mut h, "Search", "CLIMB");
    assert!(h.query_by_label("Family (group)").is_none(), "filtered out");
    assert!(h.query_by_label("Alice (direct chat)").is_none());
    h.get_by_label("Climbing (group)").click();
    h.run_steps(2);
    type_into(&mut h, "Message (optional)", "at the beach");
    h.get_by_label(&format!("{} / 1000", "at the beach".len()));
    h.get_by_label("Send").click();
    h.run_steps(2);
    wait_until(&mut h, "the send", |app| {
        matches!(
            delivery_states(app).as_slice(),
            [DeliveryState::Sent { again: false }]
        )
    });

    // The picture went to "GroupMe's" Image Service from its file, then into the message.
    let uploads = world.api.state.lock().expect("lock").uploads.clone();
    assert_eq!(uploads.len(), 1, "uploaded to GroupMe once");
    assert_eq!(uploads[0].0, bytes, "the file's bytes");
    let groupme_url = uploads[0].1.clone();
    let sends: Vec<_> = world
        .api
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && path_and_query(r).0 != "/pictures")
        .collect();
    assert_eq!(sends.len(), 1);
    assert_eq!(path_and_query(&sends[0]).0, "/groups/222/messages");
    let body = body_json(&sends[0]);
    let guid = body["message"]["source_guid"].as_str().expect("guid");
    assert_eq!(guid.len(), 32);
    assert_eq!(
        body,
        serde_json::json!({"message": {"source_guid": guid, "text": "at the beach",
            "attachments": [{"type": "image", "url": groupme_url}]}})
    );
    assert_eq!(sends[0].header("x-access-token"), Some(common::TOKEN));
    world.api.assert_no_token_in_urls();
    let posted = world.api.posted();
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].picture_url, groupme_url);

    // The card says where it went; the picker closed; the places are cached on disk, in the
    // cache of the account whose token asked (here GM_TOKEN's, the account "environment").
    h.get_by_label_contains("sent to Climbing (group) at");
    assert!(h.query_by_label("Search").is_none(), "the picker closed");
    let cache = Dirs::under(world.root.path())
        .data
        .join("groupme-places-environment.json");
    let cached = std::fs::read_to_string(cache).expect("cache");
    assert!(cached.contains("Climbing") && cached.contains("b0tabc123"));
}

#[test]
fn without_a_token_send_says_how_to_add_one() {
    let world = World::new();
    let path = world.file("a.png", &common::png(8, 8));
    let mut h = world.app(false);
    upload(&mut h, path);
    h.get_by_label("More actions: a.png").click();
    h.run_steps(2);
    h.get_by_label("Send to…").click();
    wait_until(&mut h, "the picker", |app| app.view.send.is_some());
    h.get_by_label_contains("add it in Settings");
    h.get_by_label("Open Settings").click();
    h.run_steps(2);
    assert_eq!(h.state().view.tab, Tab::Settings);
    assert!(h.state().view.send.is_none(), "the picker closed");
    assert!(world.api.requests().is_empty(), "nothing asked of GroupMe");
}

/// A history entry already on GroupMe's CDN (sent as it is, nothing uploaded first).
const ON_CDN: &str = "https://i.groupme.com/4x3.png.0123456789abcdef0123456789abcdef";

/// Writes one history entry on GroupMe's CDN before the app starts.
fn history_with_cdn_entry(world: &World) {
    let dirs = Dirs::under(world.root.path());
    let mut history = History::load(&dirs.history()).expect("history");
    history
        .add(Entry {
            name: "cdn.png".into(),
            url: ON_CDN.into(),
            endpoint: "https://image.groupme.com".into(),
            hash: None,
            width: Some(4),
            height: Some(3),
            format: None,
            size: None,
            uploaded_at: 1,
            account: String::new(),
        })
        .expect("add");
}

/// Opens the picker from the first "Send to…" and picks `place`.
fn pick(h: &mut Harness<'_, UploaderApp>, send_to: &str, place: &str) {
    h.get_by_label(send_to).click();
    h.run_steps(2);
    wait_until(h, "the places", |app| {
        app.work.groupme.places.places().is_some()
    });
    h.get_by_label(place).click();
    h.run_steps(2);
}

#[test]
fn a_failed_send_from_history_is_retried_with_the_same_source_guid() {
    let world = World::new();
    history_with_cdn_entry(&world);
    let mut h = world.app(true);
    h.get_by_label("History (1)").click();
    h.run_steps(2);
    pick(&mut h, "Send to…", "Family (group)");
    // Every attempt reaches GroupMe and is answered 500 (the app makes 4).
    world.api.fail_next([
        Fault::FailAfterActing,
        Fault::FailAfterActing,
        Fault::FailAfterActing,
        Fault::FailAfterActing,
    ]);
    h.get_by_label("Send").click();
    wait_until(&mut h, "the failure", |app| {
        matches!(delivery_states(app).as_slice(), [DeliveryState::Failed(_)])
    });
    h.get_by_label_contains("Family (group): failed at");
    h.get_by_label("Retry").click();
    wait_until(&mut h, "the retry", |app| {
        matches!(
            delivery_states(app).as_slice(),
            [DeliveryState::Sent { again: true }]
        )
    });
    h.get_by_label_contains("sent to Family (group) at");
    let guids: Vec<String> = world
        .api
        .requests()
        .iter()
        .filter(|r| path_and_query(r).0 == "/groups/111/messages")
        .map(|r| {
            body_json(r)["message"]["source_guid"]
                .as_str()
                .expect("guid")
                .to_owned()
        })
        .collect();
    assert_eq!(guids.len(), 5, "4 attempts, then the Retry");
    assert!(guids.iter().all(|g| *g == guids[0]), "{guids:?}");
    let posted = world.api.posted();
    assert_eq!(posted.len(), 1, "posted once");
    assert_eq!(posted[0].picture_url, ON_CDN, "sent as it is");
    assert!(world.api.state.lock().expect("lock").uploads.is_empty());
}

#[test]
fn set_as_my_avatar_and_who_i_am_in_settings() {
    let world = World::new();
    history_with_cdn_entry(&world);
    let mut h = world.app(true);
    h.get_by_label("Settings").click();
    wait_until(&mut h, "who I am", |app| {
        app.work.groupme.me == WhoAmI::Name("Test User".into())
    });
    h.get_by_label("GroupMe user: Test User");
    let me = world.api.requests();
    assert_eq!(path_and_query(&me[0]).0, "/users/me");
    assert_eq!(me[0].header("x-access-token"), Some(common::TOKEN));

    h.get_by_label("History (1)").click();
    h.run_steps(2);
    h.get_by_label("Set as my avatar").click();
    wait_until(&mut h, "the avatar", |app| {
        matches!(
            delivery_states(app).as_slice(),
            [DeliveryState::Sent { .. }]
        )
    });
    h.get_by_label_contains("set as your avatar at");
    let avatar = world.api.state.lock().expect("lock").avatar_url.clone();
    assert_eq!(avatar.as_deref(), Some(ON_CDN));
    world.api.assert_no_token_in_urls();
}

#[test]
fn several_selected_pictures_go_as_one_message_each_the_text_with_the_first() {
    let world = World::new();
    history_with_cdn_entry(&world);
    let path = world.file("local.png", &common::png(12, 9));
    let mut h = world.app(true);
    let local_url = upload(&mut h, path);
    // Picked in this order: the card's picture, then the history entry's.
    h.get_by_label("Show details: local.png").click();
    h.run_steps(2);
    h.get_by_label("Select").click();
    h.run_steps(2);
    h.get_by_label("History (2)").click();
    h.run_steps(2);
    // Newest first: the card's picture (already ticked), then the entry on the CDN.
    h.get_all_by_label("Select")
        .nth(1)
        .expect("the entry on the CDN")
        .click();
    h.run_steps(2);
    assert_eq!(
        h.state().view.selected,
        vec![local_url.clone(), ON_CDN.to_owned()]
    );
    pick(&mut h, "Send 2 to…", "Alice (direct chat)");
    type_into(&mut h, "Message (optional)", "two pictures");
    h.get_by_label("Send").click();
    wait_until(&mut h, "both sends", |app| {
        delivery_states(app)
            .iter()
            .filter(|s| matches!(s, DeliveryState::Sent { .. }))
            .count()
            == 2
    });
    assert!(
        h.state().view.selected.is_empty(),
        "the selection is cleared"
    );
    let uploads = world.api.state.lock().expect("lock").uploads.clone();
    assert_eq!(uploads.len(), 1, "only the local picture is uploaded first");
    let posted = world.api.posted();
    assert_eq!(posted.len(), 2);
    assert_eq!(
        (
            posted[0].kind,
            posted[0].to.as_str(),
            posted[0].text.as_str()
        ),
        ("dm", "7001", "two pictures")
    );
    assert_eq!(
        posted[0].picture_url, uploads[0].1,
        "the first picked, uploaded, first"
    );
    assert_eq!(
        (posted[1].text.as_str(), posted[1].picture_url.as_str()),
        ("", ON_CDN)
    );
}
