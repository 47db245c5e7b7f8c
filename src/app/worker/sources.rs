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
    fn pick(&self) -> futures_util::future::BoxFuture<'static, Vec<PathBuf>>;
}

/// The real picker: rfd's portal/zenity dialog, on its own thread.
pub struct NativePicker;

impl FilePicker for NativePicker {
    fn pick(&self) -> futures_util::future::BoxFuture<'static, Vec<PathBuf>> {
        Box::pin(async {
            rfd::AsyncFileDialog::new()
                .set_title("Add images")
                .add_filter("Images", &IMAGE_EXTENSIONS)
                .pick_files()
                .await
                .unwrap_or_default()
                .into_iter()
                .map(|h| h.path().to_owned())
                .collect()
        })
    }
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

fn has_image_extension(path: &Path) -> bool {
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

/// Pasted text: each `http(s)://` URL is mirrored, each existing path (or `file://` URI) uploaded.
pub(super) fn sources_from_text(text: &str) -> Event {
    let mut sources = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if crate::jobs::is_web_url(line) {
            sources.extend(line.split_whitespace().map(|u| Source::Url(u.to_owned())));
        } else if let Some(path) = url::Url::parse(line)
            .ok()
            .filter(|u| u.scheme() == "file")
            .and_then(|u| u.to_file_path().ok())
        {
            sources.extend(expand(&[path]));
        } else if Path::new(line).exists() {
            sources.extend(expand(&[PathBuf::from(line)]));
        }
    }
    if sources.is_empty() {
        Event::Notice("the pasted text holds no http(s) URL and no path to an image".into())
    } else {
        Event::Add {
            sources,
            pasted: true,
        }
    }
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

/// The clipboard, most specific first: a copied file list (files keep their bytes: GIFs stay
/// animated), then text (URLs, paths), then a bitmap.
pub(super) fn read_clipboard(clipboard: &dyn ClipboardReader) -> Event {
    match clipboard.read() {
        Err(e) => Event::Notice(format!("cannot read the clipboard: {e}")),
        Ok(Some(ClipboardContent::Files(files))) => Event::Add {
            sources: expand(&files),
            pasted: true,
        },
        Ok(Some(ClipboardContent::Text(text))) => sources_from_text(&text),
        Ok(Some(ClipboardContent::Image {
            width,
            height,
            rgba,
        })) => encode_pasted(width, height, rgba),
        Ok(None) => Event::Notice("the clipboard holds no image, file or URL".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let Event::Add { sources, pasted } = sources_from_text(&text) else {
            panic!("expected sources");
        };
        assert!(pasted);
        let names: Vec<String> = sources.iter().map(Source::display_name).collect();
        assert_eq!(
            names,
            [
                "https://example.com/a.gif",
                "http://example.com/b.png",
                "a.png",
                "a.png"
            ]
        );
        assert!(matches!(sources_from_text("hello"), Event::Notice(_)));
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
}
