//! Whether an image's data could fill the size its header claims (pure). A header is a claim:
//! a 677-byte JPEG can say 20000x5999 and a 40-byte GIF can declare a 10000x10000 canvas, and
//! decoders fill what is missing, so without this check a tiny file costs a full-size decode and
//! is stored under a size it does not have.
//!
//! The bounds hold for every well-formed file, so a real image is never refused:
//! - JPEG (Huffman-coded): every block's DC difference takes at least one bit, so the coded data
//!   holds at least one bit per MCU.
//! - GIF: an LZW code is at least 2 bits and stands for at most 4096 pixels, so a frame's data
//!   holds at least `area / 16384` bytes; and a canvas over 4 MP must be at least a quarter
//!   covered by its frames (what the canvas shows elsewhere is empty background).

use crate::cdn_url::Format;

/// Pixels one byte of GIF image data can stand for at the most (4 codes of 4096 pixels).
const GIF_PIXELS_PER_BYTE: u64 = 4 * 4096;

/// A canvas up to this size is composited whatever its frames cover.
const GIF_FREE_CANVAS: u64 = 4_000_000;

/// What the walk over the data found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// Frames seen: every image block of a GIF (counted without decoding, so a limit on them
    /// refuses at once); 1 for the other formats.
    pub frames: u32,
}

const STILL: Facts = Facts { frames: 1 };

/// Checks `bytes` (already probed as `format`, `width` x `height`); the reason when the data
/// cannot be that image.
pub fn check(bytes: &[u8], format: Format, width: u32, height: u32) -> Result<Facts, String> {
    match format {
        Format::Jpeg => jpeg(bytes, width, height).map(|()| STILL),
        Format::Gif => gif(bytes, width, height),
        // PNG and WebP decoders refuse data that ends early.
        Format::Png | Format::Webp => Ok(STILL),
    }
}

fn jpeg(bytes: &[u8], width: u32, height: u32) -> Result<(), String> {
    let mut pos = 2; // after SOI
    let mut max_sampling = (1u32, 1u32);
    loop {
        // Markers may be padded with any number of 0xFF bytes.
        while bytes.get(pos) == Some(&0xFF) && bytes.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (bytes.get(pos), bytes.get(pos + 1)) else {
            // Not a marker where one must be: the decoder will say what is wrong.
            return Ok(());
        };
        let Some(len) = bytes
            .get(pos + 2..pos + 4)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        else {
            return Ok(());
        };
        let segment = bytes.get(pos + 4..pos + 2 + len).unwrap_or(&[]);
        match marker {
            // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                // precision, height, width, components, then 3 bytes per component.
                let components = segment.get(5).copied().unwrap_or(0);
                for c in 0..usize::from(components) {
                    if let Some(&s) = segment.get(6 + 3 * c + 1) {
                        let (h, v) = (u32::from(s >> 4).max(1), u32::from(s & 15).max(1));
                        max_sampling = (max_sampling.0.max(h), max_sampling.1.max(v));
                    }
                }
            }
            0xDA => {
                let coded = bytes.len().saturating_sub(pos + 2 + len) as u64;
                let mcus = u64::from(width.div_ceil(8 * max_sampling.0))
                    * u64::from(height.div_ceil(8 * max_sampling.1));
                if coded * 8 < mcus {
                    return Err(format!(
                        "the JPEG says it is {width}x{height} but holds only {coded} bytes of \
                         image data, too little for that size: it is damaged or forged"
                    ));
                }
                return Ok(());
            }
            _ => {}
        }
        pos += 2 + len;
    }
}

/// Reads a little-endian u16 at `at`.
fn le16(bytes: &[u8], at: usize) -> Option<u32> {
    bytes
        .get(at..at + 2)
        .map(|b| u32::from(u16::from_le_bytes([b[0], b[1]])))
}

/// Skips GIF data sub-blocks from `pos`; (position after the terminator, bytes of data).
fn sub_blocks(bytes: &[u8], mut pos: usize) -> Option<(usize, u64)> {
    let mut data = 0u64;
    loop {
        let len = usize::from(*bytes.get(pos)?);
        pos += 1;
        if len == 0 {
            return Some((pos, data));
        }
        data += len as u64;
        pos += len;
    }
}

