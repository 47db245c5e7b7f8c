//! The content id of a picture (pure): the first 128 bits of its SHA-256, as 32 lowercase hex
//! characters. The service names stored pictures by it and the app finds duplicates by it, so
//! both compute it here: if the rule changed in one place only, duplicate detection would break
//! silently.

use std::io::Read;

use sha2::{Digest as _, Sha256};

/// Hex characters in an id.
pub const LEN: usize = 32;

fn finish(hasher: Sha256) -> String {
    hex::encode(&hasher.finalize()[..LEN / 2])
}

/// The id of `bytes`.
pub fn of_bytes(bytes: &[u8]) -> String {
    let mut hasher = Hasher::new();
    hasher.update(bytes);
    hasher.finish()
}

/// The id of bytes given piece by piece, e.g. as a request body arrives.
#[derive(Default)]
pub struct Hasher(Sha256);

impl Hasher {
    /// Nothing hashed yet.
    pub fn new() -> Self {
        Hasher::default()
    }

    /// Hashes the next piece.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The id of everything given.
    pub fn finish(self) -> String {
        finish(self.0)
    }
}

/// The id of everything `reader` yields, read in 256 KiB chunks (no whole-file buffer).
pub fn of_reader(mut reader: impl Read) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(finish(hasher)),
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_128_bits_of_sha256_in_hex() {
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223 b00361a396177a9cb410ff61f20015ad
        assert_eq!(of_bytes(b"abc"), "ba7816bf8f01cfea414140de5dae2223");
        assert_eq!(of_bytes(b"abc").len(), LEN);
    }

    #[test]
    fn pieces_hash_to_the_id_of_the_whole() {
        let big: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
        let mut hasher = Hasher::new();
        for piece in big.chunks(7_777) {
            hasher.update(piece);
        }
        assert_eq!(hasher.finish(), of_bytes(&big));
        assert_eq!(Hasher::new().finish(), of_bytes(b""));
    }

    #[test]
    fn bytes_and_a_reader_agree_across_chunks() {
        let big: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(
            of_reader(std::io::Cursor::new(&big)).expect("read"),
            of_bytes(&big)
        );
        assert_eq!(of_reader(std::io::empty()).expect("read"), of_bytes(b""));
    }
}
