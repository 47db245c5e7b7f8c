//! Metadata removal before upload (pure): drops location and other metadata from JPEG, PNG, WebP
//! and GIF containers without touching the compressed pixels. Allow-lists, not deny-lists (an
//! unknown chunk, such as C2PA's `caBX`, can carry identity): in a JPEG only JFIF, ICC and Adobe
//! application segments survive (XMP and IPTC carry GPS too), the EXIF orientation is rewritten
//! alone so the picture stays upright, and anything after the end-of-image marker (a phone's
//! second image with its own GPS) is cut. In a PNG only the chunks that say how to show the
//! pixels survive ([`PNG_KEPT`]), plus an eXIf chunk rewritten to the orientation alone. In a WebP only the image, animation and colour-profile chunks
//! survive, the orientation again kept alone. In a GIF, comments and application extensions other
//! than the loop count and the colour profile (XMP, editors' data) go, and anything after the
//! trailer. A file whose blocks cannot be walked is a [`StripError`], never sent half-stripped.

use bytes::Bytes;
use img_parts::ImageEXIF as _;
use img_parts::jpeg::{Jpeg, JpegSegment, markers};
use img_parts::png::Png;
use img_parts::riff::RiffContent;
use img_parts::webp::{CHUNK_EXIF, CHUNK_VP8X, WebP};

use crate::cdn_url::Format;

/// Why a picture's metadata could not be removed. Stripping fails closed: the caller sends
/// nothing and lets the person decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StripError {
    /// Its blocks (JPEG segments, PNG or WebP chunks, GIF blocks) run past the end or do not
    /// fit together, so what they hold cannot be told apart.
    #[error("the {} is truncated or damaged", .0.name())]
    Damaged(Format),
    /// A chunk whose checksum is wrong: what it holds cannot be trusted to be what it says.
    #[error("the {} is damaged: a chunk fails its checksum", .0.name())]
    BadChecksum(Format),
}

impl StripError {
    /// img-parts' reading error for a file of `format`.
    fn unreadable(format: Format) -> impl Fn(img_parts::Error) -> StripError {
        move |e| match e {
            img_parts::Error::BadCRC => StripError::BadChecksum(format),
            img_parts::Error::WrongSignature | img_parts::Error::Truncated => {
                StripError::Damaged(format)
            }
        }
    }
}

/// PNG chunks kept: the image itself, its palette and transparency, how to show its colours
/// (gamma, chromaticities, profile, HDR), its pixel size and background, and APNG's animation.
/// Everything else goes: text, EXIF, time, C2PA, private chunks.
const PNG_KEPT: [[u8; 4]; 20] = [
    *b"IHDR", *b"PLTE", *b"IDAT", *b"IEND", *b"tRNS", *b"cHRM", *b"gAMA", *b"iCCP", *b"sBIT",
    *b"sRGB", *b"cICP", *b"mDCV", *b"cLLI", *b"bKGD", *b"hIST", *b"pHYs", *b"sPLT", *b"acTL",
    *b"fcTL", *b"fdAT",
];

/// WebP chunks kept: the image (lossy, lossless, alpha), the animation and the colour profile.
/// EXIF is rewritten with the orientation alone; XMP and anything unknown go.
const WEBP_KEPT: [[u8; 4]; 7] = [
    *b"VP8X", *b"VP8 ", *b"VP8L", *b"ALPH", *b"ANIM", *b"ANMF", *b"ICCP",
];

/// The XMP flag in the first byte of a WebP's VP8X chunk.
const VP8X_XMP_FLAG: u8 = 0b0000_0100;

/// GIF application extensions that say how the animation loops or how to show its colours:
/// kept, as JPEG's and PNG's colour profiles are.
const GIF_KEPT_APPS: [&[u8]; 3] = [b"NETSCAPE2.0", b"ANIMEXTS1.0", b"ICCRGBG1012"];

/// Strips metadata. `Ok(None)` when there was none to strip or the format is not handled.
pub fn strip(bytes: &[u8]) -> Result<Option<Vec<u8>>, StripError> {
    if bytes.starts_with(&[0xFF, 0xD8]) {
        return strip_jpeg(bytes);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return strip_png(bytes);
    }
    if bytes.len() > 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        return strip_webp(bytes);
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return strip_gif(bytes);
    }
    Ok(None)
}

