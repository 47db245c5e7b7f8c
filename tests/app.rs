//! The whole app under egui_kittest (no display), against the local service on 127.0.0.1.

mod common;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::dropped::Dropped;
use common::window::{Copied, wait_until};
use common::{TOKEN, TestService, token};
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use groupme_uploader::app::worker::{ClipboardContent, ClipboardReader, FilePicker, NoDialog};
use groupme_uploader::app::{Action, AppConfig, UploaderApp};
use groupme_uploader::history::History;
use groupme_uploader::jobs::JobState;
use groupme_uploader::settings::Dirs;
use groupme_uploader::settings::Settings;
use groupme_uploader::token::Token;
use groupme_uploader::token_store::{Keyring, SystemKeyring, TokenSource};

/// Returns the given paths instead of opening a dialog.
struct FakePicker(Vec<PathBuf>);

impl FilePicker for FakePicker {
    fn pick(&self) -> futures_util::future::BoxFuture<'static, Result<Vec<PathBuf>, NoDialog>> {
        let paths = self.0.clone();
        Box::pin(async move { Ok(paths) })
    }
}

struct World {
    runtime: tokio::runtime::Runtime,
    service: TestService,
    root: tempfile::TempDir,
    files: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let service = runtime.block_on(common::start_service());
        World {
            runtime,
            service,
            root: tempfile::tempdir().expect("dir"),
            files: tempfile::tempdir().expect("dir"),
        }
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.files.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        path
    }

    fn app(
        &self,
        picker: Vec<PathBuf>,
        initial: Vec<String>,
    ) -> (Harness<'static, UploaderApp>, Copied) {
        self.app_with_url(&self.service.url(), picker, initial)
    }

    /// The app for the service at `url`, once it has read its settings, token and history.
    fn app_with_url(
        &self,
        url: &str,
        picker: Vec<PathBuf>,
        initial: Vec<String>,
    ) -> (Harness<'static, UploaderApp>, Copied) {
        let mut config = self.config(url);
        config.picker = Arc::new(FakePicker(picker));
        config.initial = initial;
        let (mut harness, copied) = build(config);
        wait_until(&mut harness, "the app to load", UploaderApp::is_loaded);
        (harness, copied)
    }

    /// The isolated config for the service at `url`.
    fn config(&self, url: &str) -> AppConfig {
        common::isolated::app_config(
            self.root.path(),
            self.runtime.handle().clone(),
            url,
            token(),
            Arc::new(FakePicker(Vec::new())),
        )
    }
}

/// The app under kittest, recording what it copies; its first frame is drawn.
fn build(config: AppConfig) -> (Harness<'static, UploaderApp>, Copied) {
    common::window::build_copying(config, [1000.0, 900.0])
}

/// The queued items' names, in queue order.
fn job_names(app: &UploaderApp) -> Vec<String> {
    app.work
        .queue
        .jobs()
        .iter()
        .map(|j| j.source.display_name())
        .collect()
}

fn states(app: &UploaderApp) -> Vec<JobState> {
    app.work
        .queue
        .jobs()
        .iter()
        .map(|j| j.state.clone())
        .collect()
}

fn all_done(app: &UploaderApp, n: usize) -> bool {
    app.work.queue.jobs().len() == n
        && app
            .work
            .queue
            .jobs()
            .iter()
            .all(|j| matches!(j.state, JobState::Done { .. }))
}

fn drop_files(h: &mut Harness<'_, UploaderApp>, paths: &[PathBuf]) {
    for p in paths {
        h.input_mut()
            .dropped_files
            .push(Arc::new(Dropped(p.clone())));
    }
    h.step();
}

#[test]
fn drop_two_files_see_urls_and_copy() {
    let world = World::new();
    let a = world.file("first.png", &common::png(120, 80));
    let b = world.file("second.jpg", &common::jpeg(300, 200));
    let (mut h, copied) = world.app(vec![], vec![]);
    h.run_steps(2);
    h.get_by_label_contains("Local service — not GroupMe");
    for path in [&a, &b] {
        h.input_mut().hovered_files.push(egui::HoveredFile {
            path: Some(path.clone()),
            mime: String::new(),
        });
    }
    h.run_steps(2);
    // The overlay says how many will be added.
    // Folders are expanded after the drop: what hovers is counted as what it is.
    h.get_by_label("Drop to add 2 files and folders");
    h.input_mut().hovered_files.truncate(1);
    h.run_steps(2);
    h.get_by_label("Drop to add 1 file or folder");
    h.input_mut().hovered_files.clear();
    h.run_steps(2);
    assert!(h.query_by_label("Drop to add 1 file or folder").is_none());
    drop_files(&mut h, &[a, b]);
    wait_until(&mut h, "both uploads", |app| all_done(app, 2));
    // The URL is shown, and Copy copies exactly it.
    let url = match &h.state().work.queue.jobs()[0].state {
        JobState::Done { url, .. } => url.to_string(),
        other => panic!("{other:?}"),
    };
    assert!(url.starts_with(&world.service.url()));
    h.get_by_label(&url);
    h.get_all_by_label("Copy URL")
        .next()
        .expect("copy button")
        .click();
    h.run_steps(2);
    let copied = copied.texts();
    assert_eq!(copied.len(), 1);
    assert!(copied[0].starts_with(&world.service.url()), "{copied:?}");
    // Both are in the history, with their sizes.
    assert_eq!(h.state().work.history.len(), 2);
    assert!(
        h.state()
            .work
            .history
            .iter()
            .any(|e| e.width == Some(300) && e.height == Some(200))
    );
}

/// A web server on 127.0.0.1 serving a 40x20 PNG; its URL.
fn origin(world: &World) -> String {
    world.runtime.block_on(async {
        let png = common::png(40, 20);
        let app = axum::Router::new().route(
            "/pic.png",
            axum::routing::get(move || async move { png.clone() }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        format!("http://{addr}/pic.png")
    })
}

#[test]
fn paste_a_url_and_see_it_mirrored() {
    let world = World::new();
    let origin = origin(&world);
    let (mut h, _) = world.app(vec![], vec![]);
    h.run_steps(2);
    h.input_mut()
        .events
        .push(egui::Event::Paste(origin.clone()));
    h.step();
    wait_until(&mut h, "the paste confirmation", |app| {
        !app.work.pending_paste.is_empty()
    });
    h.get_by_label("Upload").click();
    h.run_steps(2);
    wait_until(&mut h, "the mirror", |app| all_done(app, 1));
    let JobState::Done { url, .. } = &h.state().work.queue.jobs()[0].state else {
        panic!("not done");
    };
    assert_eq!(url.dimensions(), Some((40, 20)));
}

#[test]
fn a_text_file_named_jpg_gets_a_clear_error() {
    let world = World::new();
    let fake = world.file("holiday.jpg", b"this is only text");
    let (mut h, _) = world.app(vec![fake], vec![]);
    h.run_steps(2);
    h.get_by_label("Add images…").click();
    h.run_steps(2);
    wait_until(&mut h, "the failure", |app| {
        states(app)
            .iter()
            .any(|s| matches!(s, JobState::Failed { .. }))
    });
    // Plain words, without the path the card's name already gives, and no Retry: the same
    // bytes would fail the same way.
    h.get_by_label("Failed: this is not a picture (JPEG, PNG, GIF or WebP are accepted)");
    assert!(h.query_by_label("Retry").is_none());
    let dir = world.files.path().to_string_lossy().into_owned();
    assert!(
        h.query_by_label_contains(&dir).is_none(),
        "no path on the card"
    );
}

#[test]
fn a_damaged_photo_says_so_plainly_and_clear_failed_removes_it() {
    let world = World::new();
    let whole = common::jpeg(64, 48);
    let cut = world.file("cut.jpg", &whole[..120]);
    let good = world.file("good.png", &common::png(20, 20));
    let (mut h, _) = world.app(vec![], vec![]);
    drop_files(&mut h, &[cut, good]);
    wait_until(&mut h, "both to finish", |app| {
        let s = states(app);
        s.len() == 2 && s.iter().all(JobState::is_finished)
    });
    h.run_steps(2);
    h.get_by_label("Failed: this file is damaged: the JPEG ends early");
    assert!(
        h.query_by_label("Retry").is_none(),
        "Retry cannot mend a damaged file"
    );
    assert_eq!(h.query_all_by_label_contains("Failed:").count(), 1);
    h.get_by_label("Clear failed").click();
    h.run_steps(2);
    assert_eq!(job_names(h.state()), ["good.png"]);
    assert!(
        h.query_by_label("Clear failed").is_none(),
        "nothing failed any more"
    );
}

#[test]
fn a_failed_upload_can_be_retried() {
    let world = World::new();
    let file = world.file("later.png", &common::png(30, 30));
    // Nothing listens at first: the upload fails after its attempts.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let (mut h, _) = world.app_with_url(&format!("http://{addr}"), vec![], vec![]);
    h.state_mut().settings.max_attempts = 1;
    drop_files(&mut h, std::slice::from_ref(&file));
    wait_until(&mut h, "the failure", |app| {
        matches!(states(app).first(), Some(JobState::Failed { .. }))
    });
    h.get_by_label_contains("cannot reach");
    assert!(
        matches!(
            states(h.state()).first(),
            Some(JobState::Failed {
                retry_helps: true,
                ..
            })
        ),
        "a network failure keeps Retry"
    );
    // The service comes up on that address; Retry succeeds.
    let service = world.runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("rebind");
        let dir = tempfile::tempdir().expect("dir");
        let state = groupme_uploader::service::ServiceState::new(
            common::config_for(addr),
            groupme_uploader::service::Store::local(dir.path()).expect("store"),
        )
        .expect("state");
        (
            groupme_uploader::service::start(listener, state).expect("start"),
            dir,
        )
    });
    h.get_by_label("Retry").click();
    h.run_steps(2);
    wait_until(&mut h, "the retry", |app| all_done(app, 1));
    drop(service);
}

