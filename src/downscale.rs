//! Before-upload options (pure, no I/O): shrink photos for slow links. Off by default. Given what
//! a file's header says (format, size, bytes, animated or not) and the person's options, decides
//! whether it is sent as it is or decoded, downscaled and re-encoded, and to what size and
//! format. The pixels are changed in [`crate::reencode`]; the size maths are
//! [`crate::geometry::fit_within`]'s (one rule for thumbnails and this).

use crate::cdn_url::Format;

/// Smallest long side the options accept: below it a "photo" is a thumbnail.
pub const MIN_SIDE: u32 = 256;
/// Largest long side the options accept (the decoder's own limit is higher).
pub const MAX_SIDE: u32 = 16_384;

/// What to do to pictures before upload (in `Settings`; every field has a default, so settings
/// files from before these options load).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct BeforeUpload {
    /// Downscale pictures whose long side exceeds `max_side`.
    pub downscale: bool,
    /// The long side, in pixels, pictures are downscaled to.
    pub max_side: u32,
    /// Re-encode pictures bigger than `reencode_above_mb` as JPEG at `jpeg_quality`.
    pub reencode: bool,
    /// JPEG quality (1-100) of every JPEG this writes.
    pub jpeg_quality: u8,
    /// Size in MB (10⁶ bytes) above which a picture is re-encoded.
    pub reencode_above_mb: f32,
}

impl Default for BeforeUpload {
    fn default() -> Self {
        BeforeUpload {
            downscale: false,
            max_side: 2048,
            reencode: false,
            jpeg_quality: 85,
            reencode_above_mb: 2.0,
        }
    }
}

impl BeforeUpload {
    /// Whether any option is on.
    pub fn is_on(&self) -> bool {
        self.downscale || self.reencode
    }

    /// The long side within [`MIN_SIDE`]..=[`MAX_SIDE`] (a hand-edited 0 must not mean "0 px").
    pub fn max_side(&self) -> u32 {
        self.max_side.clamp(MIN_SIDE, MAX_SIDE)
    }

    /// The quality within 1..=100.
    pub fn quality(&self) -> u8 {
        self.jpeg_quality.clamp(1, 100)
    }

    /// The re-encode threshold in bytes (negative or NaN counts as 0: every file).
    pub fn reencode_above_bytes(&self) -> u64 {
        let mb = f64::from(self.reencode_above_mb);
        if mb.is_nan() || mb <= 0.0 {
            0
        } else {
            (mb * 1e6).round() as u64
        }
    }
}

/// What the header of one file says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    pub format: Format,
    /// Stored width and height (before the EXIF orientation: the long side is the same).
    pub width: u32,
    pub height: u32,
    /// The file's size in bytes.
    pub bytes: u64,
    /// An animation (GIF, animated WebP, APNG): never decoded to one frame.
    pub animated: bool,
}

/// What happens to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Sent as it is: no option applies.
    Unchanged,
    /// An option applies, but the file is an animation (or a GIF): sent as it is, and the card
    /// says so.
    KeptAnimation,
    /// Decoded, resized to `size` (stored orientation; `None` keeps it), encoded as `Output`.
    Transform {
        /// The new stored width and height, when downscaled.
        size: Option<(u32, u32)>,
        /// Re-encode as JPEG at this quality when the picture is opaque.
        reencode: bool,
        /// The quality of a JPEG written.
        quality: u8,
    },
}

impl Plan {
    /// What the transform's output depends on besides the original's bytes, as text (the dedup
    /// key; see `app::worker::upload`). `None` when the bytes are sent as they are.
    pub fn recipe(&self) -> Option<String> {
        match self {
            Plan::Unchanged | Plan::KeptAnimation => None,
            Plan::Transform {
                size,
                reencode,
                quality,
            } => Some(format!(
                "before-upload v1 size={size:?} reencode={reencode} quality={quality}"
            )),
        }
    }
}

/// The stored size `width`×`height` downscaled so its long side is at most `max_side`: aspect
/// kept, rounded to the nearest pixel (at least 1), never enlarged. `None` when it already fits.
pub fn target_size(width: u32, height: u32, max_side: u32) -> Option<(u32, u32)> {
    let fitted = crate::geometry::fit_within(width, height, max_side.max(1));
    (fitted != (width, height)).then_some(fitted)
}

/// Decides what happens to `source` under `options`.
pub fn plan(source: &Source, options: &BeforeUpload) -> Plan {
    let size = if options.downscale {
        target_size(source.width, source.height, options.max_side())
    } else {
        None
    };
    let reencode = options.reencode && source.bytes > options.reencode_above_bytes();
    if size.is_none() && !reencode {
        return Plan::Unchanged;
    }
    // GIF: a still GIF gains little from a palette re-encode, an animated one would lose its
    // animation; both are sent as they are.
    if source.animated || source.format == Format::Gif {
        return Plan::KeptAnimation;
    }
    Plan::Transform {
        size,
        reencode,
        quality: options.quality(),
    }
}

