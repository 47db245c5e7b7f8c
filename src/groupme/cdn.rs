//! Which picture URLs GroupMe takes: only those its Image Service made. A URL on GroupMe's CDN
//! (`https://i.groupme.com/…`) is sent as it is; anything else must be uploaded first.

use std::fmt;

use crate::cdn_url::CdnUrl;
use crate::client::Uploaded;

/// The base of every picture on GroupMe's image CDN.
pub const GROUPME_CDN_BASE: &str = "https://i.groupme.com";

/// Whether `url` is a picture (or one of its thumbnails) on GroupMe's image CDN: `https`, host
/// `i.groupme.com` on the default port, no path prefix, a picture name the CDN URL model accepts.
/// This is the one rule the CLI and the app share for "can be sent as it is".
pub fn is_groupme_cdn(url: &str) -> bool {
    CdnUrl::parse(url).is_ok_and(|u| on_groupme_cdn(&u))
}

fn on_groupme_cdn(url: &CdnUrl) -> bool {
    url.base() == GROUPME_CDN_BASE
}

/// A picture URL that may go into a message: either on GroupMe's CDN, or exactly what the Image
/// Service answered to an upload. There is no other way to make one, so nothing else is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PictureUrl(CdnUrl);

/// Why a URL cannot be sent as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not on GroupMe's image CDN ({GROUPME_CDN_BASE}/…): upload it first")]
pub struct NotOnCdn(pub String);

impl PictureUrl {
    /// Takes `url` when it is on GroupMe's CDN ([`is_groupme_cdn`]).
    pub fn groupme(url: &str) -> Result<PictureUrl, NotOnCdn> {
        match CdnUrl::parse(url) {
            Ok(parsed) if on_groupme_cdn(&parsed) => Ok(PictureUrl(parsed)),
            _ => Err(NotOnCdn(url.trim().to_owned())),
        }
    }

    /// The `picture_url` the Image Service answered (GroupMe's own, or the one `GM_ENDPOINT`
    /// names).
    pub fn uploaded(uploaded: &Uploaded) -> PictureUrl {
        PictureUrl(uploaded.picture_url.clone())
    }

    /// Whether it is on GroupMe's CDN (an upload to another service is not).
    pub fn is_on_groupme_cdn(&self) -> bool {
        on_groupme_cdn(&self.0)
    }

    /// The parsed URL.
    pub fn cdn_url(&self) -> &CdnUrl {
        &self.0
    }
}

impl fmt::Display for PictureUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn only_groupme_cdn_urls() {
        for yes in [
            format!("https://i.groupme.com/480x325.jpeg.{ID}"),
            format!("https://i.groupme.com/480x325.jpeg.{ID}.large"),
            format!("https://I.GroupMe.com:443/{ID}"),
            format!("  https://i.groupme.com/1x1.gif.{ID}\n"),
        ] {
            assert!(is_groupme_cdn(&yes), "{yes}");
        }
        for no in [
            format!("http://i.groupme.com/480x325.jpeg.{ID}"),
            format!("https://i.groupme.com:8443/480x325.jpeg.{ID}"),
            format!("https://i.groupme.com/x/480x325.jpeg.{ID}"),
            format!("https://i.groupme.com.evil.example/480x325.jpeg.{ID}"),
            format!("https://evil.example/i.groupme.com/480x325.jpeg.{ID}"),
            format!("https://user@i.groupme.com/480x325.jpeg.{ID}"),
            format!("https://i.groupme.com/480x325.jpeg.{ID}?x=1"),
            format!("http://127.0.0.1:8737/480x325.jpeg.{ID}"),
            "https://i.groupme.com/".to_owned(),
            "https://i.groupme.com/not-a-picture!".to_owned(),
            "photo.jpg".to_owned(),
        ] {
            assert!(!is_groupme_cdn(&no), "{no}");
            assert!(PictureUrl::groupme(&no).is_err(), "{no}");
        }
    }

    #[test]
    fn picture_url_keeps_the_exact_url() {
        let text = format!("https://i.groupme.com/480x325.jpeg.{ID}");
        let url = PictureUrl::groupme(&format!(" {text} ")).expect("on the CDN");
        assert_eq!(url.to_string(), text);
        assert!(url.is_on_groupme_cdn());
        let local = CdnUrl::parse(&format!("http://127.0.0.1:8737/2x2.png.{ID}")).expect("url");
        let uploaded = Uploaded {
            url: local.clone(),
            picture_url: local.clone(),
        };
        let url = PictureUrl::uploaded(&uploaded);
        assert_eq!(url.cdn_url(), &local);
        assert!(!url.is_on_groupme_cdn());
        let err = PictureUrl::groupme("photo.jpg").expect_err("not a URL");
        assert_eq!(
            err.to_string(),
            "`photo.jpg` is not on GroupMe's image CDN (https://i.groupme.com/…): upload it first"
        );
    }
}
