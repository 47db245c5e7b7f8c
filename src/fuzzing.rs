//! The properties the fuzz targets check, written once: each `fuzz/fuzz_targets/*.rs` calls its
//! function here, and `cargo test` replays every target's corpus (`tests/fuzz-corpus/`) through
//! the same function. Each panics when its property fails: that is what a fuzzer looks for.
#![doc(hidden)]

use std::time::Duration;

use crate::cdn_url::CdnUrl;
use crate::thumbnail::Limits;

/// The CDN URL parser never panics, and whatever it accepts formats back to itself.
pub fn cdn_url(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for input in [text.to_owned(), format!("https://i.groupme.com/{text}")] {
        if let Ok(url) = CdnUrl::parse(&input) {
            let again = CdnUrl::parse(&url.to_string());
            assert_eq!(again.as_ref().ok(), Some(&url), "{input:?} formats back");
            assert_eq!(url.preview().original(), url.original());
        }
    }
}

/// The probe gives a format and a size (never zero) or an error; never a panic.
pub fn probe(data: &[u8]) {
    if let Ok(info) = crate::probe::probe_bytes(data) {
        assert!(info.width > 0 && info.height > 0);
    }
}

/// The limits the thumbnail target renders under: small, so a run is fast.
pub const THUMBNAIL_LIMITS: Limits = Limits {
    max_dimension: 2000,
    max_pixels: 1_000_000,
    max_animation_pixels: 4_000_000,
    max_alloc: 64 * 1024 * 1024,
    max_time: Duration::from_secs(2),
    max_frames: 50,
};

/// The thumbnailer gives three renditions or an error; never a panic.
pub fn thumbnail(data: &[u8]) {
    if let Ok(r) = crate::thumbnail::render(data, &THUMBNAIL_LIMITS) {
        assert!(!r.preview.is_empty() && !r.large.is_empty() && !r.avatar.is_empty());
    }
}

/// Stripping gives a copy, "nothing to strip" or an error; never a panic; and a stripped copy
/// has nothing left to strip.
pub fn metadata(data: &[u8]) {
    if let Ok(Some(out)) = crate::metadata::strip(data) {
        assert!(
            matches!(crate::metadata::strip(&out), Ok(None)),
            "stripping twice changed the result again"
        );
    }
}
