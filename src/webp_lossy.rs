//! Lossy WebP through libwebp itself (1.6, built from the source libwebp-sys vendors): the
//! renditions of lossy WebP originals, as a CDN makes them, and a decode of lossy originals
//! shrunk while decoding (as libvips' shrink-on-load does), most of the time a big one costs.
//! Rust has no well-kept lossy WebP encoder of its own, and the `webp` crate pins libwebp
//! 1.3.1, from before the fix for CVE-2023-4863. Lossless WebP (where that CVE was) is still
//! decoded by `image`'s pure-Rust decoder. The foreign calls are here, with what makes each
//! sound beside it.
#![allow(unsafe_code)]

use image::DynamicImage;

/// libwebp's quality factor for renditions (its `cwebp -q`; 75 is its default, 80 looks like a
/// JPEG at about 85).
pub const QUALITY: f32 = 80.0;

/// `img` as a lossy WebP at `quality` (0–100) with libwebp's default effort (method 4); an
/// image with an alpha channel keeps it (compressed losslessly, as libwebp does by default).
pub fn encode(img: &DynamicImage, quality: f32) -> Result<Vec<u8>, String> {
    let too_big = || format!("{}x{} is too large for WebP", img.width(), img.height());
    let failed = || {
        format!(
            "libwebp could not encode a {}x{} image",
            img.width(),
            img.height()
        )
    };
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
        return Err(failed());
    }
    // SAFETY: on success libwebp returns `len` bytes at `output`, which it allocated and we free
    // once with its own `WebPFree` after copying them (on failure `len` is 0: nothing is read).
    let bytes = unsafe { std::slice::from_raw_parts(output, len) }.to_vec();
    // SAFETY: as above; `output` is not used after this.
    unsafe { libwebp_sys::WebPFree(output.cast()) };
    if bytes.is_empty() {
        return Err(failed());
    }
    Ok(bytes)
}

/// The largest whole factor a `width` x `height` image can be shrunk by while still covering
/// `min`, long side to long side (EXIF orientation may swap them), as JPEG's DCT scaling does.
pub fn shrink(width: u32, height: u32, min: (u32, u32)) -> u32 {
    let (long, short) = (width.max(height), width.min(height));
    let (min_long, min_short) = (min.0.max(min.1).max(1), min.0.min(min.1).max(1));
    (long / min_long).min(short / min_short).max(1)
}

