//! GETs of held answers (hot thumbnails and originals, see `ready`) answered on the connection
//! before hyper sees it: the request head is parsed in place (`httparse`), the name looked up,
//! and the answer's prebuilt head, a `Date` line and the body written in one vectored write (a
//! mapped body then goes out with `sendfile`, see `sendfile`). This is what nginx does for a
//! static file and what hyper cannot: hyper builds a header map for every request and every
//! answer, and encodes the answer's headers anew each time.
//!
//! The first request that is anything else (another method or version, a body, a name not held,
//! `%` escapes, a head `httparse` refuses) ends this loop: the connection, with the bytes read so
//! far put back in front of it ([`Rewind`]), goes to hyper for the rest of its life. So every
//! answer given here is one hyper would give through the router, byte for byte in its body and
//! with the same headers.
//!
//! The connection's limits hold here as under hyper: the head must arrive within
//! `header_timeout` of when the connection began to wait for it (a keep-alive connection idle that
//! long is closed), a write that makes no progress for `send_timeout` closes the connection, and
//! shutdown closes a connection waiting for a request. A GET head still incomplete at
//! [`MAX_HEAD`] bytes is answered `431` and the connection closed (nginx refuses at 8 KiB): were
//! it handed to hyper, a slow client would get a second `header_timeout`.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use bytes::{Buf as _, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::sync::watch;

use super::ready::{self, Ready};
use super::server::ConnLimits;
use super::{ServiceState, log_request};

/// The longest GET head read here; past it the request is refused with `431`.
pub const MAX_HEAD: usize = 32 * 1024;

/// Headers a GET head may have to be parsed here (hyper's own limit is 100: a head with more
/// goes to hyper, which answers it).
const MAX_HEADERS: usize = 64;

/// How a connection left the loop.
pub enum Outcome {
    /// It is closed (the client left, a limit was hit, shutdown, or `Connection: close`).
    Closed,
    /// A request this loop does not answer: hyper takes the connection, these bytes first.
    HandOver(Bytes),
}

/// Answers GETs of held answers on `stream` until a request that is not one (see the module
/// doc).
pub async fn serve<S>(
    stream: &mut S,
    state: &ServiceState,
    limits: &ConnLimits,
    stop: &mut watch::Receiver<()>,
) -> io::Result<Outcome>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = BytesMut::with_capacity(4096);
    loop {
        // The wait for this request's head, idle time included, is bounded as hyper bounds it.
        let deadline = tokio::time::Instant::now() + limits.header_timeout;
        let request = loop {
            match parse(&buf, state) {
                Parsed::Partial if buf.len() >= MAX_HEAD => {
                    write_all(stream, [TOO_LARGE, &[], &[]], limits.send_timeout).await?;
                    return Ok(Outcome::Closed);
                }
                Parsed::Partial => {}
                Parsed::Other => return Ok(Outcome::HandOver(buf.freeze())),
                Parsed::Held(request) => break request,
            }
            // Room for a whole head in one read (a no-op while there is).
            buf.reserve(2048);
            let read = tokio::select! {
                read = tokio::time::timeout_at(deadline, stream.read_buf(&mut buf)) => read,
                // Shutdown: a connection waiting for a request just closes.
                _ = stop.changed() => return Ok(Outcome::Closed),
            };
            match read {
                Ok(Ok(0)) | Err(_) => return Ok(Outcome::Closed),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(e),
            }
        };
        let started = tracing::enabled!(tracing::Level::INFO).then(Instant::now);
        let date = date_line(request.close);
        let ready = &request.ready;
        let (status, parts) = if request.not_modified {
            let parts: [&[u8]; 3] = [&ready.not_modified_head, &date, &[]];
            (StatusCode::NOT_MODIFIED, parts)
        } else {
            (StatusCode::OK, [&ready.head[..], &date, &ready.body])
        };
        write_all(stream, parts, limits.send_timeout).await?;
        if let Some(started) = started {
            let path = std::str::from_utf8(&buf[request.path.clone()]).unwrap_or("");
            log_request(&axum::http::Method::GET, path, status, started);
        }
        buf.advance(request.head_len);
        if request.close {
            stream.shutdown().await.ok();
            return Ok(Outcome::Closed);
        }
    }
}

