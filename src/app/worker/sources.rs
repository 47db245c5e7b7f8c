//! Where queued items come from: the file picker, dropped folders, pasted text (URLs and paths),
//! pasted bitmaps (encoded as PNG) and the system clipboard (a file list, an image, or text).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Event;
use crate::jobs::Source;

/// Extensions taken from a dropped folder.
const IMAGE_EXTENSIONS: [&str; 5] = ["jpg", "jpeg", "png", "gif", "webp"];

/// Opens the native file picker; behind a trait so tests never open a dialog.
pub trait FilePicker: Send + Sync {
    /// The files chosen (none when the person cancelled), or why no dialog could open.
    fn pick(&self) -> futures_util::future::BoxFuture<'static, Result<Vec<PathBuf>, NoDialog>>;
}

/// No file dialog could be shown: neither the desktop portal nor zenity answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no file dialog could open: install xdg-desktop-portal (with xdg-desktop-portal-gtk or -kde) \
     or zenity; until then, type or paste a path below"
)]
pub struct NoDialog;

/// The real picker: rfd's portal/zenity dialog, on its own thread.
pub struct NativePicker;

/// Under this, an empty answer from rfd with no zenity installed is a failure, not a person
/// cancelling: rfd logs why and returns nothing, and a person needs longer to press Cancel.
const DIALOG_FAILED_WITHIN: std::time::Duration = std::time::Duration::from_secs(1);

impl FilePicker for NativePicker {
    fn pick(&self) -> futures_util::future::BoxFuture<'static, Result<Vec<PathBuf>, NoDialog>> {
        Box::pin(async {
            let zenity = on_path("zenity");
            // The portal lives on the session bus: without one, only zenity can answer.
            if !zenity && std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
                return Err(NoDialog);
            }
            let opened = std::time::Instant::now();
            let picked = rfd::AsyncFileDialog::new()
                .set_title("Add images")
                .add_filter("Images", &IMAGE_EXTENSIONS)
                .pick_files()
                .await;
            match picked {
                Some(files) => Ok(files.into_iter().map(|h| h.path().to_owned()).collect()),
                None if !zenity && opened.elapsed() < DIALOG_FAILED_WITHIN => Err(NoDialog),
                None => Ok(Vec::new()),
            }
        })
    }
}

/// Whether an executable named `name` is on `PATH`.
fn on_path(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            std::fs::metadata(dir.join(name)).is_ok_and(|m| {
                use std::os::unix::fs::PermissionsExt as _;
                m.is_file() && m.permissions().mode() & 0o111 != 0
            })
        })
    })
}

/// What the clipboard holds, the most specific kind only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClipboardContent {
    /// A file manager's copied files.
    Files(Vec<PathBuf>),
    Text(String),
    /// A bitmap, RGBA8 rows.
    Image {
        width: usize,
        height: usize,
        rgba: Vec<u8>,
    },
}

/// Reads the clipboard for the Paste button; behind a trait so tests give their own clipboard
/// and never read the person's.
pub trait ClipboardReader: Send + Sync {
    /// The most specific thing the clipboard holds (files, then text, then a bitmap); `Ok(None)`
    /// when it holds none of them. Blocking.
    fn read(&self) -> Result<Option<ClipboardContent>, String>;
}

/// The system clipboard, through arboard.
pub struct SystemClipboard;

impl ClipboardReader for SystemClipboard {
    fn read(&self) -> Result<Option<ClipboardContent>, String> {
        let mut clipboard = arboard::Clipboard::new().map_err(|e| e.to_string())?;
        if let Ok(files) = clipboard.get().file_list()
            && !files.is_empty()
        {
            return Ok(Some(ClipboardContent::Files(files)));
        }
        if let Ok(text) = clipboard.get_text()
            && !text.trim().is_empty()
        {
            return Ok(Some(ClipboardContent::Text(text)));
        }
        Ok(clipboard
            .get_image()
            .ok()
            .map(|img| ClipboardContent::Image {
                width: img.width,
                height: img.height,
                rgba: img.bytes.into_owned(),
            }))
    }
}

