//! Ready answers for hot pictures: the bytes of a small stored object (every thumbnail, and
//! originals up to [`super::store::STREAM_ABOVE`]) with its header values built once, looked up
//! by the name in the request. Pictures never change (their names are content-addressed), so a
//! cached answer is never stale, on a local directory or on a bucket shared by many instances.
//! An answer enters only after the store served it, which it does only for a complete picture
//! (its original written last): the cache never holds a thumbnail whose picture was unfinished.
//! Bounded by bytes (bodies plus names and header values), least recently used out first.
//!
//! Large originals on a local directory are held the same way in a second cache, as open files
//! (mapped, see `service::sendfile`) rather than bytes: like nginx's `open_file_cache`, a hot
//! original is then sent without opening, checking or mapping its file again. That cache is
//! bounded by entries, since each holds a file descriptor and no memory of this process.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};

/// `Cache-Control` of every picture: immutable for a year.
pub const CACHE_CONTROL: HeaderValue =
    HeaderValue::from_static("public, max-age=31536000, immutable");

/// The parts of one answer that never change.
#[derive(Debug)]
pub struct Ready {
    /// The object's bytes.
    pub body: Bytes,
    /// `Content-Type`, from the name's format.
    pub content_type: HeaderValue,
    /// `Content-Length`.
    pub content_length: HeaderValue,
    /// `ETag`: the quoted name.
    pub etag: HeaderValue,
    /// The `200` answer's head on the wire, up to its `Date` line (see `quick`).
    pub head: Bytes,
    /// The `304` answer's head on the wire, up to its `Date` line.
    pub not_modified_head: Bytes,
}

impl Ready {
    /// The answer with `body` of type `mime` under `etag`.
    pub fn new(etag: HeaderValue, mime: &'static str, body: Bytes) -> Ready {
        let mut ready = Ready {
            content_length: HeaderValue::from(body.len()),
            etag,
            content_type: HeaderValue::from_static(mime),
            body,
            head: Bytes::new(),
            not_modified_head: Bytes::new(),
        };
        // The fast path's heads are those of the answers below, written out once.
        ready.head = super::quick::head(ready.answer(&HeaderMap::new()));
        ready.not_modified_head = super::quick::head(not_modified_response(ready.etag.clone()));
        ready
    }

    /// The answer to a GET with `request` headers: `304` when its `If-None-Match` names this
    /// picture (the picture exists: its answer is held), else `200` with the body.
    pub fn answer(&self, request: &HeaderMap) -> Response {
        if not_modified(request.get(header::IF_NONE_MATCH), &self.etag) {
            return not_modified_response(self.etag.clone());
        }
        let mut response = Response::new(Body::from(self.body.clone()));
        let h = response.headers_mut();
        h.insert(header::CONTENT_TYPE, self.content_type.clone());
        h.insert(header::CONTENT_LENGTH, self.content_length.clone());
        h.insert(header::CACHE_CONTROL, CACHE_CONTROL);
        h.insert(header::ETAG, self.etag.clone());
        response
    }

    /// What an entry costs: its bytes, plus its name, header values, heads and bookkeeping.
    fn weight(name: &str, ready: &Ready) -> u64 {
        let heads = ready.head.len() + ready.not_modified_head.len();
        (ready.body.len() + heads + name.len() * 2 + 128) as u64
    }
}

/// The `ETag` of `name`: the name in quotes (`None` if it cannot be a header value).
pub fn etag(name: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("\"{name}\"")).ok()
}

/// Whether a request's `If-None-Match` (none, or its first) names `etag` (see [`none_match`]).
pub fn not_modified(if_none_match: Option<&HeaderValue>, etag: &HeaderValue) -> bool {
    if_none_match
        .and_then(|v| v.to_str().ok())
        .zip(etag.to_str().ok())
        .is_some_and(|(given, etag)| none_match(given, etag))
}

/// Whether `If-None-Match` names `etag` (weak comparison, RFC 9110 §13.1.2) or is `*`.
pub fn none_match(header: &str, etag: &str) -> bool {
    header.split(',').map(str::trim).any(|tag| {
        tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag.trim_start_matches("W/")
    })
}

/// `304 Not Modified` with the picture's cache headers.
pub fn not_modified_response(etag: HeaderValue) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, CACHE_CONTROL);
    h.insert(header::ETAG, etag);
    response
}

/// What bounds a cache.
#[derive(Clone, Copy)]
enum Weigh {
    /// Bytes held (bodies, names, header values).
    Bytes,
    /// Entries held (open files).
    Entries,
}

impl quick_cache::Weighter<String, Arc<Ready>> for Weigh {
    fn weight(&self, name: &String, ready: &Arc<Ready>) -> u64 {
        match self {
            Weigh::Bytes => Ready::weight(name, ready),
            Weigh::Entries => 1,
        }
    }
}

/// Ready answers by request name, at most `capacity` bytes (or entries) of them.
pub struct ReadyCache {
    cache: quick_cache::sync::Cache<String, Arc<Ready>, Weigh>,
    capacity: u64,
    weigh: Weigh,
}

impl ReadyCache {
    /// A cache of at most `capacity` bytes (0: nothing is kept).
    pub fn new(capacity: u64) -> ReadyCache {
        // The item estimate only sizes the table: a 60² avatar is ~2 KB, a large ~60 KB.
        let items = (capacity / 16_384).clamp(16, 1 << 16) as usize;
        ReadyCache {
            cache: quick_cache::sync::Cache::with_weighter(items, capacity, Weigh::Bytes),
            capacity,
            weigh: Weigh::Bytes,
        }
    }

