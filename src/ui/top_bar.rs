//! The top bar: where uploads go, the add/paste/mirror controls, and the tabs.

use eframe::egui;

use crate::app::{Action, Tab, UiParts};
use crate::settings::EndpointChoice;

/// Width kept right of the URL field for the Mirror button (with spacing).
const MIRROR_BUTTON: f32 = 72.0;

pub fn top_bar_ui(ui: &mut egui::Ui, app: &mut UiParts<'_>, actions: &mut Vec<Action>) {
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        ui.heading("GroupMe Uploader");
        ui.separator();
        if app.work.loading.settings || app.work.loading.token {
            // Where uploads go depends on both: say nothing wrong meanwhile.
            ui.spinner();
            ui.label(egui::RichText::new("Loading settings and token…").weak());
            return;
        }
        match app.target() {
            EndpointChoice::GroupMe => {
                ui.label(egui::RichText::new("GroupMe").strong())
                    .on_hover_text("Uploads go to GroupMe's Image Service");
            }
            EndpointChoice::Local => {
                let text = match &app.work.local.error {
                    Some(e) => format!("Local service — not GroupMe ({e})"),
                    None => "Local service — not GroupMe".to_owned(),
                };
                ui.label(egui::RichText::new(text).color(ui.visuals().warn_fg_color))
                    .on_hover_text(format!(
                        "No GroupMe token is set, so images go to the service built into this app at {}. Add a token in Settings to upload to GroupMe.",
                        app.work.local.url
                    ));
            }
            EndpointChoice::Custom(url) => {
                ui.label(format!("Custom service: {url}"));
            }
        }
        if !app.work.accounts.choices().is_empty() {
            ui.separator();
            super::accounts::account_picker_ui(ui, app, actions);
        }
    });
    ui.add_space(2.0);
    ui.horizontal(|ui| {
        if ui
            .button("Add images…")
            .on_hover_text("Choose image files (Ctrl+O)")
            .clicked()
        {
            actions.push(Action::Pick);
        }
        if ui
            .button("Paste")
            .on_hover_text("Upload the image, files or links on the clipboard (Ctrl+V)")
            .clicked()
        {
            actions.push(Action::PasteFromClipboard);
        }
        ui.separator();
        // The field takes the free width, leaving room for the Mirror button at any size.
        let width = (ui.available_width() - MIRROR_BUTTON).max(120.0);
        let field = ui.add(
            egui::TextEdit::singleline(&mut app.view.url_input)
                .hint_text("https://… image link to mirror")
                .desired_width(width),
        );
        let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui.button("Mirror").clicked() || enter {
            actions.push(Action::Mirror(app.view.url_input.clone()));
        }
    });
    if let Some(why) = &app.work.no_file_dialog {
        super::path_field::no_dialog_ui(ui, why, app, actions);
    }
    ui.add_space(2.0);
    ui.horizontal(|ui| {
        let history = format!("History ({})", app.work.history.len());
        for (tab, label) in [
            (Tab::Queue, "Queue".to_owned()),
            (Tab::History, history),
            (Tab::Settings, "Settings".to_owned()),
        ] {
            if ui.selectable_label(app.view.tab == tab, label).clicked() {
                actions.push(Action::SetTab(tab));
            }
        }
    });
    ui.add_space(4.0);
}
