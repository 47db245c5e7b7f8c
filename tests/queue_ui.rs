//! The queue's compact rows under egui_kittest (no display): a row per item under 48 px, its
//! toggle opening the full card, its ⋯ menu offering exactly the other URLs and formats, the
//! newest drop scrolled into view, and a drop's order kept.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::dropped::Dropped;
use common::queue::{Offline, failed, finished, toggle, uploading, wheel_until};
use common::window::wait_until;
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use groupme_uploader::app::UploaderApp;

/// The labels of every button on screen, in tree order.
fn buttons(h: &Harness<'_, UploaderApp>) -> Vec<String> {
    h.root()
        .children_recursive()
        .filter(|n| n.accesskit_node().role() == egui::accesskit::Role::Button)
        .filter_map(|n| n.accesskit_node().label())
        .collect()
}

#[test]
fn a_row_is_compact_and_its_toggle_opens_the_full_card() {
    let world = Offline::new(&[]);
    let mut h = world.app([1000.0, 800.0]);
    finished(h.state_mut(), &["beach.png"]);
    failed(
        h.state_mut(),
        "cut.jpg",
        "this file is damaged: the JPEG ends early",
        false,
    );
    uploading(h.state_mut(), "big.png");
    h.run_steps(3);
    // Newest on top: big.png, cut.jpg, beach.png, one row each.
    let (big, cut, beach) = (
        toggle(&h, "big.png"),
        toggle(&h, "cut.jpg"),
        toggle(&h, "beach.png"),
    );
    let pitch = [cut.min.y - big.min.y, beach.min.y - cut.min.y];
    for p in pitch {
        // A row and the 4 px between rows.
        assert!(p > 30.0 && p <= 48.0 + 4.0, "row pitch {pitch:?}");
    }
    // Each row carries its line: the URL with Copy, the reason with Remove, progress with Cancel.
    let url = common::queue::cdn_url(1).to_string();
    h.get_by_label(&url);
    h.get_by_label("Copy URL");
    h.get_by_label("Failed: this file is damaged: the JPEG ends early");
    h.get_by_label("Remove");
    h.get_by_label("Cancel");
    h.get_by_label_contains("4.0 MB / 9.0 MB");
    // The card's detail is not drawn until asked for.
    for detail in ["Copy Preview", "Copy as", "Set as my avatar", "Select"] {
        assert!(h.query_by_label(detail).is_none(), "{detail} shown closed");
    }
    h.get_by_label("Show details: beach.png").click();
    h.run_steps(2);
    for detail in [
        "Copy Preview",
        "Copy Large",
        "Copy Avatar",
        "Set as my avatar",
        "Send to…",
    ] {
        h.get_by_label(detail);
    }
    h.get_by_label("Select");
    assert!(
        toggle(&h, "beach.png").min.y == beach.min.y,
        "the row stays put"
    );
    // Opening the failed row shows its whole reason, wrapped, once.
    h.get_by_label("Show details: cut.jpg").click();
    h.run_steps(2);
    h.get_by_label("this file is damaged: the JPEG ends early");
    let moved = toggle(&h, "beach.png").min.y - beach.min.y;
    assert!(moved > 10.0, "the open card pushes the rows below: {moved}");
    h.get_by_label("Hide details: beach.png").click();
    h.run_steps(2);
    h.get_by_label("Hide details: cut.jpg").click();
    h.run_steps(2);
    assert!(
        h.query_by_label("Set as my avatar").is_none(),
        "closed again"
    );
    assert_eq!(toggle(&h, "beach.png").min.y, beach.min.y);
}

