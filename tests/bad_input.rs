//! Hostile and odd input, made on the fly: each file goes through the client probe, the service
//! and the app's preview, and either works or is refused with its own error; nothing crashes.

mod common;

use common::{TOKEN, crc32, curl_post, decoded_size, get_bytes, http};

/// What a case must give: the service's status and a word of its message.
enum Expect {
    Ok,
    Refused(u16, &'static str),
    /// Truncated files: a decoder may recover what is there, or refuse it.
    OkOrRefused,
}

/// A PNG that is only a signature, an IHDR declaring `w`x`h`, and IEND.
fn png_header_only(w: u32, h: u32) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    b.extend_from_slice(&13u32.to_be_bytes());
    b.extend_from_slice(&ihdr);
    b.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    b.extend_from_slice(&[0, 0, 0, 0]);
    b.extend_from_slice(b"IEND");
    b.extend_from_slice(&crc32(b"IEND").to_be_bytes());
    b
}

/// A real 1x1 24-bit BMP.
fn bmp_1x1() -> Vec<u8> {
    let mut b = b"BM".to_vec();
    b.extend_from_slice(&58u32.to_le_bytes()); // file size
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&54u32.to_le_bytes()); // pixel data offset
    b.extend_from_slice(&40u32.to_le_bytes()); // BITMAPINFOHEADER
    b.extend_from_slice(&1i32.to_le_bytes());
    b.extend_from_slice(&1i32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&24u16.to_le_bytes());
    b.extend_from_slice(&[0; 24]);
    b.extend_from_slice(&[0, 0, 255, 0]); // one red pixel, padded
    b
}

/// A JPEG whose EXIF says `orientation`, made of four coloured quadrants.
fn oriented_jpeg(orientation: u16) -> Vec<u8> {
    let img = image::RgbImage::from_fn(120, 80, |x, y| match (x < 60, y < 40) {
        (true, true) => image::Rgb([255, 0, 0]),
        (false, true) => image::Rgb([0, 255, 0]),
        (true, false) => image::Rgb([0, 0, 255]),
        (false, false) => image::Rgb([255, 255, 255]),
    });
    let jpeg = common::encode(&img.into(), image::ImageFormat::Jpeg);
    let mut exif = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01".to_vec();
    exif.extend_from_slice(&orientation.to_be_bytes());
    exif.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&exif);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn cases() -> Vec<(String, Vec<u8>, Expect)> {
    let mut rng = fastrand::Rng::with_seed(11);
    let random: Vec<u8> = (0..4096).map(|_| rng.u8(..)).collect();
    let mut v: Vec<(String, Vec<u8>, Expect)> = vec![
        ("empty".into(), Vec::new(), Expect::Refused(400, "empty")),
        (
            "random bytes".into(),
            random,
            Expect::Refused(400, "not an image"),
        ),
        (
            "text named .jpg".into(),
            b"Dear diary, today...".to_vec(),
            Expect::Refused(400, "not an image"),
        ),
        (
            "PNG declaring 100000x100000".into(),
            png_header_only(100_000, 100_000),
            Expect::Refused(422, "limit"),
        ),
        (
            "45-byte PNG declaring 20000x20000".into(),
            png_header_only(20_000, 20_000),
            Expect::Refused(422, "limit is"),
        ),
        (
            "SVG".into(),
            br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>"#.to_vec(),
            Expect::Refused(400, "SVG"),
        ),
        (
            "HEIC".into(),
            b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec(),
            Expect::Refused(400, "HEIC"),
        ),
        (
            "AVIF".into(),
            b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf".to_vec(),
            Expect::Refused(400, "AVIF"),
        ),
        ("BMP".into(), bmp_1x1(), Expect::Refused(400, "BMP")),
        ("1x1 PNG".into(), common::png(1, 1), Expect::Ok),
        (
            "CMYK JPEG".into(),
            std::fs::read("tests/corpus/jpg/cmyk.jpg").expect("corpus"),
            Expect::Ok,
        ),
        (
            "GIF with 1200 frames".into(),
            common::gif(4, 4, 1200),
            Expect::Refused(422, "frames"),
        ),
    ];
    for (name, bytes) in [
        ("JPEG", common::jpeg(300, 200)),
        ("PNG", common::png(300, 200)),
        ("GIF", common::gif(60, 40, 3)),
        ("WebP", common::webp(300, 200)),
    ] {
        for percent in [5, 30, 60, 95] {
            let cut = bytes.len() * percent / 100;
            v.push((
                format!("{name} cut at {percent}%"),
                bytes[..cut].to_vec(),
                Expect::OkOrRefused,
            ));
        }
    }
    for o in 1..=8u16 {
        v.push((
            format!("JPEG with EXIF orientation {o}"),
            oriented_jpeg(o),
            Expect::Ok,
        ));
    }
    v
}

