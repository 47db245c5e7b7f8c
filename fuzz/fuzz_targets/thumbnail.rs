//! The thumbnailer under tight limits: any bytes give three renditions or an error.
#![no_main]

use std::time::Duration;

use groupme_uploader::thumbnail::{Limits, render};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_dimension: 2000,
        max_pixels: 1_000_000,
        max_animation_pixels: 4_000_000,
        max_alloc: 64 * 1024 * 1024,
        max_time: Duration::from_secs(2),
        max_frames: 50,
    };
    if let Ok(r) = render(data, &limits) {
        assert!(!r.preview.is_empty() && !r.large.is_empty() && !r.avatar.is_empty());
    }
});
