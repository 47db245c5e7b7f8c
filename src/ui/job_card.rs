//! One queue item: preview, name, size, dimensions and format, then progress with Cancel, the
//! reason with Retry, or the URLs with Copy buttons and the service's own thumbnail.

use std::time::Instant;

use eframe::egui;

use super::human_bytes;
use crate::app::{Action, UiParts};
use crate::jobs::{Job, JobState, Source};

const THUMB: f32 = 72.0;

pub fn job_card_ui(
    ui: &mut egui::Ui,
    app: &UiParts<'_>,
    job: &Job,
    now: Instant,
    actions: &mut Vec<Action>,
) {
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal_top(|ui| {
            thumbnail_ui(ui, app, job);
            ui.vertical(|ui| {
                ui.horizontal(|ui| {
                    ui.add(
                        egui::Label::new(egui::RichText::new(job.source.display_name()).strong())
                            .truncate(),
                    );
                });
                ui.label(egui::RichText::new(details(job)).weak());
                match &job.state {
                    JobState::Queued => {
                        ui.horizontal(|ui| {
                            ui.label("Waiting…");
                            if ui.button("Cancel").clicked() {
                                actions.push(Action::Cancel(job.id));
                            }
                        });
                    }
                    JobState::Uploading {
                        sent,
                        total,
                        retry_note,
                        ..
                    } => {
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
                        ui.horizontal(|ui| {
                            ui.add(
                                egui::ProgressBar::new(job.fraction())
                                    .text(text)
                                    .desired_width((ui.available_width() - 80.0).max(120.0)),
                            );
                            if ui.button("Cancel").clicked() {
                                actions.push(Action::Cancel(job.id));
                            }
                        });
                        if let Some(note) = retry_note {
                            ui.label(
                                egui::RichText::new(format!("Retrying: {note}"))
                                    .color(ui.visuals().warn_fg_color),
                            );
                        }
                    }
                    JobState::Done { url, reused } => {
                        if *reused {
                            ui.label(
                                egui::RichText::new(
                                    "Already uploaded: these are the URLs from your history.",
                                )
                                .weak(),
                            );
                        }
                        super::links::links_ui(ui, url, actions);
                    }
                    JobState::Failed {
                        reason,
                        can_upload_unchanged,
                        ..
                    } => {
                        ui.label(
                            egui::RichText::new(format!("Failed: {reason}"))
                                .color(ui.visuals().error_fg_color),
                        );
                        ui.horizontal(|ui| {
                            if ui.button("Retry").clicked() {
                                actions.push(Action::Retry(job.id));
                            }
                            if *can_upload_unchanged
                                && ui
                                    .button("Upload unchanged")
                                    .on_hover_text(
                                        "Send this file as it is, location and other metadata \
                                         included (uploads are public)",
                                    )
                                    .clicked()
                            {
                                actions.push(Action::UploadUnchanged(job.id));
                            }
                            if ui.button("Remove").clicked() {
                                actions.push(Action::Remove(job.id));
                            }
                        });
                    }
                    JobState::Cancelled => {
                        ui.horizontal(|ui| {
                            ui.label(egui::RichText::new("Cancelled").weak());
                            if ui.button("Retry").clicked() {
                                actions.push(Action::Retry(job.id));
                            }
                            if ui.button("Remove").clicked() {
                                actions.push(Action::Remove(job.id));
                            }
                        });
                    }
                }
            });
        });
    });
}

fn details(job: &Job) -> String {
    let mut parts = Vec::new();
    if let Some(size) = job.size {
        parts.push(human_bytes(size));
    }
    if let Some(info) = job.info {
        parts.push(format!("{}×{}", info.width, info.height));
        parts.push(info.format.name().to_owned());
    }
    if matches!(job.source, Source::Url(_)) {
        parts.push("mirrored by the service".to_owned());
    }
    parts.join(" · ")
}

fn thumbnail_ui(ui: &mut egui::Ui, app: &UiParts<'_>, job: &Job) {
    // The service's own thumbnail, once loaded, proves the URL works; until then the local one.
    let texture = app
        .images
        .thumbs
        .get(&job.id)
        .or_else(|| app.images.previews.get(&job.id));
    let size = egui::vec2(THUMB, THUMB);
    match texture {
        Some(tex) => {
            let tex_size = tex.size_vec2();
            let scale = (THUMB / tex_size.x.max(tex_size.y)).min(1.0);
            ui.add_sized(
                size,
                egui::Image::new(egui::load::SizedTexture::new(tex.id(), tex_size * scale)),
            );
        }
        None => {
            let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
            ui.painter()
                .rect_filled(rect, 6.0, ui.visuals().faint_bg_color);
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
                egui::FontId::proportional(22.0),
                ui.visuals().weak_text_color(),
            );
        }
    }
}