fn keep_jpeg_segment(segment: &JpegSegment) -> bool {
    let marker = segment.marker();
    let contents = segment.contents();
    match marker {
        markers::APP0 => contents.starts_with(b"JFIF\0"),
        0xE2 => contents.starts_with(b"ICC_PROFILE\0"),
        0xEE => contents.starts_with(b"Adobe"),
        0xE1 | 0xE3..=0xED | 0xEF => false,
        markers::COM => false,
        _ => true,
    }
}

/// EXIF orientation (2-8; `None` for upright or unknown) from an APP1 segment's TIFF data.
pub fn exif_orientation(tiff: &[u8]) -> Option<u16> {
    let exif = exif::Reader::new().read_raw(tiff.to_vec()).ok()?;
    let field = exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY)?;
    match field.value.get_uint(0)? {
        v @ 2..=8 => u16::try_from(v).ok(),
        _ => None,
    }
}

/// A minimal big-endian EXIF block holding only the orientation.
fn orientation_exif(value: u16) -> Bytes {
    let mut b = Vec::with_capacity(32);
    b.extend_from_slice(b"Exif\0\0");
    b.extend_from_slice(b"MM\0\x2a");
    b.extend_from_slice(&8u32.to_be_bytes()); // first IFD right after the header
    b.extend_from_slice(&1u16.to_be_bytes()); // one entry
    b.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    b.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    b.extend_from_slice(&1u32.to_be_bytes()); // count
    b.extend_from_slice(&value.to_be_bytes());
    b.extend_from_slice(&[0, 0]); // value padding
    b.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    Bytes::from(b)
}

/// Where a JPEG's end-of-image marker ends: walks the segments and the entropy-coded data of
/// every scan (progressive files have many), so a second image appended later is not taken for
/// part of the first.
fn jpeg_end(b: &[u8]) -> Option<usize> {
    let mut i = 2; // after SOI
    loop {
        // At a marker: skip fill bytes.
        while *b.get(i)? == 0xFF && *b.get(i + 1)? == 0xFF {
            i += 1;
        }
        if *b.get(i)? != 0xFF {
            return None;
        }
        let marker = *b.get(i + 1)?;
        match marker {
            0xD9 => return Some(i + 2),
            0x01 | 0xD0..=0xD7 => i += 2,
            _ => {
                let len = usize::from(u16::from_be_bytes([*b.get(i + 2)?, *b.get(i + 3)?]));
                i += 2 + len;
                if marker == 0xDA {
                    // Entropy data runs to the next marker that is not a stuffed 0xFF00 or RSTn.
                    loop {
                        if *b.get(i)? == 0xFF && !matches!(*b.get(i + 1)?, 0x00 | 0xD0..=0xD7) {
                            break;
                        }
                        i += 1;
                    }
                }
            }
        }
    }
}

fn strip_jpeg(bytes: &[u8]) -> Result<Option<Vec<u8>>, StripError> {
    let whole = jpeg_end(bytes).map_or(bytes, |end| &bytes[..end]);
    let mut jpeg = Jpeg::from_bytes(Bytes::copy_from_slice(whole))
        .map_err(StripError::unreadable(Format::Jpeg))?;
    let orientation = jpeg
        .segments()
        .iter()
        .filter(|s| s.marker() == markers::APP1)
        .find_map(|s| {
            s.contents()
                .strip_prefix(b"Exif\0\0")
                .and_then(exif_orientation)
        });
    jpeg.segments_mut().retain(keep_jpeg_segment);
    if let Some(value) = orientation {
        // After JFIF when present, so JFIF stays first as its spec wants.
        let at = usize::from(
            jpeg.segments()
                .first()
                .is_some_and(|s| s.marker() == markers::APP0),
        );
        jpeg.segments_mut().insert(
            at,
            JpegSegment::new_with_contents(markers::APP1, orientation_exif(value)),
        );
    }
    let mut out = jpeg.encoder().bytes().to_vec();
    // img-parts also reads files whose junk `jpeg_end` cannot walk; cut what it kept after the
    // end-of-image of what it wrote as well (found by fuzzing: a second pass cut more).
    if let Some(end) = jpeg_end(&out) {
        out.truncate(end);
    }
    Ok((out != bytes).then_some(out))
}

