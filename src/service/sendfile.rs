//! Bodies the kernel sends straight from their file, as nginx's `sendfile on` does. A stored
//! object is mapped into memory ([`map`]) and handed to hyper as ordinary bytes; the writer under
//! each connection ([`SendfileStream`]) recognises a mapped range among the bytes hyper asks it
//! to write and has the kernel send that part from the file with `sendfile(2)`, so the bytes are
//! never copied through this process (nor, usually, even touched by it). Anything that does not
//! go through that writer still sees the file's bytes in the mapping: the writer can only make
//! sending cheaper, never different.
//!
//! A file of 1 MiB or more goes out corked (`TCP_CORK` from its head to its last byte), as
//! nginx's `tcp_nopush` sends files: only full segments leave until the end, so the receiver
//! handles fewer, larger packets. Measured on the 3.5 MB original (2026-12-07, `wrk` pinned):
//! 720 → 847 requests a second, level with nginx (853). Smaller files were not tried corked.
//!
//! The one `unsafe` is the mapping itself (memmap2's `map`): its soundness rests on the file not
//! changing while mapped. Stored objects never do: they are written once under a staged name,
//! synced, renamed into place, and only ever removed (removing a mapped file is safe), never
//! rewritten or truncated. A file truncated behind the service's back by someone else is caught
//! by `sendfile` sending fewer bytes than promised, which ends the connection with an error.
#![allow(unsafe_code)]

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;

/// A live mapping: where its bytes come from.
struct Span {
    /// One past its last byte's address.
    end: usize,
    file: Arc<File>,
    /// The file offset of its first byte.
    offset: u64,
}

/// Every live mapping made by [`map`], by the address of its first byte.
static MAPPED: Mutex<BTreeMap<usize, Span>> = Mutex::new(BTreeMap::new());

fn mapped() -> std::sync::MutexGuard<'static, BTreeMap<usize, Span>> {
    MAPPED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The owner of a mapping: registered while it lives, so writers can find its file.
struct Mapped {
    map: memmap2::Mmap,
    /// Kept open for `sendfile` for as long as the mapping can be sent.
    _file: Arc<File>,
}

impl AsRef<[u8]> for Mapped {
    fn as_ref(&self) -> &[u8] {
        &self.map
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // Before the fields go: an address is only ever registered for the mapping that holds it.
        mapped().remove(&(self.map.as_ptr() as usize));
    }
}

