//! The History tab under egui_kittest (no display): Remove and Clear happen at once and a toast
//! offers Undo, which restores the history file byte for byte.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::isolated::NoPicker;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use groupme_uploader::app::UploaderApp;
use groupme_uploader::history::{Entry, History};
use groupme_uploader::settings::Dirs;

/// The app on a history seeded with `entries`, with no service behind it (nothing uploads here).
struct World {
    runtime: tokio::runtime::Runtime,
    root: tempfile::TempDir,
}

impl World {
    fn new(entries: &[Entry]) -> World {
        let root = tempfile::tempdir().expect("dir");
        let mut history = History::load(&Dirs::under(root.path()).history()).expect("history");
        for e in entries {
            history.add(e.clone()).expect("seed");
        }
        World {
            runtime: tokio::runtime::Runtime::new().expect("runtime"),
            root,
        }
    }

    fn history_path(&self) -> PathBuf {
        Dirs::under(self.root.path()).history()
    }

    fn app(&self) -> Harness<'static, UploaderApp> {
        let config = common::isolated::app_config(
            self.root.path(),
            self.runtime.handle().clone(),
            "http://127.0.0.1:9",
            common::token(),
            Arc::new(NoPicker),
        );
        common::window::loaded(config, [1000.0, 700.0])
    }
}

fn entry(name: &str, uploaded_at: u64) -> Entry {
    Entry {
        name: name.into(),
        url: format!("http://127.0.0.1:9/10x10.png.{name}"),
        endpoint: "http://127.0.0.1:9".into(),
        hash: Some(format!("hash-{name}")),
        width: Some(10),
        height: Some(10),
        format: None,
        size: Some(100),
        uploaded_at,
        account: String::new(),
    }
}

fn names(app: &UploaderApp) -> Vec<&str> {
    app.work.history.iter().map(|e| e.name.as_str()).collect()
}

#[test]
fn remove_and_clear_are_undone_exactly_and_the_file_follows() {
    let world = World::new(&[
        entry("a.png", 1_700_000_000),
        entry("b.png", 1_700_000_100),
        entry("c.png", 1_700_000_200),
    ]);
    let before = std::fs::read(world.history_path()).expect("history");
    let mut h = world.app();
    h.get_by_label("History (3)").click();
    h.run_steps(2);

    // Remove the middle one; the toast names it and Undo puts it back in its place.
    let b_remove = h
        .get_all_by_label("Remove")
        .nth(1)
        .expect("three Remove buttons");
    b_remove.click();
    // A step for the click, one for the toast's sizing pass, one to show it.
    h.run_steps(3);
    assert_eq!(names(h.state()), ["a.png", "c.png"]);
    h.get_by_label("Removed b.png");
    h.get_by_label("Undo").click();
    h.run_steps(2);
    assert_eq!(names(h.state()), ["a.png", "b.png", "c.png"]);
    assert!(h.query_by_label("Undo").is_none(), "the toast is gone");

    // Clear needs no confirmation under the pointer: a double click clears once and Undo is
    // still there to take it back.
    h.get_by_label("Clear history").click();
    h.run_steps(3);
    assert!(
        h.query_by_label("Clear history").is_none(),
        "nothing left to clear"
    );
    assert!(h.query_by_label("Yes, clear all").is_none());
    h.get_by_label("Cleared 3 uploads from the history");
    h.get_by_label("History (0)");
    h.get_by_label("Undo").click();
    h.run_steps(2);
    assert_eq!(names(h.state()), ["a.png", "b.png", "c.png"]);
    h.get_by_label("History (3)");

    h.state_mut().shutdown();
    assert_eq!(
        std::fs::read(world.history_path()).expect("history"),
        before,
        "the file is restored byte for byte"
    );
}

#[test]
fn a_remove_without_undo_is_written_through() {
    let world = World::new(&[entry("a.png", 1_700_000_000), entry("b.png", 1_700_000_100)]);
    let mut h = world.app();
    h.get_by_label("History (2)").click();
    h.run_steps(2);
    h.get_all_by_label("Remove").next().expect("Remove").click();
    h.run_steps(2);
    h.state_mut().shutdown();
    let left: Vec<String> = History::load(&world.history_path())
        .expect("history")
        .entries()
        .iter()
        .map(|e| e.name.clone())
        .collect();
    // Newest first on screen: the first Remove was b's.
    assert_eq!(left, ["a.png"]);
}
