//! The before-upload transform (media): reads a file's header, asks [`crate::downscale::plan`]
//! what to do, and when something applies decodes the picture, turns it upright (the EXIF
//! orientation applied to the pixels, so the output needs no tag), resizes it and encodes it
//! again with its colour profile (ICC) kept. Nothing else of the original's metadata survives a
//! re-encode (location included). Animations are never decoded.
//!
//! Blocking and CPU-heavy (a 24 MP photo takes about a second): callers run it off the async
//! threads (the app's worker on its blocking pool, the CLI in `spawn_blocking`).

use std::io::Cursor;

use fast_image_resize::{ResizeOptions, Resizer};
use image::{DynamicImage, ImageDecoder as _, ImageEncoder as _};

use crate::cdn_url::Format;
use crate::downscale::{self, BeforeUpload, Plan};

/// What the transform did to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// No option applies: send the original.
    Unchanged,
    /// An option applied, but the file is an animation or a GIF: send the original (the card
    /// says so).
    KeptAnimation,
    /// Send these bytes instead.
    Reduced(Reduced),
}

/// A transformed picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reduced {
    pub bytes: Vec<u8>,
    /// Upright width and height, as seen.
    pub width: u32,
    pub height: u32,
    pub format: Format,
    /// What determined the output besides the original's bytes (see [`Plan::recipe`]).
    pub recipe: String,
}

/// Why a picture could not be transformed.
#[derive(Debug, thiserror::Error)]
pub enum ReencodeError {
    #[error("couldn't read this picture to shrink it: {0}")]
    Decode(String),
    #[error("couldn't shrink this picture: {0}")]
    Encode(String),
}

/// What the header of `bytes` says, for the plan; `None` when it is not a picture this reads
/// (the upload then reports what is wrong with it).
pub fn source_of(bytes: &[u8]) -> Option<downscale::Source> {
    let info = crate::probe::probe_bytes(bytes).ok()?;
    Some(downscale::Source {
        format: info.format,
        width: info.width,
        height: info.height,
        bytes: bytes.len() as u64,
        animated: is_animated(bytes, info.format),
    })
}

/// The plan for `bytes` under `options` (header only, no decode).
pub fn plan_for(bytes: &[u8], options: &BeforeUpload) -> Plan {
    if !options.is_on() {
        return Plan::Unchanged;
    }
    source_of(bytes).map_or(Plan::Unchanged, |s| downscale::plan(&s, options))
}

/// Applies `options` to `bytes`: plan, then (when it says so) decode, resize, encode.
pub fn apply(bytes: &[u8], options: &BeforeUpload) -> Result<Outcome, ReencodeError> {
    run(bytes, plan_for(bytes, options))
}

/// Carries out `plan` on `bytes`.
pub fn run(bytes: &[u8], plan: Plan) -> Result<Outcome, ReencodeError> {
    let (size, reencode, quality) = match plan {
        Plan::Unchanged => return Ok(Outcome::Unchanged),
        Plan::KeptAnimation => return Ok(Outcome::KeptAnimation),
        Plan::Transform {
            size,
            reencode,
            quality,
        } => (size, reencode, quality),
    };
    let recipe = plan.recipe().unwrap_or_default();
    let info =
        crate::probe::probe_bytes(bytes).map_err(|e| ReencodeError::Decode(e.to_string()))?;
    let (img, icc) = decode(bytes, info.format)?;
    let img = match size {
        // The plan's size is in stored orientation; the long side is the same upright.
        Some((w, h)) => {
            let (tw, th) = crate::geometry::fit_within(img.width(), img.height(), w.max(h));
            resize(&img, tw, th)?
        }
        None => img,
    };
    let format = downscale::output_format(info.format, img.color().has_alpha(), reencode);
    let out = encode(&img, format, quality, icc)?;
    if size.is_none() && out.len() >= bytes.len() {
        // Re-encoding alone made it no smaller: the original is the better upload.
        return Ok(Outcome::Unchanged);
    }
    Ok(Outcome::Reduced(Reduced {
        bytes: out,
        width: img.width(),
        height: img.height(),
        format,
        recipe,
    }))
}

/// Whether a picture is animated: a GIF (any: the plan keeps GIFs), a WebP with VP8X's
/// animation flag, a PNG with an `acTL` chunk before its image data (APNG).
fn is_animated(bytes: &[u8], format: Format) -> bool {
    match format {
        Format::Gif => true,
        Format::Webp => {
            bytes.get(12..16) == Some(b"VP8X") && bytes.get(20).is_some_and(|f| f & 0x02 != 0)
        }
        Format::Png => {
            let mut at = 8;
            while let (Some(len), Some(kind)) = (bytes.get(at..at + 4), bytes.get(at + 4..at + 8)) {
                match kind {
                    b"acTL" => return true,
                    b"IDAT" | b"IEND" => return false,
                    _ => {}
                }
                let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
                at = at.saturating_add(12).saturating_add(len);
            }
            false
        }
        Format::Jpeg => false,
    }
}

