//! The image probe: sniff the format from magic bytes and read the dimensions from the header,
//! without decoding pixels, so bad input is refused before a byte is sent or stored.

use std::io::{BufRead, Cursor, Read as _, Seek};
use std::path::{Path, PathBuf};

use crate::cdn_url::Format;

/// What the probe learnt about an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    pub format: Format,
    /// As stored, before the EXIF orientation (the CDN URL's size).
    pub width: u32,
    pub height: u32,
    /// The EXIF orientation turns the picture a quarter (values 5–8): a person sees it with
    /// width and height swapped.
    pub quarter_turn: bool,
}

impl ImageInfo {
    /// The size a person sees: the stored size, turned as the EXIF orientation says (a portrait
    /// photo stored 1600×1200 is seen 1200×1600).
    pub fn seen_size(&self) -> (u32, u32) {
        if self.quarter_turn {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        }
    }
}

/// A format we recognise but do not accept, so the error can name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsupported {
    Bmp,
    Tiff,
    Heic,
    Avif,
    Svg,
    Pdf,
    Ico,
    Psd,
    JpegXl,
}

impl Unsupported {
    fn name(self) -> &'static str {
        match self {
            Unsupported::Bmp => "BMP",
            Unsupported::Tiff => "TIFF",
            Unsupported::Heic => "HEIC",
            Unsupported::Avif => "AVIF",
            Unsupported::Svg => "SVG",
            Unsupported::Pdf => "PDF",
            Unsupported::Ico => "ICO",
            Unsupported::Psd => "Photoshop",
            Unsupported::JpegXl => "JPEG XL",
        }
    }
}

/// Why the probe refused an input.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("the file is empty")]
    Empty,
    #[error("{} images are not accepted (use JPEG, PNG, GIF or WebP)", .0.name())]
    Unsupported(Unsupported),
    #[error("not an image (expected JPEG, PNG, GIF or WebP)")]
    NotAnImage,
    #[error("the {} header is truncated or damaged: {}", .0.name(), .1)]
    BadHeader(Format, String),
    #[error("cannot read it: {0}")]
    Read(#[source] std::io::Error),
    #[error("the image says it is {0}x{1}, which is not a real size")]
    ZeroSize(u32, u32),
}

/// A probe failure with the file it is about.
#[derive(Debug, thiserror::Error)]
pub enum FileProbeError {
    #[error("{}: {source}", .path.display())]
    Image {
        path: PathBuf,
        #[source]
        source: ProbeError,
    },
    #[error("{}: is a directory, not an image", .path.display())]
    Directory { path: PathBuf },
    #[error("{}: {}", .path.display(), describe_io(.source))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A short, human description of an I/O error (no "os error 2" noise).
pub fn describe_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied (cannot read it)".to_owned(),
        _ => e.to_string(),
    }
}

/// Bytes read to sniff the format (an SVG's `<svg` may follow an XML prolog and comments).
const HEAD_LEN: usize = 512;

/// Sniffs the format from the first bytes (16 are enough).
pub fn sniff(head: &[u8]) -> Result<Format, ProbeError> {
    if head.is_empty() {
        return Err(ProbeError::Empty);
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(Format::Jpeg);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(Format::Png);
    }
    if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        return Ok(Format::Gif);
    }
    if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return Ok(Format::Webp);
    }
    Err(sniff_unsupported(head).map_or(ProbeError::NotAnImage, ProbeError::Unsupported))
}