#[test]
fn cancel_an_upload() {
    let world = World::new();
    // A server that accepts and never answers keeps the upload in flight.
    let server = world
        .runtime
        .block_on(common::Scripted::start(vec![common::Reply::StallMidBody]));
    let big = world.file("big.png", &common::png(2500, 2500));
    let (mut h, _) = world.app_with_url(&server.url(), vec![], vec![]);
    drop_files(&mut h, &[big]);
    wait_until(&mut h, "the upload to start", |app| {
        app.work.queue.running() == 1
    });
    h.get_by_label("Cancel").click();
    h.run_steps(2);
    assert_eq!(states(h.state()), vec![JobState::Cancelled]);
    h.get_by_label("Cancelled");
}

#[test]
fn history_survives_a_restart_and_duplicates_are_reused() {
    let world = World::new();
    let file = world.file("keep.gif", &common::gif(50, 40, 3));
    let first_url;
    {
        let (mut h, _) = world.app(vec![], vec![file.to_string_lossy().into_owned()]);
        wait_until(&mut h, "the upload", |app| all_done(app, 1));
        first_url = h.state().work.history[0].url.clone();
        // Closing the window writes what the history writer holds.
        h.state_mut().shutdown();
    }
    let (mut h, _) = world.app(vec![], vec![]);
    h.run_steps(2);
    assert_eq!(h.state().work.history.len(), 1);
    h.get_by_label("History (1)").click();
    h.run_steps(2);
    h.get_by_label(&first_url);
    // The same bytes again: the existing URL comes back without a second upload.
    drop_files(&mut h, &[file]);
    wait_until(&mut h, "the reuse", |app| all_done(app, 1));
    let JobState::Done { url, reused } = &h.state().work.queue.jobs()[0].state else {
        panic!("not done");
    };
    assert!(*reused);
    assert_eq!(url.to_string(), first_url);
    assert_eq!(h.state().work.history.len(), 1, "no second history entry");
}

#[test]
fn the_token_is_masked_in_settings() {
    let world = World::new();
    let (mut h, _) = world.app(vec![], vec![]);
    h.run_steps(2);
    h.get_by_label("Settings").click();
    h.run_steps(2);
    h.get_by_label_contains("No token");
    let field = h.get_by_label("New token");
    field.focus();
    field.type_text("my-secret-token-1234");
    h.run_steps(2);
    h.get_by_label("Save token").click();
    h.run_steps(2);
    wait_until(&mut h, "the token to be saved", |app| {
        matches!(
            app.work.token_source,
            groupme_uploader::token_store::TokenSource::File(_)
        )
    });
    h.get_by_label_contains("••••••••1234");
    assert!(h.query_by_label_contains("my-secret-token").is_none());
    let _ = TOKEN;
}

#[test]
fn metadata_is_removed_before_upload() {
    let world = World::new();
    let original = std::fs::read("tests/corpus/jpg/exif-xmp-metadata.jpg").expect("corpus");
    let file = world.file("with-metadata.jpg", &original);
    let (mut h, _) = world.app(vec![], vec![]);
    drop_files(&mut h, &[file]);
    wait_until(&mut h, "the upload", |app| all_done(app, 1));
    let JobState::Done { url, .. } = &h.state().work.queue.jobs()[0].state else {
        panic!("not done");
    };
    let served = world.runtime.block_on(async {
        reqwest::get(url.to_string())
            .await
            .expect("get")
            .bytes()
            .await
            .expect("body")
    });
    let has = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    assert!(has(&original, b"http://ns.adobe.com/xap/1.0/"));
    assert!(
        !has(&served, b"http://ns.adobe.com/xap/1.0/"),
        "XMP removed"
    );
    let pixels = |b: &[u8]| {
        image::load_from_memory(b)
            .expect("decode")
            .into_rgb8()
            .into_raw()
    };
    assert_eq!(pixels(&served), pixels(&original), "pixels untouched");
}

#[test]
fn a_damaged_history_still_opens_with_a_warning() {
    let world = World::new();
    let dirs = Dirs::under(world.root.path());
    std::fs::create_dir_all(&dirs.data).expect("mkdir");
    let good = r#"{"name":"kept.png","url":"http://127.0.0.1:1/1x1.png.0123456789abcdef0123456789abcdef","endpoint":"http://127.0.0.1:1","uploaded_at":1}"#;
    // A crash cut the last write short.
    std::fs::write(
        dirs.history(),
        format!("{good}\n{{\"name\":\"lost.png\",\"ur"),
    )
    .expect("write");
    let (mut h, _) = world.app(vec![], vec![]);
    h.run_steps(2);
    assert_eq!(h.state().work.history.len(), 1);
    h.get_by_label_contains("damaged history line(s) were skipped");
    h.get_by_label("History (1)").click();
    h.run_steps(2);
    h.get_by_label("kept.png");
}

/// A PNG with a location in a text chunk whose checksum is wrong: decoders skip the chunk, the
/// metadata stripper refuses the file.
fn png_with_unremovable_location() -> Vec<u8> {
    let png = common::png(60, 40);
    let text = b"tEXtComment\0GPS 52.3731N 4.8922E";
    let mut chunk = ((text.len() - 4) as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(text);
    chunk.extend_from_slice(&(common::crc32(text) ^ 1).to_be_bytes());
    // After the signature (8) and IHDR (25).
    let mut out = png[..33].to_vec();
    out.extend_from_slice(&chunk);
    out.extend_from_slice(&png[33..]);
    out
}

#[test]
fn metadata_that_cannot_be_removed_is_not_sent_until_the_person_says_so() {
    let world = World::new();
    let original = png_with_unremovable_location();
    assert!(groupme_uploader::metadata::strip(&original).is_err());
    let file = world.file("location.png", &original);
    let (mut h, _) = world.app(vec![], vec![]);
    drop_files(&mut h, &[file]);
    wait_until(&mut h, "the failure", |app| {
        matches!(states(app).first(), Some(JobState::Failed { .. }))
    });
    assert_eq!(
        states(h.state()),
        vec![JobState::Failed {
            reason: "couldn't remove location data from this file".into(),
            retry_helps: false,
            can_upload_unchanged: true,
        }]
    );
    h.get_by_label("Failed: couldn't remove location data from this file");
    assert!(
        common::files_under(world.service.dir.path()).is_empty(),
        "nothing reached the service"
    );
    assert!(h.state().work.history.is_empty());
    h.get_by_label("Upload unchanged").click();
    h.run_steps(2);
    wait_until(&mut h, "the unchanged upload", |app| all_done(app, 1));
    let JobState::Done { url, .. } = &h.state().work.queue.jobs()[0].state else {
        panic!("not done");
    };
    let (status, served, _) = world.runtime.block_on(common::get_bytes(&url.to_string()));
    assert_eq!(status, 200);
    assert_eq!(served, original, "sent byte for byte, as asked");
}

/// Uploads one file through the app, built by the isolation helper, and checks that it went to
/// the local service. Run alone it is one more upload test; the guard below runs it again in a
/// child process whose environment holds a token and proxies.
#[test]
fn an_isolated_app_uploads_to_the_local_service() {
    let world = World::new();
    let file = world.file("isolated.png", &common::png(32, 24));
    let (mut h, _) = world.app(vec![], vec![]);
    h.run_steps(2);
    assert!(
        h.state().work.token.is_none(),
        "no GM_TOKEN reached the app"
    );
    h.get_by_label_contains("Local service — not GroupMe");
    drop_files(&mut h, &[file]);
    wait_until(&mut h, "the upload", |app| all_done(app, 1));
    let JobState::Done { url, .. } = &h.state().work.queue.jobs()[0].state else {
        panic!("not done");
    };
    assert!(
        url.to_string()
            .starts_with(&format!("{}/", world.service.url())),
        "{url}"
    );
    let (status, served, _) = world.runtime.block_on(common::get_bytes(&url.to_string()));
    assert_eq!(status, 200);
    assert_eq!(served, common::png(32, 24));
    // The guard reads this line to know the child really ran the upload.
    println!("isolated upload stored at {url}");
}

/// The guard against reaching the real GroupMe: a bogus `GM_TOKEN` plus `HTTPS_PROXY` and
/// `HTTP_PROXY` at a listener that counts connections. An app that read either would send its
/// upload (to image.groupme.com, or to the local service) through the listener. Environment
/// variables are process-wide, so the upload runs in a child process of this test binary.
#[test]
fn a_token_and_proxies_in_the_environment_never_reach_the_app() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let proxy = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let counted = connections.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                // Closed at once: a client that came here fails fast instead of hanging.
                drop(stream);
            }
        });
        format!("http://{addr}")
    });
    let root = tempfile::tempdir().expect("dir");
    let exe = std::env::current_exe().expect("test binary");
    let mut child = common::isolated::command(&exe, root.path());
    child
        .env("GM_TOKEN", "bogus-token-from-the-environment-0000")
        .env("GM_ENDPOINT", "https://image.groupme.com");
    for key in [
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "ALL_PROXY",
        "https_proxy",
        "http_proxy",
        "all_proxy",
    ] {
        child.env(key, &proxy);
    }
    let stdout = run_one_test(child, "an_isolated_app_uploads_to_the_local_service", &[]);
    assert!(
        stdout.contains("isolated upload stored at http://127.0.0.1:"),
        "the child ran the upload: {stdout}"
    );
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing went through the proxy"
    );
}

