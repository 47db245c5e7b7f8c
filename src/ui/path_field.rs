//! The way on when no file dialog can open: why (and what to install), and a path field that
//! completes as the person types: folders and images of the typed folder below it, Tab or a
//! click completes (see [`crate::path_completion`]).

use eframe::egui;

use crate::app::{Action, UiParts};

pub fn no_dialog_ui(
    ui: &mut egui::Ui,
    why: &str,
    app: &mut UiParts<'_>,
    actions: &mut Vec<Action>,
) {
    ui.add_space(2.0);
    ui.label(egui::RichText::new(why).color(ui.visuals().error_fg_color));
    let path = &mut app.view.path_input;
    let (typed, candidates) = &app.work.path_completions;
    // Offered only for what the field holds now.
    let candidates = if typed == path { &candidates[..] } else { &[] };
    let field_id = ui.make_persistent_id("path_field");
    let mut completed = None;
    // Tab in the field completes instead of moving the focus on, when there is something to add.
    if ui.memory(|m| m.has_focus(field_id))
        && let Some(text) = crate::path_completion::tab_completion(path, candidates)
        && ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Tab))
    {
        completed = Some(text);
    }
    ui.horizontal(|ui| {
        let label = ui.label("Path");
        let field = ui
            .add(
                egui::TextEdit::singleline(path)
                    .id(field_id)
                    .hint_text("/home/you/Pictures/photo.jpg or a folder")
                    .desired_width(360.0),
            )
            .labelled_by(label.id);
        let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui.button("Add").clicked() || enter {
            actions.push(Action::AddPath(path.clone()));
        }
    });
    if !candidates.is_empty() {
        ui.horizontal_wrapped(|ui| {
            ui.label(egui::RichText::new("Complete:").weak());
            for c in candidates {
                if ui.small_button(&c.label).on_hover_text(&c.text).clicked() {
                    completed = Some(c.text.clone());
                }
            }
        });
    }
    if let Some(text) = completed {
        *path = text;
        // Typing goes on at the end of the completed text.
        ui.memory_mut(|m| m.request_focus(field_id));
        let mut state = egui::TextEdit::load_state(ui.ctx(), field_id).unwrap_or_default();
        let end = egui::text::CCursor::new(path.chars().count());
        state
            .cursor
            .set_char_range(Some(egui::text::CCursorRange::one(end)));
        state.store(ui.ctx(), field_id);
    }
}
