//! The CDN URL model: parse, format and derive GroupMe image URLs (pure, no I/O).
//!
//! A picture lives at `{base}/{width}x{height}.{format}.{id}` (or the older bare `{base}/{id}`), and
//! its thumbnails at the same URL plus `.preview`, `.large` or `.avatar`. `base` is kept as given
//! (`https://i.groupme.com`, or the local service's `http://127.0.0.1:8737`), so every CDN works alike.

use std::fmt;
use std::str::FromStr;

/// Largest width or height a URL may name. Real images stop far below this; a bigger number is a
/// typo or an attack, not a picture.
pub const MAX_DIMENSION: u32 = 100_000;

/// Longest id accepted. GroupMe ids are 32 hex characters.
pub const MAX_ID_LEN: usize = 64;

/// An image format the CDN serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Jpeg,
    Png,
    Gif,
    Webp,
}

impl Format {
    /// Every format, in a fixed order.
    pub const ALL: [Format; 4] = [Format::Jpeg, Format::Png, Format::Gif, Format::Webp];

    /// The name used in CDN URLs (`jpeg`, `png`, `gif`, `webp`).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::Gif => "gif",
            Format::Webp => "webp",
        }
    }

    /// The name a person knows (`JPEG`, `PNG`, `GIF`, `WebP`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "JPEG",
            Format::Png => "PNG",
            Format::Gif => "GIF",
            Format::Webp => "WebP",
        }
    }

    /// The MIME type of the format.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Gif => "image/gif",
            Format::Webp => "image/webp",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = CdnUrlError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| CdnUrlError::UnknownFormat(s.to_owned()))
    }
}

/// Which rendition of a picture a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Variant {
    /// The bytes as uploaded.
    #[default]
    Original,
    /// 200x200, centred and cropped.
    Preview,
    /// Fits inside 960x960, aspect kept.
    Large,
    /// 60x60, centred and cropped.
    Avatar,
}

impl Variant {
    /// Every variant, original first.
    pub const ALL: [Variant; 4] = [
        Variant::Original,
        Variant::Preview,
        Variant::Large,
        Variant::Avatar,
    ];

    /// The URL suffix without its dot (`None` for the original).
    pub fn suffix(self) -> Option<&'static str> {
        match self {
            Variant::Original => None,
            Variant::Preview => Some("preview"),
            Variant::Large => Some("large"),
            Variant::Avatar => Some("avatar"),
        }
    }

    fn from_suffix(s: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.suffix() == Some(s))
    }
}

/// The picture part of a URL, without base or variant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Picture {
    /// `{width}x{height}.{format}.{id}`
    Sized {
        width: u32,
        height: u32,
        format: Format,
        id: String,
    },
    /// `{id}`: older answers carry only the id.
    Bare { id: String },
}

impl Picture {
    /// The picture's id.
    pub fn id(&self) -> &str {
        match self {
            Picture::Sized { id, .. } | Picture::Bare { id } => id,
        }
    }
}

impl fmt::Display for Picture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Picture::Sized {
                width,
                height,
                format,
                id,
            } => write!(f, "{width}x{height}.{format}.{id}"),
            Picture::Bare { id } => f.write_str(id),
        }
    }
}

impl FromStr for Picture {
    type Err = CdnUrlError;

    /// Parses `{w}x{h}.{format}.{id}` or a bare `{id}` (no variant suffix).
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = name.split('.').collect();
        match parts.as_slice() {
            [id] => Ok(Picture::Bare {
                id: parse_id(id)?.to_owned(),
            }),
            [size, format, id] => {
                let (w, h) = size
                    .split_once('x')
                    .ok_or_else(|| CdnUrlError::BadSize((*size).to_owned()))?;
                Ok(Picture::Sized {
                    width: parse_dimension(w, size)?,
                    height: parse_dimension(h, size)?,
                    format: format.parse()?,
                    id: parse_id(id)?.to_owned(),
                })
            }
            _ => Err(CdnUrlError::BadName(name.to_owned())),
        }
    }
}

/// A parsed CDN URL: base, picture and variant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CdnUrl {
    /// `scheme://host[:port][/prefix]`, no trailing slash.
    base: String,
    picture: Picture,
    variant: Variant,
}

