//! The worker's GroupMe jobs, each a task on the runtime (nothing blocks the UI): the places a
//! picture can go (groups, direct chats, bots: read from the cache in the data directory, or
//! fetched and cached atomically), sending a picture or making it the avatar (first uploaded to
//! GroupMe's Image Service when its URL is not on GroupMe's CDN), and who the token belongs to.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Event, Outbox};
use crate::app::groupme::{DeliveryState, Place, PlaceKind, Places};
use crate::client::{Client, ClientConfig, Options};
use crate::files::now_secs;
use crate::groupme::{ApiClient, ApiConfig, Destination, Outgoing, PictureUrl, Sent};
use crate::token::Token;

/// Where the GroupMe jobs call, set once when the worker starts.
#[derive(Debug, Clone)]
pub struct GroupMeSetup {
    /// The GroupMe API v3 base (`GM_API_ENDPOINT`, else GroupMe's).
    pub api_endpoint: String,
    /// GroupMe's Image Service, for pictures that are not on its CDN yet.
    pub image_endpoint: String,
    /// The places cache file.
    pub places_cache: PathBuf,
    /// Use the system's proxy settings (off in tests).
    pub system_proxy: bool,
}

/// Where a picture's bytes are, when it must be uploaded to GroupMe first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PictureFile {
    Path(PathBuf),
    /// A pasted picture, held in memory.
    Bytes(Arc<Vec<u8>>),
}

/// A picture to send: its URL, and its bytes' whereabouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picture {
    pub url: String,
    pub file: Option<PictureFile>,
}

/// What a delivery does to its picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deed {
    Send {
        to: Destination,
        text: String,
        /// Kept for every attempt and Retry: GroupMe drops a repeat (409).
        source_guid: String,
    },
    Avatar,
}

/// One delivery's work; a Retry runs the same value again (same text, same guid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub deed: Deed,
    pub picture: Picture,
}

/// What the app asks of GroupMe.
#[derive(Debug)]
pub enum GroupMeCommand {
    /// The cached places, or GroupMe's when `refresh` or none are cached. `account` is the
    /// key of the account whose token it is: each has its own cache.
    LoadPlaces {
        token: Token,
        refresh: bool,
        account: String,
    },
    /// Run deliveries one after the other, in this order (several selected pictures arrive
    /// in the order picked, the text with the first).
    Run { token: Token, jobs: Vec<(u64, Job)> },
    /// `GET /users/me`.
    WhoAmI(Token),
}

/// What GroupMe answered.
#[derive(Debug)]
pub enum GroupMeEvent {
    Places(Result<Places, String>),
    /// A delivery moved on; `job` is its new form when the picture was uploaded (the GroupMe
    /// URL replaces the other one, so a Retry does not upload again).
    Delivery {
        id: u64,
        state: DeliveryState,
        job: Option<Job>,
    },
    /// My name, or why it is not known.
    Me(Result<String, String>),
}

/// Starts `command` on the runtime.
pub fn handle(setup: &GroupMeSetup, out: Outbox, command: GroupMeCommand) {
    let setup = setup.clone();
    tokio::spawn(async move {
        let tell = |event| out.send(Event::GroupMe(event));
        match command {
            GroupMeCommand::LoadPlaces {
                token,
                refresh,
                account,
            } => {
                let cache = crate::app::groupme::account_cache(&setup.places_cache, &account);
                tell(GroupMeEvent::Places(
                    load_places(&setup, &cache, token, refresh).await,
                ));
            }
            GroupMeCommand::WhoAmI(token) => {
                tell(GroupMeEvent::Me(match api(&setup, Some(token)) {
                    Ok(api) => api.me().await.map(|me| me.name).map_err(|e| e.to_string()),
                    Err(e) => Err(e),
                }))
            }
            GroupMeCommand::Run { token, jobs } => {
                for (id, job) in jobs {
                    tell(run(&setup, &out, id, token.clone(), job).await);
                }
            }
        }
    });
}

fn api(setup: &GroupMeSetup, token: Option<Token>) -> Result<ApiClient, String> {
    let mut config = ApiConfig::new(&setup.api_endpoint, token).map_err(|e| e.to_string())?;
    config.system_proxy = setup.system_proxy;
    ApiClient::new(config).map_err(|e| e.to_string())
}

