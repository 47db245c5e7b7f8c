//! The History gallery under egui_kittest (no display), against the local service on 127.0.0.1:
//! day headings newest first, thumbnails fetched once and then shown from the disk cache with the
//! service stopped, a placeholder (not an error) for a picture the service does not have, and a
//! search that keeps exactly the matching entries.

mod common;

use std::sync::Arc;

use chrono::{Local, NaiveDate, TimeZone as _};
use common::isolated::NoPicker;
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use groupme_uploader::app::UploaderApp;
use groupme_uploader::app::history_thumbs::Thumb;
use groupme_uploader::cdn_url::CdnUrl;
use groupme_uploader::history::{Entry, History};
use groupme_uploader::settings::Dirs;

/// Local noon of `day`, in seconds since the epoch.
fn noon(day: NaiveDate) -> u64 {
    let at = day.and_hms_opt(12, 0, 0).expect("noon");
    let local = Local
        .from_local_datetime(&at)
        .earliest()
        .expect("noon exists");
    u64::try_from(local.timestamp()).expect("after 1970")
}

/// Uploads `bytes` to the service and returns its history entry, dated `uploaded_at`.
fn uploaded(
    runtime: &tokio::runtime::Runtime,
    base: &str,
    name: &str,
    bytes: Vec<u8>,
    uploaded_at: u64,
) -> Entry {
    let size = bytes.len() as u64;
    let (status, answer) = runtime
        .block_on(common::try_post(base, common::TOKEN, bytes))
        .expect("upload");
    assert_eq!(status, 200, "{answer}");
    Entry {
        name: name.into(),
        url: answer["payload"]["url"].as_str().expect("url").to_owned(),
        endpoint: base.to_owned(),
        hash: None,
        width: None,
        height: None,
        format: None,
        size: Some(size),
        uploaded_at,
        account: String::new(),
    }
}

/// The search field: the text field after the top bar's link field.
fn search_field<'h>(h: &'h Harness<'_, UploaderApp>) -> egui_kittest::Node<'h> {
    let mut fields = h.get_all_by_role(egui::accesskit::Role::TextInput);
    fields.next().expect("the link field");
    fields.next().expect("the search field")
}

fn search(h: &mut Harness<'_, UploaderApp>, text: &str) {
    search_field(h).focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.key_press(egui::Key::Backspace);
    h.run_steps(1);
    if !text.is_empty() {
        search_field(h).type_text(text);
    }
    h.run_steps(2);
}

fn preview_url(entry: &Entry) -> String {
    CdnUrl::parse(&entry.url)
        .expect("a CDN URL")
        .preview()
        .to_string()
}

#[test]
fn days_thumbnails_from_the_disk_cache_and_an_exact_search() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let service = runtime.block_on(common::start_service());
    let base = service.url();
    let root = tempfile::tempdir().expect("dir");
    let dirs = Dirs::under(root.path());

    let today = Local::now().date_naive();
    let yesterday = today.pred_opt().expect("yesterday");
    let long_ago = NaiveDate::from_ymd_opt(2026, 11, 24).expect("date");
    let entries = [
        uploaded(
            &runtime,
            &base,
            "mountain.png",
            common::png(30, 20),
            noon(long_ago),
        ),
        uploaded(
            &runtime,
            &base,
            "beach-party.jpg",
            common::jpeg(40, 30),
            noon(yesterday),
        ),
        uploaded(
            &runtime,
            &base,
            "beach.png",
            common::png(50, 40),
            noon(today),
        ),
    ];
    // On the service's address, but never uploaded: the service answers 404 for its preview.
    let mut gone = entries[2].clone();
    gone.name = "gone.png".into();
    gone.url = format!("{base}/50x40.png.00000000000000000000000000000000");
    gone.uploaded_at -= 60;
    let mut history = History::load(&dirs.history()).expect("history");
    for e in [&entries[0], &entries[1], &gone, &entries[2]] {
        history.add(e.clone()).expect("seed");
    }

    let config = || {
        common::isolated::app_config(
            root.path(),
            runtime.handle().clone(),
            &base,
            common::token(),
            Arc::new(NoPicker),
        )
    };
    let mut h = common::window::loaded(config(), [1000.0, 900.0]);
    h.get_by_label("History (4)").click();
    h.run_steps(2);

    // Newest first, a heading before each day.
    let top = |h: &Harness<'_, UploaderApp>, label: &str| h.get_by_label(label).rect().top();
    let order = [
        "Today",
        "beach.png",
        "gone.png",
        "Yesterday",
        "beach-party.jpg",
        "Tuesday 24 November 2026",
        "mountain.png",
    ];
    for pair in order.windows(2) {
        assert!(
            top(&h, pair[0]) < top(&h, pair[1]),
            "{} above {}",
            pair[0],
            pair[1]
        );
    }

    // Each thumbnail arrives from the service and is kept on disk under the hash of its URL.
    common::window::wait_until(&mut h, "the thumbnails", |app| {
        entries.iter().all(|e| app.images.history.is_ready(&e.url))
            && app.images.history.is_missing(&gone.url)
    });
    for e in &entries {
        h.get_by_label(&format!("Preview of {}", e.name));
        let file = dirs
            .thumbs()
            .join(groupme_uploader::thumb_cache::key(&preview_url(e)));
        let (_, served, _) = runtime.block_on(common::get_bytes(&preview_url(e)));
        assert_eq!(
            std::fs::read(&file).expect("cached"),
            served,
            "{} is cached as served",
            e.name
        );
    }
    // The picture the service lacks: a placeholder, no notice, and it is not asked again.
    assert!(h.query_by_label("Preview of gone.png").is_none());
    h.run_steps(5);
    assert!(h.state().images.history.is_missing(&gone.url));
    assert!(h.state().work.notices.is_empty(), "no error for a preview");
    assert_eq!(
        std::fs::read_dir(dirs.thumbs()).expect("cache dir").count(),
        3,
        "only what was fetched is kept"
    );

    // Search: case-insensitive, exactly the matches, headings only for their days.
    search(&mut h, "BEACH");
    assert_eq!(h.state().view.search, "BEACH");
    h.get_by_label("beach.png");
    h.get_by_label("beach-party.jpg");
    h.get_by_label("2 of 4");
    for hidden in ["mountain.png", "gone.png", "Tuesday 24 November 2026"] {
        assert!(
            h.query_by_label(hidden).is_none(),
            "{hidden} is filtered out"
        );
    }
    h.get_by_label("Today");
    h.get_by_label("Yesterday");
    search(&mut h, "zzz");
    h.get_by_label("No pictures match \u{201c}zzz\u{201d}");
    assert!(h.query_by_label("beach.png").is_none());
    search(&mut h, "");
    assert_eq!(h.state().view.search, "");
    h.get_by_label("mountain.png");

    // The service stopped, a second start: the thumbnails come from the disk cache.
    h.state_mut().shutdown();
    drop(h);
    runtime
        .block_on(service.running.stop())
        .expect("service stops");
    assert!(
        runtime.block_on(common::http().get(&base).send()).is_err(),
        "nothing answers at {base} now"
    );
    let mut h = common::window::loaded(config(), [1000.0, 900.0]);
    h.get_by_label("History (4)").click();
    common::window::wait_until(&mut h, "the thumbnails from disk", |app| {
        entries.iter().all(|e| app.images.history.is_ready(&e.url))
            && app.images.history.is_missing(&gone.url)
    });
    for e in &entries {
        h.get_by_label(&format!("Preview of {}", e.name));
    }
    h.state_mut().shutdown();
}

