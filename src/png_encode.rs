//! PNG renditions: every row filtered with whichever of the four filters gives it the smallest
//! sum of absolute differences (the adaptive heuristic of libpng and the `png` crate), then the
//! whole image compressed in one call by libdeflate at level 6, its default. The stream is
//! ordinary zlib (FLEVEL says level 6), as small as zlib's or zlib-rs' level 6 to within about
//! 1 %, made about twice as fast (README "Performance", batch upload). An RGB(A) image of at most
//! 256 colours is also written indexed (a palette, one byte a pixel, rows unfiltered), and the
//! smaller of the two is kept.

use image::DynamicImage;

/// libdeflate's compression level for the renditions (its default; what libpng, libvips and
/// nginx's image filter ask of zlib too).
pub const LEVEL: i32 = 6;

/// IDAT chunks are at most this long (any size up to 2³¹ − 1 is valid; this keeps them modest).
const IDAT_BYTES: usize = 1 << 20;

/// Why a PNG could not be written.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("libdeflate refused the data: {0:?}")]
    Compress(libdeflater::CompressionError),
    #[error("the image is too large for one PNG")]
    TooLarge,
    #[error("libdeflate has no compression level {LEVEL}")]
    Level,
}

/// PNG filter types (PNG specification, 9.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Filter {
    Sub = 1,
    Up = 2,
    Avg = 3,
    Paeth = 4,
}

/// Encodes `img` as an 8-bit grey, grey + alpha, RGB or RGBA PNG (other layouts are converted to
/// RGB or RGBA), without metadata.
pub fn encode(img: &DynamicImage) -> Result<Vec<u8>, EncodeError> {
    let converted;
    let (pixels, color_type, channels): (&[u8], u8, usize) = match img {
        DynamicImage::ImageLuma8(i) => (i.as_raw(), 0, 1),
        DynamicImage::ImageLumaA8(i) => (i.as_raw(), 4, 2),
        DynamicImage::ImageRgb8(i) => (i.as_raw(), 2, 3),
        DynamicImage::ImageRgba8(i) => (i.as_raw(), 6, 4),
        other if other.color().has_alpha() => {
            converted = other.to_rgba8().into_raw();
            (&converted, 6, 4)
        }
        other => {
            converted = other.to_rgb8().into_raw();
            (&converted, 2, 3)
        }
    };
    let (width, height) = (img.width(), img.height());
    let direct = || {
        let filtered = filter_rows(pixels, width as usize * channels, channels);
        write(width, height, color_type, None, &filtered)
    };
    // An RGB(A) image of at most 256 colours (a palette original's `.large`, flat graphics) is
    // also written indexed, one byte a pixel, and the smaller of the two is kept: indexed is
    // about half the size on quantized photos and screenshots, but can lose on very regular
    // images, where the filters of the direct form find more.
    let Some(palette) = (channels >= 3).then(|| index(pixels, channels)).flatten() else {
        return direct();
    };
    // Indexed rows go unfiltered, as the PNG specification advises (12.8) and libpng does.
    let unfiltered: Vec<u8> = palette
        .indices
        .chunks_exact(width as usize)
        .flat_map(|row| std::iter::once(0).chain(row.iter().copied()))
        .collect();
    let indexed = write(
        width,
        height,
        3,
        Some((&palette, channels == 4)),
        &unfiltered,
    )?;
    let direct = direct()?;
    Ok(if indexed.len() < direct.len() {
        indexed
    } else {
        direct
    })
}

