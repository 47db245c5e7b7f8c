//! `groupme-uploader upload`: files are uploaded, `http(s)://` arguments mirrored, results on
//! stdout one line per item, failures on stderr.

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt as _;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::args::{BeforeUploadArgs, NO_TOKEN, ServiceArgs, TokenArg};
use crate::cdn_url::Format;
use crate::client::{Client, Event, Options, UploadError, Uploaded};
use crate::downscale::BeforeUpload;
use crate::probe::ImageInfo;
use crate::reencode::Outcome;
use crate::snippet::Snippet;

/// Arguments of `upload`.
#[derive(Debug, clap::Args)]
pub struct UploadArgs {
    #[command(flatten)]
    pub service: ServiceArgs,
    #[command(flatten)]
    pub token: TokenArg,
    #[command(flatten)]
    pub before_upload: BeforeUploadArgs,
    /// Print one JSON object per line instead of plain lines.
    #[arg(long)]
    pub json: bool,
    /// How to write each URL.
    #[arg(long, value_enum, default_value_t = Snippet::Plain)]
    pub format: Snippet,
    /// Items uploaded at once.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub concurrency: u16,
    /// Image files to upload and http(s) URLs to mirror.
    #[arg(required = true, value_name = "FILE|URL")]
    pub items: Vec<String>,
}

/// One line of `--json` output.
#[derive(Debug, serde::Serialize)]
struct JsonLine<'a> {
    source: &'a str,
    url: String,
    picture_url: String,
    preview: String,
    large: String,
    avatar: String,
    width: Option<u32>,
    height: Option<u32>,
    format: Option<Format>,
    /// Bytes sent and the file's own size (`null` for a mirrored link: the service fetched it).
    sent_bytes: Option<u64>,
    original_bytes: Option<u64>,
}

/// One item uploaded or mirrored.
pub(super) struct Done {
    pub(super) uploaded: Uploaded,
    /// What the probe found in what was sent.
    pub(super) info: Option<ImageInfo>,
    /// For a file: (bytes sent, bytes of the file) — they differ when a before-upload option
    /// applied.
    pub(super) sizes: Option<(u64, u64)>,
}

