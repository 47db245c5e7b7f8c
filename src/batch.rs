//! When a batch of uploads has finished, what auto-copy then copies and what the desktop
//! notification says. Pure: the app tells it how each job ended, the links that finished, and
//! whether anything is still queued or uploading; it answers once per batch. The texts are the
//! README's ("Notifications").

use crate::copying::BatchCopy;
use crate::snippet::Snippet;

/// How one job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Uploaded, or already uploaded before (its link reused).
    Uploaded,
    Failed,
    /// Stopped by the person: counted in no message.
    Cancelled,
}

/// A desktop notification's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub summary: String,
    pub body: String,
}

/// The longest copied text shown in a body, in characters; longer ends in "…".
pub const MAX_COPIED_CHARS: usize = 200;

/// The jobs that ended since the queue was last idle.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Batch {
    uploaded: usize,
    failed: usize,
    /// The links that finished, with their place in the queue: auto-copy copies them all.
    links: Vec<(u64, String)>,
}

/// What the end of a batch brings.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Settled {
    /// The desktop notification (none for a batch of cancels).
    pub message: Option<Message>,
    /// What auto-copy puts on the clipboard, when it is on and something finished.
    pub copy: Option<BatchCopy>,
}

impl Batch {
    /// A job ended.
    pub fn ended(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Uploaded => self.uploaded += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Cancelled => {}
        }
    }

    /// A picture's link is ready (uploaded, or already uploaded before); `order` is its place in
    /// the queue.
    pub fn link(&mut self, order: u64, url: &str) {
        self.links.push((order, url.to_owned()));
    }

    /// Called after the queue changed: while anything is queued or uploading (`busy`) the
    /// batch goes on and nothing is returned; once nothing is, it is over: with `auto_copy` (the
    /// style, when auto-copy is on) its links are copied, a line each in queue order, and its
    /// message says what (none when it only held cancelled jobs); the next batch starts empty.
    pub fn settle(&mut self, busy: bool, auto_copy: Option<Snippet>) -> Settled {
        if busy {
            return Settled::default();
        }
        let batch = std::mem::take(self);
        let copy = auto_copy.and_then(|style| {
            BatchCopy::of(style, batch.links.iter().map(|(o, u)| (*o, u.as_str())))
        });
        Settled {
            message: message(
                batch.uploaded,
                batch.failed,
                copy.as_ref().map(|c| c.text.as_str()),
            ),
            copy,
        }
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The notification for `uploaded` and `failed` jobs, and what auto-copy copied; none when both
/// counts are zero.
pub fn message(uploaded: usize, failed: usize, copied: Option<&str>) -> Option<Message> {
    let summary = match (uploaded, failed) {
        (0, 0) => return None,
        (0, f) => format!("{} failed", plural(f, "upload", "uploads")),
        (u, 0) => format!("Uploaded {}", plural(u, "picture", "pictures")),
        (u, f) => format!("Uploaded {}, {f} failed", plural(u, "picture", "pictures")),
    };
    let body = match copied {
        Some(text) if uploaded > 0 => {
            let mut shown: String = text.chars().take(MAX_COPIED_CHARS).collect();
            if text.chars().count() > MAX_COPIED_CHARS {
                shown.push('…');
            }
            format!("Copied: {shown}")
        }
        _ if failed > 0 => "Open GroupMe Uploader to see why and retry.".to_owned(),
        _ => "The links are in GroupMe Uploader.".to_owned(),
    };
    Some(Message { summary, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(summary: &str, body: &str) -> Option<Message> {
        Some(Message {
            summary: summary.into(),
            body: body.into(),
        })
    }

    #[test]
    fn the_texts() {
        assert_eq!(
            message(1, 0, Some("https://i.groupme.com/1x1.png.a")),
            msg(
                "Uploaded 1 picture",
                "Copied: https://i.groupme.com/1x1.png.a"
            )
        );
        assert_eq!(
            message(3, 0, None),
            msg("Uploaded 3 pictures", "The links are in GroupMe Uploader.")
        );
        assert_eq!(
            message(2, 1, None),
            msg(
                "Uploaded 2 pictures, 1 failed",
                "Open GroupMe Uploader to see why and retry."
            )
        );
        assert_eq!(
            message(2, 1, Some("u")),
            msg("Uploaded 2 pictures, 1 failed", "Copied: u")
        );
        assert_eq!(
            message(0, 1, None),
            msg(
                "1 upload failed",
                "Open GroupMe Uploader to see why and retry."
            )
        );
        assert_eq!(
            message(0, 4, Some("stale")),
            msg(
                "4 uploads failed",
                "Open GroupMe Uploader to see why and retry."
            ),
            "nothing of this batch was copied"
        );
        assert_eq!(message(0, 0, None), None);
    }

    #[test]
    fn a_long_copy_is_cut() {
        let long = "é".repeat(MAX_COPIED_CHARS + 5);
        let body = message(1, 0, Some(&long)).expect("message").body;
        assert_eq!(
            body.chars().count(),
            "Copied: ".len() + MAX_COPIED_CHARS + 1
        );
        assert!(body.ends_with('…'));
    }

    #[test]
    fn a_batch_ends_when_nothing_is_queued_or_uploading() {
        let mut b = Batch::default();
        assert_eq!(
            b.settle(false, None),
            Settled::default(),
            "idle, nothing ended"
        );
        b.ended(Outcome::Uploaded);
        b.link(3, "two");
        assert_eq!(
            b.settle(true, Some(Snippet::Plain)),
            Settled::default(),
            "busy"
        );
        b.ended(Outcome::Failed);
        b.ended(Outcome::Uploaded);
        b.link(1, "one");
        let settled = b.settle(false, Some(Snippet::Plain));
        assert_eq!(
            settled.message,
            msg("Uploaded 2 pictures, 1 failed", "Copied: one\ntwo"),
            "the whole batch, in queue order"
        );
        assert_eq!(
            settled.copy.map(|c| (c.text, c.count)),
            Some(("one\ntwo".to_owned(), 2))
        );
        assert_eq!(b.settle(false, None), Settled::default(), "said once");
        b.ended(Outcome::Cancelled);
        assert_eq!(
            b.settle(false, None),
            Settled::default(),
            "cancelling is not news"
        );
        b.ended(Outcome::Uploaded);
        b.link(9, "three");
        assert_eq!(
            b.settle(false, None),
            Settled {
                message: msg("Uploaded 1 picture", "The links are in GroupMe Uploader."),
                copy: None,
            },
            "the next batch starts afresh; auto-copy off copies nothing"
        );
    }
}
