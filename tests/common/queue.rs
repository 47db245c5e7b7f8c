//! Queue rows under egui_kittest without a service: the app on an address where nothing listens,
//! with jobs put straight into the states a test draws (finished, failed, uploading), and where
//! a row is on screen.

use std::sync::Arc;
use std::time::Instant;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use groupme_uploader::app::UploaderApp;
use groupme_uploader::cdn_url::CdnUrl;
use groupme_uploader::history::{Entry, History};
use groupme_uploader::jobs::{Failure, JobId, Source, Update};
use groupme_uploader::settings::Dirs;

/// Where the app "uploads": nothing listens there, so only injected states finish.
pub const NOWHERE: &str = "http://127.0.0.1:9";

/// A runtime and an isolated root for one app.
pub struct Offline {
    pub runtime: tokio::runtime::Runtime,
    pub root: tempfile::TempDir,
}

impl Offline {
    /// With `history` already in the history file.
    pub fn new(history: &[Entry]) -> Offline {
        let root = tempfile::tempdir().expect("dir");
        let mut file = History::load(&Dirs::under(root.path()).history()).expect("history");
        for e in history {
            file.add(e.clone()).expect("seed");
        }
        Offline {
            runtime: tokio::runtime::Runtime::new().expect("runtime"),
            root,
        }
    }

    /// The app at `size`, loaded.
    pub fn app(&self, size: [f32; 2]) -> Harness<'static, UploaderApp> {
        let config = super::isolated::app_config(
            self.root.path(),
            self.runtime.handle().clone(),
            NOWHERE,
            super::token(),
            Arc::new(super::isolated::NoPicker),
        );
        super::window::loaded(config, size)
    }
}

/// A history entry for `name`, uploaded at `uploaded_at`.
pub fn entry(name: &str, uploaded_at: u64) -> Entry {
    Entry {
        name: name.into(),
        url: format!("{NOWHERE}/640x480.png.{:0>32}", uploaded_at),
        endpoint: NOWHERE.into(),
        hash: Some(format!("hash-{name}")),
        width: Some(640),
        height: Some(480),
        format: None,
        size: Some(123_456),
        uploaded_at,
        account: String::new(),
    }
}

/// The CDN URL the finished job `n` gets.
pub fn cdn_url(n: u64) -> CdnUrl {
    CdnUrl::parse(&format!("{NOWHERE}/640x480.png.{n:0>32x}")).expect("url")
}

fn file(name: &str) -> Source {
    Source::File(format!("/nowhere/{name}").into())
}

/// Puts one batch of finished pictures into the queue; their ids.
pub fn finished(app: &mut UploaderApp, names: &[&str]) -> Vec<JobId> {
    let queue = &mut app.work.queue;
    let ids = queue.push_batch(names.iter().map(|n| file(n)).collect());
    for id in &ids {
        let url = cdn_url(id.0);
        queue.apply(*id, Update::Done { url, reused: false }, Instant::now());
    }
    ids
}

/// Puts a failed picture into the queue.
pub fn failed(app: &mut UploaderApp, name: &str, reason: &str, retry_helps: bool) -> JobId {
    let id = app.work.queue.push(file(name));
    let failure = if retry_helps {
        Failure::transient(reason)
    } else {
        Failure::permanent(reason)
    };
    app.work
        .queue
        .apply(id, Update::Failed(failure), Instant::now());
    id
}

/// Puts a picture that is halfway sent into the queue (the worker never hears of it).
pub fn uploading(app: &mut UploaderApp, name: &str) -> JobId {
    let id = app.work.queue.push(file(name));
    app.work.queue.apply(
        id,
        Update::Progress {
            sent: 4_000_000,
            total: 9_000_000,
        },
        Instant::now(),
    );
    id
}

/// The rect of the row of `name` (its details toggle, at the row's right end).
pub fn toggle(h: &Harness<'_, UploaderApp>, name: &str) -> eframe::egui::Rect {
    let show = format!("Show details: {name}");
    let hide = format!("Hide details: {name}");
    if let Some(node) = h.query_by_label(&show) {
        return node.rect();
    }
    h.query_by_label(&hide)
        .unwrap_or_else(|| panic!("no row for {name}"))
        .rect()
}

/// Turns the mouse wheel over the queue list (at `at`, points; negative `dy` scrolls down), a
/// step at a time, until `done` holds: rows out of view are not drawn, so a test scrolls to them
/// as a person does. Panics after 300 steps.
pub fn wheel_until(
    h: &mut Harness<'_, UploaderApp>,
    at: eframe::egui::Pos2,
    dy: f32,
    what: &str,
    mut done: impl FnMut(&Harness<'_, UploaderApp>) -> bool,
) {
    use eframe::egui;
    for _ in 0..300 {
        if done(h) {
            return;
        }
        h.input_mut().events.push(egui::Event::PointerMoved(at));
        h.input_mut().events.push(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, dy),
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Unknown,
            modifiers: egui::Modifiers::NONE,
        });
        h.step();
    }
    panic!("scrolled 300 steps and {what} still not in view");
}
