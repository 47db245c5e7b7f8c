//! The service's `.preview` thumbnails through the disk cache (`crate::thumb_cache`): read from
//! the cache when it holds them, else fetched, kept and decoded. A finished card's thumbnail goes
//! this way too, so the History shows it from disk later. The History asks only for the rows in
//! view, and at most [`FETCHES`] of its thumbnails are fetched at once.

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::upload::{ThumbError, decode_thumb, fetch_thumb_bytes};
use super::{Event, Outbox};
use crate::cdn_url::CdnUrl;
use crate::preview::{CARD_SIDE, PREVIEW_SIDE, PreviewImage};
use crate::thumb_cache::ThumbCache;

/// History thumbnails fetched at once: the rows in view arrive quickly, and a fast scroll does not
/// open a connection per row it passed.
const FETCHES: usize = 4;

/// The cache and the History's fetch slots.
pub(super) struct Thumbs {
    cache: Arc<ThumbCache>,
    slots: Arc<Semaphore>,
    /// Fetch from any host; when off, only from loopback addresses (tests).
    remote: bool,
}

impl Thumbs {
    pub(super) fn new(cache: ThumbCache, remote: bool) -> Thumbs {
        Thumbs {
            cache: Arc::new(cache),
            slots: Arc::new(Semaphore::new(FETCHES)),
            remote,
        }
    }

    /// A finished card's thumbnail: its `.preview`, cached, sized for the card.
    pub(super) async fn card(
        &self,
        http: &reqwest::Client,
        url: &CdnUrl,
    ) -> Result<PreviewImage, ThumbError> {
        cached_preview(http, &self.cache, &url.preview().to_string(), CARD_SIDE).await
    }

    /// A History entry's thumbnail (`url` is the entry's URL), sent back as
    /// [`Event::HistoryThumb`] with the entry's URL; an entry whose URL is not a CDN URL gets
    /// none.
    pub(super) fn history(&self, http: reqwest::Client, url: String, out: Outbox) {
        let cache = self.cache.clone();
        let slots = self.slots.clone();
        let remote = self.remote;
        tokio::spawn(async move {
            let result = match CdnUrl::parse(&url) {
                Ok(parsed) if !remote && !is_loopback(parsed.base()) => {
                    Err("not fetched: only this machine's service is asked here".to_owned())
                }
                Ok(parsed) => {
                    let _slot = slots.acquire_owned().await.ok();
                    cached_preview(&http, &cache, &parsed.preview().to_string(), PREVIEW_SIDE)
                        .await
                        .map_err(|e| e.to_string())
                }
                Err(e) => Err(e.to_string()),
            };
            out.send(Event::HistoryThumb(url, result));
        });
    }
}

/// Whether `base` (a service's URL) is on this machine: the client's rule
/// ([`crate::client::is_loopback`]).
fn is_loopback(base: &str) -> bool {
    url::Url::parse(base).is_ok_and(|u| crate::client::is_loopback(&u))
}

/// The `.preview` at `preview_url`, fit into `side`: from the cache, else fetched and kept there.
async fn cached_preview(
    http: &reqwest::Client,
    cache: &Arc<ThumbCache>,
    preview_url: &str,
    side: u32,
) -> Result<PreviewImage, ThumbError> {
    let on_disk = {
        let cache = cache.clone();
        let url = preview_url.to_owned();
        tokio::task::spawn_blocking(move || cache.get(&url))
            .await
            .ok()
            .flatten()
    };
    if let Some(bytes) = on_disk {
        match decode_thumb(bytes.into(), side).await {
            Ok(img) => return Ok(img),
            Err(e) => {
                // A damaged file: fetch it again below.
                tracing::warn!(
                    "thumbnail cache: {}: {e}",
                    cache.path(preview_url).display()
                );
                let cache = cache.clone();
                let url = preview_url.to_owned();
                tokio::task::spawn_blocking(move || cache.forget(&url))
                    .await
                    .ok();
            }
        }
    }
    let bytes = fetch_thumb_bytes(http, preview_url).await?;
    let img = decode_thumb(bytes.clone(), side).await?;
    // Kept only once it decoded (the cache holds nothing it cannot show), and before the
    // picture is shown: what the window shows is on disk.
    let cache = cache.clone();
    let url = preview_url.to_owned();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = cache.put(&url, &bytes) {
            tracing::warn!(
                "thumbnail cache: cannot write {}: {e}",
                cache.dir().display()
            );
        }
    })
    .await
    .ok();
    Ok(img)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_machine_is_loopback() {
        for base in [
            "http://127.0.0.1:8737",
            "http://127.8.9.10",
            "http://[::1]:80",
            "http://LOCALHOST:1",
        ] {
            assert!(is_loopback(base), "{base}");
        }
        for base in [
            "https://i.groupme.com",
            "http://10.0.0.1",
            "http://localhost.example.com",
            "not a url",
        ] {
            assert!(!is_loopback(base), "{base}");
        }
    }
}
