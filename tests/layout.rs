//! The window at its minimum size (560×420) and a large one (1600×1000) under egui_kittest: in
//! every view (empty queue; a finished, a failed and an uploading item, closed and open; the path
//! field; Settings with two accounts; History), every interactive widget lies inside the window and
//! its scroll area, and none overlaps another.

mod common;

use common::queue::{Offline, entry, failed, finished, uploading};
use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use groupme_uploader::app::{Tab, UploaderApp};
use groupme_uploader::token_store::TokenSource;

/// What a person can click, type into or drag.
const INTERACTIVE: [Role; 12] = [
    Role::Button,
    Role::CheckBox,
    Role::RadioButton,
    Role::TextInput,
    Role::PasswordInput,
    Role::MultilineTextInput,
    Role::Slider,
    Role::SpinButton,
    Role::ComboBox,
    Role::Link,
    Role::MenuItem,
    Role::Tab,
];

/// Up to this much past an edge is rounding, not clipping.
const SLACK: f32 = 0.5;

/// One interactive widget: its name, its rect, where it can show, its ancestors' ids.
struct Widget {
    name: String,
    rect: egui::Rect,
    /// The window, or the part of it its scroll area shows (from the scroll bar's extent).
    viewport: egui::Rect,
    /// In a scroll area that scrolls: it may be partly or wholly scrolled out of view.
    scrolled: bool,
    ancestors: Vec<String>,
    id: String,
}

fn widgets(h: &Harness<'_, UploaderApp>, window: egui::Rect) -> Vec<Widget> {
    let mut out = Vec::new();
    for node in h.root().children_recursive() {
        let ak = node.accesskit_node();
        if !INTERACTIVE.contains(&ak.role()) || ak.is_hidden() || ak.bounding_box().is_none() {
            continue;
        }
        let mut ancestors = Vec::new();
        let mut bar = None;
        let mut parent = node.parent();
        while let Some(p) = parent {
            ancestors.push(format!("{:?}", p.accesskit_node().id()));
            // egui puts a scroll area's bar beside its content: the bar spans what shows.
            if bar.is_none() {
                bar = p
                    .children()
                    .find(|c| c.accesskit_node().role() == Role::ScrollBar)
                    .map(|c| c.rect());
            }
            parent = p.parent();
        }
        let viewport = match bar {
            Some(bar) => egui::Rect::from_x_y_ranges(window.x_range(), bar.y_range()),
            None => window,
        };
        out.push(Widget {
            name: format!("{:?} {:?}", ak.role(), ak.label().unwrap_or_default()),
            rect: node.rect(),
            viewport,
            scrolled: bar.is_some(),
            ancestors,
            id: format!("{:?}", ak.id()),
        });
    }
    out
}

/// Every interactive widget inside the window (up and down only where its scroll area scrolls),
/// and no two overlapping where they show.
fn assert_nothing_clipped(h: &Harness<'_, UploaderApp>, size: [f32; 2], view: &str) {
    let window = egui::Rect::from_min_size(egui::Pos2::ZERO, size.into());
    let all = widgets(h, window);
    assert!(all.len() >= 5, "{view}: only {} widgets found", all.len());
    let mut problems = Vec::new();
    for w in &all {
        let (r, a) = (w.rect, window.expand(SLACK));
        let across = r.min.x >= a.min.x && r.max.x <= a.max.x;
        let down = w.scrolled || (r.min.y >= a.min.y && r.max.y <= a.max.y);
        if !(across && down) {
            problems.push(format!("{} at {r:?} is cut by the window", w.name));
        }
    }
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            if a.ancestors.contains(&b.id) || b.ancestors.contains(&a.id) {
                continue;
            }
            let overlap = a
                .rect
                .intersect(a.viewport)
                .intersect(b.rect.intersect(b.viewport));
            if overlap.is_positive() && overlap.area() > 1.0 {
                problems.push(format!("{} overlaps {} ({overlap:?})", a.name, b.name));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{view} at {size:?}:\n{}",
        problems.join("\n")
    );
}

/// A name as long as a phone's export names get.
const LONG: &str = "PXL_20261201_181512345.PORTRAIT.ORIGINAL-edited-for-the-family-album.jpg";

fn every_view_fits(size: [f32; 2]) {
    let world = Offline::new(&[
        entry(
            "a-picture-with-a-long-name-from-the-holidays.png",
            1_764_000_000,
        ),
        entry("b.png", 1_764_100_000),
    ]);
    let mut h = world.app(size);
    h.run_steps(2);
    assert_nothing_clipped(&h, size, "the empty queue");

    finished(h.state_mut(), &[LONG]);
    failed(
        h.state_mut(),
        "holiday-photo-with-a-rather-long-name.jpg",
        "cannot reach the service at http://127.0.0.1:9 (connection refused); check the address in Settings",
        true,
    );
    uploading(
        h.state_mut(),
        "a-big-panorama-of-the-whole-bay-at-sunset.png",
    );
    h.run_steps(3);
    assert_nothing_clipped(&h, size, "a finished, a failed and an uploading item");

    h.get_by_label(&format!("Show details: {LONG}")).click();
    h.run_steps(3);
    assert_nothing_clipped(&h, size, "the finished item open");

    h.state_mut().work.no_file_dialog = Some(
        "no file dialog could open: install xdg-desktop-portal (with xdg-desktop-portal-gtk or \
         -kde) or zenity; until then, type or paste a path below"
            .into(),
    );
    h.run_steps(2);
    assert_nothing_clipped(&h, size, "the path field");
    h.state_mut().work.no_file_dialog = None;

    let app = h.state_mut();
    let token = groupme_uploader::token::Token::new("0123456789abcdef0123456789abcdef");
    let source = TokenSource::File(world.root.path().join("config/token"));
    app.work.token = token.clone();
    app.work.token_source = source.clone();
    // Two accounts, one with a name as long as a name may be (40 characters).
    let names = ["me", "the club's bot owner, for the spring fair"];
    for (i, name) in names.into_iter().enumerate() {
        let key = format!("k{i}");
        app.work
            .accounts
            .list
            .accounts
            .push(groupme_uploader::accounts::Account {
                name: name.into(),
                key: key.clone(),
            });
        app.work.accounts.tokens.insert(
            key,
            groupme_uploader::app::worker::StoredToken {
                token: token.clone(),
                source: source.clone(),
            },
        );
    }
    app.work.accounts.list.chosen = Some("k1".into());
    app.view.tab = Tab::Settings;
    h.run_steps(3);
    assert_eq!(h.query_all_by_label("Rename").count(), 2);
    assert_nothing_clipped(&h, size, "Settings with two accounts, tokens in files");

    h.state_mut().view.tab = Tab::History;
    h.run_steps(3);
    assert_nothing_clipped(&h, size, "History");
}

#[test]
fn at_the_minimum_size_no_widget_is_clipped() {
    every_view_fits([560.0, 420.0]);
}

#[test]
fn at_a_large_size_no_widget_is_clipped() {
    every_view_fits([1600.0, 1000.0]);
}
