//! The window's drawing: each panel or widget in its own file. Widgets edit the fields they are
//! bound to (text, the settings' checkboxes and sliders, the tab); every other click becomes an
//! [`Action`](crate::app::Action) that the app applies after the pass.

mod accounts;
mod before_upload;
mod copy_button;
mod elide;
mod history_tab;
mod job_card;
mod links;
mod overlay;
mod path_field;
mod send_picker;
mod settings_tab;
pub mod theme;
mod top_bar;
mod undo_toast;

use eframe::egui;

use crate::app::{Action, Tab, UiParts};

/// Human size: `1.4 MB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// The whole window: top bar, status bar, the current tab, and the drop overlay.
pub fn app_ui(ui: &mut egui::Ui, app: &mut UiParts<'_>) -> Vec<Action> {
    let mut actions = Vec::new();
    egui::Panel::top("top_bar").show(ui, |ui| top_bar::top_bar_ui(ui, app, &mut actions));
    egui::Panel::bottom("status").show(ui, |ui| status_ui(ui, app));
    egui::CentralPanel::default().show(ui, |ui| {
        if !app.work.pending_paste.is_empty() {
            paste_confirm_ui(ui, app, &mut actions);
        }
        send_picker::selection_ui(ui, app, &mut actions);
        match app.view.tab {
            Tab::Queue => queue_ui(ui, app, &mut actions),
            Tab::History => history_tab::history_ui(ui, app, &mut actions),
            Tab::Settings => settings_tab::settings_ui(ui, app, &mut actions),
        }
    });
    send_picker::send_picker_ui(ui, app, &mut actions);
    undo_toast::undo_toast_ui(ui.ctx(), app, &mut actions);
    overlay::drop_overlay_ui(ui.ctx());
    actions
}

fn status_ui(ui: &mut egui::Ui, app: &UiParts<'_>) {
    ui.horizontal(|ui| {
        if !app.work.is_loaded() {
            ui.spinner();
            ui.label("Loading… (uploads start once settings, token and history are read)");
            ui.separator();
        }
        let jobs = app.work.queue.jobs();
        let done = jobs
            .iter()
            .filter(|j| matches!(j.state, crate::jobs::JobState::Done { .. }))
            .count();
        let failed = jobs
            .iter()
            .filter(|j| matches!(j.state, crate::jobs::JobState::Failed { .. }))
            .count();
        ui.label(format!(
            "{} uploading · {} waiting · {done} done · {failed} failed",
            app.work.queue.running(),
            jobs.iter()
                .filter(|j| j.state == crate::jobs::JobState::Queued)
                .count(),
        ));
        if let Some(n) = app.work.notices.last() {
            ui.separator();
            let color = if n.error {
                ui.visuals().error_fg_color
            } else {
                ui.visuals().weak_text_color()
            };
            ui.label(egui::RichText::new(&n.text).color(color));
        }
    });
}

fn paste_confirm_ui(ui: &mut egui::Ui, app: &UiParts<'_>, actions: &mut Vec<Action>) {
    egui::Frame::group(ui.style()).show(ui, |ui| {
        let n = app.work.pending_paste.len();
        ui.label(format!(
            "Upload {n} pasted item{}? Uploaded images are public to anyone with the link.",
            if n == 1 { "" } else { "s" }
        ));
        for s in app.work.pending_paste.iter().take(5) {
            ui.label(egui::RichText::new(s.display_name()).weak());
        }
        ui.horizontal(|ui| {
            if ui.button("Upload").clicked() {
                actions.push(Action::ConfirmPaste(true));
            }
            if ui.button("Discard").clicked() {
                actions.push(Action::ConfirmPaste(false));
            }
        });
    });
    ui.add_space(6.0);
}

