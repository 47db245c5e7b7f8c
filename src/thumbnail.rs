//! The thumbnailer: decodes an accepted image within limits and renders `.preview` (200x200
//! cover), `.large` (fit 960, never enlarged) and `.avatar` (60x60 cover) in the original's format,
//! upright (EXIF orientation applied), animated GIFs staying animated. JPEGs are decoded scaled
//! in the DCT and encoded by libjpeg-turbo (the fastest path: README "Performance").

use std::io::Cursor;
use std::time::{Duration, Instant};

use fast_image_resize::{ResizeOptions, Resizer};
use image::codecs::gif::{GifDecoder, GifEncoder, Repeat};
use image::{AnimationDecoder as _, DynamicImage, ImageDecoder as _};

use crate::cdn_url::Format;
use crate::geometry::{AVATAR, LARGE, PREVIEW, fit_within};
use crate::probe::{self, ImageInfo, ProbeError};

/// Bounds on what one image may cost to process.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest width or height accepted.
    pub max_dimension: u32,
    /// Largest width × height accepted (one frame).
    pub max_pixels: u64,
    /// Largest width × height × frames accepted for an animation.
    pub max_animation_pixels: u64,
    /// Most frames accepted in an animation (each costs three encodes, however small).
    pub max_frames: u32,
    /// Most memory the decoder may allocate.
    pub max_alloc: u64,
    /// Wall time allowed per image; checked between frames and stages.
    pub max_time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_dimension: 20_000,
            max_pixels: 120_000_000,
            max_animation_pixels: 400_000_000,
            max_frames: 1000,
            max_alloc: 1024 * 1024 * 1024,
            max_time: Duration::from_secs(30),
        }
    }
}

/// Why an image could not be processed.
#[derive(Debug, thiserror::Error)]
pub enum ThumbError {
    #[error(transparent)]
    Probe(#[from] ProbeError),
    #[error("the image is {width}x{height}; the limit is {limit} pixels on a side")]
    TooWide { width: u32, height: u32, limit: u32 },
    #[error("the image has {pixels} pixels; the limit is {limit}")]
    TooManyPixels { pixels: u64, limit: u64 },
    #[error("the animation is over its budget of {limit} pixels across all frames")]
    AnimationTooLarge { limit: u64 },
    #[error("the animation has more than {limit} frames")]
    TooManyFrames { limit: u32 },
    #[error("the image is corrupt or truncated: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Implausible(String),
    #[error("processing took longer than {}s", .0.as_secs())]
    TooSlow(Duration),
    #[error("could not encode a thumbnail: {0}")]
    Encode(String),
}

/// The three renditions of an image, encoded in its format.
#[derive(Debug, Clone)]
pub struct Renditions {
    /// What the header said.
    pub info: ImageInfo,
    /// Frames decoded (1 for a still image).
    pub frames: u32,
    pub preview: Vec<u8>,
    pub large: Vec<u8>,
    pub avatar: Vec<u8>,
}

/// Checks the header against the limits, and that the data could fill the size the header
/// claims, without decoding pixels.
pub fn check(bytes: &[u8], limits: &Limits) -> Result<ImageInfo, ThumbError> {
    let info = probe::probe_bytes(bytes)?;
    if info.width > limits.max_dimension || info.height > limits.max_dimension {
        return Err(ThumbError::TooWide {
            width: info.width,
            height: info.height,
            limit: limits.max_dimension,
        });
    }
    let pixels = u64::from(info.width) * u64::from(info.height);
    if pixels > limits.max_pixels {
        return Err(ThumbError::TooManyPixels {
            pixels,
            limit: limits.max_pixels,
        });
    }
    let facts = crate::plausible::check(bytes, info.format, info.width, info.height)
        .map_err(ThumbError::Implausible)?;
    // Frames are counted without decoding: an animation over its limits is refused at once, not
    // after a thousand frames' work.
    if facts.frames > limits.max_frames {
        return Err(ThumbError::TooManyFrames {
            limit: limits.max_frames,
        });
    }
    if u64::from(facts.frames) * pixels > limits.max_animation_pixels {
        return Err(ThumbError::AnimationTooLarge {
            limit: limits.max_animation_pixels,
        });
    }
    Ok(info)
}

/// Checks, decodes and renders the three thumbnails. CPU-bound: run it on a blocking thread.
pub fn render(bytes: &[u8], limits: &Limits) -> Result<Renditions, ThumbError> {
    let started = Instant::now();
    let info = check(bytes, limits)?;
    render_checked(bytes, info, limits, started)
}

/// [`render`] for `bytes` that [`check`] already passed with `info` (the service checks before
/// it looks for a stored copy): the header and data are not checked again. `started` is when
/// the work on this image began, for [`Limits::max_time`].
pub fn render_checked(
    bytes: &[u8],
    info: ImageInfo,
    limits: &Limits,
    started: Instant,
) -> Result<Renditions, ThumbError> {
    let mut work = Work {
        resizer: Resizer::new(),
        started,
        limits: *limits,
    };
    match info.format {
        Format::Gif => work.gif(bytes, info),
        _ => work.still(bytes, info),
    }
}

struct Work {
    resizer: Resizer,
    started: Instant,
    limits: Limits,
}

fn corrupt(e: impl std::fmt::Display) -> ThumbError {
    ThumbError::Corrupt(e.to_string())
}

pub(crate) fn image_format(format: Format) -> image::ImageFormat {
    match format {
        Format::Jpeg => image::ImageFormat::Jpeg,
        Format::Png => image::ImageFormat::Png,
        Format::Gif => image::ImageFormat::Gif,
        Format::Webp => image::ImageFormat::WebP,
    }
}

impl Work {
    fn image_limits(&self) -> image::Limits {
        let mut l = image::Limits::default();
        l.max_image_width = Some(self.limits.max_dimension);
        l.max_image_height = Some(self.limits.max_dimension);
        l.max_alloc = Some(self.limits.max_alloc);
        l
    }

