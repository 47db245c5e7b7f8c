//! The person's settings (pure data, serde), stored as JSON in the config directory, written
//! atomically. The token is not here: see `token_store`.

use std::path::{Path, PathBuf};

use crate::client::DEFAULT_ENDPOINT;
use crate::downscale::BeforeUpload;
use crate::snippet::Snippet;

/// Which service uploads go to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointChoice {
    /// GroupMe's Image Service (needs a token).
    GroupMe,
    /// The service embedded in this app, on this machine.
    Local,
    /// Any other service speaking the same API.
    Custom(String),
}

/// Everything the Settings panel edits.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    /// `None`: GroupMe when a token is known, else the local service.
    pub endpoint: Option<EndpointChoice>,
    /// Uploads running at once.
    pub concurrency: usize,
    /// Copy the links of a batch of uploads when it finishes (see `crate::batch`).
    pub auto_copy: bool,
    /// The style copied by auto-copy and "Copy all".
    pub copy_format: Snippet,
    /// Drop location and other metadata before upload (pixels untouched).
    pub strip_metadata: bool,
    /// Ask before uploading pasted content (uploads are public).
    pub confirm_paste: bool,
    /// Attempts per upload.
    pub max_attempts: u32,
    /// Shrink photos before upload (off by default; files from before it load).
    #[serde(default)]
    pub before_upload: BeforeUpload,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            endpoint: None,
            concurrency: 3,
            auto_copy: false,
            copy_format: Snippet::Plain,
            strip_metadata: true,
            confirm_paste: true,
            max_attempts: 4,
            before_upload: BeforeUpload::default(),
        }
    }
}

impl Settings {
    /// Where uploads go: the choice, or (none made) GroupMe when a token is known, else the
    /// local service.
    pub fn target(&self, has_token: bool) -> EndpointChoice {
        match &self.endpoint {
            Some(choice) => choice.clone(),
            None if has_token => EndpointChoice::GroupMe,
            None => EndpointChoice::Local,
        }
    }

    /// Loads settings; a missing or damaged file gives the defaults.
    pub fn load(path: &Path) -> Settings {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Saves atomically.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::files::write_atomic(path, &json)
    }

    /// Concurrency within sane bounds.
    pub fn concurrency(&self) -> usize {
        self.concurrency.clamp(1, 16)
    }
}

impl EndpointChoice {
    /// The endpoint URL, given the embedded service's URL.
    pub fn endpoint(&self, local_url: &str) -> String {
        match self {
            EndpointChoice::GroupMe => DEFAULT_ENDPOINT.to_owned(),
            EndpointChoice::Local => local_url.to_owned(),
            EndpointChoice::Custom(u) => u.clone(),
        }
    }
}

/// The app's directories.
#[derive(Debug, Clone)]
pub struct Dirs {
    /// History, the embedded service's pictures.
    pub data: PathBuf,
    /// Settings, the token fallback file.
    pub config: PathBuf,
    /// What can be fetched again: the History's thumbnails.
    pub cache: PathBuf,
}

impl Dirs {
    /// The user's standard directories (`~/.local/share/groupme-uploader`,
    /// `~/.config/groupme-uploader` on Linux).
    pub fn standard() -> Dirs {
        match directories::ProjectDirs::from("", "", "groupme-uploader") {
            Some(d) => Dirs {
                data: d.data_dir().to_owned(),
                config: d.config_dir().to_owned(),
                cache: d.cache_dir().to_owned(),
            },
            None => Dirs::under(Path::new("groupme-uploader-data")),
        }
    }

    /// Both directories under one root (tests, `--data-dir`).
    pub fn under(root: &Path) -> Dirs {
        Dirs {
            data: root.join("data"),
            config: root.join("config"),
            cache: root.join("cache"),
        }
    }

    pub fn history(&self) -> PathBuf {
        self.data.join("history.jsonl")
    }

    pub fn service(&self) -> PathBuf {
        self.data.join("service")
    }

    /// The History's thumbnails (`crate::thumb_cache`).
    pub fn thumbs(&self) -> PathBuf {
        self.cache.join("thumbs")
    }

    pub fn settings(&self) -> PathBuf {
        self.config.join("settings.json")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_follows_the_token() {
        let s = Settings::default();
        assert_eq!(s.target(true), EndpointChoice::GroupMe);
        assert_eq!(s.target(false), EndpointChoice::Local);
        let s = Settings {
            endpoint: Some(EndpointChoice::Local),
            ..Settings::default()
        };
        assert_eq!(s.target(true), EndpointChoice::Local);
    }

    #[test]
    fn round_trips_and_tolerates_damage() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("s.json");
        assert_eq!(Settings::load(&path), Settings::default());
        let s = Settings {
            concurrency: 5,
            endpoint: Some(EndpointChoice::Custom("http://x".into())),
            ..Settings::default()
        };
        s.save(&path).expect("save");
        assert_eq!(Settings::load(&path), s);
        std::fs::write(&path, "{ not json").expect("write");
        assert_eq!(Settings::load(&path), Settings::default());
        std::fs::write(&path, r#"{"concurrency": 7}"#).expect("write");
        assert_eq!(
            Settings::load(&path).concurrency,
            7,
            "missing fields take defaults"
        );
    }
}
