//! Metadata stripping: any bytes give a stripped copy, "nothing to strip", or an error; never a
//! panic. A stripped copy has nothing left to strip.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| groupme_uploader::fuzzing::metadata(data));
