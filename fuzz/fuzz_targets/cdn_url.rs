//! The CDN URL parser: never panics, and whatever it accepts formats back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| groupme_uploader::fuzzing::cdn_url(data));