fn sniff_unsupported(head: &[u8]) -> Option<Unsupported> {
    let starts = |m: &[u8]| head.starts_with(m);
    if starts(b"BM") {
        return Some(Unsupported::Bmp);
    }
    if starts(b"II*\0") || starts(b"MM\0*") {
        return Some(Unsupported::Tiff);
    }
    if starts(b"%PDF") {
        return Some(Unsupported::Pdf);
    }
    if starts(&[0, 0, 1, 0]) {
        return Some(Unsupported::Ico);
    }
    if starts(b"8BPS") {
        return Some(Unsupported::Psd);
    }
    if starts(&[0xFF, 0x0A]) || starts(b"\0\0\0\x0cJXL ") {
        return Some(Unsupported::JpegXl);
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return match &head[8..12] {
            b"avif" | b"avis" => Some(Unsupported::Avif),
            b"heic" | b"heix" | b"hevc" | b"mif1" | b"msf1" | b"heim" | b"heis" => {
                Some(Unsupported::Heic)
            }
            _ => None,
        };
    }
    let text = String::from_utf8_lossy(&head[..head.len().min(512)]).to_ascii_lowercase();
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with("<svg") || (text.starts_with("<?xml") && text.contains("<svg")) {
        return Some(Unsupported::Svg);
    }
    None
}

/// Probes an image held by a reader: format from the magic bytes, size from the header.
pub fn probe_reader<R: BufRead + Seek>(mut reader: R) -> Result<ImageInfo, ProbeError> {
    let mut head = Vec::with_capacity(HEAD_LEN);
    reader
        .by_ref()
        .take(HEAD_LEN as u64)
        .read_to_end(&mut head)
        .and_then(|_| reader.rewind())
        .map_err(ProbeError::Read)?;
    let format = sniff(&head)?;
    // PNG's size sits at a fixed place in IHDR; read it there, so a file that is only a header
    // (a decompression bomb's usual shape) is judged by its size before anything else.
    if format == Format::Png {
        let mut info = png_ihdr(&head)?;
        info.quarter_turn = png_exif_quarter_turn(&mut reader);
        return Ok(info);
    }
    let bad = |e: image::ImageError| ProbeError::BadHeader(format, e.to_string());
    let image_format = match format {
        Format::Jpeg => image::ImageFormat::Jpeg,
        Format::Png => image::ImageFormat::Png,
        Format::Gif => image::ImageFormat::Gif,
        Format::Webp => image::ImageFormat::WebP,
    };
    let mut reader = image::ImageReader::with_format(reader, image_format);
    reader.no_limits();
    let mut decoder = reader.into_decoder().map_err(bad)?;
    let (width, height) = image::ImageDecoder::dimensions(&decoder);
    if width == 0 || height == 0 {
        return Err(ProbeError::ZeroSize(width, height));
    }
    // Read from the header the decoder already parsed; a damaged EXIF block only loses the turn.
    let quarter_turn = image::ImageDecoder::orientation(&mut decoder).is_ok_and(|o| {
        use image::metadata::Orientation as O;
        matches!(
            o,
            O::Rotate90 | O::Rotate270 | O::Rotate90FlipH | O::Rotate270FlipH
        )
    });
    Ok(ImageInfo {
        format,
        width,
        height,
        quarter_turn,
    })
}

fn png_ihdr(head: &[u8]) -> Result<ImageInfo, ProbeError> {
    let bad = |why: &str| ProbeError::BadHeader(Format::Png, why.to_owned());
    if head.len() < 24 {
        return Err(bad("the file ends inside the header"));
    }
    if &head[12..16] != b"IHDR" {
        return Err(bad("the first chunk is not IHDR"));
    }
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let (width, height) = (be(&head[16..20]), be(&head[20..24]));
    if width == 0 || height == 0 {
        return Err(ProbeError::ZeroSize(width, height));
    }
    Ok(ImageInfo {
        format: Format::Png,
        width,
        height,
        // From the eXIf chunk, read apart (see `png_exif_quarter_turn`).
        quarter_turn: false,
    })
}

/// The most chunks looked at for an eXIf before the image data (PNGs carry a handful).
const PNG_CHUNKS_BEFORE_IDAT: usize = 64;

/// The largest eXIf chunk read (an orientation needs a few dozen bytes; cameras write ~64 KB).
const PNG_EXIF_MAX: u32 = 256 * 1024;

