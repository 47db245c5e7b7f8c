//! Send to GroupMe from the window: where a finished picture can go (groups, direct chats, bots,
//! cached on disk), the Send to… picker's state, each send's progress ("deliveries", shown on the
//! card and the history entry with their time, a failure keeping its Retry with the same
//! `source_guid`), setting the avatar, and who the token belongs to. The calls themselves run on
//! the worker (`worker::groupme`); here the app turns actions into its commands and its events
//! into state.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::UploaderApp;
use super::worker::{
    Command, Deed, GroupMeCommand, GroupMeEvent, GroupMeJob as Job, Picture, PictureFile,
};
use crate::files::now_secs;
use crate::groupme::{BadId, Destination, MAX_TEXT_CHARS, is_groupme_cdn, new_source_guid};

/// What "no token" costs in the window, and where to add one.
pub const NO_TOKEN: &str = "Sending to GroupMe needs your GroupMe access token: add it in \
     Settings, under GroupMe access token (get yours at dev.groupme.com, Access Token).";

/// What kind of place a picture can go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlaceKind {
    Group,
    Direct,
    Bot,
}

/// A group, direct chat or bot, as the picker lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    pub kind: PlaceKind,
    /// The group id, the other person's user id, or the bot id.
    pub id: String,
    pub name: String,
}

impl Place {
    /// Where a message to it goes (the id is checked: it becomes part of a path).
    pub fn destination(&self) -> Result<Destination, BadId> {
        match self.kind {
            PlaceKind::Group => Destination::group(&self.id),
            PlaceKind::Direct => Destination::direct(&self.id),
            PlaceKind::Bot => Destination::bot(&self.id),
        }
    }

    /// How the picker and the delivery lines name it: `Family (group)`.
    pub fn label(&self) -> String {
        let kind = match self.kind {
            PlaceKind::Group => "group",
            PlaceKind::Direct => "direct chat",
            PlaceKind::Bot => "bot",
        };
        let name = if self.name.trim().is_empty() {
            self.id.as_str()
        } else {
            self.name.as_str()
        };
        format!("{name} ({kind})")
    }

    /// Whether the search text (lower case, trimmed) finds it, by name, kind or id.
    pub fn matches(&self, query: &str) -> bool {
        query.is_empty()
            || self.label().to_lowercase().contains(query)
            || self.id.to_lowercase().contains(query)
    }
}

/// The places, as cached in the data directory (`groupme-places.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Places {
    /// When GroupMe was asked (seconds since the epoch).
    pub fetched_at: u64,
    pub places: Vec<Place>,
}

/// A picture the picker sends: its URL, and its file when it came from one (needed when the URL
/// is not on GroupMe's CDN and the picture must be uploaded to GroupMe first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PictureRef {
    /// The URL the card or history entry shows; deliveries are listed under it.
    pub url: String,
    pub name: String,
    pub file: Option<PictureFile>,
}

impl PictureRef {
    /// Whether it must go to GroupMe's Image Service before it can be sent.
    pub fn needs_upload(&self) -> bool {
        !is_groupme_cdn(&self.url)
    }
}

/// One send (or avatar change) of one picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: u64,
    /// The picture's URL as the card shows it.
    pub picture: String,
    /// Where it goes, as the person picked it (`None`: the avatar).
    pub place: Option<Place>,
    /// What it does, kept for a Retry: the same text and `source_guid`.
    pub job: Job,
    pub state: DeliveryState,
    /// When it went, or last changed.
    pub at: u64,
    /// The token it went with: a Retry sends as the same account, whichever is chosen now.
    pub sender: Option<crate::token::Token>,
}

/// Where a delivery is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryState {
    /// Uploading the picture to GroupMe's Image Service first (it is on another service).
    UploadingFirst,
    Sending,
    /// It went (`again`: an earlier attempt had sent it; GroupMe answered 409).
    Sent {
        again: bool,
    },
    Failed(String),
}

impl Delivery {
    /// One line for the card: where, what happened, when.
    pub fn line(&self) -> String {
        let to = self
            .place
            .as_ref()
            .map_or_else(|| "your avatar".to_owned(), Place::label);
        let at = clock(self.at);
        match &self.state {
            DeliveryState::UploadingFirst => {
                format!("{to}: not on GroupMe's CDN, uploading to GroupMe first…")
            }
            DeliveryState::Sending => format!("{to}: sending…"),
            DeliveryState::Sent { .. } if self.place.is_none() => format!("set as {to} at {at}"),
            DeliveryState::Sent { again: false } => format!("sent to {to} at {at}"),
            DeliveryState::Sent { again: true } => {
                format!("sent to {to} at {at} (by an earlier attempt)")
            }
            DeliveryState::Failed(reason) => format!("{to}: failed at {at}: {reason}"),
        }
    }
}

