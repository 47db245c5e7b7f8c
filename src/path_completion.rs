//! Completion for the path field (offered when no file dialog can open): from what is typed,
//! the folder to list and the start of a name (`~/` is the home folder); from that folder's
//! entries, the candidates: folders and image files whose names start so, folders first. Hidden
//! entries only when the typed name starts with a dot. Pure but for [`complete`], which lists
//! the folder (the worker calls it, off the UI thread).

use std::path::{Path, PathBuf};

/// At most this many candidates are offered.
pub const MAX_CANDIDATES: usize = 8;

/// One entry of a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub is_dir: bool,
}

/// A completion: what the list shows and what the field then holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The entry's name, with a `/` after a folder.
    pub label: String,
    /// The whole field's text after choosing it (as typed up to the name: `~/` stays `~/`).
    pub text: String,
}

/// What is typed, split into the folder to list, the typed text up to the name (kept as it is
/// written), and the start of the name. `None` for text that is not an absolute or `~/` path.
pub fn split(typed: &str, home: Option<&Path>) -> Option<(PathBuf, String, String)> {
    let (head, name) = match typed.rfind('/') {
        Some(i) => (&typed[..=i], &typed[i + 1..]),
        None if typed == "~" => ("~/", ""),
        None => return None,
    };
    let dir = if let Some(rest) = head.strip_prefix("~/") {
        home?.join(rest)
    } else if head.starts_with('/') {
        PathBuf::from(head)
    } else {
        return None;
    };
    Some((dir, head.to_owned(), name.to_owned()))
}

/// The candidates among `entries` of the folder typed up to `head`, for a name starting with
/// `name`: folders, and files with an image extension (`is_image`), whose names start with it
/// (case-insensitively when nothing matches exactly); folders first, then by name.
pub fn candidates(
    head: &str,
    name: &str,
    entries: &[DirEntry],
    is_image: impl Fn(&str) -> bool,
) -> Vec<Candidate> {
    let shown = |e: &&DirEntry| {
        (e.is_dir || is_image(&e.name)) && (name.starts_with('.') || !e.name.starts_with('.'))
    };
    let mut matched: Vec<&DirEntry> = entries
        .iter()
        .filter(shown)
        .filter(|e| e.name.starts_with(name))
        .collect();
    if matched.is_empty() {
        let lower = name.to_lowercase();
        matched = entries
            .iter()
            .filter(shown)
            .filter(|e| e.name.to_lowercase().starts_with(&lower))
            .collect();
    }
    matched.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.cmp(&b.name)));
    matched
        .into_iter()
        .take(MAX_CANDIDATES)
        .map(|e| {
            let slash = if e.is_dir { "/" } else { "" };
            Candidate {
                label: format!("{}{slash}", e.name),
                text: format!("{head}{}{slash}", e.name),
            }
        })
        .collect()
}

/// What Tab puts in the field: the one candidate, or the longest start all candidates share
/// when that is longer than what is typed; `None` when it would add nothing.
pub fn tab_completion(typed: &str, candidates: &[Candidate]) -> Option<String> {
    let first = candidates.first()?;
    let mut common = first.text.as_str();
    for c in &candidates[1..] {
        let shared = common
            .char_indices()
            .zip(c.text.chars())
            .find(|((_, a), b)| a != b)
            .map_or(common.len().min(c.text.len()), |((i, _), _)| i);
        common = &common[..shared];
    }
    (common.len() > typed.len()).then(|| common.to_owned())
}