/// Whether a PNG's eXIf chunk turns it a quarter (orientation 5–8). Walks the chunk headers
/// after the signature, seeking over their data, up to the image data (where the eXIf chunk must
/// come before); anything unreadable or oversized only loses the turn.
fn png_exif_quarter_turn<R: std::io::Read + Seek>(reader: &mut R) -> bool {
    use std::io::SeekFrom;
    if reader.seek(SeekFrom::Start(8)).is_err() {
        return false;
    }
    for _ in 0..PNG_CHUNKS_BEFORE_IDAT {
        let mut header = [0u8; 8];
        if reader.read_exact(&mut header).is_err() {
            return false;
        }
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        match &header[4..8] {
            b"eXIf" if len <= PNG_EXIF_MAX => {
                let mut tiff = vec![0u8; len as usize];
                if reader.read_exact(&mut tiff).is_err() {
                    return false;
                }
                return crate::metadata::exif_orientation(&tiff).is_some_and(|o| o >= 5);
            }
            b"IDAT" | b"IEND" | b"eXIf" => return false,
            _ => {
                // The data and its CRC.
                if reader.seek(SeekFrom::Current(i64::from(len) + 4)).is_err() {
                    return false;
                }
            }
        }
    }
    false
}

/// Probes bytes in memory.
pub fn probe_bytes(bytes: &[u8]) -> Result<ImageInfo, ProbeError> {
    probe_reader(Cursor::new(bytes))
}