/// `431`, for a GET head too long to be read here.
const TOO_LARGE: &[u8] = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

/// What the bytes read so far hold.
enum Parsed {
    /// Not yet a whole head, and nothing says it is not one for this loop.
    Partial,
    /// A request for hyper.
    Other,
    /// A GET of a held answer.
    Held(HeldGet),
}

/// A GET of a held answer, parsed.
struct HeldGet {
    ready: std::sync::Arc<Ready>,
    /// Where the path (without the query) lies in the buffer, for the log line.
    path: std::ops::Range<usize>,
    /// The head's length in bytes.
    head_len: usize,
    /// Whether `If-None-Match` names this picture.
    not_modified: bool,
    /// Whether the client asked to close after this answer.
    close: bool,
}

/// Reads the request head at the start of `buf`.
fn parse(buf: &[u8], state: &ServiceState) -> Parsed {
    // Not a GET: known from the first bytes, so hyper gets it at once.
    if !b"GET /".starts_with(&buf[..buf.len().min(5)]) {
        return Parsed::Other;
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let head_len = match request.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(_) => return Parsed::Other,
    };
    let (Some(target), Some(1)) = (request.path, request.version) else {
        return Parsed::Other;
    };
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    let Some(name) = path.strip_prefix('/') else {
        return Parsed::Other;
    };
    if name.contains('%') {
        return Parsed::Other;
    }
    let mut if_none_match = None;
    let mut close = false;
    for h in request.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            // A GET with a body is hyper's to read (and to refuse when it lies).
            if h.value != b"0" {
                return Parsed::Other;
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Parsed::Other;
        } else if h.name.eq_ignore_ascii_case("if-none-match") {
            // The first one counts, as `HeaderMap::get` takes it through the router.
            if_none_match.get_or_insert(h.value);
        } else if h.name.eq_ignore_ascii_case("connection") {
            close |= h
                .value
                .split(|&b| b == b',')
                .any(|token| token.trim_ascii().eq_ignore_ascii_case(b"close"));
        }
    }
    let Some(ready) = state.held(name) else {
        return Parsed::Other;
    };
    let if_none_match = if_none_match.and_then(|v| HeaderValue::from_bytes(v).ok());
    let not_modified = ready::not_modified(if_none_match.as_ref(), &ready.etag);
    let start = path.as_ptr() as usize - buf.as_ptr() as usize;
    Parsed::Held(HeldGet {
        ready,
        path: start..start + path.len(),
        head_len,
        not_modified,
        close,
    })
}

/// `date: …` and the blank line ending a head (with `connection: close` before it when the
/// connection closes after this answer). Formatted once a second per thread, as hyper does.
fn date_line(close: bool) -> Bytes {
    use std::cell::RefCell;
    thread_local! {
        static LINE: RefCell<(u64, Bytes)> = const { RefCell::new((u64::MAX, Bytes::new())) };
    }
    let now = SystemTime::now();
    let second = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let line = LINE.with_borrow_mut(|(at, line)| {
        if *at != second {
            *at = second;
            *line = Bytes::from(format!("date: {}\r\n\r\n", httpdate::fmt_http_date(now)));
        }
        line.clone()
    });
    if close {
        Bytes::from([&b"connection: close\r\n"[..], &line].concat())
    } else {
        line
    }
}

/// Writes all of `parts` in order, as few writes as the socket allows; a write that makes no
/// progress for `timeout` fails with `TimedOut`.
async fn write_all<S>(stream: &mut S, mut parts: [&[u8]; 3], timeout: Duration) -> io::Result<()>
where
    S: AsyncWrite + Unpin,
{
    let mut first = parts.iter().take_while(|p| p.is_empty()).count();
    while first < parts.len() {
        let mut slices = [IoSlice::new(&[]); 3];
        for (slice, part) in slices.iter_mut().zip(&parts[first..]) {
            *slice = IoSlice::new(part);
        }
        let slices = &slices[..parts.len() - first];
        let written = tokio::time::timeout(timeout, stream.write_vectored(slices))
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        let mut left = written;
        while first < parts.len() && (left > 0 || parts[first].is_empty()) {
            let part = &mut parts[first];
            let taken = left.min(part.len());
            *part = &part[taken..];
            left -= taken;
            if part.is_empty() {
                first += 1;
            }
        }
    }
    Ok(())
}