/// Lists the folder `typed` points into and returns its candidates (empty when the text is not
/// a path or the folder cannot be read).
pub fn complete(
    typed: &str,
    home: Option<&Path>,
    is_image: impl Fn(&str) -> bool,
) -> Vec<Candidate> {
    let Some((dir, head, name)) = split(typed, home) else {
        return Vec::new();
    };
    let Ok(read) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let entries: Vec<DirEntry> = read
        .filter_map(Result::ok)
        .take(10_000) // a huge folder: enough to complete from, bounded
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            // Follows links: a link to a folder completes as a folder.
            let is_dir = std::fs::metadata(e.path()).is_ok_and(|m| m.is_dir());
            Some(DirEntry { name, is_dir })
        })
        .collect();
    candidates(&head, &name, &entries, is_image)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(name: &str) -> bool {
        name.ends_with(".jpg") || name.ends_with(".png")
    }

    fn labels(c: &[Candidate]) -> Vec<&str> {
        c.iter().map(|c| c.label.as_str()).collect()
    }

    #[test]
    fn splits_what_is_typed() {
        let home = Path::new("/home/me");
        assert_eq!(
            split("/home/me/Pic", Some(home)),
            Some((PathBuf::from("/home/me/"), "/home/me/".into(), "Pic".into()))
        );
        assert_eq!(
            split("~/Pictures/ph", Some(home)),
            Some((
                PathBuf::from("/home/me/Pictures/"),
                "~/Pictures/".into(),
                "ph".into()
            ))
        );
        assert_eq!(
            split("~", Some(home)),
            Some((PathBuf::from("/home/me/"), "~/".into(), String::new()))
        );
        assert_eq!(split("~/x", None), None, "no home known");
        assert_eq!(split("photo.jpg", Some(home)), None, "relative");
        assert_eq!(split("", Some(home)), None);
    }

    #[test]
    fn completes_from_a_real_folder_with_the_home_expanded() {
        let home = tempfile::tempdir().expect("dir");
        let pics = home.path().join("Pictures");
        std::fs::create_dir_all(pics.join("phone backup")).expect("mkdir");
        std::fs::create_dir_all(pics.join(".thumbnails")).expect("mkdir");
        for f in [
            "photo 1.jpg",
            "photo 2.png",
            "photos.txt",
            "Phantom.PNG.png",
            ".hidden.jpg",
        ] {
            std::fs::write(pics.join(f), b"x").expect("write");
        }
        let got = complete("~/Pictures/ph", Some(home.path()), image);
        assert_eq!(
            labels(&got),
            ["phone backup/", "photo 1.jpg", "photo 2.png"],
            "folders first, then images; not the text file; case-sensitive while it matches"
        );
        assert_eq!(
            got[0].text, "~/Pictures/phone backup/",
            "typed as it was written"
        );
        assert_eq!(
            labels(&complete("~/Pictures/PH", Some(home.path()), image)),
            [
                "phone backup/",
                "Phantom.PNG.png",
                "photo 1.jpg",
                "photo 2.png"
            ],
            "nothing starts with PH exactly: case-insensitive"
        );
        assert_eq!(
            labels(&complete("~/Pictures/.", Some(home.path()), image)),
            [".thumbnails/", ".hidden.jpg"],
            "hidden entries only when a dot is typed"
        );
        let absolute = format!("{}/Pic", home.path().display());
        let got = complete(&absolute, None, image);
        assert_eq!(labels(&got), ["Pictures/"]);
        assert_eq!(got[0].text, format!("{}/Pictures/", home.path().display()));
        assert!(complete("~/nope/x", Some(home.path()), image).is_empty());
        assert!(complete("relative/x", Some(home.path()), image).is_empty());
    }

    #[test]
    fn tab_takes_the_one_candidate_or_the_shared_start() {
        let c = |t: &str| Candidate {
            label: String::new(),
            text: t.to_owned(),
        };
        assert_eq!(
            tab_completion("/p/ph", &[c("/p/photo 1.jpg"), c("/p/photo 2.png")]),
            Some("/p/photo ".to_owned())
        );
        assert_eq!(
            tab_completion("/p/ph", &[c("/p/phone/")]),
            Some("/p/phone/".to_owned())
        );
        assert_eq!(
            tab_completion("/p/photo ", &[c("/p/photo 1.jpg"), c("/p/photo 2.png")]),
            None,
            "nothing to add"
        );
        assert_eq!(tab_completion("/p/x", &[]), None);
        assert_eq!(
            tab_completion("/p/é", &[c("/p/éa"), c("/p/éb")]),
            None,
            "cut on a character boundary"
        );
    }
}
