//! Colours that stay readable: egui's dark and light visuals with body text, secondary text,
//! warnings and errors raised to the 4.5:1 contrast that WCAG AA asks of text, on every
//! background text sits on. Both themes are set, so following the system's theme (eframe's
//! default) keeps them readable.

use eframe::egui::{self, Color32, Theme, Visuals};

/// WCAG 2 AA for normal text.
pub const MIN_CONTRAST: f32 = 4.5;

/// `theme`'s visuals with readable text colours. egui's own dark theme draws secondary text at
/// about #5F5F5F on #1B1B1B (2.7:1) and errors in pure red (4.3:1); its light theme's orange
/// warning is under 3:1.
pub fn readable(theme: Theme) -> Visuals {
    let mut visuals = theme.default_visuals();
    match theme {
        Theme::Dark => {
            // Body text one step brighter, so secondary text can be dimmer and still readable.
            visuals.widgets.noninteractive.fg_stroke.color = Color32::from_gray(190);
            visuals.weak_text_color = Some(Color32::from_gray(145));
            visuals.error_fg_color = Color32::from_rgb(255, 110, 110);
        }
        Theme::Light => {
            visuals.weak_text_color = Some(Color32::from_gray(100));
            visuals.error_fg_color = Color32::from_rgb(190, 0, 0);
            visuals.warn_fg_color = Color32::from_rgb(165, 75, 0);
        }
    }
    visuals
}

/// Sets the readable visuals for both themes; the one in use follows the system.
pub fn install(ctx: &egui::Context) {
    for theme in [Theme::Dark, Theme::Light] {
        ctx.set_visuals_of(theme, readable(theme));
    }
}

/// WCAG 2 contrast ratio of two opaque colours, 1 to 21.
pub fn contrast_ratio(a: Color32, b: Color32) -> f32 {
    let (la, lb) = (relative_luminance(a), relative_luminance(b));
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

/// WCAG 2 relative luminance of an sRGB colour.
fn relative_luminance(c: Color32) -> f32 {
    let channel = |v: u8| egui::ecolor::linear_f32_from_gamma_u8(v);
    0.2126 * channel(c.r()) + 0.7152 * channel(c.g()) + 0.0722 * channel(c.b())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ratio_matches_known_pairs() {
        let ratio = contrast_ratio(Color32::BLACK, Color32::WHITE);
        assert!((ratio - 21.0).abs() < 0.01, "{ratio}");
        assert!((contrast_ratio(Color32::WHITE, Color32::WHITE) - 1.0).abs() < 1e-6);
        // The measurement of egui's defaults: #5F5F5F on #1B1B1B is about 2.7:1, pure
        // red on it about 4.3:1.
        let dark = Color32::from_gray(27);
        let weak = contrast_ratio(Color32::from_gray(95), dark);
        assert!((2.6..2.8).contains(&weak), "{weak}");
        let red = contrast_ratio(Color32::from_rgb(255, 0, 0), dark);
        assert!((4.2..4.5).contains(&red), "{red}");
    }

    #[test]
    fn text_is_readable_in_both_themes() {
        for theme in [Theme::Dark, Theme::Light] {
            let v = readable(theme);
            let backgrounds = [v.panel_fill, v.window_fill, v.extreme_bg_color];
            let texts = [
                ("text", v.text_color()),
                ("secondary text", v.weak_text_color()),
                ("error", v.error_fg_color),
                ("warning", v.warn_fg_color),
            ];
            for (what, fg) in texts {
                assert_eq!(fg.a(), 255, "{theme:?} {what} is opaque");
                for bg in backgrounds {
                    let ratio = contrast_ratio(fg, bg);
                    assert!(
                        ratio >= MIN_CONTRAST,
                        "{theme:?} {what} {fg:?} on {bg:?}: {ratio:.2}:1"
                    );
                }
            }
            assert_ne!(
                v.error_fg_color,
                Color32::from_rgb(255, 0, 0),
                "no pure red"
            );
            assert_ne!(
                v.weak_text_color(),
                v.text_color(),
                "{theme:?}: secondary text stays apart from body text"
            );
        }
    }
}
