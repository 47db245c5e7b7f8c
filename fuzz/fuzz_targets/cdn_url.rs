//! The CDN URL parser: never panics, and whatever it accepts formats back to itself.
#![no_main]

use groupme_uploader::cdn_url::CdnUrl;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for input in [text.to_owned(), format!("https://i.groupme.com/{text}")] {
        if let Ok(url) = CdnUrl::parse(&input) {
            let again = CdnUrl::parse(&url.to_string()).expect("a parsed URL formats to a valid one");
            assert_eq!(again, url);
            assert_eq!(url.preview().original(), url.original());
        }
    }
});