/// Decodes within the thumbnailer's limits, upright; returns the pixels and the ICC profile.
fn decode(bytes: &[u8], format: Format) -> Result<(DynamicImage, Option<Vec<u8>>), ReencodeError> {
    let decode_error = |e: image::ImageError| ReencodeError::Decode(e.to_string());
    let limits = crate::thumbnail::Limits::default();
    let mut image_limits = image::Limits::default();
    image_limits.max_alloc = Some(limits.max_alloc);
    image_limits.max_image_width = Some(limits.max_dimension);
    image_limits.max_image_height = Some(limits.max_dimension);
    let mut reader =
        image::ImageReader::with_format(Cursor::new(bytes), crate::thumbnail::image_format(format));
    reader.limits(image_limits);
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    // A profile that cannot be read is dropped, not fatal: the pixels are still right in sRGB.
    let icc = decoder.icc_profile().ok().flatten();
    let orientation = decoder.orientation().map_err(decode_error)?;
    let mut img = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    img.apply_orientation(orientation);
    // 8 bits per channel: what JPEG takes and the resizer handles everywhere.
    let img = if img.color().has_alpha() {
        DynamicImage::ImageRgba8(img.into_rgba8())
    } else if img.color().has_color() {
        DynamicImage::ImageRgb8(img.into_rgb8())
    } else {
        DynamicImage::ImageLuma8(img.into_luma8())
    };
    Ok((img, icc))
}

fn resize(img: &DynamicImage, width: u32, height: u32) -> Result<DynamicImage, ReencodeError> {
    let mut dst = DynamicImage::new(width, height, img.color());
    Resizer::new()
        .resize(img, &mut dst, &ResizeOptions::new())
        .map_err(|e| ReencodeError::Encode(e.to_string()))?;
    Ok(dst)
}

