//! Lossy WebP encoding through libwebp itself (1.6, built from the source libwebp-sys vendors):
//! the renditions of lossy WebP originals, as a CDN makes them. Rust has no well-kept lossy
//! WebP encoder of its own, and the `webp` crate pins libwebp 1.3.1, from before the fix for
//! CVE-2023-4863. The one foreign call and the freeing of what it returns are here, with what
//! makes them sound beside them.
#![allow(unsafe_code)]

use image::DynamicImage;

/// libwebp's quality factor for renditions (its `cwebp -q`; 75 is its default, 80 looks like a
/// JPEG at about 85).
pub const QUALITY: f32 = 80.0;

/// `img` as a lossy WebP at `quality` (0–100) with libwebp's default effort (method 4); an
/// image with an alpha channel keeps it (compressed losslessly, as libwebp does by default).
pub fn encode(img: &DynamicImage, quality: f32) -> Result<Vec<u8>, String> {
    let too_big = || format!("{}x{} is too large for WebP", img.width(), img.height());
    let width = i32::try_from(img.width()).map_err(|_| too_big())?;
    let height = i32::try_from(img.height()).map_err(|_| too_big())?;
    let alpha = img.color().has_alpha();
    let channels = if alpha { 4 } else { 3 };
    let stride = width.checked_mul(channels).ok_or_else(too_big)?;
    let pixels = if alpha {
        img.to_rgba8().into_raw()
    } else {
        img.to_rgb8().into_raw()
    };
    let mut output: *mut u8 = std::ptr::null_mut();
    // SAFETY: `pixels` holds `height` rows of `stride` bytes (width x channels, packed), alive
    // and unchanged for the call; libwebp writes only `output`, a buffer it allocates.
    let len = unsafe {
        if alpha {
            libwebp_sys::WebPEncodeRGBA(
                pixels.as_ptr(),
                width,
                height,
                stride,
                quality,
                &mut output,
            )
        } else {
            libwebp_sys::WebPEncodeRGB(pixels.as_ptr(), width, height, stride, quality, &mut output)
        }
    };
    if output.is_null() {
        return Err(format!(
            "libwebp could not encode a {}x{} image",
            img.width(),
            img.height()
        ));
    }
    // SAFETY: on success libwebp returns `len` bytes at `output`, which it allocated and we free
    // once with its own `WebPFree` after copying them (on failure `len` is 0: nothing is read).
    let bytes = unsafe { std::slice::from_raw_parts(output, len) }.to_vec();
    // SAFETY: as above; `output` is not used after this.
    unsafe { libwebp_sys::WebPFree(output.cast()) };
    if bytes.is_empty() {
        return Err(format!(
            "libwebp could not encode a {}x{} image",
            img.width(),
            img.height()
        ));
    }
    Ok(bytes)
}

/// Whether the WebP `bytes` are lossy (VP8), for any frame; `false` for lossless (VP8L) or what
/// is not WebP.
pub fn is_lossy(bytes: &[u8]) -> bool {
    image_webp::WebPDecoder::new(std::io::Cursor::new(bytes)).is_ok_and(|mut d| d.is_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo(w: u32, h: u32, alpha: bool) -> DynamicImage {
        let rgba = image::RgbaImage::from_fn(w, h, |x, y| {
            let a = if alpha { (x * 255 / w) as u8 } else { 255 };
            image::Rgba([
                (x * 255 / w) as u8,
                (y * 255 / h) as u8,
                (128.0 + 100.0 * ((x as f32) / 17.0).sin() * ((y as f32) / 23.0).cos()) as u8,
                a,
            ])
        });
        if alpha {
            rgba.into()
        } else {
            DynamicImage::from(rgba).to_rgb8().into()
        }
    }

    fn psnr(a: &[u8], b: &[u8]) -> f64 {
        let mse = a
            .iter()
            .zip(b)
            .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
            .sum::<f64>()
            / a.len() as f64;
        10.0 * (255.0 * 255.0 / mse).log10()
    }

    fn lossless(img: &DynamicImage) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_with_encoder(image::codecs::webp::WebPEncoder::new_lossless(&mut out))
            .expect("lossless");
        out.into_inner()
    }

    #[test]
    fn an_opaque_image_becomes_a_lossy_webp_close_to_it_and_far_smaller_than_lossless() {
        let img = photo(480, 320, false);
        let bytes = encode(&img, QUALITY).expect("encode");
        assert_eq!(&bytes[..4], b"RIFF");
        assert_eq!(&bytes[12..16], b"VP8 ", "a simple lossy bitstream");
        assert!(is_lossy(&bytes));
        let back = image::load_from_memory(&bytes).expect("decode");
        assert_eq!((back.width(), back.height()), (480, 320));
        let quality = psnr(img.to_rgb8().as_raw(), back.to_rgb8().as_raw());
        assert!(quality > 30.0, "PSNR {quality:.1} dB");
        let lossless = lossless(&img);
        assert!(!is_lossy(&lossless));
        assert!(
            bytes.len() * 2 < lossless.len(),
            "lossy {} vs lossless {} bytes",
            bytes.len(),
            lossless.len()
        );
    }

    #[test]
    fn alpha_is_kept() {
        let img = photo(200, 100, true);
        let bytes = encode(&img, QUALITY).expect("encode");
        assert!(is_lossy(&bytes));
        let back = image::load_from_memory(&bytes).expect("decode").to_rgba8();
        // Alpha runs 0..255 across: compressed losslessly, each pixel's alpha comes back.
        let alpha_in: Vec<u8> = img.to_rgba8().pixels().map(|p| p[3]).collect();
        let alpha_out: Vec<u8> = back.pixels().map(|p| p[3]).collect();
        assert_eq!(alpha_in, alpha_out);
    }

    #[test]
    fn lower_quality_is_smaller() {
        let img = photo(300, 300, false);
        let low = encode(&img, 30.0).expect("low");
        let high = encode(&img, 95.0).expect("high");
        assert!(low.len() < high.len(), "{} vs {}", low.len(), high.len());
    }
}
