//! A scripted GroupMe API v3 on 127.0.0.1 that answers as GroupMe does: the `{"meta","response"}`
//! envelope, 201 for messages, 202 for bot posts, 401 without the right token, 409 for a
//! `source_guid` seen before, paginated lists that end with an empty page, and injected faults
//! (429 with or without `Retry-After`, a 500 after the message went). It records every request
//! for the tests to check. It also plays GroupMe's Image Service (`POST /pictures`), so the app's
//! "upload to GroupMe first" can be pointed at it: the answer is a URL on `i.groupme.com`.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpListener, TcpStream};

use super::{Recorded, TOKEN, read_body, read_head};

/// A fault the next request meets, whatever it is.
#[derive(Debug, Clone)]
pub enum Fault {
    /// 429 before acting, with `Retry-After: N` when given.
    RateLimit(Option<u64>),
    /// Act (post the message), then answer 500: the client cannot know it went.
    FailAfterActing,
    /// Answer as usual: lets the faults after it meet later requests.
    Pass,
}

/// A message GroupMe took.
#[derive(Debug, Clone)]
pub struct Posted {
    /// `group`, `dm` or `bot`.
    pub kind: &'static str,
    /// The group id, the recipient id or the bot id.
    pub to: String,
    pub text: String,
    /// The picture: the attachment's `url`, or a bot post's `picture_url`.
    pub picture_url: String,
}

/// What the server knows and has seen.
#[derive(Debug, Default)]
pub struct ApiState {
    pub requests: Vec<Recorded>,
    pub groups: Vec<Value>,
    pub chats: Vec<Value>,
    pub bots: Vec<Value>,
    /// Groups whose messages are refused with 403 (not a member).
    pub forbidden_groups: Vec<String>,
    pub faults: VecDeque<Fault>,
    pub posted: Vec<Posted>,
    pub avatar_url: Option<String>,
    /// What `POST /pictures` received, and the picture URL it answered.
    pub uploads: Vec<(Vec<u8>, String)>,
    guids: HashSet<String>,
    next_id: u64,
}

/// The server; it stops with the test's runtime.
pub struct GroupMeApi {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<ApiState>>,
}

/// A few groups, chats and bots, as GroupMe lists them.
pub fn sample_state() -> ApiState {
    let group =
        |id: &str, name: &str| json!({"id": id, "group_id": id, "name": name, "members": null});
    ApiState {
        groups: vec![
            group("111", "Family"),
            group("222", "Climbing"),
            group("333", "Old team"),
            group("444", "Book club"),
            group("555", "Neighbours"),
        ],
        chats: vec![
            json!({"created_at": 1, "last_message": {"text": "hi"}, "other_user": {"id": "7001", "name": "Alice", "avatar_url": null}}),
            json!({"created_at": 2, "last_message": {"text": "yo"}, "other_user": {"id": "7002", "name": "Bob", "avatar_url": null}}),
            json!({"created_at": 3, "last_message": null, "other_user": {"id": 7003, "name": "Carol"}}),
        ],
        bots: vec![
            json!({"bot_id": "b0tabc123", "group_id": "111", "name": "Weather", "callback_url": null, "avatar_url": null}),
        ],
        forbidden_groups: vec!["333".to_owned()],
        ..ApiState::default()
    }
}

impl GroupMeApi {
    /// Starts with [`sample_state`].
    pub async fn start() -> GroupMeApi {
        GroupMeApi::start_with(sample_state()).await
    }

    pub async fn start_with(state: ApiState) -> GroupMeApi {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(state));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_one(stream, shared.clone()));
            }
        });
        GroupMeApi { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Faults for the next requests, in order.
    pub fn fail_next(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.lock().expect("lock").faults.extend(faults);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().expect("lock").requests.clone()
    }

    pub fn posted(&self) -> Vec<Posted> {
        self.state.lock().expect("lock").posted.clone()
    }

    /// Every request so far carried the token in no URL.
    pub fn assert_no_token_in_urls(&self) {
        for r in self.requests() {
            assert!(!r.target.contains(TOKEN), "token in URL: {}", r.target);
        }
    }
}

/// A request's JSON body.
pub fn body_json(r: &Recorded) -> Value {
    serde_json::from_slice(&r.body).expect("JSON body")
}

/// Path and query pairs of a request target.
pub fn path_and_query(r: &Recorded) -> (String, Vec<(String, String)>) {
    let url = url::Url::parse(&format!("http://h{}", r.target)).expect("target");
    (
        url.path().to_owned(),
        url.query_pairs().into_owned().collect(),
    )
}

struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

fn envelope(status: u16, response: Value) -> Answer {
    let errors: Vec<&str> = match status {
        401 => vec!["unauthorized"],
        403 => vec!["you are not a member of this group"],
        404 => vec!["not found"],
        409 => vec!["duplicate source_guid"],
        429 => vec!["rate limited"],
        500 => vec!["internal error"],
        _ => vec![],
    };
    Answer {
        status,
        headers: vec![("Content-Type", "application/json".into())],
        body: json!({"meta": {"code": status, "errors": errors}, "response": response}).to_string(),
    }
}

async fn serve_one(mut stream: TcpStream, state: Arc<Mutex<ApiState>>) {
    let Some((mut request, len, mut body)) = read_head(&mut stream).await else {
        return;
    };
    read_body(&mut stream, &mut body, len).await;
    request.body = body;
    let answer = {
        let mut state = state.lock().expect("lock");
        state.requests.push(request.clone());
        respond(&mut state, &request)
    };
    let mut out = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        answer.status,
        answer.body.len()
    );
    for (k, v) in answer.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&answer.body);
    stream.write_all(out.as_bytes()).await.ok();
    stream.shutdown().await.ok();
}

