//! Send to GroupMe: the **Send to…** and **Set as my avatar** buttons of a finished picture, the
//! picker window (search the groups, direct chats and bots; an optional message with its count;
//! Send), and the lines under a picture saying where it went, each failure with its Retry.

use eframe::egui;

use crate::app::groupme::{
    DeliveryState, GroupMeAction, NO_TOKEN, PictureRef, PlacesState, SendDialog, WhoAmI, clock,
};
use crate::app::{Action, Tab, UiParts};
use crate::groupme::MAX_TEXT_CHARS;

/// The picture's GroupMe buttons: Send to…, Set as my avatar, and a box to select it for one
/// Send to… with others.
pub fn send_buttons_ui(
    ui: &mut egui::Ui,
    picture: &PictureRef,
    selected: bool,
    actions: &mut Vec<Action>,
) {
    ui.horizontal(|ui| {
        let mut ticked = selected;
        if ui
            .checkbox(&mut ticked, "Select")
            .on_hover_text("Select several pictures to send them together")
            .clicked()
        {
            actions.push(Action::GroupMe(GroupMeAction::ToggleSelected(
                picture.url.clone(),
            )));
        }
        if ui
            .button("Send to…")
            .on_hover_text("Send this picture to a GroupMe group, direct chat or bot")
            .clicked()
        {
            actions.push(Action::GroupMe(GroupMeAction::OpenSend(vec![
                picture.clone(),
            ])));
        }
        if ui.button("Set as my avatar").clicked() {
            actions.push(Action::GroupMe(GroupMeAction::SetAvatar(picture.clone())));
        }
    });
}

/// The selection's bar: how many are selected, Send them, or clear.
pub fn selection_ui(ui: &mut egui::Ui, app: &UiParts<'_>, actions: &mut Vec<Action>) {
    let n = app.view.selected.len();
    if n == 0 {
        return;
    }
    ui.horizontal(|ui| {
        ui.label(format!(
            "{n} picture{} selected",
            if n == 1 { "" } else { "s" }
        ));
        if ui.button(format!("Send {n} to…")).clicked() {
            actions.push(Action::GroupMe(GroupMeAction::SendSelected));
        }
        if ui.button("Clear selection").clicked() {
            actions.push(Action::GroupMe(GroupMeAction::ClearSelection));
        }
    });
    ui.add_space(4.0);
}

/// Settings: who the token belongs to, asked of GroupMe when the token is loaded or saved.
pub fn who_am_i_ui(ui: &mut egui::Ui, app: &UiParts<'_>) {
    match &app.work.groupme.me {
        WhoAmI::Unknown => {}
        WhoAmI::Asking => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Asking GroupMe whose token this is…");
            });
        }
        WhoAmI::Name(name) => {
            ui.label(format!("GroupMe user: {name}"));
        }
        WhoAmI::Failed(reason) => {
            ui.label(
                egui::RichText::new(format!("GroupMe did not say whose token this is: {reason}"))
                    .color(ui.visuals().error_fg_color),
            );
        }
    }
}

/// Where the picture at `url` went: one line per send, with its time; a failure keeps a Retry.
pub fn deliveries_ui(ui: &mut egui::Ui, app: &UiParts<'_>, url: &str, actions: &mut Vec<Action>) {
    for d in app.work.groupme.deliveries_of(url) {
        ui.horizontal(|ui| match &d.state {
            DeliveryState::Failed(_) => {
                ui.label(egui::RichText::new(d.line()).color(ui.visuals().error_fg_color));
                if ui.small_button("Retry").clicked() {
                    actions.push(Action::GroupMe(GroupMeAction::Retry(d.id)));
                }
            }
            DeliveryState::Sent { .. } => {
                ui.label(d.line());
            }
            DeliveryState::UploadingFirst | DeliveryState::Sending => {
                ui.spinner();
                ui.label(d.line());
            }
        });
    }
}

/// The picker window, while it is open.
pub fn send_picker_ui(ui: &mut egui::Ui, app: &mut UiParts<'_>, actions: &mut Vec<Action>) {
    let Some(mut dialog) = app.view.send.take() else {
        return;
    };
    let mut open = true;
    let mut keep = true;
    egui::Window::new("Send to GroupMe")
        .open(&mut open)
        .collapsible(false)
        .default_width(440.0)
        .show(ui.ctx(), |ui| {
            keep = picker_body_ui(ui, app, &mut dialog, actions);
        });
    if open && keep {
        app.view.send = Some(dialog);
    }
}