fn gif(bytes: &[u8], width: u32, height: u32) -> Result<Facts, String> {
    let canvas = u64::from(width) * u64::from(height);
    let Some(flags) = bytes.get(10) else {
        return Ok(STILL);
    };
    let table = |flags: u8| {
        if flags & 0x80 != 0 {
            3usize << ((flags & 7) + 1)
        } else {
            0
        }
    };
    let mut pos = 13 + table(*flags);
    // The union of the frames' rectangles, clipped to the canvas.
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0u32, 0u32);
    let mut frame = 0u32;
    // A walk that ends early (truncated file) judges what it saw; the decoder judges the rest.
    while let Some(&block) = bytes.get(pos) {
        match block {
            0x21 => match sub_blocks(bytes, pos + 2) {
                Some((next, _)) => pos = next,
                None => break,
            },
            0x2C => {
                let (Some(left), Some(top), Some(w), Some(h), Some(&f)) = (
                    le16(bytes, pos + 1),
                    le16(bytes, pos + 3),
                    le16(bytes, pos + 5),
                    le16(bytes, pos + 7),
                    bytes.get(pos + 9),
                ) else {
                    break;
                };
                frame += 1;
                // Table, then the LZW minimum code size, then the data.
                let Some((next, data)) = sub_blocks(bytes, pos + 10 + table(f) + 1) else {
                    break;
                };
                let area = u64::from(w) * u64::from(h);
                if area > data * GIF_PIXELS_PER_BYTE {
                    return Err(format!(
                        "frame {frame} of the GIF says it is {w}x{h} but holds only {data} bytes \
                         of image data, too little for that size: it is damaged or forged"
                    ));
                }
                x0 = x0.min(left.min(width));
                y0 = y0.min(top.min(height));
                x1 = x1.max((left + w).min(width));
                y1 = y1.max((top + h).min(height));
                pos = next;
            }
            _ => break,
        }
    }
    let covered = u64::from(x1.saturating_sub(x0)) * u64::from(y1.saturating_sub(y0));
    if frame > 0 && canvas > GIF_FREE_CANVAS && covered * 4 < canvas {
        return Err(format!(
            "the GIF's canvas is {width}x{height} but its frames cover only {}x{} of it: refused \
             (a canvas that size costs a full-size image to draw)",
            x1.saturating_sub(x0),
            y1.saturating_sub(y0)
        ));
    }
    Ok(Facts { frames: frame })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(img: image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, format).expect("encode");
        out.into_inner()
    }

    /// A JPEG whose SOF is rewritten to claim `w` x `h`.
    fn lying_jpeg(w: u16, h: u16) -> Vec<u8> {
        let mut bytes = encode(
            image::DynamicImage::new_rgb8(16, 16),
            image::ImageFormat::Jpeg,
        );
        let sof = bytes
            .windows(2)
            .position(|m| m == [0xFF, 0xC0])
            .expect("SOF0");
        bytes[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
        bytes[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
        bytes
    }

    /// A GIF with a `screen` canvas and one frame of `frame` pixels at the origin.
    fn gif(screen: (u16, u16), frame: (u16, u16), data: &[u8]) -> Vec<u8> {
        let mut g = b"GIF89a".to_vec();
        g.extend(screen.0.to_le_bytes());
        g.extend(screen.1.to_le_bytes());
        g.extend([0x80, 0, 0]); // a 2-colour global table
        g.extend([0, 0, 0, 255, 255, 255]);
        g.push(0x2C);
        g.extend([0, 0, 0, 0]);
        g.extend(frame.0.to_le_bytes());
        g.extend(frame.1.to_le_bytes());
        g.push(0);
        g.push(2); // LZW minimum code size
        for chunk in data.chunks(255) {
            g.push(chunk.len() as u8);
            g.extend(chunk);
        }
        g.extend([0, 0x3B]);
        g
    }

    #[test]
    fn a_jpeg_claiming_far_more_than_its_data_is_refused() {
        let bytes = lying_jpeg(20000, 5999);
        let why = check(&bytes, Format::Jpeg, 20000, 5999).expect_err("forged");
        assert!(why.contains("20000x5999"), "{why}");
        // The same file at its real size is fine.
        let real = lying_jpeg(16, 16);
        assert_eq!(check(&real, Format::Jpeg, 16, 16), Ok(STILL));
    }

    #[test]
    fn real_images_pass_however_well_they_compress() {
        // One flat colour compresses as far as a JPEG can: 6000x4000 in a few KB.
        let flat = image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            6000,
            4000,
            image::Rgb([40, 90, 200]),
        ));
        let jpeg = encode(flat.clone(), image::ImageFormat::Jpeg);
        assert_eq!(check(&jpeg, Format::Jpeg, 6000, 4000), Ok(STILL));
        let gif = encode(
            image::DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
                3000,
                2000,
                image::Rgba([40, 90, 200, 255]),
            )),
            image::ImageFormat::Gif,
        );
        assert_eq!(
            check(&gif, Format::Gif, 3000, 2000),
            Ok(Facts { frames: 1 })
        );
    }

    #[test]
    fn a_huge_gif_canvas_with_a_tiny_frame_is_refused() {
        let bytes = gif((10000, 10000), (1, 1), &[0x4C, 0x01]);
        let why = check(&bytes, Format::Gif, 10000, 10000).expect_err("canvas");
        assert!(why.contains("10000x10000") && why.contains("1x1"), "{why}");
        // A small canvas is drawn whatever its frames cover.
        let small = gif((1000, 1000), (1, 1), &[0x4C, 0x01]);
        assert_eq!(
            check(&small, Format::Gif, 1000, 1000),
            Ok(Facts { frames: 1 })
        );
    }

    #[test]
    fn gif_frames_are_counted_without_decoding() {
        let mut bytes = Vec::new();
        {
            let mut encoder = image::codecs::gif::GifEncoder::new(&mut bytes);
            let frames = (0..7u8).map(|i| {
                image::Frame::new(image::RgbaImage::from_pixel(
                    8,
                    8,
                    image::Rgba([i, 0, 0, 255]),
                ))
            });
            encoder.encode_frames(frames).expect("encode");
        }
        assert_eq!(check(&bytes, Format::Gif, 8, 8), Ok(Facts { frames: 7 }));
    }

    #[test]
    fn a_gif_frame_claiming_more_than_its_data_is_refused() {
        let bytes = gif((1000, 1000), (1000, 1000), &[0x4C, 0x01]);
        let why = check(&bytes, Format::Gif, 1000, 1000).expect_err("frame");
        assert!(
            why.contains("frame 1") && why.contains("1000x1000"),
            "{why}"
        );
    }

    #[test]
    fn cut_or_junk_input_never_panics() {
        let jpeg = lying_jpeg(64, 64);
        let gif = gif((100, 100), (100, 100), &[0x4C; 40]);
        for (bytes, format) in [(jpeg, Format::Jpeg), (gif, Format::Gif)] {
            for cut in 0..bytes.len() {
                check(&bytes[..cut], format, 64, 64).ok();
                let mut damaged = bytes.clone();
                damaged[cut] ^= 0xFF;
                check(&damaged, format, 64, 64).ok();
            }
        }
    }
}