fn respond(state: &mut ApiState, r: &Recorded) -> Answer {
    let (path, query) = path_and_query(r);
    let is_bot_post = r.method == "POST" && path == "/bots/post";
    if !is_bot_post && r.header("x-access-token") != Some(TOKEN) {
        return envelope(401, Value::Null);
    }
    let fault = state.faults.pop_front();
    if let Some(Fault::RateLimit(after)) = fault {
        let mut answer = envelope(429, Value::Null);
        if let Some(secs) = after {
            answer.headers.push(("Retry-After", secs.to_string()));
        }
        return answer;
    }
    let answer = route(state, r, &path, &query);
    if matches!(fault, Some(Fault::FailAfterActing)) {
        return envelope(500, Value::Null);
    }
    answer
}

fn page(items: &[Value], query: &[(String, String)]) -> Option<Value> {
    let get = |k: &str| {
        query
            .iter()
            .find(|(q, _)| q == k)
            .and_then(|(_, v)| v.parse::<usize>().ok())
    };
    let (page, per) = (get("page")?, get("per_page")?);
    let start = page.checked_sub(1)?.saturating_mul(per).min(items.len());
    let end = start.saturating_add(per).min(items.len());
    Some(Value::Array(items[start..end].to_vec()))
}

fn route(state: &mut ApiState, r: &Recorded, path: &str, query: &[(String, String)]) -> Answer {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (r.method.as_str(), segments.as_slice()) {
        ("GET", ["users", "me"]) => envelope(200, me(state)),
        ("GET", ["groups"]) => {
            let omits = query.iter().any(|(k, v)| k == "omit" && v == "memberships");
            match page(&state.groups, query) {
                Some(list) if omits => envelope(200, list),
                _ => envelope(400, Value::Null),
            }
        }
        ("GET", ["chats"]) => match page(&state.chats, query) {
            Some(list) => envelope(200, list),
            None => envelope(400, Value::Null),
        },
        ("GET", ["bots"]) => envelope(200, Value::Array(state.bots.clone())),
        ("POST", ["groups", id, "messages"]) => {
            if state.forbidden_groups.iter().any(|g| g == id) {
                return envelope(403, Value::Null);
            }
            if !state.groups.iter().any(|g| g["id"] == *id) {
                return envelope(404, Value::Null);
            }
            let body = serde_json::from_slice::<Value>(&r.body).unwrap_or_default();
            post(state, "group", id, &body["message"], "message")
        }
        ("POST", ["direct_messages"]) => {
            let body = serde_json::from_slice::<Value>(&r.body).unwrap_or_default();
            let dm = &body["direct_message"];
            let to = dm["recipient_id"].as_str().unwrap_or_default().to_owned();
            post(state, "dm", &to, dm, "direct_message")
        }
        ("POST", ["bots", "post"]) => {
            let body = serde_json::from_slice::<Value>(&r.body).unwrap_or_default();
            let bot_id = body["bot_id"].as_str().unwrap_or_default().to_owned();
            if !state.bots.iter().any(|b| b["bot_id"] == bot_id.as_str()) {
                return envelope(404, Value::Null);
            }
            state.posted.push(Posted {
                kind: "bot",
                to: bot_id,
                text: body["text"].as_str().unwrap_or_default().to_owned(),
                picture_url: body["picture_url"].as_str().unwrap_or_default().to_owned(),
            });
            // GroupMe answers a bot post with 202 and no body.
            Answer {
                status: 202,
                headers: Vec::new(),
                body: String::new(),
            }
        }
        ("POST", ["pictures"]) => {
            let Ok((w, h)) = image::ImageReader::new(std::io::Cursor::new(&r.body))
                .with_guessed_format()
                .map_err(|_| ())
                .and_then(|i| i.into_dimensions().map_err(|_| ()))
            else {
                return envelope(400, Value::Null);
            };
            state.next_id += 1;
            let url = format!("https://i.groupme.com/{w}x{h}.png.{:032x}", state.next_id);
            state.uploads.push((r.body.clone(), url.clone()));
            Answer {
                status: 200,
                headers: vec![("Content-Type", "application/json".into())],
                body: json!({"payload": {"url": url, "picture_url": url}}).to_string(),
            }
        }
        ("POST", ["users", "update"]) => {
            let body = serde_json::from_slice::<Value>(&r.body).unwrap_or_default();
            state.avatar_url = body["avatar_url"].as_str().map(str::to_owned);
            envelope(200, me(state))
        }
        _ => envelope(404, Value::Null),
    }
}

fn me(state: &ApiState) -> Value {
    json!({"id": "9001", "user_id": "9001", "name": "Test User",
        "image_url": state.avatar_url.clone().unwrap_or_default()})
}

/// A message with a guid: 409 when the guid was seen, else taken (201).
fn post(
    state: &mut ApiState,
    kind: &'static str,
    to: &str,
    message: &Value,
    wrapper: &str,
) -> Answer {
    let Some(guid) = message["source_guid"].as_str() else {
        return envelope(400, Value::Null);
    };
    if !state.guids.insert(guid.to_owned()) {
        return envelope(409, Value::Null);
    }
    let picture_url = message["attachments"][0]["url"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    state.posted.push(Posted {
        kind,
        to: to.to_owned(),
        text: message["text"].as_str().unwrap_or_default().to_owned(),
        picture_url,
    });
    state.next_id += 1;
    let id = format!("1700000000{:06}", state.next_id);
    let mut created = message.clone();
    created["id"] = json!(id);
    envelope(201, json!({ wrapper: created }))
}