/// Why a string is not a CDN URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CdnUrlError {
    #[error("not a URL: {0}")]
    NotAUrl(String),
    #[error("unsupported URL scheme `{0}` (only http and https)")]
    Scheme(String),
    #[error("the URL has no host")]
    NoHost,
    #[error("the URL path contains `.` or `..` segments")]
    DotSegment,
    #[error("a CDN URL carries no query, fragment or user info")]
    Extra,
    #[error("the URL has no picture name")]
    NoName,
    #[error("`{0}` is not a picture name (expected WIDTHxHEIGHT.FORMAT.ID or ID)")]
    BadName(String),
    #[error("`{0}` is not a size (expected WIDTHxHEIGHT, each 1..={MAX_DIMENSION})")]
    BadSize(String),
    #[error("unknown image format `{0}` (expected jpeg, png, gif or webp)")]
    UnknownFormat(String),
    #[error("`{0}` is not a picture id (1 to {MAX_ID_LEN} ASCII letters and digits)")]
    BadId(String),
}

fn parse_dimension(digits: &str, whole: &str) -> Result<u32, CdnUrlError> {
    let bad = || CdnUrlError::BadSize(whole.to_owned());
    // `u32::from_str` accepts a leading `+`; a canonical size is digits only, no leading zero.
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        return Err(bad());
    }
    match digits.parse::<u32>() {
        Ok(n) if (1..=MAX_DIMENSION).contains(&n) => Ok(n),
        _ => Err(bad()),
    }
}

fn parse_id(id: &str) -> Result<&str, CdnUrlError> {
    if (1..=MAX_ID_LEN).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(id)
    } else {
        Err(CdnUrlError::BadId(id.to_owned()))
    }
}

/// Parses a picture name with its optional suffix: `{w}x{h}.{format}.{id}[.preview|.large|.avatar]`
/// or `{id}[.suffix]`.
pub fn parse_name(name: &str) -> Result<(Picture, Variant), CdnUrlError> {
    // A trailing `.preview` is a variant, unless what is left is no picture: then it is the id
    // itself (`1x1.png.preview` is the original of a picture whose id is `preview`).
    let with_suffix = name.rsplit_once('.').and_then(|(rest, suffix)| {
        let variant = Variant::from_suffix(suffix)?;
        rest.parse::<Picture>().ok().map(|p| (p, variant))
    });
    match with_suffix {
        Some(found) => Ok(found),
        None => Ok((name.parse()?, Variant::Original)),
    }
}

/// True when a raw path segment is `.` or `..`, written plainly or percent-encoded.
fn is_dot_segment(segment: &str) -> bool {
    let lower = segment.to_ascii_lowercase().replace("%2e", ".");
    lower == "." || lower == ".."
}

impl CdnUrl {
    /// Builds a URL from its parts. `base` is validated like a parsed URL's base.
    pub fn new(base: &str, picture: Picture, variant: Variant) -> Result<Self, CdnUrlError> {
        let base = normalize_base(base)?;
        Ok(CdnUrl {
            base,
            picture,
            variant,
        })
    }