/// The picker's contents; `false` once it should close.
fn picker_body_ui(
    ui: &mut egui::Ui,
    app: &UiParts<'_>,
    dialog: &mut SendDialog,
    actions: &mut Vec<Action>,
) -> bool {
    let n = dialog.pictures.len();
    ui.label(if n == 1 {
        format!("Sending {}", dialog.pictures[0].name)
    } else {
        format!("Sending {n} pictures, one message each (the text goes with the first)")
    });
    if dialog.pictures.iter().any(PictureRef::needs_upload) {
        ui.label(
            egui::RichText::new(
                "Not on GroupMe's CDN (local or custom service): it is uploading to GroupMe first.",
            )
            .weak(),
        );
    }
    if app.work.token.is_none() {
        ui.label(egui::RichText::new(NO_TOKEN).color(ui.visuals().warn_fg_color));
        if ui.button("Open Settings").clicked() {
            actions.push(Action::SetTab(Tab::Settings));
            return false;
        }
        return true;
    }
    ui.horizontal(|ui| {
        let label = ui.label("Search");
        ui.add(
            egui::TextEdit::singleline(&mut dialog.search)
                .hint_text("groups, direct chats, bots")
                .desired_width(240.0),
        )
        .labelled_by(label.id);
        let loading = matches!(app.work.groupme.places, PlacesState::Loading(_));
        if ui
            .add_enabled(!loading, egui::Button::new("Refresh list"))
            .on_hover_text("Ask GroupMe for your groups, direct chats and bots again")
            .clicked()
        {
            actions.push(Action::GroupMe(GroupMeAction::RefreshPlaces));
        }
        if loading {
            ui.spinner();
        }
    });
    places_ui(ui, app, dialog);
    ui.add_space(6.0);
    let label = ui.label("Message (optional)");
    ui.add(
        egui::TextEdit::multiline(&mut dialog.text)
            .desired_rows(2)
            .desired_width(f32::INFINITY),
    )
    .labelled_by(label.id);
    let chars = dialog.text.chars().count();
    let count = egui::RichText::new(format!("{chars} / {MAX_TEXT_CHARS}"));
    ui.label(if chars > MAX_TEXT_CHARS {
        count.color(ui.visuals().error_fg_color)
    } else {
        count.weak()
    });
    let blocked = dialog.blocked();
    ui.horizontal(|ui| {
        let send = ui.add_enabled(blocked.is_none(), egui::Button::new("Send"));
        let send = match &blocked {
            Some(why) => send.on_disabled_hover_text(why),
            None => send,
        };
        if send.clicked() {
            actions.push(Action::GroupMe(GroupMeAction::Send));
        }
        if let Some(place) = &dialog.chosen {
            ui.label(format!("to {}", place.label()));
        }
    });
    true
}

/// The searchable list; a click picks.
fn places_ui(ui: &mut egui::Ui, app: &UiParts<'_>, dialog: &mut SendDialog) {
    let state = &app.work.groupme.places;
    if let PlacesState::Failed { reason, .. } = state {
        ui.label(egui::RichText::new(reason).color(ui.visuals().error_fg_color));
    }
    let Some(places) = state.places() else {
        if matches!(state, PlacesState::Loading(_)) {
            ui.label("Asking GroupMe for your groups, direct chats and bots…");
        }
        return;
    };
    ui.label(
        egui::RichText::new(format!(
            "{} places, listed at {}",
            places.places.len(),
            clock(places.fetched_at)
        ))
        .weak(),
    );
    let query = dialog.search.trim().to_lowercase();
    egui::ScrollArea::vertical()
        .max_height(220.0)
        .auto_shrink([false, true])
        .show(ui, |ui| {
            let mut shown = 0;
            for place in places.places.iter().filter(|p| p.matches(&query)) {
                shown += 1;
                let chosen = dialog.chosen.as_ref() == Some(place);
                if ui.selectable_label(chosen, place.label()).clicked() {
                    dialog.chosen = Some(place.clone());
                }
            }
            if shown == 0 {
                ui.label("Nothing matches.");
            }
        });
}