    fn check_time(&self) -> Result<(), ThumbError> {
        if self.started.elapsed() > self.limits.max_time {
            return Err(ThumbError::TooSlow(self.limits.max_time));
        }
        Ok(())
    }

    fn still(&mut self, bytes: &[u8], info: ImageInfo) -> Result<Renditions, ThumbError> {
        // JPEG: decode at 1/2, 1/4 or 1/8 scale in the DCT, just big enough for `.large`: most of
        // the work of a big photo is never done. Files that decoder cannot read take the full path.
        // Lossy WebP: shrunk while decoded by libwebp, the same way.
        let fast = match info.format {
            Format::Jpeg => decode_jpeg_scaled(bytes, fit_within(info.width, info.height, LARGE)),
            Format::Webp => decode_webp_scaled(bytes, fit_within(info.width, info.height, LARGE)),
            _ => None,
        };
        let img = match fast {
            Some(img) => img,
            None => self.decode_full(bytes, info.format)?,
        };
        self.check_time()?;
        let img = normalize(img, info.format);
        let output = Output::for_original(info.format, bytes);
        let [preview, large, avatar] = self.three(img)?;
        self.check_time()?;
        Ok(Renditions {
            info,
            frames: 1,
            preview: encode_still(&preview, output)?,
            large: encode_still(&large, output)?,
            avatar: encode_still(&avatar, output)?,
        })
    }

    fn decode_full(&self, bytes: &[u8], format: Format) -> Result<DynamicImage, ThumbError> {
        decode_upright(bytes, Some(format), self.image_limits()).map_err(corrupt)
    }

    /// Resizes one frame into the three renditions: large from the full image (the image itself
    /// when it already fits: no copy), the crops from large (at most 960 px, so they cost little
    /// and look the same).
    fn three(&mut self, img: DynamicImage) -> Result<[DynamicImage; 3], ThumbError> {
        let (lw, lh) = fit_within(img.width(), img.height(), LARGE);
        let large = if (lw, lh) == (img.width(), img.height()) {
            img
        } else {
            self.resize(&img, lw, lh, &ResizeOptions::new())?
        };
        let cover = ResizeOptions::new().fit_into_destination(Some((0.5, 0.5)));
        let preview = self.resize(&large, PREVIEW, PREVIEW, &cover)?;
        let avatar = self.resize(&preview, AVATAR, AVATAR, &cover)?;
        Ok([preview, large, avatar])
    }

    fn resize(
        &mut self,
        src: &DynamicImage,
        width: u32,
        height: u32,
        options: &ResizeOptions,
    ) -> Result<DynamicImage, ThumbError> {
        let mut dst = DynamicImage::new(width, height, src.color());
        self.resizer
            .resize(src, &mut dst, options)
            .map_err(|e| ThumbError::Encode(e.to_string()))?;
        Ok(dst)
    }

