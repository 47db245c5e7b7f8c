//! What a copy puts on the clipboard and what the window says about it (pure): the text of a
//! batch's auto-copy (one line per finished picture, in the batch's order), the words that say
//! exactly what was copied, and how long a Copy button says "Copied ✔" after a click.

use std::time::Duration;

use crate::snippet::Snippet;

/// How long a Copy button shows [`COPIED_LABEL`] after a click.
pub const FEEDBACK_SECS: f64 = 1.5;

/// What a Copy button says for [`FEEDBACK_SECS`] after it was clicked.
pub const COPIED_LABEL: &str = "Copied ✔";

/// A Copy button's click, remembered to show [`COPIED_LABEL`] for a moment. Times are the
/// window's clock in seconds (egui's `input.time`), so a test can step it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ButtonFeedback {
    clicked_at: f64,
}

impl ButtonFeedback {
    /// The button was clicked at `now`.
    pub fn clicked(now: f64) -> ButtonFeedback {
        ButtonFeedback { clicked_at: now }
    }

    /// How long it still shows at `now`; `None` once it is over (the button reads as before).
    pub fn remaining(&self, now: f64) -> Option<Duration> {
        let left = self.clicked_at + FEEDBACK_SECS - now;
        // A clock that went back (a new context) shows it no longer than a fresh click would.
        (left > 0.0).then(|| Duration::from_secs_f64(left.min(FEEDBACK_SECS)))
    }

    /// The button's text at `now`: [`COPIED_LABEL`] for a moment, then its own `label`.
    pub fn label<'a>(&self, label: &'a str, now: f64) -> &'a str {
        if self.remaining(now).is_some() {
            COPIED_LABEL
        } else {
            label
        }
    }
}

/// What one auto-copy put on the clipboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchCopy {
    /// The clipboard's text: a line per picture.
    pub text: String,
    /// How many pictures it holds.
    pub count: usize,
    pub style: Snippet,
}

impl BatchCopy {
    /// The URLs finished in a batch, with their place in the queue (`order`), written in `style`
    /// one per line in queue order (the order they were added, not the order they finished);
    /// `None` when nothing finished.
    pub fn of<'a>(
        style: Snippet,
        urls: impl IntoIterator<Item = (u64, &'a str)>,
    ) -> Option<BatchCopy> {
        let mut urls: Vec<(u64, &str)> = urls.into_iter().collect();
        if urls.is_empty() {
            return None;
        }
        urls.sort_by_key(|&(order, _)| order);
        Some(BatchCopy {
            text: style.render_all(urls.iter().map(|&(_, u)| u)),
            count: urls.len(),
            style,
        })
    }

    /// What the window says about it: "Copied 3 Markdown links".
    pub fn message(&self) -> String {
        copied_message(self.style, self.count)
    }
}

/// Says exactly what a copy of `count` pictures written in `style` put on the clipboard:
/// "Copied the URL", "Copied 3 Markdown links", "Copied 2 HTML image tags".
pub fn copied_message(style: Snippet, count: usize) -> String {
    let (one, many) = match style {
        Snippet::Plain => ("URL", "URLs"),
        Snippet::Markdown => ("Markdown link", "Markdown links"),
        Snippet::Html => ("HTML image tag", "HTML image tags"),
        Snippet::Bbcode => ("BBCode image tag", "BBCode image tags"),
    };
    if count == 1 {
        format!("Copied the {one}")
    } else {
        format!("Copied {count} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_copy_is_a_line_per_picture_in_queue_order() {
        let copy = BatchCopy::of(Snippet::Markdown, [(7, "c"), (2, "a"), (5, "b")])
            .expect("three finished");
        assert_eq!(copy.text, "![](a)\n![](b)\n![](c)");
        assert_eq!(copy.count, 3);
        assert_eq!(copy.message(), "Copied 3 Markdown links");
        let one = BatchCopy::of(Snippet::Plain, [(1, "https://i.groupme.com/1x1.png.a")])
            .expect("one finished");
        assert_eq!(
            one.text, "https://i.groupme.com/1x1.png.a",
            "no trailing newline"
        );
        assert_eq!(one.message(), "Copied the URL");
        assert_eq!(BatchCopy::of(Snippet::Plain, []), None);
    }

    #[test]
    fn the_message_names_the_chosen_format() {
        let said: Vec<String> = Snippet::ALL
            .iter()
            .flat_map(|&s| [copied_message(s, 1), copied_message(s, 2)])
            .collect();
        assert_eq!(
            said,
            [
                "Copied the URL",
                "Copied 2 URLs",
                "Copied the Markdown link",
                "Copied 2 Markdown links",
                "Copied the HTML image tag",
                "Copied 2 HTML image tags",
                "Copied the BBCode image tag",
                "Copied 2 BBCode image tags",
            ]
        );
    }

    #[test]
    fn the_feedback_shows_for_a_moment_then_the_label_returns() {
        let f = ButtonFeedback::clicked(10.0);
        assert_eq!(f.label("Copy URL", 10.0), COPIED_LABEL);
        assert_eq!(f.remaining(10.0), Some(Duration::from_secs_f64(1.5)));
        assert_eq!(f.label("Copy URL", 11.4), COPIED_LABEL);
        let left = f.remaining(11.0).expect("still shown");
        assert!((left.as_secs_f64() - 0.5).abs() < 1e-9, "{left:?}");
        assert_eq!(f.remaining(11.5), None, "over at exactly 1.5 s");
        assert_eq!(f.label("Copy URL", 11.5), "Copy URL");
        assert_eq!(
            f.remaining(3.0),
            Some(Duration::from_secs_f64(1.5)),
            "a clock that went back never shows it longer than a click does"
        );
    }
}
