//! One queue item: a compact row (thumbnail; name with size, dimensions and format; the URL,
//! progress or reason; the action at hand; a ⋯ menu with the other URLs, copy formats, Send to…
//! and Remove; a toggle) that opens to the full card (before-upload line, every URL with its Copy,
//! Send to… and where it went). What each state offers is `crate::queue_rows`.

use std::time::Instant;

use eframe::egui;

use super::human_bytes;
use crate::app::groupme::GroupMeAction;
use crate::app::{Action, UiParts};
use crate::cdn_url::CdnUrl;
use crate::jobs::{Job, JobState, Source};
use crate::queue_rows::{RowAction, offer};

/// The row's thumbnail side; with two lines of text beside it, a row is under 48 px.
const THUMB: f32 = 38.0;

/// The menu button's symbol (drawn in the monospace font, which has it).
const MENU_SYMBOL: &str = "⋯";
/// The toggle's symbols, closed and open (monospace, as above).
const TOGGLE_SYMBOLS: [&str; 2] = ["▸", "▾"];

/// A compact row's height (the thumbnail inside a group frame), without the spacing between rows.
pub fn compact_height(ui: &egui::Ui) -> f32 {
    let frame = egui::Frame::group(ui.style()).inner_margin(egui::Margin::same(4));
    THUMB + frame.total_margin().sum().y
}

/// Draws one row (and its card, when open); the response covers both.
pub fn job_row_ui(
    ui: &mut egui::Ui,
    app: &mut UiParts<'_>,
    job: &Job,
    now: Instant,
    actions: &mut Vec<Action>,
) -> egui::Response {
    let name = job.source.display_name();
    let url = match &job.state {
        JobState::Done { url, .. } => Some(url),
        _ => None,
    };
    let offer = offer(&job.state);
    let expanded = app.view.expanded.contains(&job.id);
    let mut toggle = false;
    let mut open_card = false;
    let response = egui::Frame::group(ui.style())
        .inner_margin(egui::Margin::same(4))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            let size = egui::vec2(ui.available_width(), THUMB);
            ui.allocate_ui_with_layout(
                size,
                egui::Layout::left_to_right(egui::Align::Center),
                |ui| {
                    ui.set_min_height(THUMB);
                    thumbnail_ui(ui, app, job);
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        let symbol = TOGGLE_SYMBOLS[usize::from(expanded)];
                        let what = if expanded {
                            "Hide details"
                        } else {
                            "Show details"
                        };
                        let t = ui
                            .button(egui::RichText::new(symbol).monospace())
                            .on_hover_text(what);
                        name_for_screen_readers(&t, &format!("{what}: {name}"));
                        toggle = t.clicked();
                        if !offer.menu.is_empty() {
                            let symbol = egui::RichText::new(MENU_SYMBOL).monospace();
                            let menu = ui.menu_button(symbol, |ui| {
                                for (i, action) in offer.menu.iter().enumerate() {
                                    if i > 0 && group(offer.menu[i - 1]) != group(*action) {
                                        ui.separator();
                                    }
                                    open_card |= row_action_ui(ui, *action, job, url, actions);
                                }
                            });
                            let more = menu
                                .response
                                .on_hover_text("Other URLs, copy as…, Send to…, Remove");
                            name_for_screen_readers(&more, &format!("More actions: {name}"));
                        }
                        if let Some(action) = offer.at_hand {
                            open_card |= row_action_ui(ui, action, job, url, actions);
                        }
                        let text_size = egui::vec2(ui.available_width(), THUMB);
                        ui.allocate_ui_with_layout(
                            text_size,
                            egui::Layout::top_down(egui::Align::Min),
                            |ui| {
                                ui.set_width(text_size.x);
                                title_ui(ui, job, &name);
                                status_ui(ui, job, url, now);
                            },
                        );
                    });
                },
            );
            if expanded {
                ui.separator();
                card_ui(ui, app, job, url, actions);
            }
        })
        .response;
    if (toggle && !app.view.expanded.remove(&job.id)) || open_card {
        app.view.expanded.insert(job.id);
    }
    response
}

/// Copies `text` when clicked: every Copy of the queue goes through here.
fn copy_button_ui(
    ui: &mut egui::Ui,
    label: &str,
    text: String,
    actions: &mut Vec<Action>,
) -> egui::Response {
    super::copy_button::copy_button_ui(ui, label, &text, actions).on_hover_text(&text)
}