/// Probes a file on disk, reading only its header. Blocking: call it off the UI thread.
pub fn probe_file(path: &Path) -> Result<ImageInfo, FileProbeError> {
    let io = |source| FileProbeError::Io {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_dir() {
        return Err(FileProbeError::Directory {
            path: path.to_owned(),
        });
    }
    let file = std::fs::File::open(path).map_err(io)?;
    probe_reader(std::io::BufReader::with_capacity(64 * 1024, file)).map_err(|source| {
        FileProbeError::Image {
            path: path.to_owned(),
            source,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(format: image::ImageFormat, w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).expect("encode");
        out.into_inner()
    }

    #[test]
    fn reads_each_format() {
        for (f, expected) in [
            (image::ImageFormat::Jpeg, Format::Jpeg),
            (image::ImageFormat::Png, Format::Png),
            (image::ImageFormat::Gif, Format::Gif),
            (image::ImageFormat::WebP, Format::Webp),
        ] {
            let info = probe_bytes(&encode(f, 37, 11)).expect("probe");
            assert_eq!(
                info,
                ImageInfo {
                    format: expected,
                    width: 37,
                    height: 11,
                    quarter_turn: false,
                }
            );
        }
    }

    #[test]
    fn refuses_empty_text_and_other_formats() {
        assert!(matches!(probe_bytes(b""), Err(ProbeError::Empty)));
        assert!(matches!(
            probe_bytes(b"hello, this is text"),
            Err(ProbeError::NotAnImage)
        ));
        assert!(matches!(
            probe_bytes(b"BM\x36\0\0\0\0\0"),
            Err(ProbeError::Unsupported(Unsupported::Bmp))
        ));
        assert!(matches!(
            probe_bytes(b"<?xml version=\"1.0\"?><svg xmlns=\"\"></svg>"),
            Err(ProbeError::Unsupported(Unsupported::Svg))
        ));
        assert!(matches!(
            probe_bytes(b"\0\0\0\x1cftypheic\0\0\0\0"),
            Err(ProbeError::Unsupported(Unsupported::Heic))
        ));
        let err = probe_bytes(b"\0\0\0\x1cftypavif\0\0\0\0").expect_err("avif");
        assert_eq!(
            err.to_string(),
            "AVIF images are not accepted (use JPEG, PNG, GIF or WebP)"
        );
    }

    #[test]
    fn refuses_truncated_headers() {
        for f in [
            image::ImageFormat::Jpeg,
            image::ImageFormat::Png,
            image::ImageFormat::Gif,
            image::ImageFormat::WebP,
        ] {
            let bytes = encode(f, 20, 20);
            for cut in [3usize, 8, 13, 20] {
                let cut = cut.min(bytes.len() - 1);
                let result = probe_bytes(&bytes[..cut]);
                assert!(
                    matches!(
                        result,
                        Err(ProbeError::BadHeader(..) | ProbeError::NotAnImage)
                    ),
                    "{f:?} cut at {cut}: {result:?}"
                );
            }
        }
    }

    #[test]
    fn names_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope.png");
        let err = probe_file(&missing).expect_err("missing");
        assert!(err.to_string().contains("nope.png: no such file"), "{err}");
        let err = probe_file(dir.path()).expect_err("dir");
        assert!(err.to_string().contains("is a directory"), "{err}");
        let text = dir.path().join("notes.jpg");
        std::fs::write(&text, "just words").expect("write");
        let err = probe_file(&text).expect_err("text");
        assert_eq!(
            err.to_string(),
            format!(
                "{}: not an image (expected JPEG, PNG, GIF or WebP)",
                text.display()
            )
        );
    }

    /// A JPEG with an APP1 EXIF block holding only `orientation`.
    fn jpeg_with_orientation(w: u32, h: u32, orientation: u8) -> Vec<u8> {
        let plain = encode(image::ImageFormat::Jpeg, w, h);
        let mut exif = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0".to_vec();
        exif.extend_from_slice(&[orientation, 0, 0, 0, 0, 0, 0]);
        let mut out = plain[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&u16::try_from(exif.len() + 2).expect("len").to_be_bytes());
        out.extend_from_slice(&exif);
        out.extend_from_slice(&plain[2..]);
        out
    }

    /// A PNG with an eXIf chunk (before the image data) holding only `orientation`.
    fn png_with_orientation(w: u32, h: u32, orientation: u8) -> Vec<u8> {
        use img_parts::ImageEXIF as _;
        let plain = encode(image::ImageFormat::Png, w, h);
        let mut tiff = b"MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0".to_vec();
        tiff.extend_from_slice(&[orientation, 0, 0, 0, 0, 0, 0]);
        let mut png = img_parts::png::Png::from_bytes(plain.into()).expect("png");
        png.set_exif(Some(tiff.into()));
        png.encoder().bytes().to_vec()
    }

    #[test]
    fn a_png_turned_by_its_exif_chunk_shows_as_seen() {
        let portrait = probe_bytes(&png_with_orientation(32, 24, 6)).expect("probe");
        assert_eq!((portrait.width, portrait.height), (32, 24), "as stored");
        assert_eq!(portrait.seen_size(), (24, 32), "as seen");
        for orientation in [1, 2, 3, 4] {
            let info = probe_bytes(&png_with_orientation(32, 24, orientation)).expect("probe");
            assert_eq!(info.seen_size(), (32, 24), "orientation {orientation}");
        }
        assert!(
            !probe_bytes(&encode(image::ImageFormat::Png, 32, 24))
                .expect("probe")
                .quarter_turn,
            "no eXIf chunk"
        );
        // A damaged chunk list after the header only loses the turn.
        let mut cut = png_with_orientation(32, 24, 6);
        cut.truncate(40);
        assert_eq!(probe_bytes(&cut).expect("probe").seen_size(), (32, 24));
    }

    #[test]
    fn knows_the_size_a_person_sees() {
        let portrait = probe_bytes(&jpeg_with_orientation(32, 24, 6)).expect("probe");
        assert_eq!((portrait.width, portrait.height), (32, 24), "as stored");
        assert!(portrait.quarter_turn);
        assert_eq!(portrait.seen_size(), (24, 32), "as seen");
        for orientation in [1, 2, 3, 4] {
            let info = probe_bytes(&jpeg_with_orientation(32, 24, orientation)).expect("probe");
            assert_eq!(info.seen_size(), (32, 24), "orientation {orientation}");
        }
        let flipped = probe_file(Path::new("tests/corpus/jpg/portrait_2.jpg")).expect("corpus");
        assert!(!flipped.quarter_turn, "a mirror image keeps its size");
    }
}