    /// Parses a full URL such as `https://i.groupme.com/480x325.jpeg.9e20…` (with or without a
    /// thumbnail suffix).
    pub fn parse(input: &str) -> Result<Self, CdnUrlError> {
        let input = input.trim();
        // `url::Url` silently resolves `..`; a CDN URL that needs it is suspicious, so refuse it.
        if let Some((_, after_scheme)) = input.split_once("://") {
            let path = after_scheme.split_once('/').map_or("", |(_, p)| p);
            let path = path.split(['?', '#']).next().unwrap_or("");
            if path.split('/').any(is_dot_segment) {
                return Err(CdnUrlError::DotSegment);
            }
        }
        let url = url::Url::parse(input).map_err(|e| CdnUrlError::NotAUrl(e.to_string()))?;
        check_scheme_and_host(&url)?;
        if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
            return Err(CdnUrlError::Extra);
        }
        let path = url.path();
        let (prefix, name) = path.rsplit_once('/').unwrap_or(("", path));
        if name.is_empty() {
            return Err(CdnUrlError::NoName);
        }
        let (picture, variant) = parse_name(name)?;
        let origin = url.origin().ascii_serialization();
        Ok(CdnUrl {
            base: format!("{origin}{prefix}"),
            picture,
            variant,
        })
    }

    /// `scheme://host[:port][/prefix]`, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The picture this URL points at.
    pub fn picture(&self) -> &Picture {
        &self.picture
    }

    /// Which rendition this URL points at.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// The picture's id.
    pub fn id(&self) -> &str {
        self.picture.id()
    }

    /// Width and height, when the URL names them.
    pub fn dimensions(&self) -> Option<(u32, u32)> {
        match self.picture {
            Picture::Sized { width, height, .. } => Some((width, height)),
            Picture::Bare { .. } => None,
        }
    }

    /// The format, when the URL names it.
    pub fn format(&self) -> Option<Format> {
        match self.picture {
            Picture::Sized { format, .. } => Some(format),
            Picture::Bare { .. } => None,
        }
    }

    /// The same picture in another rendition.
    pub fn with_variant(&self, variant: Variant) -> CdnUrl {
        CdnUrl {
            variant,
            ..self.clone()
        }
    }

    /// The original picture (a thumbnail URL maps back to it).
    pub fn original(&self) -> CdnUrl {
        self.with_variant(Variant::Original)
    }

    /// The 200x200 centred crop.
    pub fn preview(&self) -> CdnUrl {
        self.with_variant(Variant::Preview)
    }

    /// The picture fitted inside 960x960.
    pub fn large(&self) -> CdnUrl {
        self.with_variant(Variant::Large)
    }

    /// The 60x60 centred crop.
    pub fn avatar(&self) -> CdnUrl {
        self.with_variant(Variant::Avatar)
    }
}

fn check_scheme_and_host(url: &url::Url) -> Result<(), CdnUrlError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(CdnUrlError::Scheme(url.scheme().to_owned()));
    }
    if url.host().is_none() {
        return Err(CdnUrlError::NoHost);
    }
    Ok(())
}

/// Canonical form of a base: origin plus path prefix, no trailing slash, nothing else.
fn normalize_base(base: &str) -> Result<String, CdnUrlError> {
    let url = url::Url::parse(base.trim()).map_err(|e| CdnUrlError::NotAUrl(e.to_string()))?;
    check_scheme_and_host(&url)?;
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(CdnUrlError::Extra);
    }
    let prefix = url.path().trim_end_matches('/');
    Ok(format!("{}{prefix}", url.origin().ascii_serialization()))
}

impl fmt::Display for CdnUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.picture)?;
        if let Some(suffix) = self.variant.suffix() {
            write!(f, ".{suffix}")?;
        }
        Ok(())
    }
}

impl FromStr for CdnUrl {
    type Err = CdnUrlError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CdnUrl::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SAMPLE: &str = "https://i.groupme.com/480x325.jpeg.9e20b71dd6af4b58bbd132d4a7dec009";

    #[test]
    fn parses_sized_url() {
        let u = CdnUrl::parse(SAMPLE).expect("valid");
        assert_eq!(u.base(), "https://i.groupme.com");
        assert_eq!(u.dimensions(), Some((480, 325)));
        assert_eq!(u.format(), Some(Format::Jpeg));
        assert_eq!(u.id(), "9e20b71dd6af4b58bbd132d4a7dec009");
        assert_eq!(u.variant(), Variant::Original);
        assert_eq!(u.to_string(), SAMPLE);
    }

    #[test]
    fn parses_bare_url() {
        let u =
            CdnUrl::parse("https://i.groupme.com/9e20b71dd6af4b58bbd132d4a7dec009").expect("ok");
        assert_eq!(u.dimensions(), None);
        assert_eq!(u.format(), None);
        assert_eq!(
            u.preview().to_string(),
            "https://i.groupme.com/9e20b71dd6af4b58bbd132d4a7dec009.preview"
        );
    }

    #[test]
    fn derives_thumbnails_and_maps_back() {
        let u = CdnUrl::parse(SAMPLE).expect("valid");
        assert_eq!(u.preview().to_string(), format!("{SAMPLE}.preview"));
        assert_eq!(u.large().to_string(), format!("{SAMPLE}.large"));
        assert_eq!(u.avatar().to_string(), format!("{SAMPLE}.avatar"));
        for suffix in ["preview", "large", "avatar"] {
            let thumb = CdnUrl::parse(&format!("{SAMPLE}.{suffix}")).expect("thumb");
            assert_eq!(thumb.variant().suffix(), Some(suffix));
            assert_eq!(thumb.original().to_string(), SAMPLE);
        }
    }

