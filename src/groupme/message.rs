//! One picture message: its text (checked), its `source_guid`, the JSON body each kind of
//! destination takes, and what GroupMe answered (pure, no I/O).

use serde::Deserialize;
use serde_json::json;

use super::cdn::PictureUrl;
use super::destination::Destination;
use super::envelope::id_string;

/// GroupMe's limit on a message's text, in characters.
pub const MAX_TEXT_CHARS: usize = 1000;

/// A text GroupMe would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the text is {chars} characters; GroupMe takes at most {MAX_TEXT_CHARS}")]
pub struct TextTooLong {
    /// Its length in characters.
    pub chars: usize,
}

/// Checks a message text (empty is fine: the picture is the message).
pub fn check_text(text: &str) -> Result<(), TextTooLong> {
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(TextTooLong { chars });
    }
    Ok(())
}

/// A new `source_guid`: 32 hex characters from the OS's random source. One per message, kept
/// for its retries, so GroupMe recognises a repeat (409) instead of posting twice.
pub fn new_source_guid() -> String {
    let mut raw = [0u8; 16];
    if getrandom::fill(&mut raw).is_err() {
        // Uniqueness is all a guid needs; the OS source failing is no reason not to send.
        raw = fastrand::u128(..).to_le_bytes();
    }
    hex::encode(raw)
}

/// A picture message ready to send: the same value is sent on every attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Where it goes.
    pub to: Destination,
    /// The text (at most [`MAX_TEXT_CHARS`]; may be empty).
    pub text: String,
    /// The picture.
    pub picture: PictureUrl,
    /// The guid GroupMe deduplicates on (bot posts have none).
    pub source_guid: String,
}

impl Outgoing {
    /// A message with a fresh guid; refuses a text over the limit.
    pub fn new(to: Destination, text: &str, picture: PictureUrl) -> Result<Outgoing, TextTooLong> {
        check_text(text)?;
        Ok(Outgoing {
            to,
            text: text.to_owned(),
            picture,
            source_guid: new_source_guid(),
        })
    }

    /// The path below the API base and the JSON body, as GroupMe's v3 API takes them.
    pub fn request(&self) -> (Vec<&str>, serde_json::Value) {
        let url = self.picture.to_string();
        let attachments = json!([{ "type": "image", "url": url }]);
        match &self.to {
            Destination::Group(id) => (
                vec!["groups", id.as_str(), "messages"],
                json!({ "message": {
                    "source_guid": self.source_guid,
                    "text": self.text,
                    "attachments": attachments,
                }}),
            ),
            Destination::Direct(id) => (
                vec!["direct_messages"],
                json!({ "direct_message": {
                    "source_guid": self.source_guid,
                    "recipient_id": id,
                    "text": self.text,
                    "attachments": attachments,
                }}),
            ),
            Destination::Bot(id) => (
                vec!["bots", "post"],
                json!({ "bot_id": id, "text": self.text, "picture_url": url }),
            ),
        }
    }
}

/// What GroupMe did with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Posted now (201), with the message's id (`None` when the answer did not say it: the
    /// message went all the same).
    Posted { message_id: Option<String> },
    /// Posted by an earlier attempt with the same `source_guid` (GroupMe answered 409).
    AlreadyPosted,
    /// A bot post accepted (202); GroupMe gives no id for it.
    Accepted,
}

impl Sent {
    /// The message id, when GroupMe gave one.
    pub fn message_id(&self) -> Option<&str> {
        match self {
            Sent::Posted { message_id } => message_id.as_deref(),
            Sent::AlreadyPosted | Sent::Accepted => None,
        }
    }
}

#[derive(Deserialize)]
struct Created {
    #[serde(alias = "direct_message")]
    message: CreatedMessage,
}

#[derive(Deserialize)]
struct CreatedMessage {
    #[serde(deserialize_with = "id_string")]
    id: String,
}

/// Reads the message id from a 201's `response.message` (groups) or `response.direct_message`.
pub fn parse_created(response: serde_json::Value) -> Result<String, String> {
    serde_json::from_value::<Created>(response)
        .map(|c| c.message.id)
        .map_err(|e| format!("no message id ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef";

    fn picture() -> PictureUrl {
        PictureUrl::groupme(&format!("https://i.groupme.com/4x3.png.{ID}")).expect("cdn")
    }

    #[test]
    fn text_limit_counts_characters() {
        assert!(check_text("").is_ok());
        assert!(
            check_text(&"é".repeat(1000)).is_ok(),
            "characters, not bytes"
        );
        let err = check_text(&"x".repeat(1001)).expect_err("too long");
        assert_eq!(
            err.to_string(),
            "the text is 1001 characters; GroupMe takes at most 1000"
        );
        assert!(
            Outgoing::new(Destination::Group("1".into()), &"x".repeat(1001), picture()).is_err()
        );
    }

    #[test]
    fn guids_are_fresh_hex() {
        let a = new_source_guid();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, new_source_guid());
    }

    #[test]
    fn bodies_as_groupme_takes_them() {
        let url = format!("https://i.groupme.com/4x3.png.{ID}");
        let group = Outgoing::new(Destination::Group("42".into()), "hi", picture()).expect("ok");
        let (path, body) = group.request();
        assert_eq!(path, ["groups", "42", "messages"]);
        assert_eq!(
            body,
            json!({"message": {"source_guid": group.source_guid, "text": "hi",
                "attachments": [{"type": "image", "url": url}]}})
        );
        let dm = Outgoing::new(Destination::Direct("7".into()), "", picture()).expect("ok");
        let (path, body) = dm.request();
        assert_eq!(path, ["direct_messages"]);
        assert_eq!(
            body,
            json!({"direct_message": {"source_guid": dm.source_guid, "recipient_id": "7",
                "text": "", "attachments": [{"type": "image", "url": url}]}})
        );
        let bot = Outgoing::new(Destination::Bot("b0t".into()), "hey", picture()).expect("ok");
        let (path, body) = bot.request();
        assert_eq!(path, ["bots", "post"]);
        assert_eq!(
            body,
            json!({"bot_id": "b0t", "text": "hey", "picture_url": url})
        );
    }

    #[test]
    fn reads_created_ids() {
        let group = json!({"message": {"id": "1234567890", "source_guid": "g"}});
        assert_eq!(parse_created(group), Ok("1234567890".to_owned()));
        let dm = json!({"direct_message": {"id": 98765}});
        assert_eq!(parse_created(dm), Ok("98765".to_owned()));
        assert!(parse_created(json!({"message": {}})).is_err());
        assert_eq!(Sent::Accepted.message_id(), None);
    }
}
