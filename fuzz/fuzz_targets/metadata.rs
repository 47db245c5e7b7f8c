//! Metadata stripping: any bytes give a stripped copy, "nothing to strip", or an error; never a
//! panic. A stripped copy has nothing left to strip.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(out)) = groupme_uploader::metadata::strip(data) {
        assert!(
            matches!(groupme_uploader::metadata::strip(&out), Ok(None)),
            "stripping twice changed the result again"
        );
    }
});