#[tokio::test]
async fn each_bad_input_is_handled_on_its_own_terms() {
    let svc = common::start_service().await;
    for (name, bytes, expect) in cases() {
        // Client probe and app preview: an answer, never a panic.
        let probe = groupme_uploader::probe::probe_bytes(&bytes);
        let preview = tokio::task::spawn_blocking({
            let bytes = bytes.clone();
            move || groupme_uploader::preview::from_bytes(&bytes, 256).map(|p| (p.width, p.height))
        })
        .await
        .unwrap_or_else(|_| panic!("{name}: the preview panicked"));
        let resp = http()
            .post(format!("{}/pictures", svc.url()))
            .header("X-Access-Token", TOKEN)
            .header("Content-Type", "image/jpeg")
            .body(bytes.clone())
            .send()
            .await
            .expect("answer");
        let status = resp.status().as_u16();
        let json: serde_json::Value = resp.json().await.expect("json");
        let message = json["meta"]["errors"][0]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        match expect {
            Expect::Ok => {
                assert_eq!(status, 200, "{name}: {json}");
                assert!(
                    probe.is_ok() && preview.is_ok(),
                    "{name}: {probe:?} {preview:?}"
                );
            }
            Expect::Refused(code, word) => {
                assert_eq!(status, code, "{name}: {json}");
                assert!(message.contains(word), "{name}: `{message}` lacks `{word}`");
            }
            Expect::OkOrRefused => {
                assert!(matches!(status, 200 | 400 | 422), "{name}: {status} {json}");
                assert!(status == 200 || !message.is_empty(), "{name}");
            }
        }
    }
    let health = http()
        .get(format!("{}/health", svc.url()))
        .send()
        .await
        .expect("up");
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn every_exif_orientation_comes_out_upright() {
    let svc = common::start_service().await;
    for o in 1..=8u16 {
        let (_, resp) = curl_post(&svc.url(), TOKEN, oriented_jpeg(o)).await;
        let url = resp["payload"]["url"].as_str().expect("url");
        let (_, large, _) = get_bytes(&format!("{url}.large")).await;
        let size = decoded_size(&large);
        // Orientations 5-8 turn the picture a quarter: the 120x80 stored pixels show as 80x120.
        let expected = if o >= 5 { (80, 120) } else { (120, 80) };
        assert_eq!(size, expected, "orientation {o}");
        // And the same transform as the `image` crate's own: compare the top-left colour.
        let mut reference = image::load_from_memory(&oriented_jpeg(o)).expect("decode");
        reference.apply_orientation(image::metadata::Orientation::from_exif(o as u8).expect("o"));
        let ours = image::load_from_memory(&large).expect("decode").into_rgb8();
        let theirs = reference.into_rgb8();
        let (a, b) = (ours.get_pixel(5, 5).0, theirs.get_pixel(5, 5).0);
        let close = a.iter().zip(b).all(|(x, y)| x.abs_diff(y) < 40);
        assert!(close, "orientation {o}: top-left {a:?} vs {b:?}");
    }
}

#[tokio::test]
async fn a_huge_but_valid_12000x8000_jpeg_works() {
    let svc = common::start_service().await;
    let bytes = common::jpeg(12_000, 8_000);
    let probe = groupme_uploader::probe::probe_bytes(&bytes).expect("probe");
    assert_eq!((probe.width, probe.height), (12_000, 8_000));
    let preview = groupme_uploader::preview::from_bytes(&bytes, 256).expect("preview");
    assert_eq!((preview.width, preview.height), (256, 171));
    let (_, resp) = curl_post(&svc.url(), TOKEN, bytes).await;
    let url = resp["payload"]["url"].as_str().expect("url");
    assert!(url.contains("/12000x8000.jpeg."), "{resp}");
    let (_, large, _) = get_bytes(&format!("{url}.large")).await;
    assert_eq!(decoded_size(&large), (960, 640));
}