    #[test]
    fn keeps_another_base() {
        let u = CdnUrl::parse("http://127.0.0.1:8737/cdn/1x1.png.abc.avatar").expect("ok");
        assert_eq!(u.base(), "http://127.0.0.1:8737/cdn");
        assert_eq!(
            u.original().to_string(),
            "http://127.0.0.1:8737/cdn/1x1.png.abc"
        );
    }

    #[test]
    fn refuses_malformed_input() {
        type Expect = fn(&CdnUrlError) -> bool;
        let cases: &[(&str, Expect)] = &[
            ("https://i.groupme.com/480x.jpeg.abc", |e| {
                matches!(e, CdnUrlError::BadSize(_))
            }),
            ("https://i.groupme.com/0x0.png.id", |e| {
                matches!(e, CdnUrlError::BadSize(_))
            }),
            ("https://i.groupme.com/99999999999x1.png.id", |e| {
                matches!(e, CdnUrlError::BadSize(_))
            }),
            ("https://i.groupme.com/+4x1.png.id", |e| {
                matches!(e, CdnUrlError::BadSize(_))
            }),
            ("https://i.groupme.com/4x1.bmp.id", |e| {
                matches!(e, CdnUrlError::UnknownFormat(_))
            }),
            ("https://i.groupme.com/4x1.png.a-b", |e| {
                matches!(e, CdnUrlError::BadId(_))
            }),
            ("ftp://i.groupme.com/4x1.png.id", |e| {
                matches!(e, CdnUrlError::Scheme(_))
            }),
            ("javascript:alert(1)", |e| {
                matches!(e, CdnUrlError::Scheme(_))
            }),
            ("https://i.groupme.com/a/../4x1.png.id", |e| {
                matches!(e, CdnUrlError::DotSegment)
            }),
            ("https://i.groupme.com/%2E%2e/4x1.png.id", |e| {
                matches!(e, CdnUrlError::DotSegment)
            }),
            ("https://i.groupme.com/", |e| {
                matches!(e, CdnUrlError::NoName)
            }),
            ("https://i.groupme.com/4x1.png.id?x=1", |e| {
                matches!(e, CdnUrlError::Extra)
            }),
            ("not a url", |e| matches!(e, CdnUrlError::NotAUrl(_))),
            ("https://i.groupme.com/a.b.c.d.e", |e| {
                matches!(e, CdnUrlError::BadName(_))
            }),
        ];
        for (input, expected) in cases {
            let err = CdnUrl::parse(input).expect_err(input);
            assert!(expected(&err), "{input}: unexpected {err:?}");
            assert!(!err.to_string().is_empty());
        }
    }

    fn arb_picture() -> impl Strategy<Value = Picture> {
        let id = "[a-zA-Z0-9]{1,64}";
        prop_oneof![
            (
                1..=MAX_DIMENSION,
                1..=MAX_DIMENSION,
                prop::sample::select(Format::ALL.to_vec()),
                id
            )
                .prop_map(|(width, height, format, id)| Picture::Sized {
                    width,
                    height,
                    format,
                    id
                }),
            id.prop_map(|id| Picture::Bare { id }),
        ]
    }

    fn arb_url() -> impl Strategy<Value = CdnUrl> {
        let bases = prop::sample::select(vec![
            "https://i.groupme.com",
            "http://127.0.0.1:8737",
            "http://localhost:1",
            "https://cdn.example.org/a/b",
            "http://[::1]:9000",
        ]);
        (
            bases,
            arb_picture(),
            prop::sample::select(Variant::ALL.to_vec()),
        )
            .prop_map(|(base, picture, variant)| {
                CdnUrl::new(base, picture, variant).expect("canonical base")
            })
    }

    proptest! {
        #[test]
        fn parse_format_roundtrip(url in arb_url()) {
            let text = url.to_string();
            prop_assert_eq!(CdnUrl::parse(&text).expect("roundtrip"), url);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,80}") {
            let _ = CdnUrl::parse(&s);
            let _ = CdnUrl::parse(&format!("https://i.groupme.com/{s}"));
        }
    }
}
