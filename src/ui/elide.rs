//! Shortening a URL to fit a row by cutting its middle, not its end: the four rows of a finished
//! upload differ only at the end (`.preview`, `.large`, `.avatar`), so that part must stay
//! visible. Pure (no egui): the caller says how many characters fit.

use std::borrow::Cow;

/// The mark put where characters were cut.
pub const ELLIPSIS: char = '…';

/// `text` in at most `max_chars` characters: unchanged when it fits, else its start, `…` and its
/// end, keeping twice as much of the end as of the start.
pub fn elide_middle(text: &str, max_chars: usize) -> Cow<'_, str> {
    let len = text.chars().count();
    if len <= max_chars {
        return Cow::Borrowed(text);
    }
    if max_chars == 0 {
        return Cow::Borrowed("");
    }
    let kept = max_chars - 1;
    let head = kept / 3;
    let tail = kept - head;
    let mut out: String = text.chars().take(head).collect();
    out.push(ELLIPSIS);
    out.extend(text.chars().skip(len - tail));
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str =
        "https://i.groupme.com/1024x768.jpeg.0123456789abcdef0123456789abcdef.preview";

    #[test]
    fn what_fits_is_unchanged() {
        assert_eq!(elide_middle(URL, URL.len()), URL);
        assert_eq!(elide_middle("", 0), "");
        assert!(matches!(elide_middle(URL, 200), Cow::Borrowed(_)));
    }

    #[test]
    fn a_long_url_keeps_its_start_and_its_end() {
        for max in [10, 20, 40, 60] {
            let short = elide_middle(URL, max);
            assert_eq!(short.chars().count(), max, "{short}");
            assert!(short.contains(ELLIPSIS), "{short}");
            assert!(short.starts_with(&URL[..(max - 1) / 3]), "{short}");
        }
        assert!(elide_middle(URL, 20).ends_with(".preview"));
        assert!(
            elide_middle(&URL.replace(".preview", ".avatar"), 30).ends_with("cdef.avatar"),
            "the part that differs between the rows stays"
        );
    }

    #[test]
    fn counts_characters_not_bytes() {
        let text = "ééééééééééééééééééé.large";
        let short = elide_middle(text, 10);
        assert_eq!(short.chars().count(), 10);
        assert!(short.ends_with(".large"));
        assert_eq!(elide_middle("abc", 1), "…");
    }
}
