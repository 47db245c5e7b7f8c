//! The settings tab: token (masked), accounts, endpoint, concurrency, copy behaviour, privacy.

use eframe::egui;

use crate::app::{Action, UiParts};
use crate::settings::EndpointChoice;
use crate::snippet::Snippet;
use crate::token_store::TokenSource;

/// What having no token means, for where uploads go now.
fn no_token_words(target: &EndpointChoice) -> &'static str {
    match target {
        EndpointChoice::Local => {
            "No token: uploads go to the local service. Get yours at dev.groupme.com (Access Token)."
        }
        EndpointChoice::GroupMe | EndpointChoice::Custom(_) => {
            "No token: uploads fail until you add one here (or choose the local service below). Get yours at dev.groupme.com (Access Token)."
        }
    }
}

pub fn settings_ui(ui: &mut egui::Ui, app: &mut UiParts<'_>, actions: &mut Vec<Action>) {
    if app.work.loading.settings || app.work.loading.token {
        // Edits now would be overwritten by what is being read.
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Loading settings and token…");
        });
        return;
    }
    let mut changed = false;
    egui::ScrollArea::vertical().show(ui, |ui| {
        ui.heading("GroupMe access token");
        match &app.work.token {
            Some(t) => ui.label(format!("Token {} — {}", t.masked(), app.work.token_source.place())),
            None => ui.label(no_token_words(&app.target())),
        };
        super::send_picker::who_am_i_ui(ui, app);
        if let TokenSource::File(path) = &app.work.token_source {
            ui.label(
                egui::RichText::new(format!(
                    "No keyring service is running, so the token is kept unencrypted in {} (readable only by you).",
                    path.display()
                ))
                .color(ui.visuals().warn_fg_color),
            );
        }
        if app.work.token_source != TokenSource::Env {
            // Wrapped: at the minimum width the buttons go to the next line, not off the edge.
            ui.horizontal_wrapped(|ui| {
                let label = ui.label("New token");
                ui.add(
                    egui::TextEdit::singleline(&mut app.view.token_input)
                        .password(true)
                        .hint_text("paste it here")
                        .desired_width(300.0),
                )
                .labelled_by(label.id);
                if ui.button("Save token").clicked() {
                    actions.push(Action::SaveToken(app.view.token_input.clone()));
                }
            });
        }
        ui.add_space(10.0);
        super::accounts::accounts_settings_ui(ui, app, actions);
        ui.add_space(10.0);
        ui.heading("Upload to");
        let mut choice = app.settings.endpoint.clone();
        changed |= ui
            .radio_value(&mut choice, None, "Automatic: GroupMe when a token is set, else the local service")
            .changed();
        changed |= ui
            .radio_value(&mut choice, Some(EndpointChoice::GroupMe), "GroupMe (image.groupme.com)")
            .changed();
        changed |= ui
            .radio_value(
                &mut choice,
                Some(EndpointChoice::Local),
                format!("Local service on this computer ({})", app.work.local.url),
            )
            .changed();
        ui.horizontal(|ui| {
            let custom = Some(EndpointChoice::Custom(app.view.custom_endpoint.clone()));
            let is_custom = matches!(choice, Some(EndpointChoice::Custom(_)));
            if ui.radio(is_custom, "Custom service:").clicked() {
                choice = custom;
                changed = true;
            }
            let field = ui.add(
                egui::TextEdit::singleline(&mut app.view.custom_endpoint)
                    .hint_text("https://images.example.org")
                    .desired_width(260.0),
            );
            if field.lost_focus() && is_custom {
                choice = Some(EndpointChoice::Custom(app.view.custom_endpoint.clone()));
                changed = true;
            }
        });
        app.settings.endpoint = choice;
        ui.add_space(10.0);
        ui.heading("Uploads");
        changed |= ui
            .add(egui::Slider::new(&mut app.settings.concurrency, 1..=8).text("at once"))
            .changed();
        changed |= ui
            .add(egui::Slider::new(&mut app.settings.max_attempts, 1..=8).text("attempts per image"))
            .changed();
        changed |= ui
            .checkbox(&mut app.settings.auto_copy, "Copy the links when a batch of uploads finishes")
            .changed();
        ui.horizontal(|ui| {
            ui.label("Copy format");
            egui::ComboBox::from_id_salt("copy_format")
                .selected_text(app.settings.copy_format.label())
                .show_ui(ui, |ui| {
                    for style in Snippet::ALL {
                        changed |= ui
                            .selectable_value(&mut app.settings.copy_format, style, style.label())
                            .changed();
                    }
                });
        });
        ui.add_space(10.0);
        ui.heading("Privacy");
        changed |= ui
            .checkbox(
                &mut app.settings.strip_metadata,
                "Remove location and other metadata before upload (pixels untouched)",
            )
            .changed();
        changed |= ui
            .checkbox(&mut app.settings.confirm_paste, "Ask before uploading pasted content (uploads are public)")
            .changed();
        ui.add_space(10.0);
        changed |= super::before_upload::before_upload_ui(ui, &mut app.settings.before_upload);
    });
    if changed {
        actions.push(Action::SettingsChanged);
    }
}