    /// GIFs, still or animated: each composited frame is resized and fed to three encoders as it
    /// is decoded, so memory holds one frame, not the whole animation.
    fn gif(&mut self, bytes: &[u8], info: ImageInfo) -> Result<Renditions, ThumbError> {
        let mut decoder = GifDecoder::new(Cursor::new(bytes)).map_err(corrupt)?;
        decoder.set_limits(self.image_limits()).map_err(corrupt)?;
        let frame_pixels = u64::from(info.width) * u64::from(info.height);
        let mut bufs: [Vec<u8>; 3] = Default::default();
        let mut frames = 0u32;
        {
            // The encoders write the GIF trailer when dropped at the end of this block.
            let [b0, b1, b2] = &mut bufs;
            let mut outs = [b0, b1, b2].map(|b| GifEncoder::new_with_speed(b, 10));
            for out in &mut outs {
                out.set_repeat(Repeat::Infinite)
                    .map_err(|e| ThumbError::Encode(e.to_string()))?;
            }
            for frame in decoder.into_frames() {
                let frame = frame.map_err(corrupt)?;
                frames += 1;
                if frames > self.limits.max_frames {
                    return Err(ThumbError::TooManyFrames {
                        limit: self.limits.max_frames,
                    });
                }
                if u64::from(frames) * frame_pixels > self.limits.max_animation_pixels {
                    return Err(ThumbError::AnimationTooLarge {
                        limit: self.limits.max_animation_pixels,
                    });
                }
                self.check_time()?;
                let delay = frame.delay();
                let img = DynamicImage::ImageRgba8(frame.into_buffer());
                for (out, thumb) in outs.iter_mut().zip(self.three(img)?) {
                    let frame = image::Frame::from_parts(thumb.into_rgba8(), 0, 0, delay);
                    out.encode_frame(frame)
                        .map_err(|e| ThumbError::Encode(e.to_string()))?;
                }
            }
        }
        if frames == 0 {
            return Err(ThumbError::Corrupt("the GIF has no frames".into()));
        }
        let [preview, large, avatar] = bufs;
        Ok(Renditions {
            info,
            frames,
            preview,
            large,
            avatar,
        })
    }
}

/// Decodes a whole image (the first frame of an animation) within `limits`, EXIF orientation
/// applied; the format is sniffed when not given.
pub fn decode_upright(
    bytes: &[u8],
    format: Option<Format>,
    limits: image::Limits,
) -> Result<DynamicImage, image::ImageError> {
    let mut reader = match format {
        Some(f) => image::ImageReader::with_format(Cursor::new(bytes), image_format(f)),
        None => image::ImageReader::new(Cursor::new(bytes)).with_guessed_format()?,
    };
    reader.limits(limits);
    let mut decoder = reader.into_decoder()?;
    let orientation = decoder.orientation()?;
    let mut img = DynamicImage::from_decoder(decoder)?;
    img.apply_orientation(orientation);
    Ok(img)
}

/// Decodes a JPEG scaled down in the DCT to at least `min` (width, height), upright. `None`
/// when neither scaled decoder can read the file (the full decoder then gets its turn and says
/// what is wrong). libjpeg-turbo first (SIMD: the fastest), `jpeg-decoder` for what it refuses.
pub fn decode_jpeg_scaled(bytes: &[u8], min: (u32, u32)) -> Option<DynamicImage> {
    let orientation = jpeg_orientation(bytes)?;
    let mut img = decode_jpeg_turbo(bytes, min).or_else(|| decode_jpeg_pure(bytes, min))?;
    img.apply_orientation(orientation);
    Some(img)
}

/// A lossy still WebP decoded shrunk (`webp_lossy::decode_scaled`), upright. `None` for what
/// that does not decode, or when the EXIF orientation cannot be read.
fn decode_webp_scaled(bytes: &[u8], min: (u32, u32)) -> Option<DynamicImage> {
    let mut img = crate::webp_lossy::decode_scaled(bytes, min)?;
    let orientation = image::codecs::webp::WebPDecoder::new(Cursor::new(bytes))
        .ok()?
        .orientation()
        .ok()?;
    img.apply_orientation(orientation);
    Some(img)
}

/// The EXIF orientation of a JPEG, read from its header segments only. `None` when the segments
/// cannot be walked.
fn jpeg_orientation(bytes: &[u8]) -> Option<image::metadata::Orientation> {
    use image::metadata::Orientation;
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    decoder.read_info().ok()?;
    Some(
        decoder
            .exif_data()
            .and_then(crate::metadata::exif_orientation)
            .and_then(|v| Orientation::from_exif(u8::try_from(v).ok()?))
            .unwrap_or(Orientation::NoTransforms),
    )
}

/// The smallest DCT scale (1/8, 1/4, 1/2, 1) at which a `width` x `height` image still covers
/// `min`, compared long side to long side (the orientation may swap them).
#[cfg(feature = "fast-jpeg")]
fn dct_scale(width: usize, height: usize, min: (u32, u32)) -> turbojpeg::ScalingFactor {
    use turbojpeg::ScalingFactor;
    let (long, short) = (width.max(height), width.min(height));
    let (min_long, min_short) = (min.0.max(min.1) as usize, min.0.min(min.1) as usize);
    [
        ScalingFactor::ONE_EIGHTH,
        ScalingFactor::ONE_QUARTER,
        ScalingFactor::ONE_HALF,
    ]
    .into_iter()
    .find(|s| s.scale(long) >= min_long && s.scale(short) >= min_short)
    .unwrap_or(ScalingFactor::ONE)
}

/// libjpeg-turbo's scaled decode, as stored (not yet upright); RGB or grey. `None` for what it
/// cannot decode to those (CMYK, YCCK) and for any warning (a truncated or damaged file), so
/// the decoders that follow decide about it as before.
#[cfg(feature = "fast-jpeg")]
fn decode_jpeg_turbo(bytes: &[u8], min: (u32, u32)) -> Option<DynamicImage> {
    use turbojpeg::{Colorspace, Decompressor, Image, PixelFormat};
    let mut decompressor = Decompressor::new().ok()?;
    let header = decompressor.read_header(bytes).ok()?;
    let format = match header.colorspace {
        Colorspace::Gray => PixelFormat::GRAY,
        Colorspace::YCbCr | Colorspace::RGB => PixelFormat::RGB,
        _ => return None,
    };
    let scale = dct_scale(header.width, header.height, min);
    decompressor.set_scaling_factor(scale).ok()?;
    // A progressive file with thousands of tiny scans costs time out of all proportion to its
    // size; real ones have about ten.
    decompressor.set_scan_limit(500).ok()?;
    let scaled = header.scaled(scale);
    let (w, h) = (
        u32::try_from(scaled.width).ok()?,
        u32::try_from(scaled.height).ok()?,
    );
    let pitch = scaled.width * format.size();
    let mut pixels = vec![0u8; pitch.checked_mul(scaled.height)?];
    let out = Image {
        pixels: pixels.as_mut_slice(),
        width: scaled.width,
        pitch,
        height: scaled.height,
        format,
    };
    decompressor.decompress(bytes, out).ok()?;
    Some(match format {
        PixelFormat::GRAY => DynamicImage::ImageLuma8(image::GrayImage::from_raw(w, h, pixels)?),
        _ => DynamicImage::ImageRgb8(image::RgbImage::from_raw(w, h, pixels)?),
    })
}

/// Without the `fast-jpeg` feature there is no libjpeg-turbo: `jpeg-decoder` does it all.
#[cfg(not(feature = "fast-jpeg"))]
fn decode_jpeg_turbo(_bytes: &[u8], _min: (u32, u32)) -> Option<DynamicImage> {
    None
}

/// `jpeg-decoder`'s scaled decode (pure Rust), as stored (not yet upright).
fn decode_jpeg_pure(bytes: &[u8], min: (u32, u32)) -> Option<DynamicImage> {
    use jpeg_decoder::PixelFormat;
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    decoder.read_info().ok()?;
    let clamp = |v: u32| u16::try_from(v).unwrap_or(u16::MAX);
    let (w, h) = decoder.scale(clamp(min.0), clamp(min.1)).ok()?;
    let pixels = decoder.decode().ok()?;
    let info = decoder.info()?;
    let (w, h) = (u32::from(w), u32::from(h));
    match info.pixel_format {
        PixelFormat::RGB24 => Some(DynamicImage::ImageRgb8(image::RgbImage::from_raw(
            w, h, pixels,
        )?)),
        PixelFormat::L8 => Some(DynamicImage::ImageLuma8(image::GrayImage::from_raw(
            w, h, pixels,
        )?)),
        // 16-bit and CMYK (Adobe's inverted or not) are rare: the full decoder knows them better.
        PixelFormat::L16 | PixelFormat::CMYK32 => None,
    }
}

/// Converts to the 8-bit layout the output format needs (JPEG has no alpha).
fn normalize(img: DynamicImage, format: Format) -> DynamicImage {
    match (format, img) {
        (Format::Jpeg, DynamicImage::ImageLuma8(g)) => DynamicImage::ImageLuma8(g),
        (Format::Jpeg, DynamicImage::ImageRgb8(i)) => DynamicImage::ImageRgb8(i),
        (Format::Jpeg, other) => DynamicImage::ImageRgb8(other.into_rgb8()),
        (_, DynamicImage::ImageRgb8(i)) => DynamicImage::ImageRgb8(i),
        (_, DynamicImage::ImageRgba8(i)) => DynamicImage::ImageRgba8(i),
        (_, other) if other.color().has_alpha() => DynamicImage::ImageRgba8(other.into_rgba8()),
        (_, other) => DynamicImage::ImageRgb8(other.into_rgb8()),
    }
}

/// JPEG quality of the renditions.
const JPEG_QUALITY: i32 = 85;

/// A JPEG rendition without the `fast-jpeg` feature: `image`'s encoder, quality 85, baseline,
/// no metadata, but 4:4:4 and standard Huffman tables: it can neither subsample chroma nor
/// optimize the tables.
#[cfg(not(feature = "fast-jpeg"))]
fn encode_jpeg(img: &DynamicImage) -> Result<Vec<u8>, ThumbError> {
    let mut out = Cursor::new(Vec::new());
    img.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
        &mut out,
        JPEG_QUALITY as u8,
    ))
    .map_err(|e| ThumbError::Encode(e.to_string()))?;
    Ok(out.into_inner())
}