/// `14:05 UTC` for a time stamp.
pub fn clock(secs: u64) -> String {
    let day = secs % 86_400;
    format!("{:02}:{:02} UTC", day / 3600, day % 3600 / 60)
}

/// The list of places: what the picker shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PlacesState {
    #[default]
    NotLoaded,
    /// Asking; the last list (if any) stays usable meanwhile.
    Loading(Option<Places>),
    Loaded(Places),
    /// The fetch failed; the last list (if any) stays usable.
    Failed {
        reason: String,
        last: Option<Places>,
    },
}

impl PlacesState {
    /// The places to pick from, if any are known.
    pub fn places(&self) -> Option<&Places> {
        match self {
            PlacesState::Loaded(p) => Some(p),
            PlacesState::Loading(last) | PlacesState::Failed { last, .. } => last.as_ref(),
            PlacesState::NotLoaded => None,
        }
    }
}

/// Who the token belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum WhoAmI {
    #[default]
    Unknown,
    Asking,
    Name(String),
    Failed(String),
}

/// The GroupMe part of [`super::Work`].
#[derive(Debug, Clone, Default)]
pub struct GroupMeWork {
    pub places: PlacesState,
    /// Every send and avatar change of this session, oldest first.
    pub deliveries: Vec<Delivery>,
    pub me: WhoAmI,
    next_delivery: u64,
    /// The cached places may be another token's: ask GroupMe, not the cache.
    refetch: bool,
}

impl GroupMeWork {
    /// Another account was chosen: its own cache holds its places.
    pub(super) fn clear_refetch(&mut self) {
        self.refetch = false;
    }

    /// The deliveries of one picture, by its URL.
    pub fn deliveries_of<'a>(&'a self, url: &'a str) -> impl Iterator<Item = &'a Delivery> + 'a {
        self.deliveries.iter().filter(move |d| d.picture == url)
    }
}

/// The Send to… picker, open: part of [`super::View`].
#[derive(Debug, Clone, Default)]
pub struct SendDialog {
    pub pictures: Vec<PictureRef>,
    pub search: String,
    pub chosen: Option<Place>,
    pub text: String,
}

impl SendDialog {
    /// Why Send cannot go yet, if it cannot.
    pub fn blocked(&self) -> Option<String> {
        let chars = self.text.chars().count();
        if chars > MAX_TEXT_CHARS {
            return Some(format!(
                "the message is {chars} characters; GroupMe takes at most {MAX_TEXT_CHARS}"
            ));
        }
        if self.chosen.is_none() {
            return Some("pick where to send it".to_owned());
        }
        None
    }
}

/// What the person asked of GroupMe.
#[derive(Debug, Clone)]
pub enum GroupMeAction {
    /// Open the picker for these pictures.
    OpenSend(Vec<PictureRef>),
    /// Ask GroupMe for the places again.
    RefreshPlaces,
    /// Send the picker's pictures to its chosen place, the text with the first.
    Send,
    Retry(u64),
    SetAvatar(PictureRef),
    /// Add a picture (by URL) to the selection, or take it out.
    ToggleSelected(String),
    /// Open the picker for the selected pictures, in the order picked.
    SendSelected,
    ClearSelection,
}

impl UploaderApp {
    pub(super) fn apply_groupme(&mut self, action: GroupMeAction) {
        match action {
            GroupMeAction::OpenSend(pictures) => {
                self.view.send = Some(SendDialog {
                    pictures,
                    ..SendDialog::default()
                });
                if matches!(
                    self.work.groupme.places,
                    PlacesState::NotLoaded | PlacesState::Failed { .. }
                ) {
                    self.load_places(self.work.groupme.refetch);
                }
            }
            GroupMeAction::RefreshPlaces => self.load_places(true),
            GroupMeAction::Send => self.send_picked(),
            GroupMeAction::Retry(id) => {
                let current = self.work.token.clone();
                let Some(d) = self.work.groupme.deliveries.iter_mut().find(|d| d.id == id) else {
                    return;
                };
                if !matches!(d.state, DeliveryState::Failed(_)) {
                    return;
                }
                let Some(token) = d.sender.clone().or(current) else {
                    self.notice(NO_TOKEN, true);
                    return;
                };
                d.state = DeliveryState::Sending;
                d.at = now_secs();
                let job = d.job.clone();
                self.send(Command::GroupMe(GroupMeCommand::Run {
                    token,
                    jobs: vec![(id, job)],
                }));
            }
            GroupMeAction::ToggleSelected(url) => {
                let selected = &mut self.view.selected;
                match selected.iter().position(|u| *u == url) {
                    Some(i) => {
                        selected.remove(i);
                    }
                    None => selected.push(url),
                }
            }
            GroupMeAction::ClearSelection => self.view.selected.clear(),
            GroupMeAction::SendSelected => {
                let pictures: Vec<PictureRef> = self
                    .view
                    .selected
                    .iter()
                    .filter_map(|url| self.picture_by_url(url))
                    .collect();
                if !pictures.is_empty() {
                    self.apply_groupme(GroupMeAction::OpenSend(pictures));
                }
            }
            GroupMeAction::SetAvatar(picture) => {
                let Some(token) = self.work.token.clone() else {
                    self.notice(NO_TOKEN, true);
                    return;
                };
                let job = self.start_delivery(picture, None, Deed::Avatar);
                self.send(Command::GroupMe(GroupMeCommand::Run {
                    token,
                    jobs: vec![job],
                }));
            }
        }
    }