/// The format a transformed picture is written in: JPEG stays JPEG; an opaque picture becomes
/// JPEG when re-encoding applies (a lossless PNG or WebP of a photo is what makes it big);
/// otherwise the format is kept, a picture with transparency never becomes JPEG.
pub fn output_format(source: Format, has_alpha: bool, reencode: bool) -> Format {
    match source {
        Format::Jpeg => Format::Jpeg,
        _ if reencode && !has_alpha => Format::Jpeg,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn photo(width: u32, height: u32, bytes: u64) -> Source {
        Source {
            format: Format::Jpeg,
            width,
            height,
            bytes,
            animated: false,
        }
    }

    #[test]
    fn target_size_keeps_aspect_and_rounds() {
        assert_eq!(target_size(4000, 3000, 2048), Some((2048, 1536)));
        assert_eq!(target_size(3000, 4000, 2048), Some((1536, 2048)));
        // 1000 × 2048 / 3000 = 682.67: rounded to nearest.
        assert_eq!(target_size(3000, 1000, 2048), Some((2048, 683)));
        // A sliver keeps one pixel.
        assert_eq!(target_size(100_000, 1, 2048), Some((2048, 1)));
        assert_eq!(target_size(2048, 100, 2048), None, "exactly the limit fits");
        assert_eq!(target_size(640, 480, 2048), None, "never enlarged");
    }

    #[test]
    fn off_by_default_and_old_settings_load() {
        let options = BeforeUpload::default();
        assert!(!options.is_on());
        assert_eq!(
            plan(&photo(8000, 6000, 40_000_000), &options),
            Plan::Unchanged
        );
        let parsed: BeforeUpload = serde_json::from_str(r#"{"downscale": true}"#).expect("json");
        assert!(parsed.downscale);
        assert_eq!(parsed.max_side, 2048, "missing fields take defaults");
    }

    #[test]
    fn each_option_applies_alone() {
        let downscale = BeforeUpload {
            downscale: true,
            ..BeforeUpload::default()
        };
        assert_eq!(
            plan(&photo(4000, 3000, 100), &downscale),
            Plan::Transform {
                size: Some((2048, 1536)),
                reencode: false,
                quality: 85
            }
        );
        assert_eq!(
            plan(&photo(2000, 1000, 9_000_000), &downscale),
            Plan::Unchanged
        );
        let reencode = BeforeUpload {
            reencode: true,
            reencode_above_mb: 2.0,
            jpeg_quality: 70,
            ..BeforeUpload::default()
        };
        assert_eq!(
            plan(&photo(4000, 3000, 2_000_000), &reencode),
            Plan::Unchanged
        );
        assert_eq!(
            plan(&photo(4000, 3000, 2_000_001), &reencode),
            Plan::Transform {
                size: None,
                reencode: true,
                quality: 70
            }
        );
    }

    #[test]
    fn animations_and_gifs_are_kept() {
        let both = BeforeUpload {
            downscale: true,
            reencode: true,
            ..BeforeUpload::default()
        };
        let gif = Source {
            format: Format::Gif,
            ..photo(4000, 3000, 9_000_000)
        };
        assert_eq!(plan(&gif, &both), Plan::KeptAnimation);
        let webp = Source {
            format: Format::Webp,
            animated: true,
            ..photo(4000, 3000, 9_000_000)
        };
        assert_eq!(plan(&webp, &both), Plan::KeptAnimation);
        let small_gif = Source {
            format: Format::Gif,
            ..photo(100, 100, 1000)
        };
        assert_eq!(plan(&small_gif, &both), Plan::Unchanged, "nothing to say");
    }

    #[test]
    fn odd_settings_are_bounded() {
        let odd = BeforeUpload {
            downscale: true,
            max_side: 0,
            reencode: true,
            jpeg_quality: 0,
            reencode_above_mb: f32::NAN,
        };
        assert_eq!(odd.max_side(), MIN_SIDE);
        assert_eq!(odd.quality(), 1);
        assert_eq!(odd.reencode_above_bytes(), 0);
    }

    #[test]
    fn output_formats() {
        assert_eq!(output_format(Format::Jpeg, false, false), Format::Jpeg);
        assert_eq!(output_format(Format::Png, false, false), Format::Png);
        assert_eq!(output_format(Format::Png, false, true), Format::Jpeg);
        assert_eq!(output_format(Format::Png, true, true), Format::Png);
        assert_eq!(output_format(Format::Webp, true, true), Format::Webp);
    }

    #[test]
    fn recipes_differ_by_what_changes_the_output() {
        let a = Plan::Transform {
            size: Some((2048, 1536)),
            reencode: false,
            quality: 85,
        };
        let b = Plan::Transform {
            size: Some((1024, 768)),
            reencode: false,
            quality: 85,
        };
        assert_ne!(a.recipe(), b.recipe());
        assert!(a.recipe().is_some());
        assert_eq!(Plan::Unchanged.recipe(), None);
    }

    proptest! {
        #[test]
        fn never_enlarged_aspect_kept_long_side_bounded(
            w in 1u32..50_000,
            h in 1u32..50_000,
            max in MIN_SIDE..=MAX_SIDE,
        ) {
            match target_size(w, h, max) {
                None => prop_assert!(w <= max && h <= max),
                Some((tw, th)) => {
                    prop_assert_eq!(tw.max(th), max, "the long side is the limit");
                    prop_assert!(tw <= w && th <= h, "never enlarged");
                    prop_assert!(tw >= 1 && th >= 1);
                    // The short side is within half a pixel of the exact ratio.
                    let (long, short, tshort) = if w >= h { (w, h, th) } else { (h, w, tw) };
                    let exact = f64::from(short) * f64::from(max) / f64::from(long);
                    prop_assert!((f64::from(tshort) - exact.max(1.0)).abs() <= 0.5 + 1e-9);
                }
            }
        }
    }
}
