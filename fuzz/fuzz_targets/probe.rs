//! The image probe: any bytes give a format and size, or an error; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| groupme_uploader::fuzzing::probe(data));
