//! GroupMe's answer envelope, `{"meta":{"code":N,"errors":[…]},"response":…}`, and ids that come
//! as strings or numbers (pure).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    response: serde_json::Value,
}

/// The `response` of a 2xx answer, read as `T`.
pub fn parse_response<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let envelope: Envelope = serde_json::from_slice(body)
        .map_err(|e| format!("not the expected JSON envelope ({e})"))?;
    if envelope.response.is_null() {
        return Err("the answer has no `response`".to_owned());
    }
    serde_json::from_value(envelope.response).map_err(|e| format!("unexpected `response` ({e})"))
}

/// The `response` of a 2xx answer as it is (`Null` when there is none).
pub fn raw_response(body: &[u8]) -> Result<serde_json::Value, String> {
    serde_json::from_slice::<Envelope>(body)
        .map(|e| e.response)
        .map_err(|e| format!("not the expected JSON envelope ({e})"))
}

/// Reads an id written as `"123"` or `123` (GroupMe has used both) as a string.
pub fn id_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(u64),
    }
    Ok(match Id::deserialize(deserializer)? {
        Id::Text(s) => s,
        Id::Number(n) => n.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug, PartialEq)]
    struct Thing {
        #[serde(deserialize_with = "id_string")]
        id: String,
    }

    #[test]
    fn reads_the_envelope() {
        let body = br#"{"meta":{"code":200},"response":{"id":"12"}}"#;
        assert_eq!(parse_response::<Thing>(body), Ok(Thing { id: "12".into() }));
        let body = br#"{"meta":{"code":200},"response":{"id":12}}"#;
        assert_eq!(parse_response::<Thing>(body), Ok(Thing { id: "12".into() }));
        let body = br#"{"meta":{"code":200},"response":null}"#;
        assert_eq!(
            parse_response::<Thing>(body),
            Err("the answer has no `response`".into())
        );
        assert!(parse_response::<Thing>(b"<html>").is_err());
        assert!(parse_response::<Thing>(br#"{"response":{"id":true}}"#).is_err());
        assert_eq!(raw_response(br#"{"meta":{}}"#), Ok(serde_json::Value::Null));
    }
}