/// A JPEG rendition with libjpeg-turbo, as a CDN makes them: quality 85, chroma subsampled 4:2:0
/// (what libjpeg's `cjpeg`, mozjpeg, Pillow and libvips below quality 90 write: half the bytes of
/// 4:4:4 on photos and under half the encode time), Huffman tables optimized for the image (a
/// few % smaller, same pixels), baseline, no metadata; grey stays grey. `img` is RGB or grey
/// ([`normalize`]).
#[cfg(feature = "fast-jpeg")]
fn encode_jpeg(img: &DynamicImage) -> Result<Vec<u8>, ThumbError> {
    use turbojpeg::{Compressor, Image, PixelFormat, Subsamp};
    let encode_failed = |e: turbojpeg::Error| ThumbError::Encode(e.to_string());
    let rgb;
    let (pixels, format, subsamp) = match img {
        DynamicImage::ImageLuma8(g) => (g.as_raw().as_slice(), PixelFormat::GRAY, Subsamp::Gray),
        DynamicImage::ImageRgb8(i) => (i.as_raw().as_slice(), PixelFormat::RGB, Subsamp::Sub2x2),
        other => {
            rgb = other.to_rgb8();
            (rgb.as_raw().as_slice(), PixelFormat::RGB, Subsamp::Sub2x2)
        }
    };
    let (width, height) = (img.width() as usize, img.height() as usize);
    let mut compressor = Compressor::new().map_err(encode_failed)?;
    compressor
        .set_quality(JPEG_QUALITY)
        .map_err(encode_failed)?;
    compressor.set_subsamp(subsamp).map_err(encode_failed)?;
    compressor.set_optimize(true).map_err(encode_failed)?;
    compressor
        .compress_to_vec(Image {
            pixels,
            width,
            pitch: width * format.size(),
            height,
            format,
        })
        .map_err(encode_failed)
}

