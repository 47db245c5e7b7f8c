//! One window per person and data directory. The first launch listens on a Unix socket; a later
//! launch (a terminal, a launcher, a file manager's "Open with") connects, hands over its files
//! and URLs, and exits; the first window queues them like a drop and raises itself.
//!
//! - Where: `$XDG_RUNTIME_DIR/groupme-uploader/window-<id>.sock`, else `<data dir>/run/…`; `<id>`
//!   is made from the data directory's path, so a `--data-dir` instance (a test's) has its own
//!   socket and never talks to the person's window.
//! - Who: the directory is made mode 0700 and the socket 0600, and the listener also checks the
//!   peer's user id: no other user can inject files.
//! - Stale: a socket left by a crashed run refuses connections; it is removed and bound afresh.
//!   A lock file held while claiming keeps two launches at once from both binding.
//! - Protocol: one line of JSON each way. The sender resolves relative paths against its own
//!   working directory ([`resolve`]); the receiver takes absolute paths and web URLs only.

use std::io::{BufRead as _, Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, PermissionsExt as _};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::Digest as _;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};

/// The longest request line accepted (a few thousand paths).
pub const MAX_REQUEST: usize = 1 << 20;

/// How long either side waits for the other's line.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(5);

/// What went wrong while claiming the window or talking to it.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    #[error("cannot prepare {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot listen on {path}: {source}")]
    Bind {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the open window did not answer: {0}")]
    NoAnswer(std::io::Error),
    #[error("the open window answered something unexpected: {0}")]
    BadAnswer(String),
    #[error("bad request: {0}")]
    BadRequest(String),
}

/// What one launch asks of the open window.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Request {
    /// Absolute paths and web URLs to queue; empty just raises the window.
    pub open: Vec<String>,
}

/// The open window's answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reply {
    /// How many items it took.
    pub queued: usize,
}

/// The request as one line (JSON, then `\n`).
pub fn encode(request: &Request) -> Vec<u8> {
    let mut line = serde_json::to_vec(request).unwrap_or_default();
    line.push(b'\n');
    line
}

/// Reads a request line; keeps absolute paths and web URLs, drops anything else (a relative
/// path means nothing in the receiver's working directory).
pub fn decode(line: &[u8]) -> Result<Request, InstanceError> {
    if line.len() > MAX_REQUEST {
        return Err(InstanceError::BadRequest("too long".into()));
    }
    let request: Request =
        serde_json::from_slice(line).map_err(|e| InstanceError::BadRequest(e.to_string()))?;
    Ok(Request {
        open: request
            .open
            .into_iter()
            .filter(|s| crate::jobs::is_web_url(s) || Path::new(s).is_absolute())
            .collect(),
    })
}

/// The sender's side of "relative paths are resolved by the sender": web URLs as they are,
/// paths made absolute against `cwd` (not canonicalised: a missing file is reported by the
/// window like any other).
pub fn resolve(items: &[String], cwd: &Path) -> Vec<String> {
    items
        .iter()
        .map(|item| {
            if crate::jobs::is_web_url(item) || Path::new(item).is_absolute() {
                item.clone()
            } else {
                cwd.join(item).to_string_lossy().into_owned()
            }
        })
        .collect()
}

/// The socket for the window using `data_dir`: in `runtime_dir` (`$XDG_RUNTIME_DIR`) when
/// there is one, else under the data directory.
pub fn socket_path(data_dir: &Path, runtime_dir: Option<&Path>) -> PathBuf {
    let absolute = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_owned());
    let digest = sha2::Sha256::digest(absolute.as_os_str().as_encoded_bytes());
    let name = format!("window-{}.sock", hex::encode(&digest[..8]));
    match runtime_dir {
        Some(run) => run.join("groupme-uploader").join(name),
        None => data_dir.join("run").join(name),
    }
}

/// The outcome of [`claim`].
#[derive(Debug)]
pub enum Claim {
    /// No window was open: this launch opens it and serves this listener.
    First(Listener),
    /// A window was open and took the items.
    HandedOver(Reply),
}

/// The first window's socket; removed when dropped.
#[derive(Debug)]
pub struct Listener {
    listener: UnixListener,
    path: PathBuf,
    /// The owner of the socket directory: this user. Peers must be it too.
    uid: u32,
}

impl Drop for Listener {
    fn drop(&mut self) {
        std::fs::remove_file(&self.path).ok();
    }
}

/// Makes `dir` (and its parents) and sets it to 0700; the mode change fails unless this user
/// owns it, so a directory someone else made is refused.
fn private_dir(dir: &Path) -> Result<u32, InstanceError> {
    let err = |source| InstanceError::Dir {
        path: dir.to_owned(),
        source,
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(err)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(err)?;
    Ok(std::fs::metadata(dir).map_err(err)?.uid())
}

/// Opens the window's socket, or hands `items` (already [`resolve`]d) to the window that holds
/// it. A socket nobody listens on (a crashed run's) is replaced.
pub fn claim(path: &Path, items: &[String]) -> Result<Claim, InstanceError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let uid = private_dir(dir)?;
    // Held until this launch has bound or handed over: two launches at once cannot both find
    // the socket stale and both bind.
    let lock = std::fs::File::create(path.with_extension("lock")).map_err(|source| {
        InstanceError::Dir {
            path: dir.to_owned(),
            source,
        }
    })?;
    lock.lock().map_err(|source| InstanceError::Dir {
        path: dir.to_owned(),
        source,
    })?;
    match UnixStream::connect(path) {
        Ok(stream) => return hand_over(stream, items).map(Claim::HandedOver),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound
            ) =>
        {
            // No one listens: a crashed run's socket, or none.
            std::fs::remove_file(path).ok();
        }
        Err(source) => {
            return Err(InstanceError::Bind {
                path: path.to_owned(),
                source,
            });
        }
    }
    let bind_err = |source| InstanceError::Bind {
        path: path.to_owned(),
        source,
    };
    let listener = UnixListener::bind(path).map_err(bind_err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(bind_err)?;
    Ok(Claim::First(Listener {
        listener,
        path: path.to_owned(),
        uid,
    }))
}