/// A whole PNG: 8 bits a sample, colour type `color_type`, the `palette` (and its alpha, when
/// the flag says so) for an indexed one, and the `filtered` rows deflated by libdeflate.
fn write(
    width: u32,
    height: u32,
    color_type: u8,
    palette: Option<(&Palette, bool)>,
    filtered: &[u8],
) -> Result<Vec<u8>, EncodeError> {
    let mut compressor = libdeflater::Compressor::new(
        libdeflater::CompressionLvl::new(LEVEL).map_err(|_| EncodeError::Level)?,
    );
    let mut zlib = vec![0; compressor.zlib_compress_bound(filtered.len())];
    let len = compressor
        .zlib_compress(filtered, &mut zlib)
        .map_err(EncodeError::Compress)?;
    zlib.truncate(len);

    let mut out = Vec::with_capacity(zlib.len() + 64);
    out.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    let mut ihdr = [0u8; 13];
    ihdr[..4].copy_from_slice(&width.to_be_bytes());
    ihdr[4..8].copy_from_slice(&height.to_be_bytes());
    // Bit depth 8; deflate, adaptive filtering, no interlace (all 0).
    ihdr[8] = 8;
    ihdr[9] = color_type;
    chunk(&mut out, b"IHDR", &ihdr)?;
    if let Some((palette, alpha)) = palette {
        let rgb: Vec<u8> = palette
            .colours
            .iter()
            .flat_map(|c| [c[0], c[1], c[2]])
            .collect();
        chunk(&mut out, b"PLTE", &rgb)?;
        if alpha {
            // Always for an RGBA image, so that it decodes with its alpha channel again.
            let alpha: Vec<u8> = palette.colours.iter().map(|c| c[3]).collect();
            chunk(&mut out, b"tRNS", &alpha)?;
        }
    }
    for part in zlib.chunks(IDAT_BYTES) {
        chunk(&mut out, b"IDAT", part)?;
    }
    chunk(&mut out, b"IEND", &[])?;
    Ok(out)
}

/// An image's colours as a palette and each pixel's entry in it.
struct Palette {
    /// RGBA, in order of first appearance (alpha 255 for an RGB image).
    colours: Vec<[u8; 4]>,
    /// One entry a pixel, row after row.
    indices: Vec<u8>,
}

/// The palette of RGB (`channels` 3) or RGBA (4) `pixels`, when they have at most 256 colours;
/// `None` at the 257th (a photo gets there within its first rows).
fn index(pixels: &[u8], channels: usize) -> Option<Palette> {
    let mut entries: std::collections::HashMap<[u8; 4], u8> = std::collections::HashMap::new();
    let mut colours: Vec<[u8; 4]> = Vec::new();
    let mut indices = Vec::with_capacity(pixels.len() / channels);
    // Flat areas repeat one colour: the last one found is tried first.
    let mut last: Option<([u8; 4], u8)> = None;
    for px in pixels.chunks_exact(channels) {
        let colour = [px[0], px[1], px[2], if channels == 4 { px[3] } else { 255 }];
        let entry = match last {
            Some((seen, entry)) if seen == colour => entry,
            _ => {
                let entry = match entries.get(&colour) {
                    Some(&entry) => entry,
                    None => {
                        let entry = u8::try_from(colours.len()).ok()?;
                        colours.push(colour);
                        entries.insert(colour, entry);
                        entry
                    }
                };
                last = Some((colour, entry));
                entry
            }
        };
        indices.push(entry);
    }
    Some(Palette { colours, indices })
}

/// Appends one chunk: length, type, data, CRC of type and data.
fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) -> Result<(), EncodeError> {
    let len = u32::try_from(data.len()).map_err(|_| EncodeError::TooLarge)?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
    Ok(())
}

/// The image data as PNG stores it before compression: each row of `row_bytes` bytes (`bpp`
/// bytes a pixel) preceded by its filter type and filtered with it.
fn filter_rows(pixels: &[u8], row_bytes: usize, bpp: usize) -> Vec<u8> {
    let rows = pixels.len().checked_div(row_bytes).unwrap_or(0);
    let mut out = Vec::with_capacity((row_bytes + 1) * rows);
    // Above the first row is a row of zeros (PNG specification, 9.2).
    let zeros = vec![0u8; row_bytes];
    let (mut best, mut trial) = (vec![0u8; row_bytes], vec![0u8; row_bytes]);
    let mut previous: &[u8] = &zeros;
    for current in pixels.chunks_exact(row_bytes) {
        let mut chosen = (Filter::Up, u64::MAX);
        // The order, the tie rule (a later filter wins a tie) and the stop at a cost of 0 are
        // the `png` crate's, so the filtered bytes are the ones it would compress.
        for filter in [Filter::Up, Filter::Sub, Filter::Avg, Filter::Paeth] {
            apply(filter, bpp, previous, current, &mut trial);
            let cost = trial
                .iter()
                .map(|&b| u64::from((b as i8).unsigned_abs()))
                .sum();
            if cost <= chosen.1 {
                chosen = (filter, cost);
                std::mem::swap(&mut best, &mut trial);
                if cost == 0 {
                    break;
                }
            }
        }
        out.push(chosen.0 as u8);
        out.extend_from_slice(&best);
        previous = current;
    }
    out
}