#[test]
fn a_paste_is_acted_on_once_even_when_logic_runs_again() {
    let world = World::new();
    let origin = origin(&world);
    let (mut h, _) = world.app(vec![], vec![]);
    h.run_steps(2);
    h.input_mut().events.push(egui::Event::Paste(origin));
    h.step();
    // What eframe does while the window is hidden: `logic` again, with the input of the last
    // shown frame (the paste included, unless the app took it).
    let ctx = h.ctx.clone();
    for _ in 0..3 {
        let _output = ctx.run_logic(&egui::RawInput::default(), |ctx| h.state_mut().logic(ctx));
    }
    assert!(
        ctx.input(|i| !i.events.iter().any(|e| matches!(e, egui::Event::Paste(_)))),
        "the paste was taken out of the input"
    );
    wait_until(&mut h, "the paste confirmation", |app| {
        !app.work.pending_paste.is_empty()
    });
    assert_eq!(h.state().work.pending_paste.len(), 1);
    h.get_by_label("Upload 1 pasted item? Uploaded images are public to anyone with the link.");
    h.get_by_label("Upload").click();
    h.run_steps(2);
    wait_until(&mut h, "the mirror", |app| all_done(app, 1));
    assert_eq!(h.state().work.queue.jobs().len(), 1, "one paste, one job");
    assert!(
        h.state().work.pending_paste.is_empty(),
        "no second paste came"
    );
}

