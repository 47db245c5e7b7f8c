//! The drop zone: the big target shown on an empty queue, and the overlay while files hover.

use eframe::egui;

use crate::app::Action;

/// While files hover the window: dim it and say how many will be added.
pub fn drop_overlay_ui(ctx: &egui::Context) {
    let hovered = ctx.input(|i| i.raw.hovered_files.len());
    if hovered == 0 {
        return;
    }
    let painter = ctx.layer_painter(egui::LayerId::new(
        egui::Order::Foreground,
        egui::Id::unique("drop_overlay"),
    ));
    let rect = ctx.content_rect();
    painter.rect_filled(rect, 0.0, egui::Color32::from_black_alpha(180));
    let inner = rect.shrink(24.0);
    painter.rect_stroke(
        inner,
        12.0,
        egui::Stroke::new(3.0, egui::Color32::from_rgb(0, 175, 240)),
        egui::StrokeKind::Inside,
    );
    // Folders are expanded only after the drop: count what hovers as what it is.
    let text = if hovered == 1 {
        "Drop to add 1 file or folder".to_owned()
    } else {
        format!("Drop to add {hovered} files and folders")
    };
    // A label, not painted text: screen readers (and tests) read what the drop will do.
    egui::Area::new(egui::Id::unique("drop_overlay_text"))
        .order(egui::Order::Foreground)
        .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
        .interactable(false)
        .show(ctx, |ui| {
            ui.label(
                egui::RichText::new(text)
                    .size(28.0)
                    .color(egui::Color32::WHITE),
            );
        });
}

/// The empty queue: one big, clickable target that says what to do.
pub fn empty_drop_zone_ui(ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    let size = egui::vec2(ui.available_width(), ui.available_height().max(240.0));
    let (rect, response) = ui.allocate_exact_size(size, egui::Sense::click());
    let accent = if response.hovered() {
        egui::Color32::from_rgb(0, 175, 240)
    } else {
        ui.visuals().weak_text_color()
    };
    let painter = ui.painter_at(rect);
    painter.rect_stroke(
        rect.shrink(8.0),
        12.0,
        egui::Stroke::new(2.0, accent),
        egui::StrokeKind::Inside,
    );
    let c = rect.center();
    painter.text(
        c - egui::vec2(0.0, 28.0),
        egui::Align2::CENTER_CENTER,
        "Drop images here",
        egui::FontId::proportional(26.0),
        ui.visuals().strong_text_color(),
    );
    painter.text(
        c + egui::vec2(0.0, 8.0),
        egui::Align2::CENTER_CENTER,
        "or click to choose files (Ctrl+O) · paste an image or a link (Ctrl+V)",
        egui::FontId::proportional(15.0),
        ui.visuals().text_color(),
    );
    painter.text(
        c + egui::vec2(0.0, 34.0),
        egui::Align2::CENTER_CENTER,
        "JPEG, PNG, GIF (animated too) and WebP",
        egui::FontId::proportional(13.0),
        ui.visuals().weak_text_color(),
    );
    if response.clicked() {
        actions.push(Action::Pick);
    }
}
