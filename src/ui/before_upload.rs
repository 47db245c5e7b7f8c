//! The before-upload options: their section of the Settings tab (bound to
//! `Settings::before_upload`), and the line a job's card shows about what they did ("sent as
//! 2048×1536, 410.0 KB (was 6.1 MB)", or an animation sent as it is).

use eframe::egui;

use super::human_bytes;
use crate::downscale::{BeforeUpload, MAX_SIDE, MIN_SIDE};
use crate::jobs::Reduction;

/// The Settings section; returns whether an option changed.
pub fn before_upload_ui(ui: &mut egui::Ui, options: &mut BeforeUpload) -> bool {
    let mut changed = false;
    ui.heading("Before upload");
    ui.label(
        egui::RichText::new(
            "For slow links. Shrunk photos are turned upright and keep their colour profile; \
             GIFs and animations are always sent as they are.",
        )
        .weak(),
    );
    ui.horizontal(|ui| {
        changed |= ui
            .checkbox(&mut options.downscale, "Downscale photos larger than")
            .changed();
        changed |= ui
            .add_enabled(
                options.downscale,
                egui::DragValue::new(&mut options.max_side)
                    .range(MIN_SIDE..=MAX_SIDE)
                    .speed(16)
                    .suffix(" px"),
            )
            .on_hover_text("on the long side")
            .changed();
    });
    ui.horizontal(|ui| {
        changed |= ui
            .checkbox(&mut options.reencode, "Re-encode as JPEG when larger than")
            .changed();
        changed |= ui
            .add_enabled(
                options.reencode,
                egui::DragValue::new(&mut options.reencode_above_mb)
                    .range(0.0..=100.0)
                    .speed(0.1)
                    .max_decimals(1)
                    .suffix(" MB"),
            )
            .changed();
    });
    changed |= ui
        .add_enabled(
            options.is_on(),
            egui::Slider::new(&mut options.jpeg_quality, 1..=100).text("JPEG quality"),
        )
        .changed();
    changed
}

/// What the card says about a job the options touched.
pub fn reduction_text(reduction: &Reduction) -> String {
    match reduction {
        Reduction::Sent {
            width,
            height,
            bytes,
            was,
        } => format!(
            "sent as {width}×{height}, {} (was {})",
            human_bytes(*bytes),
            human_bytes(*was)
        ),
        Reduction::KeptAnimation => {
            "GIF or animation: sent as it is (animations are never re-encoded)".to_owned()
        }
    }
}

/// The card's line, when the options touched the job.
pub fn reduction_ui(ui: &mut egui::Ui, reduction: Option<&Reduction>) {
    if let Some(reduction) = reduction {
        ui.label(egui::RichText::new(reduction_text(reduction)).weak());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_card_says_what_was_sent() {
        let sent = Reduction::Sent {
            width: 2048,
            height: 1536,
            bytes: 410_000,
            was: 6_100_000,
        };
        assert_eq!(
            reduction_text(&sent),
            "sent as 2048×1536, 410.0 KB (was 6.1 MB)"
        );
        assert!(reduction_text(&Reduction::KeptAnimation).contains("sent as it is"));
    }
}