fn encode(
    img: &DynamicImage,
    format: Format,
    quality: u8,
    icc: Option<Vec<u8>>,
) -> Result<Vec<u8>, ReencodeError> {
    let encode_error = |e: image::ImageError| ReencodeError::Encode(e.to_string());
    let mut out = Vec::new();
    let icc = icc.unwrap_or_default();
    let keep_icc = !icc.is_empty();
    let (w, h) = (img.width(), img.height());
    match format {
        Format::Jpeg => {
            let img = match img {
                DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_) => img.clone(),
                other => DynamicImage::ImageRgb8(other.to_rgb8()),
            };
            let mut encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
            if keep_icc {
                encoder.set_icc_profile(icc).ok();
            }
            encoder
                .write_image(img.as_bytes(), w, h, img.color().into())
                .map_err(encode_error)?;
        }
        Format::Png => {
            let mut encoder = image::codecs::png::PngEncoder::new(&mut out);
            if keep_icc {
                encoder.set_icc_profile(icc).ok();
            }
            encoder
                .write_image(img.as_bytes(), w, h, img.color().into())
                .map_err(encode_error)?;
        }
        Format::Webp => {
            let mut encoder = image::codecs::webp::WebPEncoder::new_lossless(&mut out);
            if keep_icc {
                encoder.set_icc_profile(icc).ok();
            }
            encoder
                .write_image(img.as_bytes(), w, h, img.color().into())
                .map_err(encode_error)?;
        }
        Format::Gif => {
            return Err(ReencodeError::Encode("GIFs are never re-encoded".into()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use img_parts::{ImageEXIF as _, ImageICC as _};

    /// A fake ICC profile: the transform copies it as bytes, never interprets it.
    fn profile() -> Vec<u8> {
        let mut p = b"groupme-uploader test profile ".to_vec();
        p.extend((0..600u32).map(|i| (i % 251) as u8));
        p
    }

    /// A big-endian EXIF block with orientation `value` only (TIFF data, no "Exif\0\0").
    fn exif_orientation(value: u16) -> Vec<u8> {
        let mut b = b"MM\0\x2a".to_vec();
        b.extend_from_slice(&8u32.to_be_bytes());
        b.extend_from_slice(&1u16.to_be_bytes());
        b.extend_from_slice(&0x0112u16.to_be_bytes());
        b.extend_from_slice(&3u16.to_be_bytes());
        b.extend_from_slice(&1u32.to_be_bytes());
        b.extend_from_slice(&value.to_be_bytes());
        b.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        b
    }

    /// A `w`×`h` JPEG, left half red and right half blue as stored, with an ICC profile and
    /// EXIF orientation `orientation`.
    fn photo(w: u32, h: u32, orientation: u16) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, _| {
            if x < w / 2 {
                image::Rgb([220, 20, 20])
            } else {
                image::Rgb([20, 20, 220])
            }
        });
        let mut out = Vec::new();
        let mut encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90);
        encoder.set_icc_profile(profile()).expect("icc");
        encoder
            .write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)
            .expect("encode");
        let mut jpeg = img_parts::jpeg::Jpeg::from_bytes(out.into()).expect("parse");
        jpeg.set_exif(Some(exif_orientation(orientation).into()));
        jpeg.encoder().bytes().to_vec()
    }

    fn is_red(p: image::Rgb<u8>) -> bool {
        p[0] > 150 && p[2] < 100
    }

    fn is_blue(p: image::Rgb<u8>) -> bool {
        p[2] > 150 && p[0] < 100
    }

    #[test]
    fn a_rotated_photo_comes_out_upright_small_with_its_profile() {
        // 4000×3000 stored, orientation 6: seen as 3000×4000, the stored left (red) on top.
        let original = photo(4000, 3000, 6);
        let options = BeforeUpload {
            downscale: true,
            max_side: 2048,
            ..BeforeUpload::default()
        };
        let Outcome::Reduced(out) = apply(&original, &options).expect("transform") else {
            panic!("not reduced");
        };
        assert_eq!(
            (out.width, out.height),
            (1536, 2048),
            "upright, long side 2048"
        );
        assert_eq!(out.format, Format::Jpeg);
        assert!(out.bytes.len() < original.len());
        let parsed = img_parts::jpeg::Jpeg::from_bytes(out.bytes.clone().into()).expect("jpeg");
        assert_eq!(
            parsed.icc_profile().map(|p| p.to_vec()),
            Some(profile()),
            "the colour profile is kept"
        );
        // No orientation tag: the pixels are upright, a viewer must not turn them again.
        let orientation = parsed
            .exif()
            .and_then(|tiff| crate::metadata::exif_orientation(&tiff));
        assert_eq!(orientation, None);
        let seen = crate::thumbnail::decode_upright(&out.bytes, None, image::Limits::default())
            .expect("decode")
            .into_rgb8();
        assert_eq!(seen.dimensions(), (1536, 2048));
        assert!(is_red(*seen.get_pixel(768, 200)), "top is red");
        assert!(is_blue(*seen.get_pixel(768, 1848)), "bottom is blue");
    }

    #[test]
    fn reencoding_only_when_it_helps() {
        let options = BeforeUpload {
            reencode: true,
            reencode_above_mb: 0.0,
            jpeg_quality: 60,
            ..BeforeUpload::default()
        };
        // A noisy PNG: as a JPEG it is far smaller, same size in pixels.
        let noisy = image::RgbImage::from_fn(400, 300, |x, y| {
            let v = (x.wrapping_mul(7919) ^ y.wrapping_mul(104_729)) as u8;
            image::Rgb([v, v.wrapping_mul(3), v.wrapping_add(90)])
        });
        let mut png = Vec::new();
        noisy
            .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .expect("png");
        let Outcome::Reduced(out) = apply(&png, &options).expect("transform") else {
            panic!("not reduced");
        };
        assert_eq!(out.format, Format::Jpeg);
        assert_eq!((out.width, out.height), (400, 300));
        // A JPEG re-encoded at a higher quality than its own grows: the original is kept.
        let mut low = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut low, 40)
            .write_image(noisy.as_raw(), 400, 300, image::ExtendedColorType::Rgb8)
            .expect("jpeg");
        let higher = BeforeUpload {
            jpeg_quality: 100,
            ..options
        };
        assert_eq!(apply(&low, &higher).expect("transform"), Outcome::Unchanged);
    }

    #[test]
    fn animations_are_sent_as_they_are() {
        let options = BeforeUpload {
            downscale: true,
            max_side: 256,
            ..BeforeUpload::default()
        };
        let mut gif = Vec::new();
        {
            let mut encoder = image::codecs::gif::GifEncoder::new(&mut gif);
            for i in 0..2u8 {
                let frame =
                    image::RgbaImage::from_pixel(300, 300, image::Rgba([i * 100, 0, 0, 255]));
                encoder
                    .encode_frame(image::Frame::new(frame))
                    .expect("frame");
            }
        }
        assert_eq!(apply(&gif, &options).expect("gif"), Outcome::KeptAnimation);
        assert!(!is_animated(&photo(8, 8, 1), Format::Jpeg));
        assert_eq!(
            apply(b"not a picture", &options).expect("nothing to do"),
            Outcome::Unchanged
        );
    }
}
