//! The History gallery's thumbnails in the window, by entry URL: asked of the worker once, when
//! their row first comes into view; turned into textures a few per frame; at most
//! [`MAX_TEXTURES`] held (the least recently shown are dropped and read from the disk cache again
//! if they come back into view). One that could not be had shows a placeholder and is not asked
//! for again this session: no retry every frame, no error storm.

use std::collections::{HashMap, VecDeque};

use eframe::egui;

use crate::preview::PreviewImage;

/// Textures held at most: about 80 KB each (144x144 RGBA), so 256 are some 20 MB, against 830 MB
/// for a 10,000-entry history scrolled end to end.
pub const MAX_TEXTURES: usize = 256;

/// What a row shows for its thumbnail.
pub enum Thumb<'a> {
    /// Not asked yet, or on its way.
    Loading,
    Ready(&'a egui::TextureHandle),
    /// Why there is none (the placeholder's hover text).
    Missing(&'a str),
}

enum State {
    Asked,
    Ready {
        texture: egui::TextureHandle,
        /// The pass it was last in view.
        shown: u64,
    },
    Failed(String),
}

/// The History's thumbnails, by entry URL.
#[derive(Default)]
pub struct HistoryThumbs {
    states: HashMap<String, State>,
    /// Decoded, waiting to become textures.
    pending: VecDeque<(String, PreviewImage)>,
}

impl HistoryThumbs {
    /// What the row of `url` shows.
    pub fn get(&self, url: &str) -> Thumb<'_> {
        match self.states.get(url) {
            Some(State::Ready { texture, .. }) => Thumb::Ready(texture),
            Some(State::Failed(why)) => Thumb::Missing(why),
            Some(State::Asked) | None => Thumb::Loading,
        }
    }

    /// Whether the thumbnail of `url` is a texture now (tests).
    pub fn is_ready(&self, url: &str) -> bool {
        matches!(self.states.get(url), Some(State::Ready { .. }))
    }

    /// Whether the thumbnail of `url` could not be had (tests).
    pub fn is_missing(&self, url: &str) -> bool {
        matches!(self.states.get(url), Some(State::Failed(_)))
    }

    /// How many entries' thumbnails were asked for (tests: only rows in view ask).
    pub fn asked(&self) -> usize {
        self.states.len() + self.pending.len()
    }

    /// The rows of `urls` are in view in `pass`: returns those never asked for, now marked as
    /// asked (the caller asks the worker).
    pub fn in_view(&mut self, urls: Vec<String>, pass: u64) -> Vec<String> {
        let mut ask = Vec::new();
        for url in urls {
            match self.states.get_mut(&url) {
                Some(State::Ready { shown, .. }) => *shown = pass,
                Some(State::Asked | State::Failed(_)) => {}
                None => {
                    self.states.insert(url.clone(), State::Asked);
                    ask.push(url);
                }
            }
        }
        ask
    }

    /// What the worker answered for `url`.
    pub fn arrived(&mut self, url: String, result: Result<PreviewImage, String>) {
        match result {
            Ok(img) => self.pending.push_back((url, img)),
            Err(why) => {
                tracing::debug!("no thumbnail for {url}: {why}");
                self.states.insert(url, State::Failed(why));
            }
        }
    }

    /// Turns up to `budget` decoded thumbnails into textures; drops the least recently shown past
    /// [`MAX_TEXTURES`]. Returns whether some are still waiting.
    pub fn make_textures(&mut self, ctx: &egui::Context, budget: usize, pass: u64) -> bool {
        if self.pending.is_empty() {
            return false;
        }
        for _ in 0..budget {
            let Some((url, img)) = self.pending.pop_front() else {
                break;
            };
            let texture = super::texture(ctx, &format!("history-{url}"), &img);
            self.states.insert(
                url,
                State::Ready {
                    texture,
                    shown: pass,
                },
            );
        }
        self.evict();
        !self.pending.is_empty()
    }

    fn evict(&mut self) {
        let mut ready: Vec<(u64, String)> = self
            .states
            .iter()
            .filter_map(|(url, s)| match s {
                State::Ready { shown, .. } => Some((*shown, url.clone())),
                _ => None,
            })
            .collect();
        if ready.len() <= MAX_TEXTURES {
            return;
        }
        ready.sort();
        // Down to three quarters, so this does not run again at the next arrival.
        let drop = ready.len() - MAX_TEXTURES * 3 / 4;
        for (_, url) in ready.into_iter().take(drop) {
            self.states.remove(&url);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pixel() -> PreviewImage {
        PreviewImage {
            width: 1,
            height: 1,
            rgba: vec![0, 0, 0, 255],
        }
    }

    #[test]
    fn asked_once_failures_kept_and_textures_bounded() {
        let ctx = egui::Context::default();
        let mut thumbs = HistoryThumbs::default();
        let urls: Vec<String> = (0..MAX_TEXTURES + 2).map(|i| format!("u{i}")).collect();
        // Each row in view once, in its own pass: asked once each.
        for (pass, url) in urls.iter().enumerate() {
            let asked = thumbs.in_view(vec![url.clone()], pass as u64);
            assert_eq!(asked, std::slice::from_ref(url));
        }
        assert!(
            thumbs.in_view(urls.clone(), 1_000).is_empty(),
            "never twice"
        );
        thumbs.arrived("u0".into(), Err("404".into()));
        assert!(matches!(thumbs.get("u0"), Thumb::Missing("404")));
        assert!(
            thumbs.in_view(vec!["u0".into()], 1_001).is_empty(),
            "no retry"
        );
        for (pass, url) in urls.iter().enumerate().skip(1) {
            thumbs.arrived(url.clone(), Ok(pixel()));
            while thumbs.make_textures(&ctx, 4, pass as u64) {}
        }
        // 256 textures held (u0 failed), then one more: the least recently shown quarter went.
        let ready = urls.iter().filter(|u| thumbs.is_ready(u)).count();
        assert_eq!(ready, MAX_TEXTURES * 3 / 4);
        assert!(!thumbs.is_ready("u1"), "the oldest went");
        assert!(
            thumbs.is_ready(&format!("u{MAX_TEXTURES}")),
            "the newest stayed"
        );
        // A dropped one is asked for again when it comes back into view (from the disk cache).
        assert_eq!(thumbs.in_view(vec!["u1".into()], 2_000), ["u1"]);
    }
}
