//! The copy rows of a finished upload: the CDN URL and its preview, large and avatar URLs, each
//! with a Copy button, plus "copy as" Markdown / HTML / BBCode.

use eframe::egui;

use crate::app::Action;
use crate::cdn_url::CdnUrl;
use crate::snippet::Snippet;

/// Width kept for a row's Copy button.
const BUTTON: f32 = 118.0;
/// Width of a row's name.
const NAME: f32 = 56.0;

pub fn links_ui(ui: &mut egui::Ui, url: &CdnUrl, actions: &mut Vec<Action>) {
    for (label, u) in [
        ("URL", url.original()),
        ("Preview", url.preview()),
        ("Large", url.large()),
        ("Avatar", url.avatar()),
    ] {
        let text = u.to_string();
        ui.horizontal(|ui| {
            let height = ui.spacing().interact_size.y;
            let left = egui::Layout::left_to_right(egui::Align::Center);
            ui.allocate_ui_with_layout(egui::vec2(NAME, height), left, |ui| {
                ui.set_min_width(NAME);
                ui.label(egui::RichText::new(label).weak());
            });
            let width = (ui.available_width() - BUTTON).max(120.0);
            ui.allocate_ui_with_layout(egui::vec2(width, height), left, |ui| {
                ui.set_min_width(width);
                // Cut in the middle: the end (.preview, .large, .avatar) is what differs.
                let font = egui::TextStyle::Monospace.resolve(ui.style());
                let glyph = ui.ctx().fonts_mut(|f| f.glyph_width(&font, 'm')).max(1.0);
                let fits = (width / glyph).floor() as usize;
                let shown = super::elide::elide_middle(&text, fits);
                ui.add(egui::Label::new(
                    egui::RichText::new(shown.as_ref()).monospace(),
                ));
            });
            super::copy_button::copy_button_ui(ui, &format!("Copy {label}"), &text, actions)
                .on_hover_text(&text);
        });
    }
    ui.horizontal(|ui| {
        let left = egui::Layout::left_to_right(egui::Align::Center);
        ui.allocate_ui_with_layout(egui::vec2(NAME, ui.spacing().interact_size.y), left, |ui| {
            ui.set_min_width(NAME);
            ui.label(egui::RichText::new("Copy as").weak());
        });
        for style in [Snippet::Markdown, Snippet::Html, Snippet::Bbcode] {
            let text = style.render(&url.to_string());
            super::copy_button::small_copy_button_ui(ui, style.label(), &text, actions);
        }
    });
}