/// Filters one row: `out[i] = current[i] - predictor`, where `a` is the byte `bpp` to the left
/// (0 at the start), `b` the byte above, `c` the byte above `a`.
fn apply(filter: Filter, bpp: usize, previous: &[u8], current: &[u8], out: &mut [u8]) {
    let head = bpp.min(current.len());
    match filter {
        Filter::Up => {
            for ((o, &x), &b) in out.iter_mut().zip(current).zip(previous) {
                *o = x.wrapping_sub(b);
            }
        }
        Filter::Sub => {
            out[..head].copy_from_slice(&current[..head]);
            for ((o, &x), &a) in out[head..].iter_mut().zip(&current[head..]).zip(current) {
                *o = x.wrapping_sub(a);
            }
        }
        Filter::Avg => {
            for ((o, &x), &b) in out[..head].iter_mut().zip(current).zip(previous) {
                *o = x.wrapping_sub(b / 2);
            }
            let rest = out[head..]
                .iter_mut()
                .zip(&current[head..])
                .zip(current)
                .zip(&previous[head..]);
            for (((o, &x), &a), &b) in rest {
                // (a + b) / 2 without overflow.
                *o = x.wrapping_sub((a & b) + ((a ^ b) >> 1));
            }
        }
        Filter::Paeth => {
            for ((o, &x), &b) in out[..head].iter_mut().zip(current).zip(previous) {
                *o = x.wrapping_sub(paeth(0, b, 0));
            }
            let rest = out[head..]
                .iter_mut()
                .zip(&current[head..])
                .zip(current)
                .zip(&previous[head..])
                .zip(previous);
            for ((((o, &x), &a), &b), &c) in rest {
                *o = x.wrapping_sub(paeth(a, b, c));
            }
        }
    }
}

