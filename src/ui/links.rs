//! The copy rows of a finished upload: the CDN URL and its preview, large and avatar URLs, each
//! with a Copy button, plus "copy as" Markdown / HTML / BBCode.

use eframe::egui;

use crate::app::Action;
use crate::cdn_url::{CdnUrl, Snippet};

pub fn links_ui(
    ui: &mut egui::Ui,
    id_salt: impl egui::AsIdSalt,
    url: &CdnUrl,
    actions: &mut Vec<Action>,
) {
    egui::Grid::new(id_salt)
        .num_columns(3)
        .spacing([8.0, 2.0])
        .show(ui, |ui| {
            for (label, u) in [
                ("URL", url.original()),
                ("Preview", url.preview()),
                ("Large", url.large()),
                ("Avatar", url.avatar()),
            ] {
                let text = u.to_string();
                ui.label(egui::RichText::new(label).weak());
                ui.add(egui::Label::new(egui::RichText::new(&text).monospace()).truncate());
                if ui
                    .button(format!("Copy {label}"))
                    .on_hover_text(&text)
                    .clicked()
                {
                    actions.push(Action::Copy(text));
                }
                ui.end_row();
            }
        });
    ui.horizontal(|ui| {
        ui.label(egui::RichText::new("Copy as").weak());
        for style in [Snippet::Markdown, Snippet::Html, Snippet::Bbcode] {
            if ui.small_button(style.label()).clicked() {
                actions.push(Action::Copy(style.render(&url.to_string())));
            }
        }
    });
}