/// The later launch's side: send the request, wait (bounded) for the answer.
fn hand_over(mut stream: UnixStream, items: &[String]) -> Result<Reply, InstanceError> {
    stream
        .set_read_timeout(Some(EXCHANGE_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(EXCHANGE_TIMEOUT)))
        .and_then(|()| {
            stream.write_all(&encode(&Request {
                open: items.to_vec(),
            }))
        })
        .map_err(InstanceError::NoAnswer)?;
    let mut line = Vec::new();
    std::io::BufReader::new(stream.take(4096))
        .read_until(b'\n', &mut line)
        .map_err(InstanceError::NoAnswer)?;
    serde_json::from_slice(&line)
        .map_err(|_| InstanceError::BadAnswer(String::from_utf8_lossy(&line).into_owned()))
}

impl Listener {
    /// Where it listens.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Answers launches until the runtime stops: each request's items go to `open` (called on
    /// the runtime; it must not block). Connections from another user are dropped unread.
    pub async fn serve<F>(self, open: F)
    where
        F: Fn(Vec<String>) + Send + Sync + 'static,
    {
        let open = std::sync::Arc::new(open);
        let listener = match self
            .listener
            .try_clone()
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .and_then(tokio::net::UnixListener::from_std)
        {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("the window's socket cannot be served: {e}");
                return;
            }
        };
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, say: back off instead of spinning.
                    tracing::warn!("the window's socket: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            let same_user = stream.peer_cred().is_ok_and(|c| c.uid() == self.uid);
            if !same_user {
                continue;
            }
            let open = open.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(EXCHANGE_TIMEOUT, answer(stream, open.as_ref())).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::warn!("a launch's hand-over failed: {e}"),
                    Err(_) => tracing::warn!("a launch's hand-over timed out"),
                }
            });
        }
    }
}

/// Reads one request, passes its items on, answers how many were taken.
async fn answer(
    stream: tokio::net::UnixStream,
    open: &(dyn Fn(Vec<String>) + Send + Sync),
) -> Result<(), InstanceError> {
    let (read, mut write) = stream.into_split();
    let mut line = Vec::new();
    tokio::io::BufReader::new(read.take(MAX_REQUEST as u64 + 1))
        .read_until(b'\n', &mut line)
        .await
        .map_err(|e| InstanceError::BadRequest(e.to_string()))?;
    let request = decode(&line)?;
    let reply = Reply {
        queued: request.open.len(),
    };
    open(request.open);
    let mut out = serde_json::to_vec(&reply).unwrap_or_default();
    out.push(b'\n');
    write
        .write_all(&out)
        .await
        .map_err(|e| InstanceError::BadRequest(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_round_trips_as_one_line() {
        let request = Request {
            open: vec!["/tmp/a b.png".into(), "https://example.com/x.jpg".into()],
        };
        let line = encode(&request);
        assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        assert_eq!(line.last(), Some(&b'\n'));
        assert_eq!(decode(&line).expect("decode"), request);
    }

    #[test]
    fn the_receiver_drops_relative_paths_and_other_schemes() {
        let line = br#"{"open":["rel.png","/abs.png","file:///x.png","HTTPS://e.com/a"]}"#;
        assert_eq!(
            decode(line).expect("decode").open,
            vec!["/abs.png".to_owned(), "HTTPS://e.com/a".to_owned()]
        );
        assert!(decode(b"not json").is_err());
        assert!(decode(&vec![b' '; MAX_REQUEST + 1]).is_err());
    }

    #[test]
    fn the_sender_resolves_relative_paths_against_its_directory() {
        let items = vec![
            "pic.png".to_owned(),
            "/abs/pic.png".to_owned(),
            "http://e.com/p.gif".to_owned(),
        ];
        assert_eq!(
            resolve(&items, Path::new("/home/me/Pictures")),
            vec![
                "/home/me/Pictures/pic.png".to_owned(),
                "/abs/pic.png".to_owned(),
                "http://e.com/p.gif".to_owned()
            ]
        );
    }

    #[test]
    fn each_data_directory_has_its_own_socket() {
        let run = Path::new("/run/user/1000");
        let a = socket_path(
            Path::new("/home/me/.local/share/groupme-uploader"),
            Some(run),
        );
        let b = socket_path(Path::new("/tmp/test/data"), Some(run));
        assert_ne!(a, b);
        assert!(a.starts_with("/run/user/1000/groupme-uploader"));
        assert_eq!(
            a,
            socket_path(
                Path::new("/home/me/.local/share/groupme-uploader"),
                Some(run)
            )
        );
        let fallback = socket_path(Path::new("/tmp/test/data"), None);
        assert!(fallback.starts_with("/tmp/test/data/run"));
        assert!(a.as_os_str().len() < 100, "fits a socket address");
    }
}