/// A lossy, still WebP decoded shrunk by [`shrink`] for `min` (libwebp's scaler averages the
/// pixels each output pixel covers), as stored (not yet upright); RGB, or RGBA when it has
/// alpha. `None` for anything else (lossless, animated, damaged): `image` decides about those.
pub fn decode_scaled(bytes: &[u8], min: (u32, u32)) -> Option<DynamicImage> {
    use libwebp_sys::{VP8StatusCode, WEBP_CSP_MODE, WebPDecoderConfig, WebPRGBABuffer};
    let mut config = std::mem::MaybeUninit::<WebPDecoderConfig>::uninit();
    // SAFETY: WebPInitDecoderConfig zeroes and fills the whole struct; it fails only on an ABI
    // mismatch, and the struct is not used then.
    if !unsafe { libwebp_sys::WebPInitDecoderConfig(config.as_mut_ptr()) } {
        return None;
    }
    // SAFETY: initialised just above.
    let mut config = unsafe { config.assume_init() };
    // SAFETY: reads `bytes` only, writes `config.input`.
    let status =
        unsafe { libwebp_sys::WebPGetFeatures(bytes.as_ptr(), bytes.len(), &mut config.input) };
    let features = config.input;
    // `format` 1: lossy (VP8), possibly with an alpha plane.
    if status != VP8StatusCode::VP8_STATUS_OK || features.has_animation != 0 || features.format != 1
    {
        return None;
    }
    let (width, height) = (
        u32::try_from(features.width).ok()?,
        u32::try_from(features.height).ok()?,
    );
    let factor = shrink(width, height, min);
    let (w, h) = (width.div_ceil(factor), height.div_ceil(factor));
    let alpha = features.has_alpha != 0;
    let stride = w as usize * if alpha { 4 } else { 3 };
    let mut pixels = vec![0u8; stride.checked_mul(h as usize)?];
    if factor > 1 {
        config.options.use_scaling = 1;
        config.options.scaled_width = i32::try_from(w).ok()?;
        config.options.scaled_height = i32::try_from(h).ok()?;
    }
    config.output.colorspace = if alpha {
        WEBP_CSP_MODE::MODE_RGBA
    } else {
        WEBP_CSP_MODE::MODE_RGB
    };
    config.output.is_external_memory = 1;
    config.output.u.RGBA = WebPRGBABuffer {
        rgba: pixels.as_mut_ptr(),
        stride: i32::try_from(stride).ok()?,
        size: pixels.len(),
    };
    // SAFETY: libwebp reads `bytes` and writes at most `size` bytes, `h` rows of `stride`, into
    // `pixels`, which outlives the call (it checks the buffer against the output size first).
    let status = unsafe { libwebp_sys::WebPDecode(bytes.as_ptr(), bytes.len(), &mut config) };
    // SAFETY: frees only what libwebp allocated itself (nothing, with external memory).
    unsafe { libwebp_sys::WebPFreeDecBuffer(&mut config.output) };
    if status != VP8StatusCode::VP8_STATUS_OK {
        return None;
    }
    if alpha {
        image::RgbaImage::from_raw(w, h, pixels).map(DynamicImage::from)
    } else {
        image::RgbImage::from_raw(w, h, pixels).map(DynamicImage::from)
    }
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
    fn the_shrink_factor_keeps_the_image_covering_the_minimum() {
        assert_eq!(shrink(3000, 2000, (960, 640)), 3);
        assert_eq!(
            shrink(2000, 3000, (960, 640)),
            3,
            "portrait: long side to long side"
        );
        assert_eq!(shrink(959, 500, (959, 500)), 1);
        assert_eq!(shrink(100, 100, (960, 960)), 1, "never enlarged");
        assert_eq!(shrink(6000, 100, (960, 16)), 6);
    }

    #[test]
    fn a_lossy_webp_decodes_shrunk_close_to_a_full_decode_shrunk() {
        let img = photo(1200, 900, false);
        let bytes = encode(&img, 95.0).expect("encode");
        let shrunk = decode_scaled(&bytes, (400, 300)).expect("decode");
        assert_eq!((shrunk.width(), shrunk.height()), (400, 300));
        let full = image::load_from_memory(&bytes).expect("full decode");
        let reference = full.resize_exact(400, 300, image::imageops::FilterType::Triangle);
        let quality = psnr(reference.to_rgb8().as_raw(), shrunk.to_rgb8().as_raw());
        assert!(quality > 30.0, "PSNR {quality:.1} dB");
        let with_alpha = encode(&photo(300, 200, true), 90.0).expect("alpha");
        let decoded = decode_scaled(&with_alpha, (300, 200)).expect("decode");
        assert_eq!(decoded.color(), image::ColorType::Rgba8);
        assert_eq!((decoded.width(), decoded.height()), (300, 200));
    }

    #[test]
    fn lossless_and_damaged_webps_are_left_to_image() {
        let img = photo(300, 200, false);
        assert!(decode_scaled(&lossless(&img), (100, 100)).is_none());
        let bytes = encode(&img, 80.0).expect("encode");
        assert!(decode_scaled(&bytes[..bytes.len() / 2], (100, 100)).is_none());
        assert!(decode_scaled(b"RIFF\0\0\0\0WEBPVP8 ", (100, 100)).is_none());
    }

    #[test]
    fn lower_quality_is_smaller() {
        let img = photo(300, 300, false);
        let low = encode(&img, 30.0).expect("low");
        let high = encode(&img, 95.0).expect("high");
        assert!(low.len() < high.len(), "{} vs {}", low.len(), high.len());
    }
}