/// How a still rendition is written: in its original's format, and a WebP the way the original
/// was (lossy or lossless).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    Jpeg,
    Png,
    WebpLossy,
    WebpLossless,
    Gif,
}

impl Output {
    /// The output for renditions of `bytes`, an original in `format`.
    fn for_original(format: Format, bytes: &[u8]) -> Output {
        match format {
            Format::Jpeg => Output::Jpeg,
            Format::Png => Output::Png,
            Format::Webp if crate::webp_lossy::is_lossy(bytes) => Output::WebpLossy,
            Format::Webp => Output::WebpLossless,
            Format::Gif => Output::Gif,
        }
    }
}

/// A still rendition: JPEG as [`encode_jpeg`]; PNG with adaptive filtering, deflated at level 6
/// (the level libpng, libvips and nginx's image filter default to) by libdeflate
/// ([`crate::png_encode`]); a lossy WebP's as lossy WebP
/// through libwebp at [`crate::webp_lossy::QUALITY`], a lossless one's lossless; GIF as `image`
/// writes it.
fn encode_still(img: &DynamicImage, output: Output) -> Result<Vec<u8>, ThumbError> {
    let mut out = Cursor::new(Vec::new());
    let result = match output {
        Output::Jpeg => return encode_jpeg(img),
        Output::WebpLossy => {
            return crate::webp_lossy::encode(img, crate::webp_lossy::QUALITY)
                .map_err(ThumbError::Encode);
        }
        Output::Png => {
            return crate::png_encode::encode(img).map_err(|e| ThumbError::Encode(e.to_string()));
        }
        Output::WebpLossless => {
            img.write_with_encoder(image::codecs::webp::WebPEncoder::new_lossless(&mut out))
        }
        Output::Gif => img.write_to(&mut out, image::ImageFormat::Gif),
    };
    result.map_err(|e| ThumbError::Encode(e.to_string()))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbaImage::from_fn(w, h, |x, y| image::Rgba([x as u8, y as u8, 9, 200]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png)
            .expect("png");
        out.into_inner()
    }

    fn dims(bytes: &[u8]) -> (u32, u32) {
        let info = probe::probe_bytes(bytes).expect("probe");
        (info.width, info.height)
    }

    #[test]
    fn renders_three_sizes() {
        let r = render(&png(1200, 300), &Limits::default()).expect("render");
        assert_eq!(dims(&r.preview), (200, 200));
        assert_eq!(dims(&r.avatar), (60, 60));
        assert_eq!(dims(&r.large), (960, 240));
        let r = render(&png(1, 1), &Limits::default()).expect("tiny");
        assert_eq!(dims(&r.preview), (200, 200));
        assert_eq!(dims(&r.large), (1, 1));
    }

    #[test]
    fn scaled_jpeg_decode_matches_the_full_one() {
        let bytes = include_bytes!("../tests/corpus/jpg/portrait_2.jpg");
        let info = probe::probe_bytes(bytes).expect("probe");
        let work = Work {
            resizer: Resizer::new(),
            started: Instant::now(),
            limits: Limits::default(),
        };
        let full = work.decode_full(bytes, Format::Jpeg).expect("full");
        let fast = decode_jpeg_scaled(bytes, (info.width / 4, info.height / 4)).expect("fast path");
        // Same orientation (upright), a quarter of the size or more.
        assert_eq!(full.width() > full.height(), fast.width() > fast.height());
        assert!(fast.width() >= full.width() / 4 && fast.width() < full.width());
        let big = encode_jpeg(2400, 1600);
        let fast = decode_jpeg_scaled(&big, (960, 640)).expect("fast path");
        assert_eq!(
            (fast.width(), fast.height()),
            (1200, 800),
            "1/2 scale is the smallest that fits"
        );
    }

    fn encode_jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 1]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Jpeg)
            .expect("jpeg");
        out.into_inner()
    }

    /// The zlib stream of a PNG's first IDAT chunk: its compression-level bits (FLEVEL: 0
    /// fastest … 2 default … 3 best).
    fn png_flevel(png: &[u8]) -> u8 {
        let at = png
            .windows(4)
            .position(|w| w == b"IDAT")
            .expect("an IDAT chunk");
        png[at + 5] >> 6
    }

    #[test]
    fn png_renditions_are_compressed_at_zlib_level_6() {
        let r = render(&png(1200, 300), &Limits::default()).expect("render");
        for (name, bytes) in [
            ("preview", &r.preview),
            ("large", &r.large),
            ("avatar", &r.avatar),
        ] {
            assert_eq!(png_flevel(bytes), 2, "{name}: zlib's default level (6)");
        }
    }

    #[test]
    fn webp_renditions_are_lossy_for_a_lossy_original_and_lossless_for_a_lossless_one() {
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_fn(640, 400, |x, y| {
            image::Rgb([(x / 3) as u8, (y / 2) as u8, ((x + y) / 5) as u8])
        }));
        let lossy = crate::webp_lossy::encode(&img, 90.0).expect("lossy original");
        let mut lossless = Cursor::new(Vec::new());
        img.write_with_encoder(image::codecs::webp::WebPEncoder::new_lossless(
            &mut lossless,
        ))
        .expect("lossless original");
        for (original, want_lossy) in [(lossy, true), (lossless.into_inner(), false)] {
            let r = render(&original, &Limits::default()).expect("render");
            for (name, bytes, size) in [
                ("preview", &r.preview, (200, 200)),
                ("large", &r.large, (640, 400)),
                ("avatar", &r.avatar, (60, 60)),
            ] {
                assert_eq!(dims(bytes), size, "{name}");
                assert_eq!(
                    crate::webp_lossy::is_lossy(bytes),
                    want_lossy,
                    "{name} of a {} original",
                    if want_lossy { "lossy" } else { "lossless" }
                );
            }
        }
    }

    /// Optimized Huffman tables: the same pixels, fewer bytes than the standard tables give.
    #[cfg(feature = "fast-jpeg")]
    #[test]
    fn jpeg_renditions_have_optimized_huffman_tables() {
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_fn(320, 240, |x, y| {
            image::Rgb([
                (x * 7 % 256) as u8,
                (y * 3 % 256) as u8,
                ((x ^ y) % 256) as u8,
            ])
        }));
        let ours = super::encode_jpeg(&img).expect("encode");
        let rgb = img.to_rgb8();
        let standard = turbojpeg::compress(
            turbojpeg::Image {
                pixels: rgb.as_raw().as_slice(),
                width: 320,
                pitch: 320 * 3,
                height: 240,
                format: turbojpeg::PixelFormat::RGB,
            },
            JPEG_QUALITY,
            turbojpeg::Subsamp::Sub2x2,
        )
        .expect("standard tables");
        assert!(
            ours.len() < standard.len(),
            "optimized {} bytes, standard {}",
            ours.len(),
            standard.len()
        );
        let a = image::load_from_memory(&ours).expect("ours").to_rgb8();
        let b = image::load_from_memory(&standard)
            .expect("standard")
            .to_rgb8();
        assert!(a == b, "the same pixels: only the entropy coding differs");
    }

    /// The sampling factors (horizontal << 4 | vertical) of each component in a JPEG's frame
    /// header.
    fn jpeg_sampling(jpeg: &[u8]) -> Vec<u8> {
        let at = jpeg
            .windows(2)
            .position(|w| w == [0xFF, 0xC0] || w == [0xFF, 0xC2])
            .expect("a start-of-frame segment");
        let components = usize::from(jpeg[at + 9]);
        (0..components).map(|i| jpeg[at + 11 + 3 * i]).collect()
    }

    /// 4:2:0 with libjpeg-turbo (luma 2x2, each chroma 1x1), as CDNs write photos; 4:4:4 from
    /// `image`'s encoder, which cannot subsample; grey has one component either way.
    #[test]
    fn jpeg_renditions_chroma_sampling() {
        let bytes = encode_jpeg(640, 480);
        let r = render(&bytes, &Limits::default()).expect("render");
        let expected = if cfg!(feature = "fast-jpeg") {
            vec![0x22, 0x11, 0x11]
        } else {
            vec![0x11, 0x11, 0x11]
        };
        for (name, out) in [
            ("preview", &r.preview),
            ("large", &r.large),
            ("avatar", &r.avatar),
        ] {
            assert_eq!(jpeg_sampling(out), expected, "{name}");
        }
        let grey = DynamicImage::ImageLuma8(image::GrayImage::from_fn(64, 48, |x, y| {
            image::Luma([(x * 3 + y) as u8])
        }));
        assert_eq!(
            jpeg_sampling(&super::encode_jpeg(&grey).expect("grey")),
            [0x11]
        );
    }

    #[test]
    fn enforces_limits() {
        let limits = Limits {
            max_dimension: 100,
            ..Limits::default()
        };
        assert!(matches!(
            render(&png(101, 5), &limits),
            Err(ThumbError::TooWide { .. })
        ));
        let limits = Limits {
            max_pixels: 99,
            ..Limits::default()
        };
        assert!(matches!(
            render(&png(10, 10), &limits),
            Err(ThumbError::TooManyPixels { pixels: 100, .. })
        ));
        let truncated = &png(50, 50)[..80];
        assert!(matches!(
            render(truncated, &Limits::default()),
            Err(ThumbError::Corrupt(_))
        ));
    }
}