/// Runs `upload`; exit 0 when every item succeeded, 1 when any failed, 2 on usage errors.
pub async fn run(args: UploadArgs) -> ExitCode {
    let Some(token) = args.token.get() else {
        eprintln!("error: {NO_TOKEN}");
        return ExitCode::from(super::USAGE_ERROR);
    };
    let before_upload = match args.before_upload.options() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::USAGE_ERROR);
        }
    };
    let client = match args.service.client(token) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::USAGE_ERROR);
        }
    };
    let bars = progress_bars();
    let uploads = args
        .items
        .iter()
        .map(|item| upload_one(&client, item, &before_upload, &bars));
    let results = in_order(uploads, usize::from(args.concurrency)).await;
    bars.clear().ok();
    let mut failed = 0usize;
    for (item, result) in args.items.iter().zip(results) {
        match result {
            Ok(done) => println!("{}", render(item, &done, &args)),
            Err(UploadError::File(e)) => {
                failed += 1;
                eprintln!("error: {e}");
            }
            Err(e) => {
                failed += 1;
                eprintln!("error: {item}: {e}");
            }
        }
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Progress bars on stderr when it is a terminal; drawn nowhere otherwise.
pub(super) fn progress_bars() -> MultiProgress {
    if std::io::stderr().is_terminal() {
        MultiProgress::new()
    } else {
        MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
    }
}

/// Runs `tasks`, `limit` at a time, and returns their results in the order given. Unordered
/// while they run, so a slow one never holds a free slot (`buffered` starts the next only once
/// the oldest ends).
pub(super) async fn in_order<T>(
    tasks: impl IntoIterator<Item = impl Future<Output = T>>,
    limit: usize,
) -> Vec<T> {
    let mut results = futures_util::stream::iter(tasks.into_iter().enumerate())
        .map(|(i, task)| async move { (i, task.await) })
        .buffer_unordered(limit)
        .collect::<Vec<_>>()
        .await;
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// Uploads a file (after the before-upload options) or mirrors a link, with a progress bar.
pub(super) async fn upload_one(
    client: &Client,
    item: &str,
    before_upload: &BeforeUpload,
    bars: &MultiProgress,
) -> Result<Done, UploadError> {
    let bar = bars.add(ProgressBar::new(0));
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:.bold} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(short_name(item));
    let info = Arc::new(Mutex::new(None));
    let observer = {
        let (bar, info) = (bar.clone(), info.clone());
        Arc::new(move |event: Event| match event {
            Event::Probed(i) => {
                if let Ok(mut slot) = info.lock() {
                    *slot = Some(i);
                }
            }
            Event::Progress { sent, total } => {
                bar.set_length(total);
                bar.set_position(sent);
            }
            Event::Retrying {
                attempt,
                of,
                delay,
                reason,
            } => bar.set_message(format!(
                "retry {attempt}/{of} in {:.1}s: {reason}",
                delay.as_secs_f32()
            )),
        })
    };
    let options = Options {
        observer: Some(observer),
        ..Options::default()
    };
    let result = if crate::jobs::is_web_url(item) {
        client.mirror(item, &options).await.map(|u| (u, None))
    } else {
        upload_path(client, std::path::Path::new(item), before_upload, &options).await
    };
    bar.finish_and_clear();
    let info = info.lock().ok().and_then(|slot| *slot);
    result.map(|(uploaded, sizes)| Done {
        uploaded,
        info,
        sizes,
    })
}

/// Streams the file from disk when no option is on; else reads it, applies the options (off the
/// async threads) and sends the result, or the file as it is when nothing applied (a GIF, a
/// small picture). Returns the sizes sent and read.
async fn upload_path(
    client: &Client,
    path: &std::path::Path,
    before_upload: &BeforeUpload,
    options: &Options,
) -> Result<(Uploaded, Option<(u64, u64)>), UploadError> {
    if !before_upload.is_on() {
        let uploaded = client.upload_file(path, options).await?;
        let len = tokio::fs::metadata(path).await.map(|m| m.len()).ok();
        return Ok((uploaded, len.map(|l| (l, l))));
    }
    // The probe first: a folder, an unreadable file or a non-image says so in its usual words.
    let owned = path.to_owned();
    tokio::task::spawn_blocking(move || crate::probe::probe_file(&owned))
        .await
        .map_err(|e| UploadError::Network(format!("probe task failed: {e}")))??;
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|source| crate::probe::FileProbeError::Io {
            path: path.to_owned(),
            source,
        })?;
    let original = bytes.len() as u64;
    let wanted = *before_upload;
    let (bytes, outcome) = tokio::task::spawn_blocking(move || {
        let outcome = crate::reencode::apply(&bytes, &wanted);
        (bytes, outcome)
    })
    .await
    .map_err(|e| UploadError::Network(format!("shrink task failed: {e}")))?;
    let send = match outcome? {
        Outcome::Reduced(r) => r.bytes,
        Outcome::Unchanged | Outcome::KeptAnimation => bytes,
    };
    let sent = send.len() as u64;
    let uploaded = client.upload_bytes(send, options).await?;
    Ok((uploaded, Some((sent, original))))
}

fn short_name(item: &str) -> String {
    let name = item.rsplit(['/', '\\']).next().unwrap_or(item);
    let mut short: String = name.chars().take(24).collect();
    if name.chars().count() > 24 {
        short.push('…');
    }
    short
}

fn render(source: &str, done: &Done, args: &UploadArgs) -> String {
    let (uploaded, info) = (&done.uploaded, done.info);
    let url = &uploaded.url;
    if !args.json {
        return args.format.render(&url.to_string());
    }
    let (width, height) = url
        .dimensions()
        .or(info.map(|i| (i.width, i.height)))
        .unzip();
    let line = JsonLine {
        source,
        url: url.to_string(),
        picture_url: uploaded.picture_url.to_string(),
        preview: url.preview().to_string(),
        large: url.large().to_string(),
        avatar: url.avatar().to_string(),
        width,
        height,
        format: url.format().or(info.map(|i| i.format)),
        sent_bytes: done.sizes.map(|s| s.0),
        original_bytes: done.sizes.map(|s| s.1),
    };
    serde_json::to_string(&line).unwrap_or_default()
}
