//! How a picture's URL is written where it is pasted (pure): the URL itself, Markdown, HTML or
//! BBCode. The CLI's `--format`, the app's *Copy as* and auto-copy all write it here.

/// How URLs are written for pasting.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Snippet {
    /// The URL itself.
    #[default]
    Plain,
    /// `![](url)`
    Markdown,
    /// `<img src="url">`
    Html,
    /// `[img]url[/img]`
    Bbcode,
}

impl Snippet {
    /// Every style, in menu order.
    pub const ALL: [Snippet; 4] = [
        Snippet::Plain,
        Snippet::Markdown,
        Snippet::Html,
        Snippet::Bbcode,
    ];

    /// A short human name.
    pub fn label(self) -> &'static str {
        match self {
            Snippet::Plain => "URL",
            Snippet::Markdown => "Markdown",
            Snippet::Html => "HTML",
            Snippet::Bbcode => "BBCode",
        }
    }

    /// One URL written in this style.
    pub fn render(self, url: &str) -> String {
        match self {
            Snippet::Plain => url.to_owned(),
            Snippet::Markdown => format!("![]({url})"),
            Snippet::Html => format!("<img src=\"{}\">", html_escape_attr(url)),
            Snippet::Bbcode => format!("[img]{url}[/img]"),
        }
    }

    /// Several URLs, one per line.
    pub fn render_all<'a>(self, urls: impl IntoIterator<Item = &'a str>) -> String {
        urls.into_iter()
            .map(|u| self.render(u))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn html_escape_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "https://i.groupme.com/480x325.jpeg.9e20b71dd6af4b58bbd132d4a7dec009";

    #[test]
    fn snippets() {
        assert_eq!(Snippet::Plain.render(SAMPLE), SAMPLE);
        assert_eq!(Snippet::Markdown.render("u"), "![](u)");
        assert_eq!(Snippet::Html.render("u\"&"), "<img src=\"u&quot;&amp;\">");
        assert_eq!(Snippet::Bbcode.render("u"), "[img]u[/img]");
        assert_eq!(Snippet::Markdown.render_all(["a", "b"]), "![](a)\n![](b)");
    }
}
