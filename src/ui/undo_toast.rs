//! The Undo toast: after a history Remove or Clear, a small box at the bottom of the window says
//! what was removed and offers Undo for a few seconds. It floats at the bottom centre, away from
//! the rows' Remove buttons, so a second click never lands on it by accident.

use eframe::egui;

use crate::app::{Action, UiParts};

/// Distance from the window's bottom edge: above the status bar.
const ABOVE_STATUS_BAR: f32 = 40.0;

pub fn undo_toast_ui(ctx: &egui::Context, app: &UiParts<'_>, actions: &mut Vec<Action>) {
    let Some(undo) = &app.work.undo else {
        return;
    };
    egui::Area::new(egui::Id::unique("undo_toast"))
        .order(egui::Order::Foreground)
        .anchor(egui::Align2::CENTER_BOTTOM, [0.0, -ABOVE_STATUS_BAR])
        .show(ctx, |ui| {
            egui::Frame::popup(ui.style()).show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.label(&undo.text);
                    if ui.button("Undo").clicked() {
                        actions.push(Action::Undo);
                    }
                });
            });
        });
}
