//! The before-upload options through the whole app under egui_kittest (no display), against the
//! local service on 127.0.0.1: the Settings controls, and the card's "sent as" line.

mod common;

use common::window::wait_until;
use std::path::Path;
use std::sync::Arc;

use common::dropped::Dropped;
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use groupme_uploader::app::UploaderApp;
use groupme_uploader::downscale::BeforeUpload;
use groupme_uploader::jobs::JobState;
use groupme_uploader::settings::{Dirs, Settings};

/// The app on an isolated root, once it has read its settings, token and history.
fn app(runtime: &tokio::runtime::Runtime, root: &Path, url: &str) -> Harness<'static, UploaderApp> {
    let config = common::isolated::app_config(
        root,
        runtime.handle().clone(),
        url,
        common::token(),
        Arc::new(common::isolated::NoPicker),
    );
    common::window::loaded(config, [1000.0, 900.0])
}

fn done(app: &UploaderApp, n: usize) -> bool {
    let jobs = app.work.queue.jobs();
    jobs.len() == n
        && jobs
            .iter()
            .all(|j| matches!(j.state, JobState::Done { .. }))
}

#[test]
fn the_settings_controls_turn_the_options_on_and_are_saved() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let service = runtime.block_on(common::start_service());
    let root = tempfile::tempdir().expect("dir");
    let mut h = app(&runtime, root.path(), &service.url());
    assert!(!h.state().settings.before_upload.is_on(), "off by default");
    h.get_by_label("Settings").click();
    h.run_steps(2);
    h.get_by_label("Downscale photos larger than").click();
    h.run_steps(2);
    h.get_by_label("Re-encode as JPEG when larger than").click();
    h.run_steps(2);
    let quality = h.get_by_role_and_label(egui::accesskit::Role::Slider, "JPEG quality");
    quality.focus();
    h.run_steps(1);
    h.key_press(egui::Key::ArrowLeft);
    h.run_steps(2);
    let expected = BeforeUpload {
        downscale: true,
        reencode: true,
        jpeg_quality: 84,
        ..BeforeUpload::default()
    };
    assert_eq!(h.state().settings.before_upload, expected);
    h.state_mut().shutdown();
    let saved = Settings::load(&Dirs::under(root.path()).settings());
    assert_eq!(
        saved.before_upload, expected,
        "written to the settings file"
    );
}

#[test]
fn a_big_photo_is_sent_small_and_the_card_says_so_an_animation_as_it_is() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let service = runtime.block_on(common::start_service());
    let root = tempfile::tempdir().expect("dir");
    let files = tempfile::tempdir().expect("dir");
    let settings = Settings {
        before_upload: BeforeUpload {
            downscale: true,
            max_side: 1024,
            ..BeforeUpload::default()
        },
        ..Settings::default()
    };
    settings
        .save(&Dirs::under(root.path()).settings())
        .expect("settings");
    let photo = files.path().join("big.jpg");
    let original = common::jpeg(4000, 3000);
    std::fs::write(&photo, &original).expect("write");
    let anim = files.path().join("anim.gif");
    std::fs::write(&anim, common::gif(1600, 1200, 2)).expect("write");
    let mut h = app(&runtime, root.path(), &service.url());
    for p in [&photo, &anim] {
        h.input_mut()
            .dropped_files
            .push(Arc::new(Dropped(p.to_path_buf())));
    }
    h.step();
    wait_until(&mut h, "both uploads", |app| done(app, 2));
    let jobs = h.state().work.queue.jobs().to_vec();
    let JobState::Done { url, .. } = &jobs[0].state else {
        panic!("not done");
    };
    assert_eq!(
        url.dimensions(),
        Some((1024, 768)),
        "the service got 1024×768"
    );
    // What the options did is on the card, under the row.
    h.get_by_label("Show details: big.jpg").click();
    h.run_steps(2);
    h.get_by_label("Show details: anim.gif").click();
    h.run_steps(2);
    let Some(groupme_uploader::jobs::Reduction::Sent { bytes, .. }) = jobs[0].reduced else {
        panic!("no reduction: {:?}", jobs[0].reduced);
    };
    h.get_by_label(&format!(
        "sent as 1024×768, {} (was {})",
        groupme_uploader::ui::human_bytes(bytes),
        groupme_uploader::ui::human_bytes(original.len() as u64)
    ));
    // The history holds what the service holds: the bytes sent, not the original's.
    let history = &h.state().work.history;
    let entry = history
        .iter()
        .find(|e| e.name == "big.jpg")
        .expect("big.jpg in history");
    assert_eq!(entry.size, Some(bytes));
    let gif = history
        .iter()
        .find(|e| e.name == "anim.gif")
        .expect("anim.gif in history");
    assert_eq!(gif.size, Some(std::fs::metadata(&anim).expect("gif").len()));
    let JobState::Done { url, .. } = &jobs[1].state else {
        panic!("not done");
    };
    assert_eq!(url.dimensions(), Some((1600, 1200)), "the GIF as it was");
    h.get_by_label("GIF or animation: sent as it is (animations are never re-encoded)");
    h.state_mut().shutdown();
}
