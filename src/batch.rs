//! When a batch of uploads has finished, and what the desktop notification then says. Pure: the
//! app tells it how each job ended, what auto-copy copied, and whether anything is still queued
//! or uploading; it answers once per batch. The texts are the README's ("Notifications").

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
    /// What auto-copy put on the clipboard last (each finished upload replaces it).
    copied: Option<String>,
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

    /// Auto-copy put `text` on the clipboard.
    pub fn copied(&mut self, text: &str) {
        self.copied = Some(text.to_owned());
    }

    /// Called after the queue changed: while anything is queued or uploading (`busy`) the
    /// batch goes on; once nothing is, it is over and its message is returned (none when it
    /// only held cancelled jobs), and the next batch starts empty.
    pub fn settle(&mut self, busy: bool) -> Option<Message> {
        if busy {
            return None;
        }
        let batch = std::mem::take(self);
        message(batch.uploaded, batch.failed, batch.copied.as_deref())
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The notification for `uploaded` and `failed` jobs, and what was copied last; none when both
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
        assert_eq!(b.settle(false), None, "an idle queue with nothing ended");
        b.ended(Outcome::Uploaded);
        b.copied("one");
        assert_eq!(b.settle(true), None, "still busy");
        b.ended(Outcome::Failed);
        b.ended(Outcome::Uploaded);
        b.copied("two");
        assert_eq!(
            b.settle(false),
            msg("Uploaded 2 pictures, 1 failed", "Copied: two")
        );
        assert_eq!(b.settle(false), None, "said once");
        b.ended(Outcome::Cancelled);
        assert_eq!(b.settle(false), None, "cancelling is not news");
        b.ended(Outcome::Uploaded);
        assert_eq!(
            b.settle(false),
            msg("Uploaded 1 picture", "The links are in GroupMe Uploader."),
            "the next batch starts afresh: nothing copied in it"
        );
    }
}
