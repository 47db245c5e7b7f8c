//! The history tab: every finished upload, searchable, with the same copy buttons, remove and
//! clear.

use eframe::egui;

use crate::app::{Action, UiParts};

pub fn history_ui(ui: &mut egui::Ui, app: &mut UiParts<'_>, actions: &mut Vec<Action>) {
    if app.work.loading.history {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Loading history…");
        });
        return;
    }
    ui.horizontal(|ui| {
        ui.add(
            egui::TextEdit::singleline(&mut app.view.search)
                .hint_text("Search by name or URL")
                .desired_width(280.0),
        );
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            // No question first: it clears at once and the toast offers Undo.
            if !app.work.history.is_empty() && ui.button("Clear history").clicked() {
                actions.push(Action::HistoryClear);
            }
        });
    });
    ui.add_space(4.0);
    if app.work.history.is_empty() {
        ui.label(
            egui::RichText::new("Finished uploads appear here and stay across restarts.").weak(),
        );
        return;
    }
    let query = app.view.search.trim().to_lowercase();
    let matching: Vec<usize> = (0..app.work.history.len())
        .rev()
        .filter(|&i| app.work.history[i].matches(&query))
        .collect();
    if matching.is_empty() {
        ui.label("Nothing matches.");
        return;
    }
    let row_height = 190.0;
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show_rows(ui, row_height, matching.len(), |ui, range| {
            for &index in &matching[range] {
                let entry = &app.work.history[index];
                egui::Frame::group(ui.style()).show(ui, |ui| {
                    ui.set_width(ui.available_width());
                    ui.horizontal(|ui| {
                        ui.label(egui::RichText::new(&entry.name).strong());
                        if let (Some(w), Some(h)) = (entry.width, entry.height) {
                            ui.label(egui::RichText::new(format!("{w}×{h}")).weak());
                        }
                        if !entry.account.is_empty() {
                            ui.label(
                                egui::RichText::new(format!("account {}", entry.account)).weak(),
                            )
                            .on_hover_text("The GroupMe account that uploaded it");
                        }
                        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                            if ui.small_button("Remove").clicked() {
                                actions.push(Action::HistoryRemove(index));
                            }
                        });
                    });
                    match entry.cdn_url() {
                        Some(url) => super::links::links_ui(ui, &url, actions),
                        None => {
                            ui.label(&entry.url);
                        }
                    }
                    let picture = crate::app::groupme::picture_of_entry(entry, &app.work.queue);
                    super::send_picker::send_buttons_ui(
                        ui,
                        &picture,
                        app.view.selected.contains(&entry.url),
                        actions,
                    );
                    super::send_picker::deliveries_ui(ui, app, &entry.url, actions);
                });
            }
        });
}