    /// Reads the cached list, or asks GroupMe (`refresh`, or nothing cached).
    fn load_places(&mut self, refresh: bool) {
        let Some(token) = self.work.token.clone() else {
            return;
        };
        let last = self.work.groupme.places.places().cloned();
        self.work.groupme.places = PlacesState::Loading(last);
        self.work.groupme.refetch = false;
        let account = self.work.accounts.list.chosen.clone().unwrap_or_default();
        self.send(Command::GroupMe(GroupMeCommand::LoadPlaces {
            token,
            refresh,
            account,
        }));
    }

    /// The picker's Send: one delivery per picture, in order, the text with the first.
    fn send_picked(&mut self) {
        let Some(dialog) = self.view.send.clone() else {
            return;
        };
        let Some(token) = self.work.token.clone() else {
            self.notice(NO_TOKEN, true);
            return;
        };
        if let Some(why) = dialog.blocked() {
            self.notice(why, true);
            return;
        }
        let Some(place) = dialog.chosen else {
            return;
        };
        let to = match place.destination() {
            Ok(to) => to,
            Err(e) => {
                self.notice(e.to_string(), true);
                return;
            }
        };
        let mut text = dialog.text.clone();
        let mut jobs = Vec::new();
        for picture in dialog.pictures {
            let deed = Deed::Send {
                to: to.clone(),
                text: std::mem::take(&mut text),
                source_guid: new_source_guid(),
            };
            jobs.push(self.start_delivery(picture, Some(place.clone()), deed));
        }
        self.send(Command::GroupMe(GroupMeCommand::Run { token, jobs }));
        self.view.send = None;
        self.view.selected.clear();
    }

    /// A finished card's picture, else a history entry's, by URL.
    fn picture_by_url(&self, url: &str) -> Option<PictureRef> {
        let card = self.work.queue.jobs().iter().find_map(|j| match &j.state {
            crate::jobs::JobState::Done { url: done, .. } if done.to_string() == url => {
                Some(picture_of_job(j, url))
            }
            _ => None,
        });
        card.or_else(|| {
            self.work
                .history
                .iter()
                .find(|e| e.url == url)
                .map(|e| picture_of_entry(e, &self.work.queue))
        })
    }

    /// Records a delivery (shown at once) and returns it for the worker.
    fn start_delivery(
        &mut self,
        picture: PictureRef,
        place: Option<Place>,
        deed: Deed,
    ) -> (u64, Job) {
        let groupme = &mut self.work.groupme;
        groupme.next_delivery += 1;
        let id = groupme.next_delivery;
        let uploading = picture.needs_upload();
        let job = Job {
            deed,
            picture: Picture {
                url: picture.url.clone(),
                file: picture.file,
            },
        };
        groupme.deliveries.push(Delivery {
            id,
            picture: picture.url,
            place,
            job: job.clone(),
            state: if uploading {
                DeliveryState::UploadingFirst
            } else {
                DeliveryState::Sending
            },
            at: now_secs(),
            sender: self.work.token.clone(),
        });
        if uploading {
            self.notice(
                format!(
                    "{} is not on GroupMe's CDN: uploading to GroupMe first",
                    picture.name
                ),
                false,
            );
        }
        (id, job)
    }

    /// Asks who the token belongs to (a token was loaded or saved).
    pub(super) fn who_am_i(&mut self) {
        match self.work.token.clone() {
            Some(token) => {
                self.work.groupme.me = WhoAmI::Asking;
                self.send(Command::GroupMe(GroupMeCommand::WhoAmI(token)));
            }
            None => self.work.groupme.me = WhoAmI::Unknown,
        }
    }