async fn load_places(
    setup: &GroupMeSetup,
    cache: &Path,
    token: Token,
    refresh: bool,
) -> Result<Places, String> {
    if !refresh && let Some(cached) = read_cache(cache).await {
        return Ok(cached);
    }
    let api = api(setup, Some(token))?;
    let (groups, chats, bots) = tokio::join!(api.groups(), api.chats(), api.bots());
    let mut places: Vec<Place> = Vec::new();
    places.extend(
        groups
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|g| Place {
                kind: PlaceKind::Group,
                id: g.id,
                name: g.name,
            }),
    );
    places.extend(
        chats
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|c| Place {
                kind: PlaceKind::Direct,
                id: c.user_id,
                name: c.name,
            }),
    );
    places.extend(bots.map_err(|e| e.to_string())?.into_iter().map(|b| Place {
        kind: PlaceKind::Bot,
        id: b.bot_id,
        name: b.name,
    }));
    let places = Places {
        fetched_at: now_secs(),
        places,
    };
    let path = cache.to_owned();
    let json = serde_json::to_vec_pretty(&places).map_err(|e| e.to_string())?;
    let written =
        tokio::task::spawn_blocking(move || crate::files::write_atomic(&path, &json)).await;
    if !matches!(written, Ok(Ok(()))) {
        // The list is usable all the same; the next start asks GroupMe again.
        tracing::warn!("the GroupMe places were not cached");
    }
    Ok(places)
}

/// The cached places; a missing or damaged cache is no cache.
async fn read_cache(path: &Path) -> Option<Places> {
    let bytes = tokio::fs::read(path).await.ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Runs one delivery: uploads the picture to GroupMe first when it must, then sends it or makes
/// it the avatar.
async fn run(setup: &GroupMeSetup, out: &Outbox, id: u64, token: Token, job: Job) -> GroupMeEvent {
    let failed = |reason: String, job: Option<Job>| GroupMeEvent::Delivery {
        id,
        state: DeliveryState::Failed(reason),
        job,
    };
    let Job { deed, picture } = job;
    let (url, uploaded) = match PictureUrl::groupme(&picture.url) {
        Ok(url) => (url, None),
        Err(_) => match upload_first(setup, &token, &picture).await {
            Ok(url) => {
                let moved = Job {
                    deed: deed.clone(),
                    picture: Picture {
                        url: url.to_string(),
                        file: picture.file.clone(),
                    },
                };
                out.send(Event::GroupMe(GroupMeEvent::Delivery {
                    id,
                    state: DeliveryState::Sending,
                    job: Some(moved.clone()),
                }));
                (url, Some(moved))
            }
            Err(reason) => return failed(reason, None),
        },
    };
    let api = match api(setup, Some(token)) {
        Ok(api) => api,
        Err(e) => return failed(e, uploaded),
    };
    let result = match deed {
        Deed::Send {
            to,
            text,
            source_guid,
        } => {
            let message = Outgoing {
                to,
                text,
                picture: url,
                source_guid,
            };
            api.send(&message).await.map(|sent| DeliveryState::Sent {
                again: sent == Sent::AlreadyPosted,
            })
        }
        Deed::Avatar => api
            .set_avatar(&url)
            .await
            .map(|_| DeliveryState::Sent { again: false }),
    };
    match result {
        Ok(state) => GroupMeEvent::Delivery {
            id,
            state,
            job: uploaded,
        },
        Err(e) => failed(e.to_string(), uploaded),
    }
}

/// Uploads a picture that is not on GroupMe's CDN to GroupMe's Image Service, from its file or
/// pasted bytes.
async fn upload_first(
    setup: &GroupMeSetup,
    token: &Token,
    picture: &Picture,
) -> Result<PictureUrl, String> {
    let not_on_cdn = "is not on GroupMe's CDN and must be uploaded to GroupMe first";
    let Some(file) = &picture.file else {
        return Err(format!(
            "{} {not_on_cdn}, but its file is not known here: upload the file again",
            picture.url
        ));
    };
    let mut config =
        ClientConfig::new(&setup.image_endpoint, token.clone()).map_err(|e| e.to_string())?;
    config.system_proxy = setup.system_proxy;
    let client = Client::new(config).map_err(|e| e.to_string())?;
    let options = Options::default();
    let uploaded = match file {
        PictureFile::Path(path) => {
            if !tokio::fs::try_exists(path).await.unwrap_or(false) {
                return Err(format!(
                    "the picture {not_on_cdn}, but its file {} is gone",
                    path.display()
                ));
            }
            client.upload_file(path, &options).await
        }
        PictureFile::Bytes(bytes) => {
            client
                .upload_bytes(bytes::Bytes::from(bytes.as_ref().clone()), &options)
                .await
        }
    };
    uploaded
        .map(|u| PictureUrl::uploaded(&u))
        .map_err(|e| format!("uploading to GroupMe first failed: {e}"))
}