#[test]
fn rapid_settings_changes_end_with_the_last_one_on_disk() {
    let world = World::new();
    let (mut h, _) = world.app(vec![], vec![]);
    let ctx = h.ctx.clone();
    let path = Dirs::under(world.root.path()).settings();
    // A slider dragged back and forth: one change per frame.
    let mut last = Settings::default();
    for i in 0..200 {
        let app = h.state_mut();
        app.settings.concurrency = i % 8 + 1;
        app.settings.max_attempts = (i % 5 + 1) as u32;
        app.settings.auto_copy = i % 2 == 0;
        last = app.settings.clone();
        app.apply(&ctx, Action::SettingsChanged);
    }
    assert_eq!(last.concurrency, 8);
    // Written without closing, once the changes stop.
    let deadline = Instant::now() + Duration::from_secs(30);
    while Settings::load(&path) != last {
        assert!(
            Instant::now() < deadline,
            "the last settings never reached the disk"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Closing right after a change writes it too.
    let app = h.state_mut();
    app.settings.concurrency = 2;
    app.settings.copy_format = groupme_uploader::snippet::Snippet::Markdown;
    let closed_with = app.settings.clone();
    app.apply(&ctx, Action::SettingsChanged);
    app.shutdown();
    assert_eq!(Settings::load(&path), closed_with);
    // And a restart reads it.
    let (h, _) = world.app(vec![], vec![]);
    assert_eq!(h.state().settings, closed_with);
}

#[test]
fn closing_records_the_last_upload_and_cancels_the_rest() {
    let world = World::new();
    let file = world.file("last.png", &common::png(50, 30));
    let (mut h, _) = world.app(vec![], vec![]);
    drop_files(&mut h, &[file]);
    wait_until(&mut h, "the upload", |app| all_done(app, 1));
    let url = h.state().work.history[0].url.clone();
    // The window closes right away: the entry queued for the history writer is on disk once
    // closing returns.
    h.state_mut().shutdown();
    let history = History::load(&Dirs::under(world.root.path()).history()).expect("history");
    let urls: Vec<&str> = history.entries().iter().map(|e| e.url.as_str()).collect();
    assert_eq!(urls, [url.as_str()]);

    // An upload in flight when the window closes is cancelled, and closing does not hang.
    let server = world
        .runtime
        .block_on(common::Scripted::start(vec![common::Reply::StallMidBody]));
    let big = world.file("big.png", &common::png(2500, 2500));
    let (mut h, _) = world.app_with_url(&server.url(), vec![], vec![]);
    drop_files(&mut h, &[big]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.requests().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the upload never reached the server"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    let started = Instant::now();
    h.state_mut().shutdown();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "closing waited {:?}",
        started.elapsed()
    );
    assert_eq!(states(h.state()), vec![JobState::Cancelled]);
}

/// A keyring that answers only when the test says so, as one waiting on a password prompt.
struct SlowKeyring {
    asked: Mutex<std::sync::mpsc::Sender<()>>,
    answer: Mutex<std::sync::mpsc::Receiver<()>>,
}

impl Keyring for SlowKeyring {
    fn get(&self) -> Result<Option<Token>, String> {
        self.asked.lock().expect("lock").send(()).ok();
        self.answer
            .lock()
            .expect("lock")
            .recv()
            .map_err(|e| e.to_string())?;
        Ok(Token::new("keyring-token-5678"))
    }
    fn set(&self, _token: Option<&Token>) -> Result<(), String> {
        Ok(())
    }
}

#[test]
fn the_first_frame_does_not_wait_for_the_keyring() {
    let world = World::new();
    let (asked_tx, asked) = std::sync::mpsc::channel();
    let (answer, answer_rx) = std::sync::mpsc::channel();
    let mut config = world.config(&world.service.url());
    config.environment.keyring = Some(Arc::new(SlowKeyring {
        asked: Mutex::new(asked_tx),
        answer: Mutex::new(answer_rx),
    }));
    let (mut h, _) = build(config);
    h.step();
    // The keyring was asked and has not answered, yet the window is drawn, saying it loads.
    asked
        .recv_timeout(Duration::from_secs(10))
        .expect("the keyring was asked");
    assert!(h.state().work.loading.token);
    assert!(h.state().work.token.is_none());
    h.get_by_label("Loading settings and token…");
    assert!(h.query_by_label_contains("Local service").is_none());
    answer.send(()).expect("answer");
    wait_until(&mut h, "the token", UploaderApp::is_loaded);
    assert_eq!(h.state().work.token_source, TokenSource::Keyring);
    assert_eq!(
        h.state().work.token.as_ref().map(Token::expose),
        Some("keyring-token-5678")
    );
    h.get_by_label("GroupMe");
}

/// The finished URL of the job at `index` in the queue.
fn done_url(app: &UploaderApp, index: usize) -> groupme_uploader::cdn_url::CdnUrl {
    match &app.work.queue.jobs()[index].state {
        JobState::Done { url, .. } => url.clone(),
        other => panic!("not done: {other:?}"),
    }
}

/// What the app has copied so far.
fn copies(copied: &Copied) -> Vec<String> {
    copied.texts()
}

/// Opens Settings and clicks the checkbox labelled `label`; back to the queue.
fn click_setting(h: &mut Harness<'_, UploaderApp>, label: &str) {
    h.get_by_label("Settings").click();
    h.run_steps(2);
    h.get_by_label(label).click();
    h.run_steps(2);
    h.get_by_label("Queue").click();
    h.run_steps(2);
}

const CONFIRM_PASTE: &str = "Ask before uploading pasted content (uploads are public)";
const AUTO_COPY: &str = "Copy the links when a batch of uploads finishes";

#[test]
fn a_pasted_bitmap_is_uploaded_as_png_with_the_same_pixels() {
    let world = World::new();
    let (mut h, _) = world.app(vec![], vec![]);
    h.run_steps(2);
    // What the window hands over for Ctrl+V of a copied bitmap: opaque pixels, all different.
    let (w, hgt) = (37usize, 23usize);
    let pixels: Vec<egui::Color32> = (0..w * hgt)
        .map(|i| egui::Color32::from_rgb((i * 7) as u8, (i / 3) as u8, (255 - i % 256) as u8))
        .collect();
    let image = egui::ColorImage::new([w, hgt], pixels.clone());
    h.input_mut()
        .events
        .push(egui::Event::PasteImage(Arc::new(image)));
    h.step();
    wait_until(&mut h, "the paste confirmation", |app| {
        !app.work.pending_paste.is_empty()
    });
    h.get_by_label("Upload 1 pasted item? Uploaded images are public to anyone with the link.");
    h.get_by_label("Upload").click();
    h.run_steps(2);
    wait_until(&mut h, "the upload", |app| all_done(app, 1));
    let name = h.state().work.queue.jobs()[0].source.display_name();
    assert!(
        name.starts_with("pasted-") && name.ends_with(".png"),
        "{name}"
    );
    let url = done_url(h.state(), 0);
    assert_eq!(url.dimensions(), Some((37, 23)));
    assert_eq!(url.format(), Some(groupme_uploader::cdn_url::Format::Png));
    let (status, served, _) = world.runtime.block_on(common::get_bytes(&url.to_string()));
    assert_eq!(status, 200);
    assert_eq!(
        image::guess_format(&served).expect("format"),
        image::ImageFormat::Png
    );
    let stored = image::load_from_memory(&served)
        .expect("decode")
        .into_rgba8();
    let expected: Vec<u8> = pixels.iter().flat_map(|c| c.to_array()).collect();
    assert_eq!(stored.dimensions(), (37, 23));
    assert_eq!(
        stored.into_raw(),
        expected,
        "the stored pixels are the pasted ones"
    );
}

#[test]
fn ctrl_v_of_copied_files_uploads_them_and_without_confirmation_asks_nothing() {
    let world = World::new();
    let png = world.file("copied one.png", &common::png(30, 20));
    let gif_bytes = common::gif(24, 16, 3);
    let gif = world.file("moving.gif", &gif_bytes);
    let (mut h, _) = world.app(vec![], vec![]);
    h.run_steps(2);
    assert!(h.state().settings.confirm_paste, "on by default");
    click_setting(&mut h, CONFIRM_PASTE);
    assert!(!h.state().settings.confirm_paste);
    // Ctrl+V of a file manager's copy: egui-winit pastes its text, one file:// URI a line.
    let uris = [&png, &gif]
        .map(|p| url::Url::from_file_path(p).expect("uri").to_string())
        .join("\r\n");
    assert!(uris.contains("copied%20one.png"), "{uris}");
    h.input_mut().events.push(egui::Event::Paste(uris));
    h.step();
    wait_until(&mut h, "the uploads", |app| {
        assert!(app.work.pending_paste.is_empty(), "no confirmation asked");
        all_done(app, 2)
    });
    let names = job_names(h.state());
    assert_eq!(names, ["copied one.png", "moving.gif"]);
    let (_, served, _) = world
        .runtime
        .block_on(common::get_bytes(&done_url(h.state(), 1).to_string()));
    assert_eq!(common::gif_frames(&served), 3, "the GIF stays animated");
}

#[test]
fn ctrl_o_opens_the_picker() {
    let world = World::new();
    let file = world.file("picked.jpg", &common::jpeg(64, 48));
    let (mut h, _) = world.app(vec![file], vec![]);
    h.run_steps(2);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::O);
    h.step();
    wait_until(&mut h, "the picked file's upload", |app| all_done(app, 1));
    assert_eq!(
        h.state().work.queue.jobs()[0].source.display_name(),
        "picked.jpg"
    );
    assert_eq!(done_url(h.state(), 0).dimensions(), Some((64, 48)));
}

#[test]
fn a_typed_link_is_mirrored_by_the_service() {
    let world = World::new();
    let origin = origin(&world);
    let (mut h, _) = world.app(vec![], vec![]);
    h.run_steps(2);
    let field = h.get_by_role(egui::accesskit::Role::TextInput);
    field.focus();
    field.type_text(&origin);
    h.run_steps(2);
    assert_eq!(h.state().view.url_input, origin);
    h.get_by_label("Mirror").click();
    h.run_steps(2);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !all_done(h.state(), 1) {
        // A link the person typed is not pasted content: nothing to confirm.
        assert!(
            h.state().work.pending_paste.is_empty(),
            "a typed link asked for a paste confirmation"
        );
        assert!(
            Instant::now() < deadline,
            "timed out waiting for the mirror"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(h.state().view.url_input, "", "the field is cleared");
    let url = done_url(h.state(), 0);
    assert!(url.to_string().starts_with(&world.service.url()), "{url}");
    let (_, served, _) = world.runtime.block_on(common::get_bytes(&url.to_string()));
    assert_eq!(
        served,
        common::png(40, 20),
        "the service stored the remote image"
    );
}

#[test]
fn every_copy_button_copies_exactly_its_text() {
    let world = World::new();
    let file = world.file("copy me.png", &common::png(90, 60));
    let (mut h, copied) = world.app(vec![], vec![]);
    drop_files(&mut h, &[file]);
    wait_until(&mut h, "the upload", |app| all_done(app, 1));
    let url = done_url(h.state(), 0).to_string();
    // The row's own Copy, then the card's.
    h.get_by_label("Copy URL").click();
    h.run_steps(2);
    h.get_by_label("Show details: copy me.png").click();
    h.run_steps(2);
    for label in [
        "Copy Preview",
        "Copy Large",
        "Copy Avatar",
        "Markdown",
        "HTML",
        "BBCode",
    ] {
        h.get_by_label(label).click();
        h.run_steps(2);
    }
    assert_eq!(
        copies(&copied),
        [
            url.clone(),
            format!("{url}.preview"),
            format!("{url}.large"),
            format!("{url}.avatar"),
            format!("![]({url})"),
            format!("<img src=\"{url}\">"),
            format!("[img]{url}[/img]"),
        ]
    );
}

#[test]
fn copy_all_copies_every_finished_url_in_the_chosen_format() {
    let world = World::new();
    let a = world.file("a.png", &common::png(20, 20));
    let b = world.file("b.png", &common::png(21, 20));
    let (mut h, copied) = world.app(vec![], vec![]);
    drop_files(&mut h, &[a, b]);
    wait_until(&mut h, "both uploads", |app| all_done(app, 2));
    let (ua, ub) = (
        done_url(h.state(), 0).to_string(),
        done_url(h.state(), 1).to_string(),
    );
    h.get_by_label("Copy all (URL)").click();
    h.run_steps(2);
    // The format chosen in Settings.
    h.get_by_label("Settings").click();
    h.run_steps(2);
    h.get_by_role(egui::accesskit::Role::ComboBox).click();
    h.run_steps(2);
    h.get_by_label("BBCode").click();
    h.run_steps(2);
    assert_eq!(
        h.state().settings.copy_format,
        groupme_uploader::snippet::Snippet::Bbcode
    );
    h.get_by_label("Queue").click();
    h.run_steps(2);
    h.get_by_label("Copy all (BBCode)").click();
    h.run_steps(2);
    assert_eq!(
        copies(&copied),
        [
            format!("{ua}\n{ub}"),
            format!("[img]{ua}[/img]\n[img]{ub}[/img]")
        ]
    );
}

#[test]
fn auto_copy_copies_each_url_as_it_finishes_only_when_on() {
    let world = World::new();
    let first = world.file("first.png", &common::png(25, 25));
    let second = world.file("second.png", &common::png(26, 25));
    let (mut h, copied) = world.app(vec![], vec![]);
    drop_files(&mut h, &[first]);
    wait_until(&mut h, "the first upload", |app| all_done(app, 1));
    assert!(copies(&copied).is_empty(), "off by default: nothing copied");
    click_setting(&mut h, AUTO_COPY);
    assert!(h.state().settings.auto_copy);
    drop_files(&mut h, &[second]);
    wait_until(&mut h, "the second upload", |app| all_done(app, 2));
    assert_eq!(copies(&copied), [done_url(h.state(), 1).to_string()]);
    h.get_by_label("Copied the URL");
}

#[test]
fn auto_copy_of_a_batch_copies_all_of_it_in_drop_order_and_says_what() {
    let world = World::new();
    let names = ["c third.png", "a first.png", "b second.png"];
    let files: Vec<PathBuf> = names
        .iter()
        .enumerate()
        .map(|(i, n)| world.file(n, &common::png(20 + i as u32, 20)))
        .collect();
    let (mut h, copied) = world.app(vec![], vec![]);
    h.state_mut().settings.auto_copy = true;
    h.state_mut().settings.copy_format = groupme_uploader::snippet::Snippet::Markdown;
    drop_files(&mut h, &files);
    wait_until(&mut h, "the batch", |app| all_done(app, 3));
    assert_eq!(job_names(h.state()), names, "drop order kept");
    let expected: Vec<String> = (0..3)
        .map(|i| format!("![]({})", done_url(h.state(), i)))
        .collect();
    assert_eq!(
        copies(&copied),
        [expected.join("\n")],
        "one copy, once the batch is over: a line each, in drop order"
    );
    h.get_by_label("Copied 3 Markdown links");
}

#[test]
fn a_copy_button_says_copied_at_itself_then_reverts_without_input() {
    let world = World::new();
    let file = world.file("feedback.png", &common::png(33, 20));
    let (mut h, copied) = world.app(vec![], vec![]);
    drop_files(&mut h, &[file]);
    wait_until(&mut h, "the upload", |app| all_done(app, 1));
    let url = done_url(h.state(), 0).to_string();
    // The row opened to its card, where every variant has its own Copy button.
    h.get_by_label("Show details: feedback.png").click();
    h.run_steps(2);
    let before = h.get_by_label("Copy Preview").rect();
    h.get_by_label("Copy Preview").click();
    h.step(); // the click's frame
    let clicked_at = h.ctx.input(|i| i.time);
    h.step();
    // The clicked button itself now says it, in the same place; its neighbours do not.
    let button = h.get_by_label("Copied \u{2714}");
    assert_eq!(
        button.rect(),
        before,
        "the button, where it was, the same size"
    );
    assert!(h.query_by_label("Copy Preview").is_none());
    // The row's Copy URL and the card's keep their labels.
    assert_eq!(h.query_all_by_label("Copy URL").count(), 2);
    assert_eq!(copies(&copied), [format!("{url}.preview")]);
    assert!(
        h.query_by_label_contains("copied").is_none(),
        "no second, far-away notice in the status bar"
    );
    // Its revert is scheduled: a repaint within the 1.5 s it shows, so it reverts untouched.
    let delay = h.output().viewport_output[&egui::ViewportId::ROOT].repaint_delay;
    assert!(delay < Duration::from_millis(1500), "{delay:?}");
    // The harness's clock moves 0.25 s a step: shown until 1.5 s after the click, then not.
    while h.query_by_label("Copied \u{2714}").is_some() {
        h.step();
        assert!(
            h.ctx.input(|i| i.time) - clicked_at <= 2.0,
            "never reverted"
        );
    }
    let shown_for = h.ctx.input(|i| i.time) - clicked_at;
    assert!(
        (shown_for - 1.5).abs() < 1e-6,
        "reverted after {shown_for} s"
    );
    h.get_by_label("Copy Preview");
}

#[test]
fn settings_changed_in_the_ui_survive_a_restart() {
    let world = World::new();
    let expected;
    {
        let (mut h, _) = world.app(vec![], vec![]);
        h.run_steps(2);
        h.get_by_label("Settings").click();
        h.run_steps(2);
        for label in [
            AUTO_COPY,
            CONFIRM_PASTE,
            "Remove location and other metadata before upload (pixels untouched)",
        ] {
            h.get_by_label(label).click();
            h.run_steps(2);
        }
        h.get_by_label_contains("Local service on this computer (")
            .click();
        h.run_steps(2);
        let slider = h.get_by_role_and_label(egui::accesskit::Role::Slider, "at once");
        slider.focus();
        h.run_steps(1);
        h.key_press(egui::Key::ArrowRight);
        h.run_steps(2);
        h.get_by_role(egui::accesskit::Role::ComboBox).click();
        h.run_steps(2);
        h.get_by_label("HTML").click();
        h.run_steps(2);
        expected = Settings {
            endpoint: Some(groupme_uploader::settings::EndpointChoice::Local),
            concurrency: 4,
            auto_copy: true,
            copy_format: groupme_uploader::snippet::Snippet::Html,
            strip_metadata: false,
            confirm_paste: false,
            max_attempts: 4,
            ..Settings::default()
        };
        assert_eq!(h.state().settings, expected);
        h.state_mut().shutdown();
    }
    let (h, _) = world.app(vec![], vec![]);
    assert_eq!(h.state().settings, expected);
}

/// The History tab's search field: the text field after the top bar's link field.
fn search_field<'h>(h: &'h Harness<'_, UploaderApp>) -> egui_kittest::Node<'h> {
    let mut fields = h.get_all_by_role(egui::accesskit::Role::TextInput);
    fields.next().expect("the link field");
    let search = fields.next().expect("the search field");
    assert!(fields.next().is_none(), "two text fields");
    search
}

#[test]
fn history_search_remove_and_clear_through_the_ui() {
    let world = World::new();
    let files = [
        world.file("beach.png", &common::png(20, 10)),
        world.file("mountain.png", &common::png(21, 10)),
        world.file("beach-2.png", &common::png(22, 10)),
    ];
    let (mut h, _) = world.app(vec![], vec![]);
    drop_files(&mut h, &files);
    wait_until(&mut h, "the uploads", |app| all_done(app, 3));
    h.get_by_label("History (3)").click();
    h.run_steps(2);
    let search = search_field(&h);
    search.focus();
    search.type_text("BEACH");
    h.run_steps(2);
    h.get_by_label("beach.png");
    h.get_by_label("beach-2.png");
    assert!(h.query_by_label("mountain.png").is_none(), "filtered out");
    // By URL too: the mountain's picture is the only 21x10 one.
    let mountain_url = h
        .state()
        .work
        .history
        .iter()
        .find(|e| e.name == "mountain.png")
        .expect("mountain")
        .url
        .clone();
    assert!(mountain_url.contains("/21x10."), "{mountain_url}");
    search_field(&h).focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(1);
    search_field(&h).type_text("21x10");
    h.run_steps(2);
    assert_eq!(h.state().view.search, "21x10");
    h.get_by_label("mountain.png");
    assert!(h.query_by_label("beach.png").is_none());
    h.get_by_label("Remove").click();
    h.run_steps(2);
    let mut names: Vec<&str> = h
        .state()
        .work
        .history
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["beach-2.png", "beach.png"]);
    h.get_by_label("No pictures match \u{201c}21x10\u{201d}");
    h.get_by_label("History (2)");
    // Written through: a restart sees the removal.
    let history_path = Dirs::under(world.root.path()).history();
    h.state_mut().shutdown();
    let mut on_disk: Vec<String> = History::load(&history_path)
        .expect("history")
        .entries()
        .iter()
        .map(|e| e.name.clone())
        .collect();
    on_disk.sort_unstable();
    assert_eq!(on_disk, ["beach-2.png", "beach.png"]);
    drop(h);
    let (mut h, _) = world.app(vec![], vec![]);
    h.get_by_label("History (2)").click();
    h.run_steps(2);
    // Clearing asks nothing (Undo is offered instead: see tests/history_ui.rs).
    h.get_by_label("Clear history").click();
    h.run_steps(2);
    assert!(h.state().work.history.is_empty());
    h.get_by_label("History (0)");
    h.get_by_label("Finished uploads appear here and stay across restarts.");
    h.state_mut().shutdown();
    assert!(
        History::load(&history_path)
            .expect("history")
            .entries()
            .is_empty()
    );
}

#[test]
fn a_finished_card_shows_the_services_thumbnail() {
    let world = World::new();
    let file = world.file("wide.png", &common::png(400, 100));
    let (mut h, _) = world.app(vec![], vec![]);
    drop_files(&mut h, &[file]);
    wait_until(&mut h, "the upload", |app| all_done(app, 1));
    let id = h.state().work.queue.jobs()[0].id;
    wait_until(&mut h, "the service's thumbnail", |app| {
        app.images.cards.get(id).is_some_and(|p| p.thumb)
    });
    // The picture is the service's `.preview`: its 200x200 crop (square, fit into the card's
    // side), in place of the local preview (which kept the picture's 4:1 shape).
    let preview = done_url(h.state(), 0).preview().to_string();
    let (status, bytes, _) = world.runtime.block_on(common::get_bytes(&preview));
    assert_eq!(status, 200);
    let served = image::load_from_memory(&bytes).expect("decode");
    assert_eq!((served.width(), served.height()), (200, 200));
    let picture = h.state().images.cards.get(id).expect("the card's picture");
    let side = groupme_uploader::preview::CARD_SIDE as f32;
    assert_eq!(picture.size, egui::vec2(side, side));
    assert_eq!(h.state().images.cards.len(), 1, "one picture for one card");
    assert!(
        !h.state()
            .work
            .notices
            .iter()
            .any(|n| n.text.contains("the service's preview did not load")),
        "no error notice"
    );
}

#[test]
fn at_most_three_uploads_run_at_once_and_a_failure_stops_none_of_the_others() {
    let world = World::new();
    let gate = world
        .runtime
        .block_on(common::gate::Gate::start(&world.service.url()));
    // Six pictures; the fourth is a PNG whose pixel data is cut short: its header reads fine
    // here, the service refuses it when it decodes it.
    let mut broken = common::png(300, 300);
    broken.truncate(broken.len() / 2);
    let files: Vec<PathBuf> = (0..6)
        .map(|i| {
            if i == 3 {
                world.file("3-broken.png", &broken)
            } else {
                world.file(&format!("{i}.png"), &common::png(40 + i, 30))
            }
        })
        .collect();
    let (mut h, _) = world.app_with_url(&gate.url, vec![], vec![]);
    assert_eq!(h.state().settings.concurrency, 3, "the default");
    drop_files(&mut h, &files);
    wait_until(&mut h, "three uploads held at the server", |_| {
        gate.in_flight() == 3
    });
    // Three in flight, the rest wait in the app: none of them was sent.
    assert_eq!(h.state().work.queue.running(), 3);
    h.get_by_label_contains("3 uploading · 3 waiting");
    assert_eq!(gate.seen(), 3);
    gate.open();
    wait_until(&mut h, "every item to end", |app| {
        app.work.queue.jobs().len() == 6
            && app
                .work
                .queue
                .jobs()
                .iter()
                .all(|j| matches!(j.state, JobState::Done { .. } | JobState::Failed { .. }))
    });
    assert_eq!(gate.peak(), 3, "never more than three at once");
    let failed: Vec<String> = h
        .state()
        .work
        .queue
        .jobs()
        .iter()
        .filter(|j| matches!(j.state, JobState::Failed { .. }))
        .map(|j| j.source.display_name())
        .collect();
    assert_eq!(failed, ["3-broken.png"]);
    h.get_by_label_contains("0 uploading · 0 waiting · 5 done · 1 failed");
    assert_eq!(h.state().work.history.len(), 5);
}

/// The token in the fallback file under `root`'s config directory, as a save through the UI
/// leaves it.
fn save_token_through_the_ui(h: &mut Harness<'_, UploaderApp>, token: &str) {
    h.get_by_label("Settings").click();
    h.run_steps(2);
    let field = h.get_by_label("New token");
    field.focus();
    field.type_text(token);
    h.run_steps(2);
    h.get_by_label("Save token").click();
    h.run_steps(2);
    wait_until(h, "the token to be saved", |app| {
        matches!(
            app.work.token_source,
            TokenSource::File(_) | TokenSource::Keyring
        )
    });
}

#[test]
fn gm_token_wins_over_the_stored_token() {
    let world = World::new();
    {
        let (mut h, _) = world.app(vec![], vec![]);
        save_token_through_the_ui(&mut h, "stored-token-aaaa1111");
        h.state_mut().shutdown();
    }
    // Uploads go to a server that records the token it is sent.
    let server = world
        .runtime
        .block_on(common::Scripted::start(vec![common::Reply::json(
            500, "{}",
        )]));
    let mut settings = Settings::default();
    settings.endpoint = Some(groupme_uploader::settings::EndpointChoice::Custom(
        server.url(),
    ));
    settings.max_attempts = 1;
    settings
        .save(&Dirs::under(world.root.path()).settings())
        .expect("settings");
    let mut config = world.config(&world.service.url());
    config.environment.gm_token = Token::new("environment-token-bbbb2222");
    let (mut h, _) = build(config);
    wait_until(&mut h, "the app to load", UploaderApp::is_loaded);
    assert_eq!(h.state().work.token_source, TokenSource::Env);
    h.get_by_label("Settings").click();
    h.run_steps(2);
    h.get_by_label_contains("••••••••2222 — from the GM_TOKEN variable");
    assert!(
        h.query_by_label("New token").is_none(),
        "no field to store another"
    );
    h.get_by_label("Queue").click();
    h.run_steps(2);
    let file = world.file("env.png", &common::png(10, 10));
    drop_files(&mut h, &[file]);
    wait_until(&mut h, "the upload to fail", |app| {
        matches!(states(app).first(), Some(JobState::Failed { .. }))
    });
    let tokens: Vec<Option<String>> = server
        .requests()
        .iter()
        .map(|r| r.header("X-Access-Token").map(str::to_owned))
        .collect();
    assert_eq!(tokens, [Some("environment-token-bbbb2222".to_owned())]);
}

/// A keyring that is there but refuses every call, as one with no Secret Service behind it.
struct AbsentKeyring;

impl Keyring for AbsentKeyring {
    fn get(&self) -> Result<Option<Token>, String> {
        Err("org.freedesktop.secrets was not provided by any .service files".into())
    }
    fn set(&self, _token: Option<&Token>) -> Result<(), String> {
        Err("org.freedesktop.secrets was not provided by any .service files".into())
    }
}

#[test]
fn with_no_keyring_the_token_goes_to_a_private_file_the_ui_warns_about() {
    use std::os::unix::fs::PermissionsExt as _;
    let world = World::new();
    let config_dir = Dirs::under(world.root.path()).config;
    let path = config_dir.join("token");
    {
        let mut config = world.config(&world.service.url());
        config.environment.keyring = Some(Arc::new(AbsentKeyring));
        let (mut h, _) = build(config);
        wait_until(&mut h, "the app to load", UploaderApp::is_loaded);
        save_token_through_the_ui(&mut h, "file-token-cccc3333");
        assert_eq!(h.state().work.token_source, TokenSource::File(path.clone()));
        // The warning once, in its own line; the token's line and the notice only say where.
        let warning = format!(
            "No keyring service is running, so the token is kept unencrypted in {} (readable only by you).",
            path.display()
        );
        h.get_by_label(&warning);
        h.get_by_label("Token ••••••••3333 — stored in a private file");
        assert_eq!(
            h.query_all_by_label_contains("nencrypted").count(),
            1,
            "the storage warning appears once"
        );
        h.state_mut().shutdown();
    }
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&config_dir), 0o700);
    let text = std::fs::read_to_string(&path).expect("token file");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("# groupme-uploader access token. UNENCRYPTED: no keyring service was running.")
    );
    assert_eq!(lines.next(), Some("file-token-cccc3333"));
    // A restart reads it back from the file.
    let mut config = world.config(&world.service.url());
    config.environment.keyring = Some(Arc::new(AbsentKeyring));
    let (mut h, _) = build(config);
    wait_until(&mut h, "the app to load", UploaderApp::is_loaded);
    assert_eq!(h.state().work.token_source, TokenSource::File(path));
    assert_eq!(
        h.state().work.token.as_ref().map(Token::expose),
        Some("file-token-cccc3333")
    );
}