/// A stream that reads `pre` before its own bytes: the connection as hyper gets it, with what
/// was read here put back.
pub struct Rewind<S> {
    pre: Bytes,
    inner: S,
}

impl<S> Rewind<S> {
    /// `inner`, read after `pre`.
    pub fn new(pre: Bytes, inner: S) -> Rewind<S> {
        Rewind { pre, inner }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pre.is_empty() {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let n = this.pre.len().min(buf.remaining());
        buf.put_slice(&this.pre.split_to(n));
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewind<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The head of `answer` on the wire, up to (not including) its `Date` line: its status, its
/// headers, then the security headers every answer carries (added as for every answer).
pub fn head(mut answer: Response) -> Bytes {
    super::security_headers(answer.headers_mut());
    let status = answer.status();
    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(b"HTTP/1.1 ");
    head.extend_from_slice(status.as_str().as_bytes());
    head.push(b' ');
    head.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    head.extend_from_slice(b"\r\n");
    for (name, value) in answer.headers() {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    Bytes::from(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;

    #[tokio::test]
    async fn every_part_is_written_in_order_through_short_writes() {
        // A pipe taking 7 bytes at a time: every write is partial, some end inside a part.
        let (mut ours, mut theirs) = tokio::io::duplex(7);
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            theirs.read_to_end(&mut got).await.expect("read");
            got
        });
        let body: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        let parts: [&[u8]; 3] = [b"HTTP/1.1 200 OK\r\n", b"", &body];
        write_all(&mut ours, parts, Duration::from_secs(5))
            .await
            .expect("written");
        drop(ours);
        let got = reader.await.expect("reader");
        assert_eq!(got, [&b"HTTP/1.1 200 OK\r\n"[..], &body].concat());
    }

    #[tokio::test]
    async fn a_write_that_makes_no_progress_times_out() {
        let (mut ours, _theirs) = tokio::io::duplex(4);
        let parts: [&[u8]; 3] = [b"more than four bytes", b"", b""];
        let e = write_all(&mut ours, parts, Duration::from_millis(50))
            .await
            .expect_err("nobody reads");
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test]
    async fn rewind_reads_what_was_put_back_then_the_stream() {
        let (mut writer, reader) = tokio::io::duplex(64);
        writer.write_all(b" world").await.expect("write");
        drop(writer);
        let mut rewound = Rewind::new(Bytes::from_static(b"hello"), reader);
        let mut got = String::new();
        rewound.read_to_string(&mut got).await.expect("read");
        assert_eq!(got, "hello world");
    }

    #[test]
    fn a_head_is_the_status_line_the_headers_and_the_security_headers() {
        let etag = HeaderValue::from_static("\"1x1.png.00\"");
        let mut answer = Response::new(axum::body::Body::empty());
        *answer.status_mut() = StatusCode::NOT_MODIFIED;
        answer.headers_mut().insert(header::ETAG, etag.clone());
        answer.headers_mut().insert(header::CACHE_CONTROL, etag);
        let head = head(answer);
        assert_eq!(
            std::str::from_utf8(&head).expect("ascii"),
            "HTTP/1.1 304 Not Modified\r\netag: \"1x1.png.00\"\r\ncache-control: \"1x1.png.00\"\r\n\
             x-content-type-options: nosniff\r\ncontent-security-policy: default-src 'none'; sandbox\r\n"
        );
    }

    #[test]
    fn the_date_line_is_an_http_date_and_ends_the_head() {
        let line = date_line(false);
        let line = std::str::from_utf8(&line).expect("ascii");
        let date = line
            .strip_prefix("date: ")
            .and_then(|l| l.strip_suffix("\r\n\r\n"))
            .expect(line);
        let parsed = httpdate::parse_http_date(date).expect(date);
        let off = SystemTime::now()
            .duration_since(parsed)
            .unwrap_or_default()
            .as_secs();
        assert!(off <= 2, "{date} is {off} s off");
        let closing = date_line(true);
        assert_eq!(
            std::str::from_utf8(&closing).expect("ascii"),
            format!("connection: close\r\n{line}")
        );
    }
}