/// Which menu section an action belongs to (a separator between sections).
fn group(action: RowAction) -> u8 {
    match action {
        RowAction::CopyUrl | RowAction::CopyVariant(_) => 0,
        RowAction::CopyAs(_) => 1,
        RowAction::SendTo => 2,
        RowAction::Cancel | RowAction::Retry | RowAction::UploadUnchanged | RowAction::Remove => 3,
    }
}

/// One action's button (on the row or in its menu); returns whether the card should open (Send
/// to…: the card shows where the picture went).
fn row_action_ui(
    ui: &mut egui::Ui,
    action: RowAction,
    job: &Job,
    url: Option<&CdnUrl>,
    actions: &mut Vec<Action>,
) -> bool {
    if let Some(text) = url.and_then(|u| action.copied_text(u)) {
        copy_button_ui(ui, &action.label(), text, actions);
        return false;
    }
    let mut button = ui.button(action.label());
    if action == RowAction::UploadUnchanged {
        button = button.on_hover_text(
            "Send this file as it is, location and other metadata included (uploads are public)",
        );
    }
    if !button.clicked() {
        return false;
    }
    let id = job.id;
    match action {
        RowAction::Cancel => actions.push(Action::Cancel(id)),
        RowAction::Retry => actions.push(Action::Retry(id)),
        RowAction::UploadUnchanged => actions.push(Action::UploadUnchanged(id)),
        RowAction::Remove => actions.push(Action::Remove(id)),
        RowAction::SendTo => {
            if let Some(url) = url {
                let picture = crate::app::groupme::picture_of_job(job, &url.to_string());
                actions.push(Action::GroupMe(GroupMeAction::OpenSend(vec![picture])));
                return true;
            }
        }
        RowAction::CopyUrl | RowAction::CopyVariant(_) | RowAction::CopyAs(_) => {}
    }
    false
}

/// A symbol button's name for screen readers (and tests): what it does, for which item.
fn name_for_screen_readers(response: &egui::Response, name: &str) {
    response.widget_info(|| {
        egui::WidgetInfo::labeled(egui::accesskit::Role::Button, response.enabled(), name)
    });
}

/// The first line: the name, then size, dimensions and format in weak text, cut at the end.
fn title_ui(ui: &mut egui::Ui, job: &Job, name: &str) {
    let mut line = egui::text::LayoutJob::default();
    let style = ui.style().clone();
    egui::RichText::new(name).strong().append_to(
        &mut line,
        &style,
        egui::FontSelection::Default,
        egui::Align::Center,
    );
    let details = details(job);
    if !details.is_empty() {
        egui::RichText::new(format!("   {details}"))
            .weak()
            .append_to(
                &mut line,
                &style,
                egui::FontSelection::Default,
                egui::Align::Center,
            );
    }
    ui.add(egui::Label::new(line).truncate());
}

/// The second line: the URL cut in the middle, the progress, or how it ended.
fn status_ui(ui: &mut egui::Ui, job: &Job, url: Option<&CdnUrl>, now: Instant) {
    match &job.state {
        JobState::Queued => {
            ui.label(egui::RichText::new("Waiting…").weak());
        }
        JobState::Uploading {
            retry_note: Some(note),
            ..
        } => {
            ui.add(
                egui::Label::new(
                    egui::RichText::new(format!("Retrying: {note}"))
                        .color(ui.visuals().warn_fg_color),
                )
                .truncate(),
            );
        }
        JobState::Uploading { sent, total, .. } => {
            let mut text = if *total > 0 {
                format!("{} / {}", human_bytes(*sent), human_bytes(*total))
            } else if matches!(job.source, Source::Url(_)) {
                "the service is fetching it…".to_owned()
            } else {
                "reading…".to_owned()
            };
            if let Some(speed) = job.speed(now) {
                text.push_str(&format!(" · {}/s", human_bytes(speed as u64)));
            }
            ui.add(
                egui::ProgressBar::new(job.fraction())
                    .text(text)
                    .desired_width(ui.available_width())
                    .desired_height(ui.spacing().interact_size.y - 2.0),
            );
        }
        JobState::Done { .. } => {
            let Some(url) = url else { return };
            let text = url.original().to_string();
            // Cut in the middle: the start says where, the end which picture.
            let font = egui::TextStyle::Monospace.resolve(ui.style());
            let glyph = ui.ctx().fonts_mut(|f| f.glyph_width(&font, 'm')).max(1.0);
            let fits = (ui.available_width() / glyph).floor() as usize;
            let shown = super::elide::elide_middle(&text, fits);
            ui.add(egui::Label::new(
                egui::RichText::new(shown.as_ref()).monospace(),
            ))
            .on_hover_text(&text);
        }
        JobState::Failed { reason, .. } => {
            ui.add(
                egui::Label::new(
                    egui::RichText::new(format!("Failed: {reason}"))
                        .color(ui.visuals().error_fg_color),
                )
                .truncate(),
            );
        }
        JobState::Cancelled => {
            ui.label(egui::RichText::new("Cancelled").weak());
        }
    }
}