/// Whether `path` ends in an image extension this app uploads.
pub(crate) fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Files stay as given (the probe judges them); folders give their images, three levels deep.
pub fn expand(paths: &[PathBuf]) -> Vec<Source> {
    fn walk(dir: &Path, depth: usize, out: &mut Vec<Source>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut children: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        children.sort();
        for child in children {
            if child.is_dir() {
                if depth > 0 {
                    walk(&child, depth - 1, out);
                }
            } else if has_image_extension(&child) {
                out.push(Source::File(child));
            }
        }
    }
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, 2, &mut out);
        } else {
            out.push(Source::File(path.clone()));
        }
    }
    out
}

/// What pasted text holds: the links and existing files found in it, and the words that are
/// neither.
#[derive(Debug, Default)]
pub(super) struct PastedText {
    pub(super) sources: Vec<Source>,
    /// Words that are neither a link nor an existing file, in order.
    pub(super) ignored: Vec<String>,
}

/// Reads pasted text: an `http(s)://` link anywhere in it is mirrored (linkify finds it inside a
/// sentence and leaves its trailing punctuation), a line or word that is an existing absolute
/// path (or a `file://` URI of one) is uploaded (folders give their images), and every other
/// word is ignored. Only absolute paths count: a word such as "Pictures" must not pick up a
/// folder from wherever the app was started.
pub(super) fn parse_text(text: &str) -> PastedText {
    let mut finder = linkify::LinkFinder::new();
    finder
        .kinds(&[linkify::LinkKind::Url])
        .url_must_have_scheme(true);
    let mut parsed = PastedText::default();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        // A whole line first: a path may hold spaces.
        if let Some(path) = existing_path(line) {
            parsed.sources.extend(expand(&[path]));
            continue;
        }
        for span in finder.spans(line) {
            match span.kind() {
                Some(_) if crate::jobs::is_web_url(span.as_str()) => {
                    parsed.sources.push(Source::Url(span.as_str().to_owned()));
                }
                Some(_) => match existing_path(span.as_str()) {
                    Some(path) => parsed.sources.extend(expand(&[path])),
                    None => parsed.ignored.push(span.as_str().to_owned()),
                },
                None => {
                    for word in span.as_str().split_whitespace() {
                        match existing_path(word) {
                            Some(path) => parsed.sources.extend(expand(&[path])),
                            None if word.chars().any(char::is_alphanumeric) => {
                                parsed.ignored.push(word.to_owned());
                            }
                            // Lone punctuation ("-", "…") is no word worth naming.
                            None => {}
                        }
                    }
                }
            }
        }
    }
    parsed
}

/// `text` as an existing absolute path: as it is, as a `file://` URI, or without the quotes
/// and trailing punctuation prose puts around it.
fn existing_path(text: &str) -> Option<PathBuf> {
    let trimmed = text
        .trim_matches(['"', '\'', '<', '>', '(', ')'])
        .trim_end_matches(['.', ',', ';', ':', '!', '?']);
    [text, trimmed].into_iter().find_map(|candidate| {
        let path = match url::Url::parse(candidate) {
            Ok(u) if u.scheme() == "file" => u.to_file_path().ok()?,
            _ => PathBuf::from(candidate),
        };
        (path.is_absolute() && path.exists()).then_some(path)
    })
}

/// The one line that says what pasted text gave nothing for, naming the first few words.
fn ignored_notice(ignored: &[String]) -> String {
    const SHOWN: usize = 3;
    let mut named: Vec<String> = ignored
        .iter()
        .take(SHOWN)
        .map(|w| format!("\u{201c}{}\u{201d}", w.chars().take(40).collect::<String>()))
        .collect();
    if ignored.len() > SHOWN {
        named.push("…".to_owned());
    }
    let words = if ignored.len() == 1 { "word" } else { "words" };
    let are = if ignored.len() == 1 { "is" } else { "are" };
    format!(
        "ignored {} {words} that {are} neither links nor existing files: {}",
        ignored.len(),
        named.join(", ")
    )
}

