//! Local previews for the queue (pure, no egui): decode an image off the UI thread, upright, and
//! downscale it to a thumbnail small enough to upload as a texture at once.

use std::path::Path;

use fast_image_resize::{ResizeOptions, Resizer};
use image::DynamicImage;

use crate::geometry::fit_within;
use crate::probe::{ProbeError, describe_io};

/// Why a file or pasted image has no local preview (its card then says so; the upload itself
/// does not depend on it).
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// The file could not be read.
    #[error("{}", describe_io(.0))]
    Read(#[source] std::io::Error),
    /// Not an image this app takes, or its header is damaged.
    #[error(transparent)]
    Probe(#[from] ProbeError),
    /// Over [`MAX_PREVIEW_PIXELS`].
    #[error("too large to preview ({width}x{height})")]
    TooLarge { width: u32, height: u32 },
    /// The header read but the pixels did not decode (cut, damaged, over the memory limit).
    #[error("cannot decode it: {0}")]
    Decode(#[from] image::ImageError),
    /// Scaling down failed.
    #[error("cannot scale it down: {0}")]
    Resize(#[from] fast_image_resize::ResizeError),
}

/// Longest side of a History thumbnail, in pixels: the gallery's thumbnail is 72 points, so this is
/// sharp on a 2x (HiDPI) screen (`crate::app::history_thumbs` holds at most 256 of them).
pub const PREVIEW_SIDE: u32 = 144;

/// Longest side of a queue card's picture (the local preview, then the service's thumbnail), in
/// pixels: the row's thumbnail is 38 points (1.7 pixels a point on a 2x screen). It is also the
/// side of a slot in the cards' shared textures (`crate::card_slots`): 16 KB a card.
pub const CARD_SIDE: u32 = 64;

/// Decoded preview pixels, RGBA8, row-major.
#[derive(Debug, Clone)]
pub struct PreviewImage {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

/// Decodes the first frame of an image file and fits it inside `side`x`side`. Blocking.
pub fn from_file(path: &Path, side: u32) -> Result<PreviewImage, PreviewError> {
    let bytes = std::fs::read(path).map_err(PreviewError::Read)?;
    from_bytes(&bytes, side)
}

/// Largest image (pixels) decoded for a preview; beyond it the card says so instead of using
/// gigabytes of memory.
pub const MAX_PREVIEW_PIXELS: u64 = 120_000_000;

/// Decodes image bytes and fits them inside `side`x`side`. Blocking. A JPEG is decoded at 1/2,
/// 1/4 or 1/8 scale in the DCT, so a 24-megapixel photo costs a fraction of a full decode.
pub fn from_bytes(bytes: &[u8], side: u32) -> Result<PreviewImage, PreviewError> {
    let info = crate::probe::probe_bytes(bytes)?;
    let pixels = u64::from(info.width) * u64::from(info.height);
    if pixels > MAX_PREVIEW_PIXELS {
        return Err(PreviewError::TooLarge {
            width: info.width,
            height: info.height,
        });
    }
    let target = fit_within(info.width, info.height, side);
    let scaled = match info.format {
        crate::cdn_url::Format::Jpeg => crate::thumbnail::decode_jpeg_scaled(bytes, target),
        _ => None,
    };
    let img = match scaled {
        Some(img) => img,
        None => {
            let mut limits = image::Limits::default();
            limits.max_alloc = Some(MAX_PREVIEW_PIXELS * 4);
            crate::thumbnail::decode_upright(bytes, Some(info.format), limits)?
        }
    };
    let img = DynamicImage::ImageRgba8(img.into_rgba8());
    let (w, h) = fit_within(img.width(), img.height(), side);
    let img = if (w, h) == (img.width(), img.height()) {
        img
    } else {
        let mut dst = DynamicImage::new(w, h, img.color());
        Resizer::new().resize(&img, &mut dst, &ResizeOptions::new())?;
        dst
    };
    Ok(PreviewImage {
        width: w,
        height: h,
        rgba: img.into_rgba8().into_raw(),
    })
}

/// How many previews decode at once on a machine with `cores` cores: all but one, so the window
/// keeps a core. Decoding fifty dropped photos on as many blocking threads left the UI thread a
/// fiftieth of the machine: frames of 10 to 90 ms with under 2 ms of work in them.
pub fn decode_slots(cores: usize) -> usize {
    cores.saturating_sub(1).max(1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_core_is_left_to_the_window() {
        assert_eq!(super::decode_slots(0), 1);
        assert_eq!(super::decode_slots(1), 1);
        assert_eq!(super::decode_slots(2), 1);
        assert_eq!(super::decode_slots(8), 7);
    }

    use super::*;

    #[test]
    fn fits_and_keeps_aspect() {
        let img = image::RgbImage::from_pixel(1000, 500, image::Rgb([1, 2, 3]));
        let mut bytes = std::io::Cursor::new(Vec::new());
        img.write_to(&mut bytes, image::ImageFormat::Png)
            .expect("png");
        let p = from_bytes(bytes.get_ref(), 256).expect("preview");
        assert_eq!((p.width, p.height), (256, 128));
        assert_eq!(p.rgba.len(), 256 * 128 * 4);
        assert!(matches!(
            from_bytes(b"nope", 256),
            Err(PreviewError::Probe(ProbeError::NotAnImage))
        ));
    }

    #[test]
    fn failures_say_why() {
        let missing = std::path::Path::new("/nonexistent/picture.png");
        let e = from_file(missing, 144).expect_err("no file");
        assert_eq!(e.to_string(), "no such file");
        // A PNG header announcing more pixels than a preview decodes.
        let mut huge = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        huge.extend_from_slice(&20_000u32.to_be_bytes());
        huge.extend_from_slice(&20_000u32.to_be_bytes());
        huge.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        let e = from_bytes(&huge, 144).expect_err("too large");
        assert_eq!(e.to_string(), "too large to preview (20000x20000)");
    }
}
