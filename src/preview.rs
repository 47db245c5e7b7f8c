//! Local previews for the queue (pure, no egui): decode an image off the UI thread, upright, and
//! downscale it to a thumbnail small enough to upload as a texture at once.

use std::path::Path;

use fast_image_resize::{ResizeOptions, Resizer};
use image::DynamicImage;

use crate::geometry::fit_within;

/// Longest side of a preview, in pixels: the card's thumbnail is 72 points, so this is sharp on
/// a 2x (HiDPI) screen, and a thousand cards hold 81 MB of textures rather than 256 MB at 256 px.
pub const PREVIEW_SIDE: u32 = 144;

/// Decoded preview pixels, RGBA8, row-major.
#[derive(Debug, Clone)]
pub struct PreviewImage {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

/// Decodes the first frame of an image file and fits it inside `side`x`side`. Blocking.
pub fn from_file(path: &Path, side: u32) -> Result<PreviewImage, String> {
    let bytes = std::fs::read(path).map_err(|e| crate::probe::describe_io(&e))?;
    from_bytes(&bytes, side)
}

/// Largest image (pixels) decoded for a preview; beyond it the card says so instead of using
/// gigabytes of memory.
pub const MAX_PREVIEW_PIXELS: u64 = 120_000_000;

/// Decodes image bytes and fits them inside `side`x`side`. Blocking. A JPEG is decoded at 1/2,
/// 1/4 or 1/8 scale in the DCT, so a 24-megapixel photo costs a fraction of a full decode.
pub fn from_bytes(bytes: &[u8], side: u32) -> Result<PreviewImage, String> {
    let info = crate::probe::probe_bytes(bytes).map_err(|e| e.to_string())?;
    let pixels = u64::from(info.width) * u64::from(info.height);
    if pixels > MAX_PREVIEW_PIXELS {
        return Err(format!(
            "too large to preview ({}x{})",
            info.width, info.height
        ));
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
            crate::thumbnail::decode_upright(bytes, Some(info.format), limits)
                .map_err(|e| e.to_string())?
        }
    };
    let img = DynamicImage::ImageRgba8(img.into_rgba8());
    let (w, h) = fit_within(img.width(), img.height(), side);
    let img = if (w, h) == (img.width(), img.height()) {
        img
    } else {
        let mut dst = DynamicImage::new(w, h, img.color());
        Resizer::new()
            .resize(&img, &mut dst, &ResizeOptions::new())
            .map_err(|e| e.to_string())?;
        dst
    };
    Ok(PreviewImage {
        width: w,
        height: h,
        rgba: img.into_rgba8().into_raw(),
    })
}

#[cfg(test)]
mod tests {
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
        assert!(from_bytes(b"nope", 256).is_err());
    }
}
