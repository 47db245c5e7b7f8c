//! What the queue list shows, without egui: the order of its rows (the newest drop, pick or
//! paste at the top, each in the order it came), and what a row offers for its job's state (one
//! action at hand on the row, the rest in its ⋯ menu), with the text each copy action copies.

use crate::cdn_url::{CdnUrl, Variant};
use crate::jobs::{Job, JobState};
use crate::snippet::Snippet;

/// The rows top to bottom: batches newest first, each batch in the order its items came (a drop
/// of a, b, c shows a, b, c; a folder's files sorted by path, as it was expanded).
pub fn display_order(jobs: &[Job]) -> Vec<&Job> {
    let mut rows: Vec<&Job> = jobs.iter().collect();
    // Stable: within a batch the queue's own order (the order added) stays.
    rows.sort_by_key(|j| std::cmp::Reverse(j.batch));
    rows
}

/// The batch added last, if any: the list scrolls its first row into view once.
pub fn newest_batch(jobs: &[Job]) -> Option<u64> {
    jobs.iter().map(|j| j.batch).max()
}

/// Something a row can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowAction {
    Cancel,
    Retry,
    /// Send a file whose metadata could not be removed as it is.
    UploadUnchanged,
    Remove,
    /// Copy the picture's URL.
    CopyUrl,
    /// Copy the URL of a thumbnail.
    CopyVariant(Variant),
    /// Copy the URL written for pasting elsewhere.
    CopyAs(Snippet),
    SendTo,
}

/// The thumbnails a finished row's menu offers, in menu order.
pub const MENU_VARIANTS: [Variant; 3] = [Variant::Preview, Variant::Large, Variant::Avatar];

/// The pasting styles a finished row's menu offers (the URL itself is the row's Copy).
pub const MENU_STYLES: [Snippet; 3] = [Snippet::Markdown, Snippet::Html, Snippet::Bbcode];

impl RowAction {
    /// The words on its button or menu entry.
    pub fn label(self) -> String {
        match self {
            RowAction::Cancel => "Cancel".to_owned(),
            RowAction::Retry => "Retry".to_owned(),
            RowAction::UploadUnchanged => "Upload unchanged".to_owned(),
            RowAction::Remove => "Remove".to_owned(),
            RowAction::CopyUrl => "Copy URL".to_owned(),
            RowAction::CopyVariant(v) => format!("Copy {} URL", variant_name(v)),
            RowAction::CopyAs(style) => format!("Copy as {}", style.label()),
            RowAction::SendTo => "Send to…".to_owned(),
        }
    }

    /// What it copies for the picture at `url`, or `None` when it copies nothing.
    pub fn copied_text(self, url: &CdnUrl) -> Option<String> {
        match self {
            RowAction::CopyUrl => Some(url.original().to_string()),
            RowAction::CopyVariant(v) => Some(url.with_variant(v).to_string()),
            RowAction::CopyAs(style) => Some(style.render(&url.original().to_string())),
            _ => None,
        }
    }
}

/// A variant's name as a person reads it.
fn variant_name(v: Variant) -> &'static str {
    match v {
        Variant::Original => "",
        Variant::Preview => "Preview",
        Variant::Large => "Large",
        Variant::Avatar => "Avatar",
    }
}

/// What one row offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowOffer {
    /// The button on the row itself: what a person most likely wants next.
    pub at_hand: Option<RowAction>,
    /// The ⋯ menu, in order; empty means no menu.
    pub menu: Vec<RowAction>,
}