/// A clipboard holding what the test put there.
struct TestClipboard(Mutex<Option<ClipboardContent>>);

impl ClipboardReader for TestClipboard {
    fn read(&self) -> Result<Option<ClipboardContent>, String> {
        Ok(self.0.lock().expect("lock").clone())
    }
}

/// The app with `clipboard` as the system clipboard.
fn app_with_clipboard(
    world: &World,
    clipboard: Arc<TestClipboard>,
) -> Harness<'static, UploaderApp> {
    let mut config = world.config(&world.service.url());
    config.environment.clipboard = clipboard;
    let (mut h, _) = build(config);
    wait_until(&mut h, "the app to load", UploaderApp::is_loaded);
    h
}

#[test]
fn the_paste_button_uploads_a_copied_file_list_after_asking() {
    let world = World::new();
    let gif_bytes = common::gif(30, 20, 4);
    let files = vec![
        world.file("copied.gif", &gif_bytes),
        world.file("copied.jpg", &common::jpeg(50, 40)),
    ];
    let clipboard = Arc::new(TestClipboard(Mutex::new(Some(ClipboardContent::Files(
        files,
    )))));
    let mut h = app_with_clipboard(&world, clipboard.clone());
    h.get_by_label("Paste").click();
    h.run_steps(2);
    wait_until(&mut h, "the paste confirmation", |app| {
        !app.work.pending_paste.is_empty()
    });
    h.get_by_label("Upload 2 pasted items? Uploaded images are public to anyone with the link.");
    h.get_by_label("copied.gif");
    h.get_by_label("copied.jpg");
    // Discard: nothing is queued, nothing sent.
    h.get_by_label("Discard").click();
    h.run_steps(2);
    assert!(h.state().work.pending_paste.is_empty());
    assert!(h.state().work.queue.jobs().is_empty());
    assert!(common::files_under(world.service.dir.path()).is_empty());
    // Again, and Upload.
    h.get_by_label("Paste").click();
    h.run_steps(2);
    wait_until(&mut h, "the paste confirmation", |app| {
        app.work.pending_paste.len() == 2
    });
    h.get_by_label("Upload").click();
    h.run_steps(2);
    wait_until(&mut h, "the uploads", |app| all_done(app, 2));
    let names = job_names(h.state());
    assert_eq!(names, ["copied.gif", "copied.jpg"]);
    let (_, served, _) = world
        .runtime
        .block_on(common::get_bytes(&done_url(h.state(), 0).to_string()));
    assert_eq!(
        common::gif_frames(&served),
        4,
        "the file itself: still animated"
    );
    // An empty clipboard says so.
    *clipboard.0.lock().expect("lock") = None;
    h.get_by_label("Paste").click();
    h.run_steps(2);
    wait_until(&mut h, "the notice", |app| {
        app.work
            .notices
            .iter()
            .any(|n| n.text == "the clipboard holds no image, file or URL")
    });
    assert_eq!(h.state().work.queue.jobs().len(), 2);
}