    /// A cache of at most `files` answers whose bodies are mapped files (0: nothing is kept).
    /// They weigh nothing in memory: each counts as one, for the descriptor it holds.
    pub fn open_files(files: usize) -> ReadyCache {
        let capacity = files as u64;
        ReadyCache {
            cache: quick_cache::sync::Cache::with_weighter(files.max(1), capacity, Weigh::Entries),
            capacity,
            weigh: Weigh::Entries,
        }
    }

    /// The answer for `name`, if held.
    pub fn get(&self, name: &str) -> Option<Arc<Ready>> {
        if self.capacity == 0 {
            return None;
        }
        self.cache.get(name)
    }

    /// Keeps `ready` as the answer for `name`. In a cache bounded by bytes, not when it alone
    /// would take more than an eighth of it (one object never pushes out many hot ones).
    pub fn insert(&self, name: &str, ready: Arc<Ready>) {
        let too_big = match self.weigh {
            Weigh::Bytes => Ready::weight(name, &ready) > self.capacity / 8,
            Weigh::Entries => self.capacity == 0,
        };
        if too_big {
            return;
        }
        self.cache.insert(name.to_owned(), ready);
    }

    /// Bytes (or entries) held now, as weighed for the bound.
    pub fn weight(&self) -> u64 {
        self.cache.weight()
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(name: &str, len: usize) -> Arc<Ready> {
        let etag = etag(name).expect("a header value");
        Arc::new(Ready::new(etag, "image/jpeg", Bytes::from(vec![7u8; len])))
    }

    #[test]
    fn the_bound_in_bytes_is_kept() {
        let cache = ReadyCache::new(1024 * 1024);
        for i in 0..200 {
            let name = format!("10x10.jpeg.{i:032x}.large");
            cache.insert(&name, ready(&name, 60_000));
            assert!(
                cache.weight() <= 1024 * 1024,
                "{} after {i}",
                cache.weight()
            );
        }
        // About 17 of 60 KB fit in 1 MiB: the rest were pushed out.
        assert!((10..=18).contains(&cache.len()), "{}", cache.len());
        assert!(
            cache
                .get(&format!("10x10.jpeg.{:032x}.large", 199))
                .is_some()
        );
    }

    #[test]
    fn an_object_over_an_eighth_of_the_cache_is_not_kept() {
        let cache = ReadyCache::new(80_000);
        cache.insert("a", ready("a", 20_000));
        assert!(cache.get("a").is_none());
        cache.insert("b", ready("b", 5_000));
        assert_eq!(cache.get("b").expect("kept").body.len(), 5_000);
    }

    #[test]
    fn open_files_are_bounded_by_count_not_bytes() {
        let cache = ReadyCache::open_files(3);
        for i in 0..10 {
            let name = format!("4000x3000.jpeg.{i:032x}");
            // 40 MB each: a cache by bytes would refuse every one.
            cache.insert(&name, ready(&name, 40_000_000));
            assert!(cache.len() <= 3, "{} after {i}", cache.len());
        }
        assert_eq!(cache.weight(), cache.len() as u64);
        assert!(cache.len() >= 2, "{}", cache.len());
        let last = format!("4000x3000.jpeg.{:032x}", 9);
        assert_eq!(cache.get(&last).expect("kept").body.len(), 40_000_000);
        let none = ReadyCache::open_files(0);
        none.insert("a", ready("a", 1));
        assert!(none.get("a").is_none());
    }

    #[test]
    fn a_zero_capacity_keeps_nothing() {
        let cache = ReadyCache::new(0);
        cache.insert("a", ready("a", 1));
        assert!(cache.get("a").is_none());
        assert!(cache.is_empty());
    }

    #[test]
    fn if_none_match_compares_weakly() {
        let etag = "\"480x325.jpeg.0123\"";
        for header in [
            "\"480x325.jpeg.0123\"",
            "W/\"480x325.jpeg.0123\"",
            "\"other\", W/\"480x325.jpeg.0123\"",
            "*",
        ] {
            assert!(none_match(header, etag), "{header}");
        }
        for header in [
            "\"480x325.jpeg.01234\"",
            "W/\"other\"",
            "480x325.jpeg.0123",
            "",
        ] {
            assert!(!none_match(header, etag), "{header}");
        }
    }

    #[test]
    fn the_answer_carries_the_picture_headers() {
        let name = "3x2.png.0123456789abcdef0123456789abcdef.avatar";
        let r = ready(name, 10).answer(&HeaderMap::new());
        assert_eq!(r.status(), StatusCode::OK);
        let h = r.headers();
        assert_eq!(h[header::CONTENT_TYPE], "image/jpeg");
        assert_eq!(h[header::CONTENT_LENGTH], "10");
        assert_eq!(
            h[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(h[header::ETAG], format!("\"{name}\"").as_str());
        let mut asked = HeaderMap::new();
        asked.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("W/\"{name}\"")).expect("value"),
        );
        let r = ready(name, 10).answer(&asked);
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(r.headers()[header::ETAG], format!("\"{name}\"").as_str());
        assert!(r.headers().get(header::CONTENT_LENGTH).is_none());
    }
}