/// Pasted text as events: the items to add, then one notice for what was ignored; or one
/// notice when nothing in it can be added.
pub(super) fn sources_from_text(text: &str) -> Vec<Event> {
    let PastedText { sources, ignored } = parse_text(text);
    if sources.is_empty() {
        return vec![Event::Notice(
            "the pasted text holds no http(s) link and no path to an existing file".into(),
        )];
    }
    let mut events = vec![Event::Add {
        sources,
        pasted: true,
    }];
    if !ignored.is_empty() {
        events.push(Event::Notice(ignored_notice(&ignored)));
    }
    events
}

pub(super) fn encode_pasted(width: usize, height: usize, rgba: Vec<u8>) -> Event {
    let Some(img) = image::RgbaImage::from_raw(width as u32, height as u32, rgba) else {
        return Event::Notice("the pasted image has an odd size".into());
    };
    let mut png = std::io::Cursor::new(Vec::new());
    if let Err(e) = img.write_to(&mut png, image::ImageFormat::Png) {
        return Event::Notice(format!("could not encode the pasted image: {e}"));
    }
    Event::Add {
        sources: vec![Source::Bytes {
            name: format!("pasted-{}.png", crate::files::now_secs()),
            bytes: Arc::new(png.into_inner()),
        }],
        pasted: true,
    }
}

/// What the window itself took from the clipboard on Ctrl+V (egui reads only text, then a
/// bitmap).
#[derive(Debug, Clone)]
pub enum WindowPaste {
    Text(String),
    Image {
        width: usize,
        height: usize,
        rgba: Vec<u8>,
    },
}

/// Ctrl+V: the clipboard through the reader, as the Paste button does, so a file manager's
/// copied files count (egui never sees them); what the window pasted when the reader finds
/// nothing (a clipboard arboard cannot read).
pub(super) fn paste_shortcut(
    clipboard: &dyn ClipboardReader,
    window: Option<WindowPaste>,
) -> Vec<Event> {
    match (clipboard.read(), window) {
        (Ok(None) | Err(_), Some(WindowPaste::Text(text))) => sources_from_text(&text),
        (
            Ok(None) | Err(_),
            Some(WindowPaste::Image {
                width,
                height,
                rgba,
            }),
        ) => vec![encode_pasted(width, height, rgba)],
        (read, _) => clipboard_events(read),
    }
}

/// The clipboard, most specific first: a copied file list (files keep their bytes: GIFs stay
/// animated), then text (URLs, paths), then a bitmap.
pub(super) fn read_clipboard(clipboard: &dyn ClipboardReader) -> Vec<Event> {
    clipboard_events(clipboard.read())
}