#[test]
fn the_paste_button_uploads_a_copied_bitmap_as_png() {
    let world = World::new();
    let rgba: Vec<u8> = (0..16 * 9 * 4)
        .map(|i| if i % 4 == 3 { 255 } else { (i * 5 % 256) as u8 })
        .collect();
    let clipboard = Arc::new(TestClipboard(Mutex::new(Some(ClipboardContent::Image {
        width: 16,
        height: 9,
        rgba: rgba.clone(),
    }))));
    let mut h = app_with_clipboard(&world, clipboard);
    h.state_mut().settings.confirm_paste = false;
    h.get_by_label("Paste").click();
    h.run_steps(2);
    wait_until(&mut h, "the upload", |app| all_done(app, 1));
    let url = done_url(h.state(), 0);
    assert_eq!(url.format(), Some(groupme_uploader::cdn_url::Format::Png));
    let (_, served, _) = world.runtime.block_on(common::get_bytes(&url.to_string()));
    let stored = image::load_from_memory_with_format(&served, image::ImageFormat::Png)
        .expect("a PNG")
        .into_rgba8();
    assert_eq!(stored.dimensions(), (16, 9));
    assert_eq!(stored.into_raw(), rgba);
}

/// Run by [`a_token_saved_through_the_ui_lands_in_a_real_secret_service`] inside its own
/// session bus with a fresh gnome-keyring: the app with the system keyring saves a token through
/// Settings, and a restart reads it back from the keyring (no file was written).
#[test]
#[ignore = "needs a Secret Service: run by a_token_saved_through_the_ui_lands_in_a_real_secret_service"]
fn secret_service_session_saves_and_reads_back_the_token() {
    let world = World::new();
    let config = || {
        let mut config = world.config(&world.service.url());
        config.environment.keyring = Some(Arc::new(SystemKeyring));
        config
    };
    let file = Dirs::under(world.root.path()).config.join("token");
    {
        let (mut h, _) = build(config());
        wait_until(&mut h, "the app to load", UploaderApp::is_loaded);
        assert_eq!(
            h.state().work.token_source,
            TokenSource::Nowhere,
            "a fresh keyring"
        );
        save_token_through_the_ui(&mut h, "keyring-token-dddd4444");
        assert_eq!(h.state().work.token_source, TokenSource::Keyring);
        h.get_by_label_contains("••••••••4444 — stored in the system keyring");
        assert!(
            h.query_by_label_contains("No keyring service is running")
                .is_none()
        );
        h.state_mut().shutdown();
    }
    assert!(!file.exists(), "no fallback file when the keyring took it");
    let (mut h, _) = build(config());
    wait_until(&mut h, "the app to load", UploaderApp::is_loaded);
    assert_eq!(h.state().work.token_source, TokenSource::Keyring);
    assert_eq!(
        h.state().work.token.as_ref().map(Token::expose),
        Some("keyring-token-dddd4444")
    );
    println!("secret service round trip done");
}

