//! The thumbnailer under tight limits: any bytes give three renditions or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| groupme_uploader::fuzzing::thumbnail(data));
