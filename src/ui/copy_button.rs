//! A Copy button: a click copies its text (an [`Action::Copy`]) and the button itself says
//! "Copied ✔" for a moment, then reads as before (see [`crate::copying::ButtonFeedback`]). Only
//! the last clicked button says it: the clipboard holds only that copy. It keeps its width, so
//! nothing beside it moves.

use eframe::egui;

use crate::app::Action;
use crate::copying::{ButtonFeedback, COPIED_LABEL};

/// Which button was clicked last, and when: window-wide view state in egui's memory.
#[derive(Debug, Clone, Copy)]
struct LastClick {
    button: egui::Id,
    feedback: ButtonFeedback,
}

/// Where [`LastClick`] is kept.
fn memory_id() -> egui::Id {
    egui::Id::unique("copy_button_last_click")
}

/// A button labelled `label` that copies `text`.
pub fn copy_button_ui(
    ui: &mut egui::Ui,
    label: &str,
    text: &str,
    actions: &mut Vec<Action>,
) -> egui::Response {
    button_ui(ui, label, text, false, actions)
}

/// [`copy_button_ui`] drawn as a small button.
pub fn small_copy_button_ui(
    ui: &mut egui::Ui,
    label: &str,
    text: &str,
    actions: &mut Vec<Action>,
) -> egui::Response {
    button_ui(ui, label, text, true, actions)
}

fn button_ui(
    ui: &mut egui::Ui,
    label: &str,
    text: &str,
    small: bool,
    actions: &mut Vec<Action>,
) -> egui::Response {
    // Stable across frames; the text tells apart the same button of two cards.
    let id = ui.scope_id().with(("copy_button", label, text));
    let now = ui.input(|i| i.time);
    let last = ui.data(|d| d.get_temp::<LastClick>(memory_id()));
    let shown = match last {
        Some(last) if last.button == id => {
            if let Some(left) = last.feedback.remaining(now) {
                // Back to its label without any input.
                ui.ctx().request_repaint_after(left);
            }
            last.feedback.label(label, now)
        }
        _ => label,
    };
    // As wide as the wider of its two texts, whichever it shows (a small button only loses its
    // top and bottom margin).
    let width = [label, COPIED_LABEL]
        .iter()
        .map(|t| {
            egui::WidgetText::from(*t)
                .into_galley(
                    ui,
                    Some(egui::TextWrapMode::Extend),
                    f32::INFINITY,
                    egui::TextStyle::Button,
                )
                .size()
                .x
        })
        .fold(0.0_f32, f32::max);
    let padding = ui.spacing().button_padding.x;
    let mut button = egui::Button::new(shown).min_size(egui::vec2(width + 2.0 * padding, 0.0));
    if small {
        button = button.small();
    }
    let response = ui.add(button);
    if response.clicked() {
        actions.push(Action::Copy(text.to_owned()));
        ui.data_mut(|d| {
            d.insert_temp(
                memory_id(),
                LastClick {
                    button: id,
                    feedback: ButtonFeedback::clicked(now),
                },
            );
        });
        ui.ctx().request_repaint();
    }
    response
}