    pub(super) fn on_groupme_event(&mut self, event: GroupMeEvent) {
        match event {
            GroupMeEvent::Places(Ok(places)) => {
                self.work.groupme.places = PlacesState::Loaded(places);
            }
            GroupMeEvent::Places(Err(reason)) => {
                let last = self.work.groupme.places.places().cloned();
                self.work.groupme.places = PlacesState::Failed { reason, last };
            }
            GroupMeEvent::Delivery { id, state, job } => {
                if let Some(d) = self.work.groupme.deliveries.iter_mut().find(|d| d.id == id) {
                    d.state = state;
                    d.at = now_secs();
                    if let Some(job) = job {
                        // The GroupMe URL an upload gave: a Retry sends it, not a second upload.
                        d.job = job;
                    }
                }
            }
            GroupMeEvent::Me(result) => {
                self.work.groupme.me = match result {
                    Ok(name) => WhoAmI::Name(name),
                    Err(e) => WhoAmI::Failed(e),
                };
            }
        }
    }

    /// A token was saved or forgotten: who I am is asked again, and the places (another
    /// account's, perhaps) are fetched anew when next needed.
    pub(super) fn token_changed(&mut self) {
        self.who_am_i();
        self.work.groupme.places = PlacesState::NotLoaded;
        self.work.groupme.refetch = true;
    }
}

/// A card's picture: its URL and, when it came from a file or a paste, where its bytes are.
pub fn picture_of_job(job: &crate::jobs::Job, url: &str) -> PictureRef {
    let file = match &job.source {
        crate::jobs::Source::File(path) => Some(PictureFile::Path(path.clone())),
        crate::jobs::Source::Bytes { bytes, .. } => Some(PictureFile::Bytes(bytes.clone())),
        crate::jobs::Source::Url(_) => None,
    };
    PictureRef {
        url: url.to_owned(),
        name: job.source.display_name(),
        file,
    }
}

/// A history entry's picture: the file is not recorded there, so a picture that is not on
/// GroupMe's CDN can be sent from history only while its card (with its file) is in the queue.
pub fn picture_of_entry(entry: &crate::history::Entry, queue: &crate::jobs::Queue) -> PictureRef {
    let from_card = queue.jobs().iter().find_map(|j| match &j.state {
        crate::jobs::JobState::Done { url, .. } if url.to_string() == entry.url => {
            Some(picture_of_job(j, &entry.url))
        }
        _ => None,
    });
    from_card.unwrap_or_else(|| PictureRef {
        url: entry.url.clone(),
        name: entry.name.clone(),
        file: None,
    })
}

/// Where the places are cached.
pub fn places_cache(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("groupme-places.json")
}

/// The places cache of one account, by its key: the account migrated from earlier versions (and
/// no account) keeps `cache`, each other has `groupme-places-KEY.json` beside it.
pub fn account_cache(cache: &std::path::Path, account: &str) -> PathBuf {
    if account.is_empty() || account == crate::accounts::LEGACY_KEY {
        return cache.to_owned();
    }
    let stem = cache
        .file_stem()
        .map_or_else(|| "groupme-places".into(), |s| s.to_string_lossy());
    cache.with_file_name(format!("{stem}-{account}.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_search_and_name() {
        let p = Place {
            kind: PlaceKind::Group,
            id: "111".into(),
            name: "Family".into(),
        };
        assert_eq!(p.label(), "Family (group)");
        assert!(p.matches("fam"));
        assert!(p.matches("group"));
        assert!(p.matches("11"));
        assert!(!p.matches("bob"));
        assert_eq!(p.destination(), Ok(Destination::Group("111".into())));
        let bot = Place {
            kind: PlaceKind::Bot,
            id: "b0t".into(),
            name: " ".into(),
        };
        assert_eq!(bot.label(), "b0t (bot)");
    }

    #[test]
    fn the_message_limit_is_checked_before_send() {
        let mut d = SendDialog::default();
        assert_eq!(d.blocked().as_deref(), Some("pick where to send it"));
        d.chosen = Some(Place {
            kind: PlaceKind::Direct,
            id: "7".into(),
            name: "Alice".into(),
        });
        d.text = "é".repeat(1000);
        assert_eq!(d.blocked(), None);
        d.text.push('x');
        assert!(d.blocked().expect("too long").contains("1001 characters"));
    }

    #[test]
    fn each_account_has_its_places_cache() {
        let cache = std::path::Path::new("/data/groupme-places.json");
        assert_eq!(account_cache(cache, ""), cache);
        assert_eq!(account_cache(cache, crate::accounts::LEGACY_KEY), cache);
        assert_eq!(
            account_cache(cache, "account-0123456789ab"),
            std::path::Path::new("/data/groupme-places-account-0123456789ab.json")
        );
        assert_eq!(
            account_cache(cache, crate::accounts::ENV_KEY),
            std::path::Path::new("/data/groupme-places-environment.json")
        );
    }

    #[test]
    fn clock_reads_as_utc() {
        assert_eq!(clock(0), "00:00 UTC");
        assert_eq!(clock(86_400 + 14 * 3600 + 5 * 60 + 9), "14:05 UTC");
    }
}
