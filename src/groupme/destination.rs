//! Where a message goes (a group, a direct chat, a bot) and what a call is about, for requests
//! and for error messages that name it.

use std::fmt;

/// Longest id accepted; GroupMe's are 8 to 26 characters.
const MAX_ID_LEN: usize = 64;

/// Where a picture is sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Destination {
    /// A group, by `group_id`: `POST /groups/{id}/messages`.
    Group(String),
    /// A direct chat, by the other person's user id: `POST /direct_messages`.
    Direct(String),
    /// A bot, by `bot_id`: `POST /bots/post` (the bot posts in its group).
    Bot(String),
}

/// Why an id cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{id}` is not a {what} id (1 to {MAX_ID_LEN} letters, digits, `-` or `_`; `groupme-uploader chats` lists them)"
)]
pub struct BadId {
    /// "group", "user" or "bot".
    pub what: &'static str,
    /// The id as given.
    pub id: String,
}

impl Destination {
    /// A group destination; the id is checked, since it becomes part of a path.
    pub fn group(id: &str) -> Result<Destination, BadId> {
        check_id("group", id).map(Destination::Group)
    }

    /// A direct chat with the user `id`.
    pub fn direct(id: &str) -> Result<Destination, BadId> {
        check_id("user", id).map(Destination::Direct)
    }

    /// A bot, by `bot_id`.
    pub fn bot(id: &str) -> Result<Destination, BadId> {
        check_id("bot", id).map(Destination::Bot)
    }

    /// `group`, `dm` or `bot`: the kind as the command line names it (`--group`, `--dm`, `--bot`).
    pub fn kind(&self) -> &'static str {
        match self {
            Destination::Group(_) => "group",
            Destination::Direct(_) => "dm",
            Destination::Bot(_) => "bot",
        }
    }

    /// The id, whatever the kind.
    pub fn id(&self) -> &str {
        match self {
            Destination::Group(id) | Destination::Direct(id) | Destination::Bot(id) => id,
        }
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Group(id) => write!(f, "group {id}"),
            Destination::Direct(id) => write!(f, "the direct chat with user {id}"),
            Destination::Bot(id) => write!(f, "bot {id}"),
        }
    }
}

/// What a call is about: named in its errors ("group 123 was not found …").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A send.
    To(Destination),
    /// `/users/me` and `/users/update`.
    Me,
    /// `/groups`.
    Groups,
    /// `/chats`.
    Chats,
    /// `/bots`.
    Bots,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::To(destination) => destination.fmt(f),
            Target::Me => f.write_str("your account"),
            Target::Groups => f.write_str("your group list"),
            Target::Chats => f.write_str("your direct chat list"),
            Target::Bots => f.write_str("your bot list"),
        }
    }
}

/// GroupMe ids are digits (groups, users) or hex (bots); letters, digits, `-` and `_` are let
/// through, nothing that could change a path (`/`, `.`, `%`, `?`).
fn check_id(what: &'static str, id: &str) -> Result<String, BadId> {
    let id = id.trim();
    let ok = (1..=MAX_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(id.to_owned())
    } else {
        Err(BadId {
            what,
            id: id.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_cannot_change_a_path() {
        assert_eq!(
            Destination::group(" 12345678 "),
            Ok(Destination::Group("12345678".into()))
        );
        assert_eq!(
            Destination::bot("a1b2c3d4e5f6a7b8c9d0e1f2a3"),
            Ok(Destination::Bot("a1b2c3d4e5f6a7b8c9d0e1f2a3".into()))
        );
        assert!(Destination::direct("user_1-2").is_ok());
        for bad in [
            "",
            " ",
            "../users/update",
            "1/2",
            "1%2F2",
            "1?x=2",
            "1.2",
            "é",
            &"9".repeat(65),
        ] {
            assert!(Destination::group(bad).is_err(), "{bad}");
        }
        let err = Destination::bot("a/b").expect_err("slash");
        assert_eq!(
            err.to_string(),
            "`a/b` is not a bot id (1 to 64 letters, digits, `-` or `_`; `groupme-uploader chats` lists them)"
        );
    }

    #[test]
    fn targets_read_as_words() {
        let group = Target::To(Destination::Group("42".into()));
        assert_eq!(group.to_string(), "group 42");
        assert_eq!(
            Target::To(Destination::Direct("7".into())).to_string(),
            "the direct chat with user 7"
        );
        assert_eq!(Target::Groups.to_string(), "your group list");
        assert_eq!(Destination::Bot("b".into()).id(), "b");
        assert_eq!(Destination::Direct("7".into()).kind(), "dm");
    }
}