/// The Paeth predictor (PNG specification, 9.4): whichever of `a`, `b`, `c` is closest to
/// `a + b - c`, ties going to `a`, then `b`.
fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic mix of flat areas, gradients both ways and noise, so that every filter
    /// wins some rows.
    fn sample(width: u32, height: u32, channels: u8) -> Vec<u8> {
        let mut state = 0x2545_F491_u32;
        let mut noise = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        let mut v = Vec::new();
        for y in 0..height {
            for x in 0..width {
                for c in 0..u32::from(channels) {
                    let value = match y % 5 {
                        0 => 200,
                        1 => x * 3 + c,
                        2 => y * 7 + c * 11,
                        3 => (x + y) * 2 + noise() % 4,
                        _ => noise(),
                    };
                    v.push(value as u8);
                }
            }
        }
        v
    }

    fn image_of(width: u32, height: u32, channels: u8) -> DynamicImage {
        let px = sample(width, height, channels);
        match channels {
            1 => image::GrayImage::from_raw(width, height, px).map(DynamicImage::ImageLuma8),
            2 => image::GrayAlphaImage::from_raw(width, height, px).map(DynamicImage::ImageLumaA8),
            3 => image::RgbImage::from_raw(width, height, px).map(DynamicImage::ImageRgb8),
            _ => image::RgbaImage::from_raw(width, height, px).map(DynamicImage::ImageRgba8),
        }
        .expect("buffer of the right size")
    }

    /// The concatenated IDAT data of a PNG, inflated.
    fn inflated(png: &[u8]) -> Vec<u8> {
        use std::io::Read as _;
        let mut at = 8;
        let mut zlib = Vec::new();
        while at + 8 <= png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().expect("4 bytes")) as usize;
            if &png[at + 4..at + 8] == b"IDAT" {
                zlib.extend_from_slice(&png[at + 8..at + 8 + len]);
            }
            at += 12 + len;
        }
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(zlib.as_slice())
            .read_to_end(&mut out)
            .expect("a valid zlib stream");
        out
    }

    #[test]
    fn decodes_to_the_same_pixels_in_every_layout_and_size() {
        for channels in 1..=4 {
            for (w, h) in [(1, 1), (1, 9), (3, 7), (31, 5), (64, 20)] {
                let img = image_of(w, h, channels);
                let png = encode(&img).expect("encode");
                let back = image::load_from_memory_with_format(&png, image::ImageFormat::Png)
                    .expect("a PNG image decodes");
                assert_eq!(back.color(), img.color(), "{channels} channels, {w}x{h}");
                assert_eq!(
                    back.as_bytes(),
                    img.as_bytes(),
                    "{channels} channels, {w}x{h}"
                );
            }
        }
        // Layouts PNG renditions never get are converted, not refused.
        let wide = DynamicImage::ImageRgb16(image::ImageBuffer::from_pixel(
            4,
            4,
            image::Rgb([65535u16, 0, 256]),
        ));
        let back = image::load_from_memory(&encode(&wide).expect("encode")).expect("decode");
        assert_eq!(back.to_rgb8(), wide.to_rgb8());
    }

    /// The colour type in a PNG's IHDR (the first chunk).
    fn colour_type(png: &[u8]) -> u8 {
        png[8 + 8 + 9]
    }

    /// Whether a PNG holds a chunk `kind` (the test images hold no such bytes elsewhere).
    fn has_chunk(png: &[u8], kind: &[u8; 4]) -> bool {
        png.windows(4).any(|w| w == kind)
    }

    /// A deterministic stream of shades in `0..count` from `seed` (a linear congruential
    /// generator): pixels scattered over a few colours.
    fn shades(seed: u32, count: u32) -> impl FnMut() -> u8 {
        let mut state = seed;
        move || {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            ((state >> 16) % count) as u8
        }
    }

    /// The same image through the `png` crate: RGB(A), adaptive filters, zlib level 6.
    fn direct_png(img: &DynamicImage) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_with_encoder(image::codecs::png::PngEncoder::new_with_quality(
            &mut out,
            image::codecs::png::CompressionType::Level(6),
            image::codecs::png::FilterType::Adaptive,
        ))
        .expect("png crate");
        out.into_inner()
    }

    #[test]
    fn at_most_256_colours_are_written_indexed_when_that_is_smaller() {
        // 200 colours scattered pixel by pixel, as in a quantized photo: indexed is far smaller.
        let mut next = shades(7, 200);
        let scattered = image::RgbImage::from_fn(120, 90, |_, _| {
            let c = next();
            image::Rgb([c, c.wrapping_mul(7), 255 - c])
        });
        let img = DynamicImage::ImageRgb8(scattered);
        let png = encode(&img).expect("encode");
        assert_eq!(colour_type(&png), 3, "indexed");
        assert!(has_chunk(&png, b"PLTE") && !has_chunk(&png, b"tRNS"));
        let back = image::load_from_memory(&png).expect("decode");
        assert_eq!(back.color(), image::ColorType::Rgb8);
        assert_eq!(back.as_bytes(), img.as_bytes());
        assert!(
            inflated(&png).chunks(121).all(|row| row[0] == 0),
            "rows unfiltered"
        );
        let direct = direct_png(&img);
        assert!(
            png.len() * 2 < direct.len(),
            "{} vs {}",
            png.len(),
            direct.len()
        );
        // 256 colours in regular blocks: the direct form's filters do better, and it is kept.
        let blocks = DynamicImage::ImageRgb8(image::RgbImage::from_fn(120, 90, |x, y| {
            let c = ((x / 8) * 16 + (y / 6)) as u8;
            image::Rgb([c, c.wrapping_mul(7), 255 - c])
        }));
        let png = encode(&blocks).expect("encode");
        assert_eq!(colour_type(&png), 2, "RGB");
        assert!(png.len() <= direct_png(&blocks).len() + 64);
        let back = image::load_from_memory(&png).expect("decode");
        assert_eq!(back.as_bytes(), blocks.as_bytes());
    }

    #[test]
    fn an_rgba_image_keeps_its_alpha_when_indexed() {
        let mut next = shades(11, 40);
        let rgba = image::RgbaImage::from_fn(40, 30, |_, y| {
            let c = next();
            image::Rgba([c * 6, 10, 200 - c, if y < 15 { 255 } else { c * 5 }])
        });
        let img = DynamicImage::ImageRgba8(rgba);
        let png = encode(&img).expect("encode");
        assert_eq!(colour_type(&png), 3);
        assert!(has_chunk(&png, b"tRNS"));
        let back = image::load_from_memory(&png).expect("decode");
        assert_eq!(back.color(), image::ColorType::Rgba8);
        assert_eq!(back.as_bytes(), img.as_bytes());
        // Opaque RGBA is still RGBA when read back.
        let opaque = DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
            5,
            5,
            image::Rgba([1, 2, 3, 255]),
        ));
        let back = image::load_from_memory(&encode(&opaque).expect("encode")).expect("decode");
        assert_eq!(back.color(), image::ColorType::Rgba8);
        assert_eq!(back.as_bytes(), opaque.as_bytes());
    }

    #[test]
    fn the_257th_colour_keeps_the_image_rgb() {
        // 257 distinct colours, the last one in the very last pixel.
        let rgb = image::RgbImage::from_fn(257, 1, |x, _| {
            image::Rgb([(x % 256) as u8, (x / 256) as u8, 0])
        });
        let img = DynamicImage::ImageRgb8(rgb);
        let png = encode(&img).expect("encode");
        assert_eq!(colour_type(&png), 2, "RGB");
        assert!(!has_chunk(&png, b"PLTE"));
        let back = image::load_from_memory(&png).expect("decode");
        assert_eq!(back.as_bytes(), img.as_bytes());
        assert!(index(img.as_bytes(), 3).is_none());
        assert_eq!(
            index(&img.as_bytes()[..256 * 3], 3).map(|p| p.colours.len()),
            Some(256)
        );
    }

    #[test]
    fn every_filter_is_used_where_it_is_best() {
        let img = image_of(64, 40, 3);
        let data = inflated(&encode(&img).expect("encode"));
        let row = 64 * 3 + 1;
        let used: std::collections::BTreeSet<u8> = data.chunks(row).map(|r| r[0]).collect();
        assert_eq!(
            used,
            [1, 2, 3, 4].into_iter().collect(),
            "Sub, Up, Avg and Paeth"
        );
        // A row equal to the one above costs nothing as Up: chosen, and all zeros.
        let stripes = DynamicImage::ImageLuma8(image::GrayImage::from_fn(8, 3, |x, _| {
            image::Luma([(x * 37) as u8])
        }));
        let data = inflated(&encode(&stripes).expect("encode"));
        assert_eq!(data[9], Filter::Up as u8);
        assert!(data[10..18].iter().all(|&b| b == 0));
    }

    #[test]
    fn the_stream_says_level_6_and_compresses_like_zlib_level_6() {
        let img = image_of(300, 200, 3);
        let ours = encode(&img).expect("encode");
        let at = ours
            .windows(4)
            .position(|w| w == b"IDAT")
            .expect("an IDAT chunk");
        assert_eq!(ours[at + 5] >> 6, 2, "FLEVEL 2: the default level (6)");
        let theirs = direct_png(&img);
        // The same filtered bytes as the png crate chose: only the compressor differs.
        assert_eq!(inflated(&ours), inflated(&theirs));
        // A real level: within 1 % of zlib-rs at 6 either way (smaller on the batch bench's
        // photos, a little larger on this synthetic image).
        let ratio = ours.len() as f64 / theirs.len() as f64;
        assert!(
            (0.99..=1.01).contains(&ratio),
            "libdeflate 6: {} bytes; zlib-rs 6 through the png crate: {}",
            ours.len(),
            theirs.len()
        );
    }

    #[test]
    fn paeth_follows_the_specification() {
        // p = a + b - c; ties go to a, then b.
        assert_eq!(paeth(10, 20, 10), 20);
        assert_eq!(paeth(20, 10, 10), 20);
        assert_eq!(paeth(10, 10, 10), 10);
        assert_eq!(paeth(0, 255, 255), 0);
        assert_eq!(paeth(100, 50, 200), 50);
        for (a, b, c) in [(3u8, 250u8, 7u8), (128, 0, 255), (255, 255, 0)] {
            let p = i32::from(a) + i32::from(b) - i32::from(c);
            let best = [a, b, c]
                .into_iter()
                .min_by_key(|&v| (p - i32::from(v)).abs())
                .expect("three");
            assert_eq!(
                (p - i32::from(paeth(a, b, c))).abs(),
                (p - i32::from(best)).abs()
            );
        }
    }
}