/// `len` bytes of `file` from `offset`, mapped (not read): sent by [`SendfileStream`] with
/// `sendfile(2)`. Fails with `UnexpectedEof` if the file is shorter than that.
pub fn map(file: File, offset: u64, len: u64) -> io::Result<Bytes> {
    let size = file.metadata()?.len();
    if offset.checked_add(len).is_none_or(|end| end > size) {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    if len == 0 {
        return Ok(Bytes::new());
    }
    let len = usize::try_from(len).map_err(io::Error::other)?;
    // SAFETY: the module doc: stored objects are never changed or truncated once in place, and
    // the range was just checked to lie inside the file.
    let map = unsafe {
        memmap2::MmapOptions::new()
            .offset(offset)
            .len(len)
            .map(&file)?
    };
    let file = Arc::new(file);
    let start = map.as_ptr() as usize;
    mapped().insert(
        start,
        Span {
            end: start + map.len(),
            file: file.clone(),
            offset,
        },
    );
    Ok(Bytes::from_owner(Mapped { map, _file: file }))
}

/// Whether another long-lived mapping may be made: each keeps its file open, so the mappings
/// live at once are held to a quarter of the process's descriptor limit, leaving the rest to
/// connections and stores. Past it, callers read the bytes instead.
pub fn room() -> bool {
    mapped().len() < cap()
}

/// How many mappings may live at once: a quarter of the descriptor limit (read once).
fn cap() -> usize {
    static CAP: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CAP.get_or_init(|| {
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        let soft = limit.current.unwrap_or(u64::MAX);
        usize::try_from(soft / 4).unwrap_or(usize::MAX)
    })
}

/// How many mapped files the service may keep open between requests (its open-file cache):
/// half of what [`room`] allows, so answers being sent always find room, and at most 1,024.
pub fn files_to_hold() -> usize {
    (cap() / 2).min(1024)
}

/// Where the bytes of `buf` come from, if they lie in a live mapping: its file, the offset of
/// `buf`'s first byte in it, and how many of `buf`'s bytes follow in that mapping.
fn source(buf: &[u8]) -> Option<(Arc<File>, u64, usize)> {
    let addr = buf.as_ptr() as usize;
    let mapped = mapped();
    let (&start, span) = mapped.range(..=addr).next_back()?;
    (addr < span.end).then(|| {
        (
            span.file.clone(),
            span.offset + (addr - start) as u64,
            buf.len().min(span.end - addr),
        )
    })
}

/// Bodies from this size go out corked (`TCP_CORK`), as nginx's `tcp_nopush` sends files.
const CORK_FROM: usize = 1 << 20;

/// A connection's socket whose writes send mapped bytes with `sendfile(2)`; everything else
/// passes through unchanged.
#[derive(Debug)]
pub struct SendfileStream {
    stream: TcpStream,
    /// `TCP_CORK` is on: a large file is being sent, full segments only until its end.
    corked: bool,
}

impl SendfileStream {
    /// Wraps `stream`.
    pub fn new(stream: TcpStream) -> SendfileStream {
        SendfileStream {
            stream,
            corked: false,
        }
    }

    /// Runs the non-blocking `send` once the socket can take bytes, waiting while it cannot.
    fn poll_send(
        &self,
        cx: &mut Context<'_>,
        mut send: impl FnMut(&TcpStream) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.stream.poll_write_ready(cx))?;
            match self
                .stream
                .try_io(Interest::WRITABLE, || send(&self.stream))
            {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }
}

impl AsyncRead for SendfileStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for SendfileStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        // One registry lookup per slice, up to the first mapped one.
        let Some((at, (file, offset, len))) = bufs
            .iter()
            .enumerate()
            .filter(|(_, b)| !b.is_empty())
            .find_map(|(i, b)| source(b).map(|found| (i, found)))
        else {
            return Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        };
        let head = &bufs[..at];
        if head.iter().all(|b| b.is_empty()) {
            let sent = ready!(this.poll_send(cx, |socket| {
                let mut from = offset;
                match rustix::fs::sendfile(socket, &*file, Some(&mut from), len)? {
                    // The file got shorter than its mapping: never send other bytes instead.
                    0 => Err(io::ErrorKind::UnexpectedEof.into()),
                    n => Ok(n),
                }
            }));
            if this.corked && sent.as_ref().is_ok_and(|&n| n == len) {
                this.corked = false;
                rustix::net::sockopt::set_tcp_cork(&this.stream, false)?;
            }
            return Poll::Ready(sent);
        }
        if len >= CORK_FROM && !this.corked {
            rustix::net::sockopt::set_tcp_cork(&this.stream, true)?;
            this.corked = true;
        }
        // A response head before a file's bytes: held back (`MSG_MORE`) to leave in the same
        // packet as the start of the body, as nginx's `tcp_nopush` does.
        this.poll_send(cx, |socket| {
            let flags = rustix::net::SendFlags::MORE | rustix::net::SendFlags::NOSIGNAL;
            let mut no_control = rustix::net::SendAncillaryBuffer::default();
            Ok(rustix::net::sendmsg(socket, head, &mut no_control, flags)?)
        })
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    fn file_with(data: &[u8]) -> File {
        let mut file = tempfile::tempfile().expect("file");
        file.write_all(data).expect("write");
        file
    }

    async fn pair() -> (SendfileStream, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let client = TcpStream::connect(listener.local_addr().expect("addr"))
            .await
            .expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        (SendfileStream::new(server), client)
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn a_mapping_holds_the_files_bytes_and_is_registered_while_it_lives() {
        let data = pattern(100_000);
        let bytes = map(file_with(&data), 5_000, 90_000).expect("map");
        assert_eq!(bytes, data[5_000..95_000]);
        let (_, offset, len) = source(&bytes[10..20]).expect("registered");
        assert_eq!((offset, len), (5_010, 10));
        // A slice reaching past the mapping is only the mapping's part.
        assert_eq!(source(&bytes[89_990..]).expect("registered").2, 10);
        let addr = bytes.as_ptr() as usize;
        drop(bytes);
        assert!(
            !mapped().contains_key(&addr),
            "the registration outlived its mapping"
        );
        assert!(source(&data).is_none(), "heap bytes are not mapped");
    }

    #[test]
    fn a_range_past_the_end_of_the_file_is_refused() {
        let e = map(file_with(&[1; 100]), 50, 51).expect_err("past the end");
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert!(map(file_with(&[1; 100]), 0, 0).expect("empty").is_empty());
    }

    #[tokio::test]
    async fn a_head_and_a_mapped_body_arrive_whole_and_in_order() {
        let data = pattern(3 * 1024 * 1024 + 17);
        let body = map(file_with(&data), 0, data.len() as u64).expect("map");
        let (mut server, mut client) = pair().await;
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.expect("read");
            got
        });
        let head = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        let (mut h, mut b) = (&head[..], &body[..]);
        while !h.is_empty() || !b.is_empty() {
            let n = server
                .write_vectored(&[IoSlice::new(h), IoSlice::new(b)])
                .await
                .expect("write");
            assert!(n > 0);
            let from_head = n.min(h.len());
            h = &h[from_head..];
            b = &b[n - from_head..];
        }
        server.shutdown().await.expect("shutdown");
        drop(server);
        let got = reader.await.expect("reader");
        assert_eq!(got.len(), head.len() + data.len());
        assert_eq!(&got[..head.len()], head);
        assert!(got[head.len()..] == data[..], "the body differs");
    }

    #[tokio::test]
    async fn a_file_truncated_under_its_mapping_ends_the_send_with_an_error() {
        let data = pattern(64 * 1024);
        let file = file_with(&data);
        let shrink = file.try_clone().expect("clone");
        let body = map(file, 0, data.len() as u64).expect("map");
        shrink.set_len(1000).expect("truncate");
        let (mut server, _client) = pair().await;
        // The first 1000 bytes may go; then the file has nothing more to give.
        let mut sent = 0;
        let error = loop {
            match server.write(&body[sent..]).await {
                Ok(n) => sent += n,
                Err(e) => break e,
            }
        };
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(sent, 1000);
    }

    #[tokio::test]
    async fn a_large_body_goes_out_corked_and_the_cork_comes_off_at_its_end() {
        let cork = |s: &SendfileStream| rustix::net::sockopt::tcp_cork(&s.stream).expect("cork");
        let data = pattern(CORK_FROM + 4096);
        let body = map(file_with(&data), 0, data.len() as u64).expect("map");
        let small = map(file_with(&data[..CORK_FROM - 1]), 0, (CORK_FROM - 1) as u64).expect("map");
        let (mut server, mut client) = pair().await;
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.expect("read");
            got
        });
        let head = b"HTTP/1.1 200 OK\r\n\r\n";
        let n = server
            .write_vectored(&[IoSlice::new(head), IoSlice::new(&body)])
            .await
            .expect("head");
        assert_eq!(n, head.len(), "the head goes first, on its own");
        assert!(cork(&server), "corked for a body of {} bytes", body.len());
        server.write_all(&body).await.expect("body");
        assert!(!cork(&server), "still corked after the body's last byte");
        // A smaller file is not corked.
        let n = server
            .write_vectored(&[IoSlice::new(head), IoSlice::new(&small)])
            .await
            .expect("head");
        assert_eq!(n, head.len());
        assert!(!cork(&server), "corked for a body of {} bytes", small.len());
        server.write_all(&small).await.expect("body");
        server.shutdown().await.expect("shutdown");
        drop(server);
        let got = reader.await.expect("reader");
        let sent = [&head[..], &data, &head[..], &data[..CORK_FROM - 1]].concat();
        assert!(got == sent, "{} bytes arrived of {}", got.len(), sent.len());
    }
}
