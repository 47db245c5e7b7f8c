//! The History tab: a gallery of every finished upload, newest first, grouped by day ("Today",
//! "Yesterday", "Tuesday 1 December 2026", in local time), each with the service's `.preview`
//! thumbnail, name, time, size, the copy buttons, Send to… and Remove; a search by name or URL.
//! Only the rows in view are drawn and ask for their thumbnails (`crate::gallery` places them).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Local, NaiveDate};
use eframe::egui;

use crate::app::history_thumbs::Thumb;
use crate::app::{Action, UiParts};
use crate::gallery::{self, Placement, Row};
use crate::history::Entry;

/// Side of a thumbnail, in points (the texture is 144 px: sharp at 2x).
const THUMB: f32 = 72.0;
/// A day's heading row, spacing included.
const HEADING: f32 = 32.0;
/// Width of the menu of other links.
const MENU_WIDTH: f32 = 560.0;

/// The gallery's rows for one state of the history, search and day: grouping needs the local
/// time of every entry, so it is redone only when one of these changes, not every frame.
#[derive(Clone, PartialEq)]
struct Key {
    len: usize,
    /// Changes when entries are removed and others added (the length alone would not).
    times: u64,
    last: Option<String>,
    query: String,
    today: NaiveDate,
}

struct Memo {
    key: Key,
    rows: Vec<Row>,
}

fn rows_for(ui: &egui::Ui, history: &[Entry], query: &str, today: NaiveDate) -> Arc<Memo> {
    let key = Key {
        len: history.len(),
        times: history.iter().fold(0u64, |acc, e| {
            acc.wrapping_mul(31).wrapping_add(e.uploaded_at)
        }),
        last: history.last().map(|e| e.url.clone()),
        query: query.trim().to_lowercase(),
        today,
    };
    let id = egui::Id::unique("history_gallery_rows");
    if let Some(memo) = ui.data(|d| d.get_temp::<Arc<Memo>>(id))
        && memo.key == key
    {
        return memo;
    }
    let order = gallery::matching(history, &key.query);
    let memo = Arc::new(Memo {
        rows: gallery::group_by_day(history, &order, &Local),
        key,
    });
    ui.data_mut(|d| d.insert_temp(id, memo.clone()));
    memo
}

pub fn history_ui(ui: &mut egui::Ui, app: &mut UiParts<'_>, actions: &mut Vec<Action>) {
    if app.work.loading.history {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Loading history…");
        });
        return;
    }
    let history = &app.work.history;
    let today = Local::now().date_naive();
    let memo = rows_for(ui, history, &app.view.search, today);
    let shown = memo
        .rows
        .iter()
        .filter(|r| matches!(r, Row::Entry(_)))
        .count();
    ui.horizontal(|ui| {
        ui.add(
            egui::TextEdit::singleline(&mut app.view.search)
                .hint_text("Search by name or URL")
                .desired_width(280.0),
        );
        if !app.view.search.trim().is_empty() && !history.is_empty() {
            ui.label(egui::RichText::new(format!("{shown} of {}", history.len())).weak());
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            // No question first: it clears at once and the toast offers Undo.
            if !history.is_empty() && ui.button("Clear history").clicked() {
                actions.push(Action::HistoryClear);
            }
        });
    });
    ui.add_space(4.0);
    if history.is_empty() {
        ui.label(
            egui::RichText::new("Finished uploads appear here and stay across restarts.").weak(),
        );
        return;
    }
    if memo.rows.is_empty() {
        ui.label(format!(
            "No pictures match \u{201c}{}\u{201d}",
            app.view.search.trim()
        ));
        return;
    }
    gallery_ui(ui, app, &memo.rows, today, actions);
}

/// The rows in view, placed where the whole list would put them.
fn gallery_ui(
    ui: &mut egui::Ui,
    app: &UiParts<'_>,
    rows: &[Row],
    today: NaiveDate,
    actions: &mut Vec<Action>,
) {
    let history = &app.work.history;
    let line = ui.spacing().interact_size.y + ui.spacing().item_spacing.y;
    let entry_height = measured_entry_height(ui);
    let mut deliveries: HashMap<&str, usize> = HashMap::new();
    for d in &app.work.groupme.deliveries {
        *deliveries.entry(d.picture.as_str()).or_default() += 1;
    }
    let height = |row: &Row| match row {
        Row::Day(_) => HEADING,
        // Most entries were sent nowhere: no lookup then (it would hash 10,000 URLs a frame).
        Row::Entry(_) if deliveries.is_empty() => entry_height,
        Row::Entry(i) => {
            let sent = deliveries
                .get(history[*i].url.as_str())
                .copied()
                .unwrap_or(0);
            entry_height + sent as f32 * line
        }
    };
    let placement = Placement::new(rows.iter().map(height));
    let mut in_view = Vec::new();
    let mut tallest_plain = 0.0_f32;
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show_viewport(ui, |ui, viewport| {
            ui.set_height(placement.total());
            let origin = ui.max_rect().min;
            let width = ui.available_width();
            for i in placement.visible(viewport.min.y, viewport.max.y) {
                let row = rows[i];
                let rect = egui::Rect::from_min_size(
                    origin + egui::vec2(0.0, placement.top(i)),
                    egui::vec2(width, height(&row)),
                );
                let builder = egui::UiBuilder::new()
                    .max_rect(rect)
                    .layout(egui::Layout::top_down(egui::Align::Min));
                match row {
                    Row::Day(day) => {
                        ui.scope_builder(builder, |ui| {
                            ui.add_space(8.0);
                            ui.label(
                                egui::RichText::new(gallery::day_label(day, today))
                                    .strong()
                                    .size(16.0),
                            );
                        });
                    }
                    Row::Entry(index) => {
                        let entry = &history[index];
                        in_view.push(entry.url.clone());
                        let used = ui
                            .push_id(&entry.url, |ui| {
                                ui.scope_builder(builder, |ui| {
                                    entry_ui(ui, app, index, entry, actions)
                                })
                                .response
                                .rect
                                .height()
                            })
                            .inner;
                        if !deliveries.contains_key(entry.url.as_str()) {
                            tallest_plain = tallest_plain.max(used);
                        }
                    }
                }
            }
        });
    if !in_view.is_empty() {
        actions.push(Action::HistoryInView(in_view));
    }
    // Rows are placed at a height guessed before drawing; a row that came out taller (a bigger
    // font, a theme) sets the height for the next frame.
    if tallest_plain > entry_height + 0.5 {
        ui.data_mut(|d| d.insert_temp(entry_height_id(), tallest_plain.ceil()));
        ui.ctx().request_repaint();
    }
}