/// What a row offers for `state`. Retry only where another attempt can end differently; Remove
/// for anything not running (a running upload is cancelled first).
pub fn offer(state: &JobState) -> RowOffer {
    match state {
        JobState::Queued => RowOffer {
            at_hand: Some(RowAction::Cancel),
            menu: vec![RowAction::Remove],
        },
        JobState::Uploading { .. } => RowOffer {
            at_hand: Some(RowAction::Cancel),
            menu: Vec::new(),
        },
        JobState::Done { .. } => {
            let mut menu: Vec<RowAction> = MENU_VARIANTS
                .into_iter()
                .map(RowAction::CopyVariant)
                .collect();
            menu.extend(MENU_STYLES.into_iter().map(RowAction::CopyAs));
            menu.extend([RowAction::SendTo, RowAction::Remove]);
            RowOffer {
                at_hand: Some(RowAction::CopyUrl),
                menu,
            }
        }
        JobState::Failed {
            retry_helps,
            can_upload_unchanged,
            ..
        } => {
            let at_hand = if *retry_helps {
                RowAction::Retry
            } else if *can_upload_unchanged {
                RowAction::UploadUnchanged
            } else {
                RowAction::Remove
            };
            RowOffer {
                at_hand: Some(at_hand),
                menu: if at_hand == RowAction::Remove {
                    Vec::new()
                } else {
                    vec![RowAction::Remove]
                },
            }
        }
        JobState::Cancelled => RowOffer {
            at_hand: Some(RowAction::Retry),
            menu: vec![RowAction::Remove],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::{Queue, Source};

    fn url() -> CdnUrl {
        CdnUrl::parse("https://i.groupme.com/640x480.png.0123456789abcdef0123456789abcdef")
            .expect("url")
    }

    fn names(rows: &[&Job]) -> Vec<String> {
        rows.iter().map(|j| j.source.display_name()).collect()
    }

    fn file(name: &str) -> Source {
        Source::File(format!("/pictures/{name}").into())
    }

    #[test]
    fn the_newest_batch_is_on_top_and_each_keeps_its_order() {
        let mut queue = Queue::default();
        assert_eq!(newest_batch(queue.jobs()), None);
        queue.push_batch(vec![file("a.png"), file("b.png"), file("c.png")]);
        queue.push(Source::Url("https://example.com/x.png".into()));
        queue.push_batch(vec![file("d.png"), file("e.png")]);
        assert_eq!(
            names(&display_order(queue.jobs())),
            [
                "d.png",
                "e.png",
                "https://example.com/x.png",
                "a.png",
                "b.png",
                "c.png"
            ]
        );
        let newest = newest_batch(queue.jobs()).expect("batch");
        let tops: Vec<_> = queue.jobs().iter().filter(|j| j.batch == newest).collect();
        assert_eq!(names(&tops), ["d.png", "e.png"]);
    }

    #[test]
    fn a_retried_row_stays_where_it_was() {
        let mut queue = Queue::default();
        let ids = queue.push_batch(vec![file("a.png"), file("b.png")]);
        queue.push_batch(vec![file("c.png")]);
        queue.cancel(ids[0]);
        assert!(queue.retry(ids[0]));
        assert_eq!(
            names(&display_order(queue.jobs())),
            ["c.png", "a.png", "b.png"]
        );
        assert!(queue.remove(ids[0]));
        assert_eq!(names(&display_order(queue.jobs())), ["c.png", "b.png"]);
    }

    #[test]
    fn a_finished_row_copies_the_url_and_offers_exactly_the_variants_and_styles() {
        let done = JobState::Done {
            url: url(),
            reused: false,
        };
        let o = offer(&done);
        assert_eq!(o.at_hand, Some(RowAction::CopyUrl));
        let labels: Vec<String> = o.menu.iter().map(|a| a.label()).collect();
        assert_eq!(
            labels,
            [
                "Copy Preview URL",
                "Copy Large URL",
                "Copy Avatar URL",
                "Copy as Markdown",
                "Copy as HTML",
                "Copy as BBCode",
                "Send to…",
                "Remove",
            ]
        );
        let base = "https://i.groupme.com/640x480.png.0123456789abcdef0123456789abcdef";
        let copied: Vec<Option<String>> = o.menu.iter().map(|a| a.copied_text(&url())).collect();
        assert_eq!(
            copied,
            [
                Some(format!("{base}.preview")),
                Some(format!("{base}.large")),
                Some(format!("{base}.avatar")),
                Some(format!("![]({base})")),
                Some(format!("<img src=\"{base}\">")),
                Some(format!("[img]{base}[/img]")),
                None,
                None,
            ]
        );
        // Copy URL copies the original even from a thumbnail's URL.
        assert_eq!(
            RowAction::CopyUrl.copied_text(&url().avatar()).as_deref(),
            Some(base)
        );
    }

    #[test]
    fn retry_only_where_it_can_help() {
        let failed = |retry_helps, can_upload_unchanged| JobState::Failed {
            reason: "x".into(),
            retry_helps,
            can_upload_unchanged,
        };
        assert_eq!(
            offer(&failed(true, false)),
            RowOffer {
                at_hand: Some(RowAction::Retry),
                menu: vec![RowAction::Remove]
            }
        );
        assert_eq!(
            offer(&failed(false, true)),
            RowOffer {
                at_hand: Some(RowAction::UploadUnchanged),
                menu: vec![RowAction::Remove]
            }
        );
        assert_eq!(
            offer(&failed(false, false)),
            RowOffer {
                at_hand: Some(RowAction::Remove),
                menu: vec![]
            }
        );
        assert_eq!(offer(&JobState::Cancelled).at_hand, Some(RowAction::Retry));
    }

    #[test]
    fn running_rows_can_only_be_cancelled() {
        let running = JobState::Uploading {
            sent: 1,
            total: 2,
            since: None,
            retry_note: None,
        };
        assert_eq!(
            offer(&running),
            RowOffer {
                at_hand: Some(RowAction::Cancel),
                menu: vec![]
            }
        );
        let queued = offer(&JobState::Queued);
        assert_eq!(queued.at_hand, Some(RowAction::Cancel));
        assert!(!queued.menu.contains(&RowAction::Retry));
    }
}
