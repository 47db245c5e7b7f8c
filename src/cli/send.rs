//! `groupme-uploader send`: puts pictures into a group, a direct chat or a bot's group. What is
//! not on GroupMe's CDN yet is uploaded first (files) or mirrored (links); then one message per
//! picture, in the order given, the text with the first one sent.

use std::process::ExitCode;

use super::args::{ApiArg, BeforeUploadArgs, NO_TOKEN, ServiceArgs, TokenArg};
use super::upload::{in_order, progress_bars, upload_one};
use crate::client::{Client, UploadError};
use crate::groupme::{ApiClient, ApiError, Destination, Outgoing, PictureUrl, Sent, check_text};

/// Arguments of `send`.
#[derive(Debug, clap::Args)]
#[command(group(
    clap::ArgGroup::new("destination")
        .required(true)
        .args(["group", "dm", "bot"])
))]
pub struct SendArgs {
    /// Send to this group (`chats` lists the ids).
    #[arg(long, value_name = "ID")]
    pub group: Option<String>,
    /// Send as a direct message to this user.
    #[arg(long, value_name = "USER_ID")]
    pub dm: Option<String>,
    /// Post as this bot, in its group (needs no token when every picture is on GroupMe's CDN).
    #[arg(long, value_name = "BOT_ID")]
    pub bot: Option<String>,
    /// Text sent with the first picture (at most 1000 characters).
    #[arg(long, default_value = "")]
    pub text: String,
    /// Print one JSON object per line: the picture URL and the message id (or the bot's 202).
    #[arg(long)]
    pub json: bool,
    // The Image Service is asked only for the pictures not on GroupMe's CDN yet; `--attempts`
    // counts API calls too.
    #[command(flatten)]
    pub service: ServiceArgs,
    #[command(flatten)]
    pub api: ApiArg,
    #[command(flatten)]
    pub token: TokenArg,
    #[command(flatten)]
    pub before_upload: BeforeUploadArgs,
    /// Image files, image links, or URLs already on GroupMe's CDN (sent as they are).
    #[arg(required = true, value_name = "FILE|URL")]
    pub items: Vec<String>,
}

/// One line of `--json` output.
#[derive(Debug, serde::Serialize)]
struct JsonLine<'a> {
    source: &'a str,
    picture_url: String,
    /// Whether this run uploaded it (false: it was on GroupMe's CDN already).
    uploaded: bool,
    kind: &'static str,
    id: &'a str,
    /// `posted` (201), `already_posted` (409: an earlier attempt went) or `accepted` (a bot's 202).
    status: &'static str,
    message_id: Option<&'a str>,
    /// For a file this run uploaded: bytes sent, and the file's own size (they differ when a
    /// before-upload option applied); `null` otherwise.
    sent_bytes: Option<u64>,
    original_bytes: Option<u64>,
}

/// A picture ready to send, and whether this run uploaded it.
struct Ready {
    picture: PictureUrl,
    uploaded: bool,
    /// (bytes sent, bytes of the file) for a file this run uploaded.
    sizes: Option<(u64, u64)>,
}