/// The full card under an open row: what the row has no room for.
fn card_ui(
    ui: &mut egui::Ui,
    app: &UiParts<'_>,
    job: &Job,
    url: Option<&CdnUrl>,
    actions: &mut Vec<Action>,
) {
    super::before_upload::reduction_ui(ui, job.reduced.as_ref());
    match &job.state {
        JobState::Queued => {
            ui.label(egui::RichText::new("Waits for a free upload slot.").weak());
        }
        JobState::Uploading { .. } => {
            if let Some(size) = job.size {
                ui.label(egui::RichText::new(format!("{} to send", human_bytes(size))).weak());
            }
        }
        JobState::Done { reused, .. } => {
            if *reused {
                ui.label(
                    egui::RichText::new("Already uploaded: these are the URLs from your history.")
                        .weak(),
                );
            }
            let Some(url) = url else { return };
            super::links::links_ui(ui, url, actions);
            let url = url.to_string();
            let picture = crate::app::groupme::picture_of_job(job, &url);
            super::send_picker::send_buttons_ui(
                ui,
                &picture,
                app.view.selected.contains(&url),
                actions,
            );
            super::send_picker::deliveries_ui(ui, app, &url, actions);
        }
        JobState::Failed { reason, .. } => {
            // The whole reason, wrapped: the row cuts it at its end.
            ui.label(egui::RichText::new(reason).color(ui.visuals().error_fg_color));
        }
        JobState::Cancelled => {
            ui.label(egui::RichText::new("Stopped before it finished.").weak());
        }
    }
}

/// The size line: bytes, the size a person sees and the format, from the probe or, for what was
/// never probed here (already uploaded, mirrored), from the CDN URL.
fn details(job: &Job) -> String {
    let mut parts = Vec::new();
    if let Some(size) = job.size {
        parts.push(human_bytes(size));
    }
    let from_url = match &job.state {
        JobState::Done { url, .. } => url.dimensions().zip(url.format()),
        _ => None,
    };
    if let Some(info) = job.info {
        let (w, h) = info.seen_size();
        parts.push(format!("{w}×{h}"));
        parts.push(info.format.name().to_owned());
    } else if let Some(((w, h), format)) = from_url {
        parts.push(format!("{w}×{h}"));
        parts.push(format.name().to_owned());
    }
    if matches!(job.source, Source::Url(_)) {
        parts.push("mirrored by the service".to_owned());
    }
    parts.join(" · ")
}

fn thumbnail_ui(ui: &mut egui::Ui, app: &UiParts<'_>, job: &Job) {
    // The service's own thumbnail, once loaded, proves the URL works; until then the local one.
    let size = egui::vec2(THUMB, THUMB);
    match app.images.cards.get(job.id) {
        Some(picture) => {
            let scale = (THUMB / picture.size.x.max(picture.size.y)).min(1.0);
            ui.add_sized(
                size,
                egui::Image::new(egui::load::SizedTexture::new(
                    picture.texture,
                    picture.size * scale,
                ))
                .uv(picture.uv),
            );
        }
        None => {
            let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
            ui.painter()
                .rect_filled(rect, 4.0, ui.visuals().faint_bg_color);
            let label = if matches!(job.source, Source::Url(_)) {
                "URL"
            } else if app.images.preview_errors.contains_key(&job.id) {
                "?"
            } else {
                "…"
            };
            ui.painter().text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                label,
                egui::FontId::proportional(14.0),
                ui.visuals().weak_text_color(),
            );
        }
    }
}