fn strip_png(bytes: &[u8]) -> Result<Option<Vec<u8>>, StripError> {
    let mut png = Png::from_bytes(Bytes::copy_from_slice(bytes))
        .map_err(StripError::unreadable(Format::Png))?;
    if png.chunks().iter().all(|c| PNG_KEPT.contains(&c.kind())) {
        return Ok(None);
    }
    // An eXIf chunk holds the TIFF data alone (as in a WebP); only its orientation is kept.
    let orientation = png.exif().and_then(|tiff| exif_orientation(&tiff));
    png.chunks_mut().retain(|c| PNG_KEPT.contains(&c.kind()));
    png.set_exif(orientation.map(|v| orientation_exif(v).slice(6..)));
    let out = png.encoder().bytes().to_vec();
    Ok((out != bytes).then_some(out))
}

fn strip_webp(bytes: &[u8]) -> Result<Option<Vec<u8>>, StripError> {
    let mut webp = WebP::from_bytes(Bytes::copy_from_slice(bytes))
        .map_err(StripError::unreadable(Format::Webp))?;
    if webp.chunks().iter().all(|c| WEBP_KEPT.contains(&c.id())) {
        return Ok(None);
    }
    let orientation = webp.exif().and_then(|tiff| exif_orientation(&tiff));
    webp.chunks_mut()
        .retain(|c| WEBP_KEPT.contains(&c.id()) || c.id() == CHUNK_EXIF);
    // A WebP's EXIF chunk holds the TIFF data alone, without JPEG's "Exif\0\0". `set_exif` also
    // fixes the VP8X flags for EXIF (and drops VP8X when nothing needs it any more).
    webp.set_exif(orientation.map(|v| orientation_exif(v).slice(6..)));
    // img-parts leaves the XMP flag set: clear it, so readers do not look for a chunk that is gone.
    if let Some(vp8x) = webp.chunks_mut().iter_mut().find(|c| c.id() == CHUNK_VP8X)
        && let RiffContent::Data(data) = vp8x.content_mut()
        && let Some(&flags) = data.first()
    {
        let mut fixed = data.to_vec();
        fixed[0] = flags & !VP8X_XMP_FLAG;
        *data = Bytes::from(fixed);
    }
    let out = webp.encoder().bytes().to_vec();
    Ok((out != bytes).then_some(out))
}

/// The size of a GIF colour table announced by `flags` (of the screen or an image descriptor).
fn gif_table_len(flags: u8) -> usize {
    if flags & 0x80 == 0 {
        0
    } else {
        3 << ((flags & 7) + 1)
    }
}

/// Where the data sub-blocks starting at `i` end (after their zero-length terminator).
fn gif_sub_blocks_end(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        let n = usize::from(*b.get(i)?);
        i += 1 + n;
        if n == 0 {
            return Some(i);
        }
    }
}