/// Whether `tool` is a program on `PATH`.
fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
}

/// The keyring path with a real Secret Service: gnome-keyring in a private session bus
/// (`dbus-run-session`), never the person's. Environment variables are process-wide, so the app
/// runs in a child process of this test binary, inside that session.
#[test]
fn a_token_saved_through_the_ui_lands_in_a_real_secret_service() {
    for tool in ["dbus-run-session", "dbus-send", "gnome-keyring-daemon"] {
        if !on_path(tool) {
            common::missing_tool(&format!("{tool} (apt: dbus, gnome-keyring)"));
            return;
        }
    }
    // Unlocked with a throwaway password; then wait (bounded) until the service has its name.
    let script = r#"set -eu
printf throwaway | gnome-keyring-daemon --unlock --components=secrets >/dev/null
tries=0
until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null \
    | grep -q 'boolean true'; do
  tries=$((tries + 1))
  [ "$tries" -lt 400 ] || { echo "org.freedesktop.secrets never appeared" >&2; exit 1; }
  sleep 0.05
done
exec "$@""#;
    let root = tempfile::tempdir().expect("dir");
    let exe = std::env::current_exe().expect("test binary");
    let mut child = common::isolated::command("dbus-run-session", root.path());
    child.args(["--", "sh", "-c", script, "sh"]).arg(exe);
    let stdout = run_one_test(
        child,
        "secret_service_session_saves_and_reads_back_the_token",
        &["--ignored"],
    );
    assert!(
        stdout.contains("secret service round trip done"),
        "{stdout}"
    );
}

/// Runs the test `name` of this test binary through `child` (this binary, or a wrapper whose
/// last argument is it), alone and with its output; asserts it ran and passed, returns stdout.
fn run_one_test(mut child: std::process::Command, name: &str, extra: &[&str]) -> String {
    child
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .args(extra)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    let out = child.output().expect("run the child test");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{name} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1 passed"), "{stdout}");
    stdout
}

#[test]
fn text_typed_in_the_url_field_that_is_not_a_link_stays_there() {
    let world = World::new();
    let (mut h, _) = world.app(vec![], vec![]);
    h.run_steps(2);
    let field = h.get_by_role(egui::accesskit::Role::TextInput);
    field.focus();
    field.type_text("cat.png from yesterday");
    h.run_steps(2);
    h.get_by_label("Mirror").click();
    h.run_steps(2);
    assert_eq!(
        h.state().view.url_input,
        "cat.png from yesterday",
        "not erased"
    );
    let notices: Vec<&str> = h
        .state()
        .work
        .notices
        .iter()
        .map(|n| n.text.as_str())
        .collect();
    assert_eq!(notices, ["not a link: \u{201c}cat.png\u{201d}"]);
    assert!(h.state().work.queue.jobs().is_empty());
    assert!(h.state().work.pending_paste.is_empty(), "not called pasted");
}