#[test]
fn the_menu_offers_exactly_the_other_urls_and_formats() {
    let world = Offline::new(&[]);
    let config = common::isolated::app_config(
        world.root.path(),
        world.runtime.handle().clone(),
        common::queue::NOWHERE,
        common::token(),
        Arc::new(common::isolated::NoPicker),
    );
    let (mut h, copied) = common::window::build_copying(config, [1000.0, 800.0]);
    wait_until(&mut h, "the app to load", UploaderApp::is_loaded);
    let ids = finished(h.state_mut(), &["beach.png"]);
    h.run_steps(2);
    let before = buttons(&h);
    h.get_by_label("More actions: beach.png").click();
    h.run_steps(2);
    let after = buttons(&h);
    let menu: Vec<&String> = after.iter().filter(|b| !before.contains(b)).collect();
    assert_eq!(
        menu,
        [
            "Copy Preview URL",
            "Copy Large URL",
            "Copy Avatar URL",
            "Copy as Markdown",
            "Copy as HTML",
            "Copy as BBCode",
            "Send to…",
            "Remove",
        ]
    );
    h.get_by_label("Copy Large URL").click();
    h.run_steps(2);
    let url = match &h.state().work.queue.get(ids[0]).expect("job").state {
        groupme_uploader::jobs::JobState::Done { url, .. } => url.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(copied.texts(), [url.large().to_string()]);
    assert!(
        h.query_by_label("Copy Avatar URL").is_none(),
        "the menu closed"
    );
    // A picture that cannot be mended has Remove at hand and no menu.
    failed(h.state_mut(), "bad.jpg", "this is not a picture", false);
    h.run_steps(2);
    h.get_by_label("Remove");
    assert!(h.query_by_label("More actions: bad.jpg").is_none());
    assert!(h.query_by_label("Retry").is_none());
}

#[test]
fn the_newest_drop_is_scrolled_into_view() {
    let world = Offline::new(&[]);
    let dir = tempfile::tempdir().expect("dir");
    let new = dir.path().join("new.png");
    std::fs::write(&new, common::png(8, 8)).expect("write");
    let mut h = world.app([800.0, 600.0]);
    let names: Vec<String> = (0..30).map(|i| format!("pic-{i:02}.png")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    finished(h.state_mut(), &names);
    h.run_steps(2);
    let top = h.get_by_label("Clear finished").rect().max.y;
    assert!(
        toggle(&h, "pic-00.png").min.y > top,
        "the batch's first row in view"
    );
    // Scrolled to the end of the list: the top is out of view.
    let list = egui::pos2(400.0, 300.0);
    wheel_until(&mut h, list, -200.0, "pic-29.png", |h| {
        h.query_by_label("Show details: pic-29.png").is_some()
    });
    h.run_steps(4);
    assert!(toggle(&h, "pic-29.png").max.y <= 600.0);
    assert!(
        h.query_by_label("Show details: pic-00.png")
            .is_none_or(|n| n.rect().max.y < top),
        "scrolled away"
    );
    // A drop lands on top, and the list scrolls to it.
    h.input_mut()
        .dropped_files
        .push(Arc::new(Dropped(new.clone())));
    h.step();
    wait_until(&mut h, "the drop", |app| app.work.queue.jobs().len() == 31);
    h.run_steps(4);
    let row = toggle(&h, "new.png");
    assert!(row.min.y > top && row.max.y <= 600.0, "{row:?} not in view");
    // Only once: scrolled away again, it stays away (out of view, it is not drawn at all).
    wheel_until(&mut h, list, -200.0, "pic-29.png", |h| {
        h.query_by_label("Show details: pic-29.png").is_some()
    });
    h.run_steps(4);
    assert!(
        h.query_by_label("Show details: new.png")
            .is_none_or(|n| n.rect().max.y < top),
        "scrolled back by itself"
    );
}

#[test]
fn a_drop_keeps_its_order_and_the_newest_drop_is_on_top() {
    let world = Offline::new(&[]);
    let dir = tempfile::tempdir().expect("dir");
    let path = |name: &str| -> PathBuf {
        let p = dir.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("dir");
        }
        std::fs::write(&p, common::png(8, 8)).expect("write");
        p
    };
    // Not in name order: the drop's order is what counts, a folder's files sorted by name.
    path("album/2-sea.png");
    path("album/1-sand.png");
    let first = [
        path("zeta.png"),
        path("alpha.png"),
        dir.path().join("album"),
        path("mid.png"),
    ];
    let mut h = world.app([1000.0, 800.0]);
    let drop = |h: &mut Harness<'_, UploaderApp>, paths: &[PathBuf], total: usize| {
        for p in paths {
            h.input_mut()
                .dropped_files
                .push(Arc::new(Dropped(p.clone())));
        }
        h.step();
        wait_until(h, "the drop", |app| app.work.queue.jobs().len() == total);
        h.run_steps(2);
    };
    drop(&mut h, &first, 5);
    drop(&mut h, &[path("later-b.png"), path("later-a.png")], 7);
    let mut rows: Vec<(f32, &str)> = [
        "zeta.png",
        "alpha.png",
        "1-sand.png",
        "2-sea.png",
        "mid.png",
        "later-b.png",
        "later-a.png",
    ]
    .into_iter()
    .map(|name| (toggle(&h, name).min.y, name))
    .collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let shown: Vec<&str> = rows.iter().map(|r| r.1).collect();
    assert_eq!(
        shown,
        [
            "later-b.png",
            "later-a.png",
            "zeta.png",
            "alpha.png",
            "1-sand.png",
            "2-sea.png",
            "mid.png",
        ]
    );
}

#[test]
fn only_the_rows_in_view_are_drawn() {
    let world = Offline::new(&[]);
    let mut h = world.app([800.0, 600.0]);
    let names: Vec<String> = (0..500).map(|i| format!("pic-{i:03}.png")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    finished(h.state_mut(), &names);
    h.run_steps(2);
    let rows = |h: &Harness<'_, UploaderApp>| -> Vec<String> {
        buttons(h)
            .into_iter()
            .filter_map(|b| b.strip_prefix("Show details: ").map(str::to_owned))
            .collect()
    };
    // A 600 px window holds about ten 52 px rows: those, and a row either side, are drawn.
    let drawn = rows(&h);
    assert_eq!(drawn.first().map(String::as_str), Some("pic-000.png"));
    assert!(
        (8..=14).contains(&drawn.len()),
        "{} of 500 rows drawn: {drawn:?}",
        drawn.len()
    );
    // The scroll bar still spans the whole list: scrolled to the bottom, the last row shows.
    let list = egui::pos2(400.0, 300.0);
    wheel_until(&mut h, list, -5000.0, "pic-499.png", |h| {
        h.query_by_label("Show details: pic-499.png").is_some()
    });
    h.run_steps(4);
    let last = toggle(&h, "pic-499.png");
    assert!(
        last.min.y > 0.0 && last.max.y <= 600.0,
        "{last:?} not in view"
    );
    let drawn = rows(&h);
    assert_eq!(drawn.last().map(String::as_str), Some("pic-499.png"));
    assert!((8..=14).contains(&drawn.len()), "{drawn:?}");
    assert!(!drawn.iter().any(|n| n == "pic-000.png"));
}