#[test]
fn a_long_history_asks_only_for_the_thumbnails_in_view() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let root = tempfile::tempdir().expect("dir");
    let dirs = Dirs::under(root.path());
    // 10,000 entries, ten minutes apart (some seventy days), written as the history file is.
    let mut lines = String::new();
    for i in 0..10_000_u64 {
        // One on GroupMe's CDN: a test never fetches from beyond this machine.
        let base = if i == 9_998 {
            "https://i.groupme.com"
        } else {
            "http://127.0.0.1:9"
        };
        let entry = Entry {
            name: format!("picture-{i:05}.png"),
            url: format!("{base}/10x10.png.{i:032x}"),
            endpoint: "http://127.0.0.1:9".into(),
            hash: None,
            width: Some(10),
            height: Some(10),
            format: None,
            size: Some(100),
            uploaded_at: 1_790_000_000 + i * 600,
            account: String::new(),
        };
        lines.push_str(&serde_json::to_string(&entry).expect("json"));
        lines.push('\n');
    }
    std::fs::create_dir_all(&dirs.data).expect("dir");
    std::fs::write(dirs.history(), lines).expect("history");
    let config = common::isolated::app_config(
        root.path(),
        runtime.handle().clone(),
        "http://127.0.0.1:9",
        common::token(),
        Arc::new(NoPicker),
    );
    let mut h = common::window::loaded(config, [1000.0, 700.0]);
    let started = std::time::Instant::now();
    h.run_steps(20);
    let queue_frame = started.elapsed() / 20;
    h.get_by_label("History (10000)").click();
    h.run_steps(2);
    // The newest is at the top; the oldest is not drawn at all.
    h.get_by_label("picture-09999.png");
    assert!(h.query_by_label("picture-00000.png").is_none());
    // Nothing answers on port 9: each asked thumbnail ends as a placeholder, none is asked again.
    common::window::wait_until(&mut h, "the rows in view to have their answer", |app| {
        app.images
            .history
            .is_missing("http://127.0.0.1:9/10x10.png.0000000000000000000000000000270f")
    });
    let on_cdn = "https://i.groupme.com/10x10.png.0000000000000000000000000000270e";
    assert!(
        matches!(
            h.state().images.history.get(on_cdn),
            Thumb::Missing(why) if why.starts_with("not fetched")
        ),
        "GroupMe's CDN is not asked in a test"
    );
    let asked = h.state().images.history.asked();
    assert!((1..=12).contains(&asked), "{asked} thumbnails asked for");
    let started = std::time::Instant::now();
    h.run_steps(20);
    let per_frame = started.elapsed() / 20;
    eprintln!(
        "10,000 entries: {asked} thumbnails asked for; a frame of History {per_frame:?}, of the \
         Queue tab {queue_frame:?}"
    );
    assert_eq!(h.state().images.history.asked(), asked, "no retry");
    assert!(h.state().work.notices.is_empty(), "no error for a preview");
    h.state_mut().shutdown();
}
