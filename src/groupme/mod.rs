//! The GroupMe API v3: send pictures the Image Service made to groups, direct chats and bots,
//! list where they can go, and set the avatar.
//!
//! - [`cdn`]: which URLs may be sent ([`is_groupme_cdn`], [`PictureUrl`]).
//! - [`destination`]: a group, direct chat or bot, and what a call is about.
//! - [`message`]: a message's text, `source_guid`, request body and outcome.
//! - [`lists`]: me, groups, chats, bots as the list calls return them.
//! - [`envelope`]: GroupMe's `{"meta":…,"response":…}` wrapper.
//! - [`pacer`]: at most one request per interval.
//! - [`error`]: what goes wrong, in plain words.
//! - [`client`]: the calls, with pacing and retries.

pub mod cdn;
pub mod client;
pub mod destination;
pub mod envelope;
pub mod error;
pub mod lists;
pub mod message;
pub mod pacer;

pub use cdn::{GROUPME_CDN_BASE, NotOnCdn, PictureUrl, is_groupme_cdn};
pub use client::{ApiClient, ApiConfig, DEFAULT_API_ENDPOINT};
pub use destination::{BadId, Destination, Target};
pub use error::{ApiError, Repeat};
pub use lists::{Bot, Chat, Group, Me};
pub use message::{MAX_TEXT_CHARS, Outgoing, Sent, TextTooLong, check_text, new_source_guid};
