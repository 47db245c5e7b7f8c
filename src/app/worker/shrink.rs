//! The before-upload options in a job (on the worker's blocking pool, called from `upload`'s
//! `prepare`): the bytes to send instead of the original, the dedup key, and what the card says.
//! The transform itself is [`crate::reencode`].

use crate::downscale::BeforeUpload;
use crate::jobs::Reduction;
use crate::reencode::{self, Outcome, ReencodeError};

/// One job's bytes after the before-upload options.
#[derive(Debug)]
pub(super) struct Shrunk {
    /// The bytes to send instead of the original; `None` sends the original.
    pub(super) bytes: Option<Vec<u8>>,
    /// History's dedup key for what is sent.
    pub(super) hash: String,
    /// What the card says; `None` when no option applied.
    pub(super) reduction: Option<Reduction>,
}

/// Applies `options` to `original`.
///
/// The dedup key: for a file sent as it is, the content id of its bytes as read (as before these
/// options, so old history entries still match). For a transformed file, the content id of the
/// original's id plus the plan's recipe (target size, JPEG or not, quality), not of the output:
/// the output is a deterministic function of those two, so the same photo under the same options
/// maps to the same entry, while other options (or none) never reuse a URL of pictures of another
/// size or quality. The original's id alone would hand back a 2048-px upload when the person
/// turned the options off to send the full photo.
pub(super) fn apply(original: &[u8], options: &BeforeUpload) -> Result<Shrunk, ReencodeError> {
    let id = crate::content_id::of_bytes(original);
    Ok(match reencode::apply(original, options)? {
        Outcome::Unchanged => Shrunk {
            bytes: None,
            hash: id,
            reduction: None,
        },
        Outcome::KeptAnimation => Shrunk {
            bytes: None,
            hash: id,
            reduction: Some(Reduction::KeptAnimation),
        },
        Outcome::Reduced(r) => Shrunk {
            hash: crate::content_id::of_bytes(format!("{id} {}", r.recipe).as_bytes()),
            reduction: Some(Reduction::Sent {
                width: r.width,
                height: r.height,
                bytes: r.bytes.len() as u64,
                was: original.len() as u64,
            }),
            bytes: Some(r.bytes),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_keys_follow_the_options() {
        let img = image::RgbImage::from_fn(600, 400, |x, y| image::Rgb([x as u8, y as u8, 9]));
        let mut jpeg = Vec::new();
        img.write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .expect("jpeg");
        let off = apply(&jpeg, &BeforeUpload::default()).expect("off");
        assert_eq!(off.hash, crate::content_id::of_bytes(&jpeg), "as before");
        assert!(off.bytes.is_none() && off.reduction.is_none());
        let small = BeforeUpload {
            downscale: true,
            max_side: 300,
            ..BeforeUpload::default()
        };
        let a = apply(&jpeg, &small).expect("a");
        let again = apply(&jpeg, &small).expect("again");
        assert_eq!(a.hash, again.hash, "same photo, same options: same key");
        assert_eq!(a.bytes, again.bytes, "and the same bytes");
        assert_ne!(a.hash, off.hash);
        let smaller = apply(
            &jpeg,
            &BeforeUpload {
                max_side: 256,
                ..small
            },
        )
        .expect("smaller");
        assert_ne!(a.hash, smaller.hash);
        assert_eq!(
            a.reduction,
            Some(Reduction::Sent {
                width: 300,
                height: 200,
                bytes: a.bytes.as_ref().map_or(0, |b| b.len() as u64),
                was: jpeg.len() as u64,
            })
        );
    }
}