fn entry_height_id() -> egui::Id {
    egui::Id::unique("history_gallery_entry_height")
}

/// An entry row's height, spacing included: the thumbnail inside a group frame, or what a drawn
/// row took if that was more.
fn measured_entry_height(ui: &egui::Ui) -> f32 {
    let frame = egui::Frame::group(ui.style());
    let margins = frame.total_margin().sum().y;
    let guess = THUMB + margins + ui.spacing().item_spacing.y;
    let measured = ui
        .data(|d| d.get_temp::<f32>(entry_height_id()))
        .unwrap_or(0.0);
    guess.max(measured)
}

/// One entry: thumbnail, then name, time, size; the URL with Copy and the other links; Send
/// to…; where it went.
fn entry_ui(
    ui: &mut egui::Ui,
    app: &UiParts<'_>,
    index: usize,
    entry: &Entry,
    actions: &mut Vec<Action>,
) {
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal_top(|ui| {
            thumb_ui(ui, app, entry);
            ui.vertical(|ui| {
                ui.horizontal(|ui| {
                    ui.label(egui::RichText::new(&entry.name).strong());
                    let mut facts = vec![gallery::time_label(entry.uploaded_at, &Local)];
                    if let Some(size) = entry.size {
                        facts.push(super::human_bytes(size));
                    }
                    if let (Some(w), Some(h)) = (entry.width, entry.height) {
                        facts.push(format!("{w}×{h}"));
                    }
                    if !entry.account.is_empty() {
                        facts.push(format!("account {}", entry.account));
                    }
                    ui.label(egui::RichText::new(facts.join(" · ")).weak())
                        .on_hover_text(gallery::full_label(entry.uploaded_at, &Local));
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        if ui.small_button("Remove").clicked() {
                            actions.push(Action::HistoryRemove(index));
                        }
                    });
                });
                url_row_ui(ui, entry, actions);
                let picture = crate::app::groupme::picture_of_entry(entry, &app.work.queue);
                super::send_picker::send_buttons_ui(
                    ui,
                    &picture,
                    app.view.selected.contains(&entry.url),
                    actions,
                );
                super::send_picker::deliveries_ui(ui, app, &entry.url, actions);
            });
        });
    });
}

/// The thumbnail, or a plain square while it loads or when there is none.
fn thumb_ui(ui: &mut egui::Ui, app: &UiParts<'_>, entry: &Entry) {
    let size = egui::vec2(THUMB, THUMB);
    match app.images.history.get(&entry.url) {
        Thumb::Ready(texture) => {
            ui.add(
                egui::Image::new(egui::load::SizedTexture::from_handle(texture))
                    .fit_to_exact_size(size)
                    .corner_radius(4.0)
                    .alt_text(format!("Preview of {}", entry.name)),
            );
        }
        Thumb::Loading => {
            placeholder_ui(ui, size);
        }
        Thumb::Missing(why) => {
            placeholder_ui(ui, size).on_hover_text(format!("No preview: {why}"));
        }
    }
}

fn placeholder_ui(ui: &mut egui::Ui, size: egui::Vec2) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(size, egui::Sense::hover());
    let visuals = ui.visuals();
    ui.painter()
        .rect_filled(rect, 4.0, visuals.widgets.noninteractive.weak_bg_fill);
    response
}

/// The URL (cut in the middle when narrow) with Copy URL, and a menu with the preview, large and
/// avatar links and the Markdown / HTML / BBCode forms.
fn url_row_ui(ui: &mut egui::Ui, entry: &Entry, actions: &mut Vec<Action>) {
    let Some(url) = entry.cdn_url() else {
        ui.label(egui::RichText::new(&entry.url).monospace());
        return;
    };
    ui.horizontal(|ui| {
        let buttons = 190.0;
        let width = (ui.available_width() - buttons).max(120.0);
        let font = egui::TextStyle::Monospace.resolve(ui.style());
        let glyph = ui.ctx().fonts_mut(|f| f.glyph_width(&font, 'm')).max(1.0);
        let fits = (width / glyph).floor() as usize;
        let text = url.to_string();
        let shown = super::elide::elide_middle(&text, fits);
        ui.add(egui::Label::new(egui::RichText::new(shown.as_ref()).monospace()).truncate())
            .on_hover_text(&text);
        super::copy_button::copy_button_ui(ui, "Copy URL", &text, actions);
        ui.menu_button("More links…", |ui| {
            ui.set_min_width(MENU_WIDTH);
            super::links::links_ui(ui, &url, actions);
        });
    });
}