/// Runs `send`; exit 0 when every picture was sent, 1 when any failed, 2 on usage errors.
pub async fn run(args: SendArgs) -> ExitCode {
    // Retries (a 429's wait, a 5xx) are said as they happen; nothing else logs at this level.
    crate::logging::init("warn");
    let usage = |message: String| {
        eprintln!("error: {message}");
        ExitCode::from(super::USAGE_ERROR)
    };
    let destination = match destination(&args) {
        Ok(d) => d,
        Err(e) => return usage(e.to_string()),
    };
    if let Err(e) = check_text(&args.text) {
        return usage(e.to_string());
    }
    let before_upload = match args.before_upload.options() {
        Ok(options) => options,
        Err(e) => return usage(e),
    };
    let token = args.token.get();
    let on_cdn: Vec<Option<PictureUrl>> = args
        .items
        .iter()
        .map(|item| PictureUrl::groupme(item).ok())
        .collect();
    let needs_upload = on_cdn.iter().any(Option::is_none);
    let needs_token = needs_upload || !matches!(destination, Destination::Bot(_));
    if needs_token && token.is_none() {
        return usage(NO_TOKEN.to_owned());
    }
    let uploader = match (needs_upload, &token) {
        (true, Some(token)) => match args.service.client(token.clone()) {
            Ok(client) => Some(client),
            Err(e) => return usage(e.to_string()),
        },
        _ => None,
    };
    let api = match args.api.client(token, args.service.attempts) {
        Ok(api) => api,
        Err(e) => return usage(e.to_string()),
    };

    let ready = resolve(&args.items, on_cdn, uploader.as_ref(), &before_upload).await;
    let mut failed = ready.iter().filter(|r| r.is_none()).count();
    if let Some(other) = ready
        .iter()
        .flatten()
        .find(|r| r.uploaded && !r.picture.is_on_groupme_cdn())
    {
        eprintln!(
            "note: GM_ENDPOINT is not GroupMe's Image Service: the messages carry its URLs ({}/…)",
            other.picture.cdn_url().base()
        );
    }

    failed += send_all(&api, &destination, &args, &ready).await;
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Sends each ready picture in order, one message each, the text with the first that goes; stops
/// at a refusal that every later send would meet too. Returns how many failed.
async fn send_all(
    api: &ApiClient,
    destination: &Destination,
    args: &SendArgs,
    ready: &[Option<Ready>],
) -> usize {
    let mut failed = 0;
    let mut text = Some(args.text.as_str()).filter(|t| !t.is_empty());
    let mut stopped: Option<String> = None;
    for (item, ready) in args.items.iter().zip(ready) {
        let Some(ready) = ready else { continue };
        if let Some(reason) = &stopped {
            failed += 1;
            eprintln!("error: {item}: not sent ({reason}){}", kept(ready));
            continue;
        }
        // The text was checked before anything was uploaded; this refusal cannot come here.
        let sent = match Outgoing::new(
            destination.clone(),
            text.unwrap_or(""),
            ready.picture.clone(),
        ) {
            Ok(message) => api.send(&message).await,
            Err(e) => Err(ApiError::from(e)),
        };
        match sent {
            Ok(sent) => {
                text = None;
                println!("{}", render(item, ready, destination, &sent, args.json));
            }
            Err(e) => {
                failed += 1;
                let unknown = if e.outcome_unknown() {
                    " (it may have been posted all the same: look before sending it again)"
                } else {
                    ""
                };
                eprintln!("error: {item}: {e}{unknown}{}", kept(ready));
                if e.ends_the_batch() {
                    stopped = Some(format!("stopped after: {e}"));
                }
            }
        }
    }
    failed
}

/// The one destination clap let through.
fn destination(args: &SendArgs) -> Result<Destination, crate::groupme::BadId> {
    match (&args.group, &args.dm, &args.bot) {
        (Some(id), _, _) => Destination::group(id),
        (_, Some(id), _) => Destination::direct(id),
        (_, _, Some(id)) => Destination::bot(id),
        // clap requires exactly one; an empty id says what is wrong all the same.
        (None, None, None) => Destination::group(""),
    }
}

/// Each item's picture, in order: as it is when on GroupMe's CDN, else uploaded (files) or
/// mirrored (links), three at a time. A failure is reported here and leaves `None`.
async fn resolve(
    items: &[String],
    on_cdn: Vec<Option<PictureUrl>>,
    uploader: Option<&Client>,
    before_upload: &crate::downscale::BeforeUpload,
) -> Vec<Option<Ready>> {
    let bars = progress_bars();
    let tasks = items.iter().zip(on_cdn).map(|(item, picture)| {
        let bars = &bars;
        async move {
            if let Some(picture) = picture {
                return Ok(Ready {
                    picture,
                    uploaded: false,
                    sizes: None,
                });
            }
            // Never hit: `run` makes the client whenever an item is not on the CDN.
            let Some(client) = uploader else {
                return Err(UploadError::Cancelled);
            };
            upload_one(client, item, before_upload, bars)
                .await
                .map(|done| Ready {
                    picture: PictureUrl::uploaded(&done.uploaded),
                    uploaded: true,
                    sizes: done.sizes,
                })
        }
    });
    let results = in_order(tasks, 3).await;
    bars.clear().ok();
    items
        .iter()
        .zip(results)
        .map(|(item, result)| match result {
            Ok(ready) => Some(ready),
            Err(UploadError::File(e)) => {
                eprintln!("error: {e}");
                None
            }
            Err(e) => {
                let what = if crate::jobs::is_web_url(item) {
                    "mirroring"
                } else {
                    "uploading"
                };
                eprintln!("error: {item}: {what} failed: {e}");
                None
            }
        })
        .collect()
}

/// Where an uploaded picture that was not sent can still be found.
fn kept(ready: &Ready) -> String {
    if ready.uploaded {
        format!(" (uploaded as {})", ready.picture)
    } else {
        String::new()
    }
}

fn render(source: &str, ready: &Ready, to: &Destination, sent: &Sent, json: bool) -> String {
    if json {
        let line = JsonLine {
            source,
            picture_url: ready.picture.to_string(),
            uploaded: ready.uploaded,
            kind: to.kind(),
            id: to.id(),
            status: match sent {
                Sent::Posted { .. } => "posted",
                Sent::AlreadyPosted => "already_posted",
                Sent::Accepted => "accepted",
            },
            message_id: sent.message_id(),
            sent_bytes: ready.sizes.map(|s| s.0),
            original_bytes: ready.sizes.map(|s| s.1),
        };
        return serde_json::to_string(&line).unwrap_or_default();
    }
    let what = match sent {
        Sent::Posted {
            message_id: Some(id),
        } => format!("sent to {to} (message {id})"),
        Sent::Posted { message_id: None } => format!("sent to {to}"),
        Sent::AlreadyPosted => format!("sent to {to} (by an earlier attempt)"),
        Sent::Accepted => format!("accepted by {to} (202)"),
    };
    format!("{}\t{what}", ready.picture)
}