fn queue_ui(ui: &mut egui::Ui, app: &mut UiParts<'_>, actions: &mut Vec<Action>) {
    let work = app.work;
    let jobs = work.queue.jobs();
    if jobs.is_empty() {
        overlay::empty_drop_zone_ui(ui, actions);
        return;
    }
    // The buttons first, right to left, so the hint gives way (cut) on a narrow window.
    ui.horizontal(|ui| {
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui.button("Clear finished").clicked() {
                actions.push(Action::ClearDone);
            }
            let failed = jobs
                .iter()
                .any(|j| matches!(j.state, crate::jobs::JobState::Failed { .. }));
            if failed && ui.button("Clear failed").clicked() {
                actions.push(Action::ClearFailed);
            }
            if let Some(all) = work.all_done_urls(app.settings.copy_format) {
                let label = format!("Copy all ({})", app.settings.copy_format.label());
                copy_button::copy_button_ui(ui, &label, &all, actions);
            }
            ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                ui.add(
                    egui::Label::new(
                        egui::RichText::new("Drop more images anywhere on the window.").weak(),
                    )
                    .truncate(),
                );
            });
        });
    });
    ui.add_space(4.0);
    let newest = crate::queue_rows::newest_batch(jobs);
    // A batch not shown yet: its first row is scrolled into view, wherever the list was.
    let scroll_to = newest.filter(|b| *b > app.view.shown_batch);
    queue_list_ui(ui, app, jobs, scroll_to, actions);
    if let Some(b) = newest {
        app.view.shown_batch = app.view.shown_batch.max(b);
    }
}

/// The queue's rows in view (and a row's margin), placed where the whole list would put them:
/// 1,000 rows cost a dozen rows' layout.
fn queue_list_ui(
    ui: &mut egui::Ui,
    app: &mut UiParts<'_>,
    jobs: &[crate::jobs::Job],
    scroll_to: Option<u64>,
    actions: &mut Vec<Action>,
) {
    const SPACING: f32 = 4.0;
    let order = crate::queue_rows::display_order(jobs);
    let expanded = &app.view.expanded;
    app.view.row_heights.retain_open(|j| expanded.contains(&j));
    let guess = job_card::compact_height(ui) + SPACING;
    let placement = app.view.row_heights.placement(
        guess,
        order.iter().map(|j| (j.id, expanded.contains(&j.id))),
    );
    let mut area = egui::ScrollArea::vertical().auto_shrink([false, false]);
    if let Some(first) = scroll_to.and_then(|b| order.iter().position(|j| j.batch == b)) {
        area = area.vertical_scroll_offset(placement.top(first));
    }
    let mut moved = false;
    area.show_viewport(ui, |ui, viewport| {
        ui.set_height(placement.total());
        ui.spacing_mut().item_spacing.y = SPACING;
        let origin = ui.max_rect().min;
        let width = ui.available_width();
        let now = std::time::Instant::now();
        let margin = guess;
        let rows = placement.visible(viewport.min.y - margin, viewport.max.y + margin);
        // The rows in view follow each other as drawn: one taller or shorter than placed moves
        // those below it in this frame already.
        let mut top = placement.top(rows.start);
        for i in rows {
            let job = order[i];
            let open = app.view.expanded.contains(&job.id);
            let rect = egui::Rect::from_min_size(
                origin + egui::vec2(0.0, top),
                egui::vec2(width, placement.top(i + 1) - placement.top(i) - SPACING),
            );
            let builder = egui::UiBuilder::new()
                .max_rect(rect)
                .layout(egui::Layout::top_down(egui::Align::Min));
            let used = ui
                .push_id(job.id.0, |ui| {
                    ui.scope_builder(builder, |ui| {
                        job_card::job_row_ui(ui, app, job, now, actions)
                    })
                    .response
                    .rect
                    .height()
                })
                .inner;
            top += used + SPACING;
            moved |= app
                .view
                .row_heights
                .drawn(guess, job.id, open, used + SPACING);
        }
    });
    // A row that came out another height than it was placed with moves the rows below it.
    if moved {
        ui.ctx().request_repaint();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_like_a_person_writes_them() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_400_000), "1.4 MB");
        assert_eq!(human_bytes(2_000_000_000), "2.0 GB");
    }
}