fn clipboard_events(read: Result<Option<ClipboardContent>, String>) -> Vec<Event> {
    let event = match read {
        Err(e) => Event::Notice(format!("cannot read the clipboard: {e}")),
        Ok(Some(ClipboardContent::Files(files))) => Event::Add {
            sources: expand(&files),
            pasted: true,
        },
        Ok(Some(ClipboardContent::Text(text))) => return sources_from_text(&text),
        Ok(Some(ClipboardContent::Image {
            width,
            height,
            rgba,
        })) => encode_pasted(width, height, rgba),
        Ok(None) => Event::Notice("the clipboard holds no image, file or URL".into()),
    };
    vec![event]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(sources: &[Source]) -> Vec<String> {
        sources.iter().map(Source::display_name).collect()
    }

    #[test]
    fn text_gives_urls_and_paths() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("a.png");
        std::fs::write(&file, b"x").expect("write");
        let text = format!(
            "https://example.com/a.gif http://example.com/b.png\n{}\nnot a thing\nfile://{}",
            file.display(),
            file.display()
        );
        let parsed = parse_text(&text);
        assert_eq!(
            names(&parsed.sources),
            [
                "https://example.com/a.gif",
                "http://example.com/b.png",
                "a.png",
                "a.png"
            ]
        );
        assert_eq!(parsed.ignored, ["not", "a", "thing"]);
        let events = sources_from_text(&text);
        assert!(matches!(&events[0], Event::Add { pasted: true, sources } if sources.len() == 4));
        assert!(
            matches!(&events[1], Event::Notice(n) if n == "ignored 3 words that are neither links nor existing files: \u{201c}not\u{201d}, \u{201c}a\u{201d}, \u{201c}thing\u{201d}"),
            "{events:?}"
        );
        assert_eq!(events.len(), 2, "one notice for all that was ignored");
    }

    #[test]
    fn finds_a_link_inside_a_sentence() {
        let parsed = parse_text("http://example.com/pic.webp is the one I meant");
        assert_eq!(names(&parsed.sources), ["http://example.com/pic.webp"]);
        assert_eq!(parsed.ignored, ["is", "the", "one", "I", "meant"]);
        let events = sources_from_text("http://example.com/pic.webp is the one I meant");
        assert!(
            matches!(&events[1], Event::Notice(n) if n.starts_with("ignored 5 words that are neither links nor existing files: ") && n.ends_with(", …")),
            "{events:?}"
        );

        let parsed = parse_text("look at http://example.com/pic.webp");
        assert_eq!(names(&parsed.sources), ["http://example.com/pic.webp"]);
        let parsed = parse_text("(see https://example.com/a.png, and https://example.com/b.gif.)");
        assert_eq!(
            names(&parsed.sources),
            ["https://example.com/a.png", "https://example.com/b.gif"],
            "punctuation around a link is not part of it"
        );
    }

    #[test]
    fn paths_count_only_when_absolute_and_existing() {
        let dir = tempfile::tempdir().expect("dir");
        let spaced = dir.path().join("my pic.png");
        std::fs::write(&spaced, b"x").expect("write");
        let plain = dir.path().join("b.png");
        std::fs::write(&plain, b"x").expect("write");
        let text = format!(
            "{}\nthe file {}, and {}/gone.png and src",
            spaced.display(),
            plain.display(),
            dir.path().display()
        );
        let parsed = parse_text(&text);
        assert_eq!(names(&parsed.sources), ["my pic.png", "b.png"]);
        assert_eq!(parsed.ignored.len(), 6, "{:?}", parsed.ignored);
        assert_eq!(
            parsed.ignored.last().map(String::as_str),
            Some("src"),
            "a relative name is never a path"
        );
        let events = sources_from_text("hello - there");
        assert!(
            matches!(&events[..], [Event::Notice(n)] if n.contains("no http(s) link")),
            "{events:?}"
        );
    }

    #[test]
    fn folders_give_their_images() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        for name in ["b.PNG", "a.jpg", "notes.txt", "sub/c.gif"] {
            std::fs::write(dir.path().join(name), b"x").expect("write");
        }
        let names: Vec<String> = expand(&[dir.path().to_owned()])
            .iter()
            .map(Source::display_name)
            .collect();
        assert_eq!(names, ["a.jpg", "b.PNG", "c.gif"]);
    }

    struct Holds(Option<ClipboardContent>);

    impl ClipboardReader for Holds {
        fn read(&self) -> Result<Option<ClipboardContent>, String> {
            Ok(self.0.clone())
        }
    }

    #[test]
    fn the_shortcut_prefers_the_clipboards_file_list() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("copied.png");
        std::fs::write(&file, b"x").expect("write");
        let files = Holds(Some(ClipboardContent::Files(vec![file])));
        let events = paste_shortcut(&files, None);
        assert!(
            matches!(&events[..], [Event::Add { sources, pasted: true }] if names(sources) == ["copied.png"]),
            "{events:?}"
        );
        // The reader found nothing: the window's own text is used.
        let text = Some(WindowPaste::Text("see https://example.com/a.png".into()));
        let events = paste_shortcut(&Holds(None), text);
        assert!(
            matches!(&events[0], Event::Add { sources, .. } if names(sources) == ["https://example.com/a.png"]),
            "{events:?}"
        );
        assert!(matches!(
            &paste_shortcut(&Holds(None), None)[..],
            [Event::Notice(n)] if n == "the clipboard holds no image, file or URL"
        ));
    }
}
