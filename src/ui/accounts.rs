//! The GroupMe accounts: the top bar's account choice (a ComboBox) and Settings' list (choose,
//! rename, remove with a confirmation, add with a masked token field).

use eframe::egui;

use crate::accounts::ENV_KEY;
use crate::app::accounts::AccountAction;
use crate::app::{Action, UiParts};

/// The top bar's account choice; nothing when there is no account.
pub fn account_picker_ui(ui: &mut egui::Ui, app: &UiParts<'_>, actions: &mut Vec<Action>) {
    let choices = app.work.accounts.choices();
    if choices.is_empty() {
        return;
    }
    let chosen = app.work.accounts.list.chosen.clone();
    let label = ui.label("Account");
    // Narrower when the bar is (560 px wide, the local service's longer label).
    let width = (ui.available_width() - 24.0).clamp(60.0, 120.0);
    let combo = egui::ComboBox::from_id_salt("account")
        .width(width)
        .truncate()
        .selected_text(app.work.accounts.chosen_name().unwrap_or("none"))
        .show_ui(ui, |ui| {
            for (key, name) in choices {
                let on = chosen.as_deref() == Some(key.as_str());
                if ui.selectable_label(on, name).clicked() && !on {
                    actions.push(Action::Account(AccountAction::Choose(key)));
                }
            }
        });
    combo
        .response
        .labelled_by(label.id)
        .on_hover_text("The GroupMe account new uploads and sends use");
}

/// Settings' account list and the Add account form.
pub fn accounts_settings_ui(ui: &mut egui::Ui, app: &mut UiParts<'_>, actions: &mut Vec<Action>) {
    ui.heading("Accounts");
    let chosen = app.work.accounts.list.chosen.clone();
    if app.work.accounts.env.is_some() {
        ui.horizontal_wrapped(|ui| {
            let on = chosen.as_deref() == Some(ENV_KEY);
            if ui.radio(on, ENV_KEY).clicked() && !on {
                actions.push(Action::Account(AccountAction::Choose(ENV_KEY.to_owned())));
            }
            ui.label(egui::RichText::new("the GM_TOKEN variable, not stored").weak());
        });
    }
    for account in app.work.accounts.list.accounts.clone() {
        let key = account.key.clone();
        ui.horizontal_wrapped(|ui| {
            let on = chosen.as_deref() == Some(key.as_str());
            if ui.radio(on, &account.name).clicked() && !on {
                actions.push(Action::Account(AccountAction::Choose(key.clone())));
            }
            // Where, not the masked token: the chosen one's is in the line above.
            let place = app
                .work
                .accounts
                .tokens
                .get(&key)
                .map_or("no token", |s| s.source.place());
            ui.label(egui::RichText::new(place).weak());
            if ui.small_button("Rename").clicked() {
                app.view.accounts.renaming = Some((key.clone(), account.name.clone()));
            }
            if ui.small_button("Remove").clicked() {
                app.view.accounts.removing = Some(key.clone());
            }
        });
        let renaming = &mut app.view.accounts.renaming;
        if renaming.as_ref().is_some_and(|(k, _)| *k == key) {
            let mut cancel = false;
            ui.horizontal_wrapped(|ui| {
                let Some((_, name)) = renaming.as_mut() else {
                    return;
                };
                let label = ui.label("New name");
                let field = ui
                    .add(egui::TextEdit::singleline(name).desired_width(200.0))
                    .labelled_by(label.id);
                let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                if ui.button("Save name").clicked() || enter {
                    actions.push(Action::Account(AccountAction::Rename {
                        key: key.clone(),
                        name: name.clone(),
                    }));
                }
                cancel = ui.button("Cancel").clicked();
            });
            if cancel {
                *renaming = None;
            }
        }
        if app.view.accounts.removing.as_deref() == Some(key.as_str()) {
            ui.horizontal_wrapped(|ui| {
                ui.label(
                    egui::RichText::new(format!(
                        "Remove \u{201c}{}\u{201d}? Its token is deleted from this computer.",
                        account.name
                    ))
                    .color(ui.visuals().warn_fg_color),
                );
                if ui.button("Remove account").clicked() {
                    actions.push(Action::Account(AccountAction::Remove(key.clone())));
                }
                if ui.button("Keep it").clicked() {
                    app.view.accounts.removing = None;
                }
            });
        }
    }
    ui.horizontal_wrapped(|ui| {
        let label = ui.label("Account name");
        ui.add(
            egui::TextEdit::singleline(&mut app.view.accounts.name)
                .hint_text("e.g. club bot owner")
                .desired_width(160.0),
        )
        .labelled_by(label.id);
        let label = ui.label("Its token");
        ui.add(
            egui::TextEdit::singleline(&mut app.view.accounts.token)
                .password(true)
                .hint_text("paste it here")
                .desired_width(200.0),
        )
        .labelled_by(label.id);
        if ui.button("Add account").clicked() {
            actions.push(Action::Account(AccountAction::Add {
                name: app.view.accounts.name.clone(),
                token: app.view.accounts.token.clone(),
            }));
        }
    });
}