/// Walks a GIF's blocks and copies all but comments and foreign application extensions; the
/// frames' compressed data is copied byte for byte.
fn strip_gif(b: &[u8]) -> Result<Option<Vec<u8>>, StripError> {
    let damaged = || StripError::Damaged(Format::Gif);
    let screen = b.get(..13).ok_or_else(damaged)?;
    let mut i = 13 + gif_table_len(screen[10]);
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(b.get(..i).ok_or_else(damaged)?);
    loop {
        match *b.get(i).ok_or_else(damaged)? {
            // The trailer: whatever follows it is not part of the picture.
            0x3B => {
                out.push(0x3B);
                break;
            }
            // An image: descriptor, local colour table, LZW code size, compressed data.
            0x2C => {
                let descriptor = b.get(i..i + 10).ok_or_else(damaged)?;
                let data = i + 10 + gif_table_len(descriptor[9]) + 1;
                let end = gif_sub_blocks_end(b, data).ok_or_else(damaged)?;
                out.extend_from_slice(b.get(i..end).ok_or_else(damaged)?);
                i = end;
            }
            0x21 => {
                let label = *b.get(i + 1).ok_or_else(damaged)?;
                let end = gif_sub_blocks_end(b, i + 2).ok_or_else(damaged)?;
                let block = b.get(i..end).ok_or_else(damaged)?;
                let keep = match label {
                    // Frame timing and transparency; plain text is part of the picture.
                    0xF9 | 0x01 => true,
                    // The application's 11-byte name is the first sub-block.
                    0xFF => {
                        block.get(2) == Some(&11)
                            && block
                                .get(3..14)
                                .is_some_and(|name| GIF_KEPT_APPS.contains(&name))
                    }
                    // Comments (0xFE) and anything unknown.
                    _ => false,
                };
                if keep {
                    out.extend_from_slice(block);
                }
                i = end;
            }
            _ => return Err(damaged()),
        }
    }
    Ok((out != b).then_some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use img_parts::webp::CHUNK_XMP;

    const EXIF_JPEG: &[u8] = include_bytes!("../tests/corpus/jpg/exif-xmp-metadata.jpg");
    const PORTRAIT: &[u8] = include_bytes!("../tests/corpus/jpg/portrait_2.jpg");
    const PROGRESSIVE: &[u8] = include_bytes!("../tests/corpus/jpg/progressive/cat.jpg");

    /// Decoded RGBA pixels (alpha included, for WebP).
    fn pixels(bytes: &[u8]) -> Vec<u8> {
        image::load_from_memory(bytes)
            .expect("decode")
            .into_rgba8()
            .into_raw()
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn jpeg_loses_exif_and_xmp_but_not_pixels() {
        assert!(contains(EXIF_JPEG, b"http://ns.adobe.com/xap/1.0/"));
        let out = strip(EXIF_JPEG).expect("strip").expect("changed");
        assert!(!contains(&out, b"http://ns.adobe.com/xap/1.0/"), "XMP gone");
        assert!(out.len() < EXIF_JPEG.len());
        assert_eq!(pixels(&out), pixels(EXIF_JPEG), "pixels untouched");
    }

    #[test]
    fn orientation_survives() {
        let tiff = |b: &[u8]| {
            Jpeg::from_bytes(Bytes::copy_from_slice(b))
                .expect("jpeg")
                .segments()
                .iter()
                .find_map(|s| {
                    s.contents()
                        .strip_prefix(b"Exif\0\0")
                        .and_then(exif_orientation)
                })
        };
        let before = tiff(PORTRAIT).expect("the corpus file is rotated");
        let out = strip(PORTRAIT)
            .expect("strip")
            .unwrap_or_else(|| PORTRAIT.to_vec());
        assert_eq!(tiff(&out), Some(before));
        assert_eq!(pixels(&out), pixels(PORTRAIT));
    }

    #[test]
    fn trailing_data_is_cut_and_progressive_scans_kept() {
        let mut with_tail = PROGRESSIVE.to_vec();
        with_tail.extend_from_slice(b"\xFF\xD8second image with GPS\xFF\xD9");
        let out = strip(&with_tail).expect("strip").expect("changed");
        assert!(!contains(&out, b"second image with GPS"));
        assert_eq!(pixels(&out), pixels(PROGRESSIVE));
    }

    /// A WebP (the image crate writes lossless) carrying an EXIF block with `orientation` and a
    /// GPS note, and an XMP chunk: the extended format, with a VP8X chunk.
    fn webp_with_metadata(orientation: u16) -> Vec<u8> {
        let img = image::RgbaImage::from_fn(24, 16, |x, y| {
            image::Rgba([x as u8 * 9, y as u8 * 13, 90, 200])
        });
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::WebP)
            .expect("webp");
        let mut webp = WebP::from_bytes(Bytes::from(out.into_inner())).expect("parse");
        let mut tiff = orientation_exif(orientation).slice(6..).to_vec();
        tiff.extend_from_slice(b"GPS 52.1,4.3");
        webp.set_exif(Some(Bytes::from(tiff)));
        webp.chunks_mut().push(img_parts::riff::RiffChunk::new(
            CHUNK_XMP,
            RiffContent::Data(Bytes::from_static(
                b"<x:xmpmeta>exif:GPSLatitude 52.1</x:xmpmeta>",
            )),
        ));
        // As a real encoder does: the VP8X flags say an XMP chunk is there.
        if let Some(vp8x) = webp.chunks_mut().iter_mut().find(|c| c.id() == CHUNK_VP8X)
            && let RiffContent::Data(data) = vp8x.content_mut()
        {
            let mut flagged = data.to_vec();
            flagged[0] |= VP8X_XMP_FLAG;
            *data = Bytes::from(flagged);
        }
        let bytes = webp.encoder().bytes().to_vec();
        assert_eq!(
            vp8x_flags(&bytes).map(|f| f & VP8X_XMP_FLAG),
            Some(VP8X_XMP_FLAG)
        );
        bytes
    }

    fn vp8x_flags(bytes: &[u8]) -> Option<u8> {
        let webp = WebP::from_bytes(Bytes::copy_from_slice(bytes)).expect("parse");
        webp.chunk_by_id(CHUNK_VP8X)
            .and_then(|c| c.content().data())
            .and_then(|d| d.first().copied())
    }

    #[test]
    fn webp_loses_exif_and_xmp_but_not_pixels_nor_orientation() {
        for orientation in [1, 6] {
            let with = webp_with_metadata(orientation);
            assert!(contains(&with, b"52.1"));
            let out = strip(&with).expect("strip").expect("changed");
            assert!(
                !contains(&out, b"52.1"),
                "orientation {orientation}: GPS gone"
            );
            assert!(!contains(&out, b"xmpmeta"), "XMP gone");
            let webp = WebP::from_bytes(Bytes::from(out.clone())).expect("parse");
            let kept = webp.exif().and_then(|tiff| exif_orientation(&tiff));
            assert_eq!(kept, (orientation != 1).then_some(orientation));
            // With EXIF left the file stays in the extended format, whose flags must match what
            // is there; without, it may go back to the simple format (no VP8X at all).
            match vp8x_flags(&out) {
                Some(flags) => {
                    assert_eq!(flags & VP8X_XMP_FLAG, 0, "no XMP flag without XMP");
                    assert_eq!(flags & 0b0000_1000 != 0, kept.is_some(), "EXIF flag");
                }
                None => assert_eq!(kept, None, "EXIF needs the extended format"),
            }
            assert_eq!(pixels(&out), pixels(&with), "pixels untouched");
            // The kept orientation is the one the thumbnailer reads: 24x16 turned to 16x24.
            let upright = crate::thumbnail::decode_upright(&out, None, image::Limits::no_limits())
                .expect("decode");
            let expected = if orientation == 6 { (16, 24) } else { (24, 16) };
            assert_eq!((upright.width(), upright.height()), expected);
            assert_eq!(strip(&out).expect("strip"), None, "nothing left to strip");
        }
    }

    #[test]
    fn cut_or_damaged_webps_are_an_error_or_left_alone_never_a_panic() {
        let with = webp_with_metadata(6);
        for end in 0..with.len() {
            strip(&with[..end]).ok();
        }
        let mut damaged = with.clone();
        for i in (12..damaged.len()).step_by(7) {
            damaged[i] ^= 0xA5;
            strip(&damaged).ok();
        }
    }

    /// An animated GIF (3 frames, looping) with a comment and an XMP block holding a location.
    fn gif_with_metadata() -> (Vec<u8>, Vec<u8>) {
        use image::codecs::gif::{GifEncoder, Repeat};
        let mut plain = Vec::new();
        {
            let mut enc = GifEncoder::new_with_speed(&mut plain, 30);
            enc.set_repeat(Repeat::Infinite).expect("repeat");
            for i in 0..3u8 {
                let img = image::RgbaImage::from_fn(20, 12, |x, y| {
                    image::Rgba([x as u8 * 12, y as u8 * 20, i * 80, 255])
                });
                enc.encode_frame(image::Frame::new(img)).expect("frame");
            }
        }
        let at = plain
            .windows(14)
            .position(|w| w == b"\x21\xFF\x0BNETSCAPE2.0")
            .expect("loop block");
        let mut with = plain[..at].to_vec();
        with.extend_from_slice(b"\x21\xFE\x0Dtaken at 52.1\x00");
        let xmp = b"<x:xmpmeta>52.1,4.3</x:xmpmeta>";
        with.extend_from_slice(b"\x21\xFF\x0BXMP DataXMP");
        with.push(xmp.len() as u8);
        with.extend_from_slice(xmp);
        with.push(0);
        with.extend_from_slice(&plain[at..]);
        with.extend_from_slice(b"trailing 52.1");
        // A colour profile is part of how the picture looks: it stays.
        let icc = b"\x21\xFF\x0BICCRGBG1012\x04fake\x00";
        let mut plain_icc = plain[..at].to_vec();
        plain_icc.extend_from_slice(icc);
        plain_icc.extend_from_slice(&plain[at..]);
        let mut with_icc = with[..at].to_vec();
        with_icc.extend_from_slice(icc);
        with_icc.extend_from_slice(&with[at..]);
        (plain_icc, with_icc)
    }

    /// Every frame's pixels; `None` when the GIF does not decode.
    fn gif_frames(bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
        use image::AnimationDecoder as _;
        image::codecs::gif::GifDecoder::new(std::io::Cursor::new(bytes))
            .ok()?
            .into_frames()
            .map(|f| f.ok().map(|f| f.into_buffer().into_raw()))
            .collect()
    }

    #[test]
    fn gif_loses_comments_and_xmp_but_keeps_frames_and_loop() {
        let (plain, with) = gif_with_metadata();
        let out = strip(&with).expect("strip").expect("changed");
        assert!(
            !contains(&out, b"52.1"),
            "comment, XMP and trailing data gone"
        );
        assert!(contains(&out, b"NETSCAPE2.0"), "the loop count stays");
        assert_eq!(out, plain, "exactly the GIF without the additions");
        assert_eq!(gif_frames(&out).expect("decode").len(), 3);
        assert_eq!(gif_frames(&out), gif_frames(&with), "frames untouched");
        assert_eq!(strip(&out).expect("strip"), None, "nothing left to strip");
    }

    #[test]
    fn real_gifs_keep_every_frame() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/image-rs");
        let mut seen = 0;
        for sub in ["images/gif/simple", "images/gif/anim", "regression/gif"] {
            for entry in std::fs::read_dir(format!("{dir}/{sub}")).expect("corpus") {
                let path = entry.expect("entry").path();
                let bytes = std::fs::read(&path).expect("read");
                let Some(frames) = gif_frames(&bytes) else {
                    continue; // not decodable to begin with
                };
                let out = strip(&bytes)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                    .unwrap_or_else(|| bytes.clone());
                assert_eq!(gif_frames(&out), Some(frames), "{}", path.display());
                seen += 1;
            }
        }
        assert!(seen >= 10, "{seen} corpus GIFs");
    }

    #[test]
    fn cut_or_damaged_gifs_are_an_error_never_a_panic() {
        let (_, with) = gif_with_metadata();
        let trailer = with.len() - b"trailing 52.1".len();
        for end in 0..trailer {
            // Too short to be told a GIF (left alone), or an error: never a "stripped" result.
            assert!(!matches!(strip(&with[..end]), Ok(Some(_))), "cut at {end}");
        }
        let mut damaged = with.clone();
        for i in (6..damaged.len()).step_by(5) {
            damaged[i] ^= 0x5A;
            strip(&damaged).ok();
        }
    }

    #[test]
    fn unknown_png_and_webp_chunks_go_too() {
        // C2PA's caBX (signed provenance, may name the author) and a private chunk.
        let img =
            image::RgbImage::from_fn(6, 4, |x, y| image::Rgb([x as u8 * 40, y as u8 * 60, 7]));
        let mut png = std::io::Cursor::new(Vec::new());
        img.write_to(&mut png, image::ImageFormat::Png)
            .expect("png");
        let mut parsed = Png::from_bytes(Bytes::from(png.into_inner())).expect("png");
        let at = parsed.chunks().len() - 1;
        for kind in [*b"caBX", *b"prVt"] {
            parsed.chunks_mut().insert(
                at,
                img_parts::png::PngChunk::new(kind, Bytes::from_static(b"Jane Doe, 52.1,4.3")),
            );
        }
        let with = parsed.encoder().bytes().to_vec();
        let out = strip(&with).expect("strip").expect("changed");
        assert!(!contains(&out, b"Jane Doe"));
        assert_eq!(pixels(&out), pixels(&with));
        assert_eq!(strip(&out).expect("strip"), None, "nothing left to strip");

        let mut webp = WebP::from_bytes(Bytes::from(webp_with_metadata(1))).expect("webp");
        webp.chunks_mut().push(img_parts::riff::RiffChunk::new(
            *b"UNKN",
            RiffContent::Data(Bytes::from_static(b"Jane Doe, 52.1,4.3")),
        ));
        let with = webp.encoder().bytes().to_vec();
        let out = strip(&with).expect("strip").expect("changed");
        assert!(!contains(&out, b"Jane Doe"));
        assert_eq!(pixels(&out), pixels(&with));
        assert_eq!(strip(&out).expect("strip"), None, "nothing left to strip");
    }

    /// A 4x4 grey PNG with no metadata.
    fn grey_png() -> Vec<u8> {
        let img = image::RgbImage::from_pixel(4, 4, image::Rgb([9, 9, 9]));
        let mut png = std::io::Cursor::new(Vec::new());
        img.write_to(&mut png, image::ImageFormat::Png)
            .expect("png");
        png.into_inner()
    }

    #[test]
    fn png_text_chunks_go() {
        let mut parsed = Png::from_bytes(Bytes::from(grey_png())).expect("png");
        let at = parsed.chunks().len() - 1;
        parsed.chunks_mut().insert(
            at,
            img_parts::png::PngChunk::new(*b"tEXt", Bytes::from_static(b"GPS\x0052.1,4.3")),
        );
        let with_text = parsed.encoder().bytes().to_vec();
        let out = strip(&with_text).expect("strip").expect("changed");
        assert!(!contains(&out, b"52.1,4.3"));
        assert_eq!(pixels(&out), pixels(&with_text));
        assert_eq!(strip(&out).expect("strip"), None, "nothing left to strip");
    }

    #[test]
    fn png_exif_keeps_the_orientation_alone() {
        for orientation in [1u16, 6] {
            let mut parsed = Png::from_bytes(Bytes::from(grey_png())).expect("png");
            // A camera-style eXIf: the orientation plus a GPS-looking string beside it.
            let mut tiff = orientation_exif(orientation).slice(6..).to_vec();
            tiff.extend_from_slice(b"GPS 52.1,4.3");
            parsed.set_exif(Some(Bytes::from(tiff)));
            let with = parsed.encoder().bytes().to_vec();
            let out = strip(&with).expect("strip").expect("changed");
            assert!(
                !contains(&out, b"52.1,4.3"),
                "orientation {orientation}: GPS gone"
            );
            assert_eq!(pixels(&out), pixels(&with));
            let kept = Png::from_bytes(Bytes::from(out.clone()))
                .expect("png")
                .exif()
                .and_then(|tiff| exif_orientation(&tiff));
            assert_eq!(kept, (orientation != 1).then_some(orientation));
            assert_eq!(strip(&out).expect("strip"), None, "nothing left to strip");
            // The kept orientation is the one the probe reads: 4x4 stays 4x4 either way, so
            // check the quarter turn through the decoder the thumbnailer uses.
            let mut decoder = image::ImageReader::new(std::io::Cursor::new(&out))
                .with_guessed_format()
                .expect("format")
                .into_decoder()
                .expect("decoder");
            use image::ImageDecoder as _;
            let seen = decoder.orientation().expect("orientation");
            let expected = if orientation == 6 {
                image::metadata::Orientation::Rotate90
            } else {
                image::metadata::Orientation::NoTransforms
            };
            assert_eq!(seen, expected, "orientation {orientation}");
        }
    }

    #[test]
    fn what_cannot_be_stripped_says_why() {
        // A PNG whose text chunk (a location) fails its checksum.
        let png = grey_png();
        let mut bad_crc = png[..33].to_vec();
        bad_crc.extend_from_slice(&[0, 0, 0, 4]);
        bad_crc.extend_from_slice(b"tEXtGPS!");
        bad_crc.extend_from_slice(&[0, 0, 0, 0]);
        bad_crc.extend_from_slice(&png[33..]);
        let e = strip(&bad_crc).expect_err("refused");
        assert_eq!(e, StripError::BadChecksum(Format::Png));
        assert_eq!(
            e.to_string(),
            "the PNG is damaged: a chunk fails its checksum"
        );

        let e = strip(&png[..png.len() - 6]).expect_err("refused");
        assert_eq!(e.to_string(), "the PNG is truncated or damaged");

        let (_, gif) = gif_with_metadata();
        let e = strip(&gif[..gif.len() / 2]).expect_err("refused");
        assert_eq!(e.to_string(), "the GIF is truncated or damaged");
    }
}