#[test]
fn a_pasted_sentence_gives_its_link_and_one_notice() {
    let world = World::new();
    let origin = origin(&world);
    let (mut h, _) = world.app(vec![], vec![]);
    h.state_mut().settings.confirm_paste = false;
    h.run_steps(2);
    h.input_mut()
        .events
        .push(egui::Event::Paste(format!("{origin} is the one I meant")));
    h.step();
    wait_until(&mut h, "the mirror", |app| all_done(app, 1));
    assert_eq!(job_names(h.state()), [origin]);
    let notices: Vec<&str> = h
        .state()
        .work
        .notices
        .iter()
        .map(|n| n.text.as_str())
        .collect();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].starts_with("ignored 5 words that are neither links nor existing files"),
        "{notices:?}"
    );
}

/// The V key's release with Ctrl, as the window sends it after a Ctrl+V.
fn ctrl_v_released() -> egui::Event {
    egui::Event::Key {
        key: egui::Key::V,
        physical_key: None,
        pressed: false,
        repeat: false,
        modifiers: egui::Modifiers::COMMAND,
    }
}

#[test]
fn ctrl_v_with_a_copied_file_list_does_what_the_paste_button_does() {
    let world = World::new();
    let files = vec![
        world.file("one.png", &common::png(10, 10)),
        world.file("two.jpg", &common::jpeg(12, 10)),
    ];
    let clipboard = Arc::new(TestClipboard(Mutex::new(Some(ClipboardContent::Files(
        files,
    )))));
    let mut h = app_with_clipboard(&world, clipboard);
    h.run_steps(2);
    // A file manager's copy holds no text and no bitmap: egui pastes nothing, only the key's
    // release arrives.
    h.input_mut().events.push(ctrl_v_released());
    h.step();
    wait_until(&mut h, "the paste confirmation", |app| {
        app.work.pending_paste.len() == 2
    });
    h.get_by_label("Upload 2 pasted items? Uploaded images are public to anyone with the link.");
    h.get_by_label("Discard").click();
    h.run_steps(2);
    // With text beside the files, egui's paste and the release are one Ctrl+V: read once, and
    // the files win over the text.
    h.input_mut()
        .events
        .push(egui::Event::Paste("/one.png\n/two.jpg".into()));
    h.step();
    h.input_mut().events.push(ctrl_v_released());
    h.step();
    wait_until(&mut h, "the paste confirmation", |app| {
        !app.work.pending_paste.is_empty()
    });
    for _ in 0..20 {
        h.step();
    }
    let names: Vec<String> = h
        .state()
        .work
        .pending_paste
        .iter()
        .map(groupme_uploader::jobs::Source::display_name)
        .collect();
    assert_eq!(names, ["one.png", "two.jpg"], "one read of the clipboard");
}

/// A picker that cannot open, as on a machine with neither the portal nor zenity.
struct NoDialogPicker;

impl FilePicker for NoDialogPicker {
    fn pick(&self) -> futures_util::future::BoxFuture<'static, Result<Vec<PathBuf>, NoDialog>> {
        Box::pin(async { Err(NoDialog) })
    }
}

#[test]
fn without_a_file_dialog_the_window_says_why_and_offers_a_path_field() {
    let world = World::new();
    let photo = world.file("typed.png", &common::png(16, 16));
    let mut config = world.config(&world.service.url());
    config.picker = Arc::new(NoDialogPicker);
    let (mut h, _) = build(config);
    wait_until(&mut h, "the app to load", UploaderApp::is_loaded);
    h.get_by_label("Add images…").click();
    h.run_steps(2);
    wait_until(&mut h, "the picker's failure", |app| {
        app.work.no_file_dialog.is_some()
    });
    h.run_steps(2);
    h.get_by_label_contains(
        "no file dialog could open: install xdg-desktop-portal (with xdg-desktop-portal-gtk or -kde) or zenity",
    );
    let field = h.get_by_label("Path");
    field.focus();
    field.type_text("/no/such/place.png");
    h.run_steps(2);
    h.get_by_label("Add").click();
    h.run_steps(2);
    assert_eq!(
        h.state().view.path_input,
        "/no/such/place.png",
        "kept to mend"
    );
    assert!(
        h.state()
            .work
            .notices
            .iter()
            .any(|n| n.text == "no such file or folder: /no/such/place.png")
    );
    h.state_mut().view.path_input = photo.display().to_string();
    h.run_steps(2);
    h.get_by_label("Add").click();
    h.run_steps(2);
    wait_until(&mut h, "the upload", |app| all_done(app, 1));
    assert_eq!(job_names(h.state()), ["typed.png"]);
    assert_eq!(h.state().view.path_input, "");
}

#[test]
fn the_path_field_offers_folders_and_images_and_tab_or_a_click_completes() {
    let world = World::new();
    let dir = world.files.path();
    std::fs::create_dir(dir.join("photos from May")).expect("mkdir");
    std::fs::write(dir.join("photos from May/beach.jpg"), common::jpeg(20, 20)).expect("write");
    std::fs::write(dir.join("photo notes.txt"), b"not an image").expect("write");
    let mut config = world.config(&world.service.url());
    config.picker = Arc::new(NoDialogPicker);
    let (mut h, _) = build(config);
    wait_until(&mut h, "the app to load", UploaderApp::is_loaded);
    h.get_by_label("Add images…").click();
    wait_until(&mut h, "the picker's failure", |app| {
        app.work.no_file_dialog.is_some()
    });
    let field = h.get_by_label("Path");
    field.focus();
    field.type_text(&format!("{}/pho", dir.display()));
    wait_until(&mut h, "the completions", |app| {
        !app.work.path_completions.1.is_empty()
    });
    // Below the field: the folder, not the text file.
    h.get_by_label("photos from May/");
    assert!(h.query_by_label("photo notes.txt").is_none());
    // Tab completes (the one candidate) and keeps the focus in the field.
    h.key_press(egui::Key::Tab);
    h.run_steps(2);
    let folder = format!("{}/photos from May/", dir.display());
    assert_eq!(h.state().view.path_input, folder);
    wait_until(&mut h, "the folder's completions", |app| {
        app.work.path_completions.0 == folder && !app.work.path_completions.1.is_empty()
    });
    // A click completes too; typing goes on at the end.
    h.get_by_label("beach.jpg").click();
    h.run_steps(2);
    assert_eq!(h.state().view.path_input, format!("{folder}beach.jpg"));
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
    wait_until(&mut h, "the upload", |app| all_done(app, 1));
    assert_eq!(job_names(h.state()), ["beach.jpg"]);
}

#[test]
fn with_groupme_chosen_and_no_token_settings_do_not_promise_the_local_service() {
    let world = World::new();
    let (mut h, _) = world.app(vec![], vec![]);
    h.state_mut().settings.endpoint = Some(groupme_uploader::settings::EndpointChoice::GroupMe);
    h.get_by_label("Settings").click();
    h.run_steps(2);
    h.get_by_label_contains("No token: uploads fail until you add one here");
    assert!(
        h.query_by_label_contains("uploads go to the local service")
            .is_none()
    );
}

/// A JPEG `w`×`h` whose EXIF orientation (6) turns it a quarter.
fn turned_jpeg(w: u32, h: u32) -> Vec<u8> {
    let plain = common::jpeg(w, h);
    let mut exif =
        b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0".to_vec();
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&u16::try_from(exif.len() + 2).expect("len").to_be_bytes());
    out.append(&mut exif);
    out.extend_from_slice(&plain[2..]);
    out
}

#[test]
fn cards_show_the_size_a_person_sees_also_when_reused_or_mirrored() {
    let world = World::new();
    let origin = origin(&world);
    let portrait = world.file("portrait.jpg", &turned_jpeg(64, 48));
    let (mut h, _) = world.app(vec![], vec![]);
    h.state_mut().settings.strip_metadata = false;
    drop_files(&mut h, std::slice::from_ref(&portrait));
    wait_until(&mut h, "the upload", |app| all_done(app, 1));
    h.run_steps(2);
    h.get_by_label_contains("48×64 · JPEG");
    // The same file again: already uploaded, its size line kept.
    drop_files(&mut h, std::slice::from_ref(&portrait));
    wait_until(&mut h, "the reuse", |app| all_done(app, 2));
    h.run_steps(2);
    assert_eq!(
        h.query_all_by_label_contains("×").count(),
        2,
        "both cards keep a size line"
    );
    // A mirrored link's card has one too.
    h.state_mut().view.url_input = origin;
    h.get_by_label("Mirror").click();
    h.run_steps(2);
    wait_until(&mut h, "the mirror", |app| all_done(app, 3));
    h.run_steps(2);
    h.get_by_label_contains("40×20 · PNG · mirrored by the service");
}
