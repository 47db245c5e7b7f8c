//! What the list calls return: who I am, my groups, my direct chats and my bots, each reduced to
//! the ids and names a person picks from (pure).

use serde::{Deserialize, Serialize};

use super::envelope::id_string;

/// Me, from `GET /users/me` (and `POST /users/update`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Me {
    /// My user id (what others' `--dm` takes).
    pub user_id: String,
    /// My name as GroupMe shows it.
    pub name: String,
    /// My avatar, if set.
    pub image_url: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct RawMe {
    #[serde(default, deserialize_with = "opt_id")]
    user_id: Option<String>,
    #[serde(default, deserialize_with = "opt_id")]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    image_url: Option<String>,
}

impl RawMe {
    /// `user_id`, else `id` (both are sent; older answers have only `id`).
    pub(super) fn into_me(self) -> Result<Me, String> {
        let user_id = self
            .user_id
            .or(self.id)
            .ok_or_else(|| "no `user_id` in the answer".to_owned())?;
        Ok(Me {
            user_id,
            name: self.name.unwrap_or_default(),
            image_url: self.image_url.filter(|u| !u.is_empty()),
        })
    }
}

/// A group I am in, from `GET /groups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// What `--group` takes.
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    /// The group's name.
    #[serde(default, deserialize_with = "name_or_empty")]
    pub name: String,
}

/// A direct chat, from `GET /chats`: the other person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chat {
    /// The other person's user id: what `--dm` takes.
    pub user_id: String,
    /// The other person's name.
    pub name: String,
}

#[derive(Deserialize)]
pub(super) struct RawChat {
    other_user: RawOther,
}

#[derive(Deserialize)]
struct RawOther {
    #[serde(deserialize_with = "id_string")]
    id: String,
    #[serde(default, deserialize_with = "name_or_empty")]
    name: String,
}

impl From<RawChat> for Chat {
    fn from(raw: RawChat) -> Chat {
        Chat {
            user_id: raw.other_user.id,
            name: raw.other_user.name,
        }
    }
}

/// One of my bots, from `GET /bots`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bot {
    /// What `--bot` takes.
    #[serde(deserialize_with = "id_string")]
    pub bot_id: String,
    /// The group it posts in.
    #[serde(deserialize_with = "id_string")]
    pub group_id: String,
    /// The bot's name.
    #[serde(default, deserialize_with = "name_or_empty")]
    pub name: String,
}

fn opt_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    struct Wrap(#[serde(deserialize_with = "id_string")] String);
    Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
}

fn name_or_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groupme::envelope::parse_response;

    #[test]
    fn reads_groupme_lists() {
        let groups: Vec<Group> = parse_response(
            br#"{"meta":{"code":200},"response":[{"id":"111","group_id":"111","name":"Family","members":null},{"id":222,"name":null}]}"#,
        )
        .expect("groups");
        assert_eq!(
            groups,
            vec![
                Group {
                    id: "111".into(),
                    name: "Family".into()
                },
                Group {
                    id: "222".into(),
                    name: String::new()
                },
            ]
        );
        let chats: Vec<RawChat> = parse_response(
            br#"{"response":[{"created_at":1,"last_message":{"text":"hi"},"other_user":{"id":"55","name":"Alice","avatar_url":null}}]}"#,
        )
        .expect("chats");
        let chats: Vec<Chat> = chats.into_iter().map(Chat::from).collect();
        assert_eq!(
            chats,
            vec![Chat {
                user_id: "55".into(),
                name: "Alice".into()
            }]
        );
        let bots: Vec<Bot> = parse_response(
            br#"{"response":[{"bot_id":"abc123","group_id":"111","name":"Weather","callback_url":null}]}"#,
        )
        .expect("bots");
        assert_eq!(bots[0].bot_id, "abc123");
        assert_eq!(bots[0].group_id, "111");
        let me: RawMe =
            parse_response(br#"{"response":{"id":"9","user_id":"9","name":"Me","image_url":""}}"#)
                .expect("me");
        assert_eq!(
            me.into_me(),
            Ok(Me {
                user_id: "9".into(),
                name: "Me".into(),
                image_url: None
            })
        );
        let me: RawMe = parse_response(br#"{"response":{"name":"x"}}"#).expect("me");
        assert!(me.into_me().is_err());
    }
}
