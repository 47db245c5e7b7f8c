//! Thumbnail geometry (pure): the three renditions' sizes and crops.

/// A rectangle inside an image, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crop {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// The largest centred crop of `width`x`height` with the aspect ratio of `target_w`x`target_h`.
pub fn cover_crop(width: u32, height: u32, target_w: u32, target_h: u32) -> Crop {
    let (w, h) = (u64::from(width), u64::from(height));
    let (tw, th) = (u64::from(target_w.max(1)), u64::from(target_h.max(1)));
    // Compare w/h with tw/th without floating point.
    let (cw, ch) = if w * th > h * tw {
        // Too wide: keep the height.
        ((h * tw / th).max(1), h)
    } else {
        (w, (w * th / tw).max(1))
    };
    let (cw, ch) = (clamp_u32(cw), clamp_u32(ch));
    Crop {
        x: (width - cw) / 2,
        y: (height - ch) / 2,
        width: cw,
        height: ch,
    }
}

/// The size of `width`x`height` fitted inside `max`x`max`, aspect kept, never enlarged.
pub fn fit_within(width: u32, height: u32, max: u32) -> (u32, u32) {
    if width <= max && height <= max {
        return (width, height);
    }
    let (w, h, m) = (u64::from(width), u64::from(height), u64::from(max));
    if w >= h {
        (max, clamp_u32(((h * m + w / 2) / w).max(1)))
    } else {
        (clamp_u32(((w * m + h / 2) / h).max(1)), max)
    }
}

fn clamp_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// Side of the `.preview` square.
pub const PREVIEW: u32 = 200;
/// Bound of the `.large` rendition.
pub const LARGE: u32 = 960;
/// Side of the `.avatar` square.
pub const AVATAR: u32 = 60;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn crops_centre() {
        assert_eq!(
            cover_crop(400, 200, 1, 1),
            Crop {
                x: 100,
                y: 0,
                width: 200,
                height: 200
            }
        );
        assert_eq!(
            cover_crop(30, 500, 1, 1),
            Crop {
                x: 0,
                y: 235,
                width: 30,
                height: 30
            }
        );
        assert_eq!(
            cover_crop(1, 1, 1, 1),
            Crop {
                x: 0,
                y: 0,
                width: 1,
                height: 1
            }
        );
    }

    #[test]
    fn fits() {
        assert_eq!(fit_within(4000, 3000, 960), (960, 720));
        assert_eq!(fit_within(3000, 4000, 960), (720, 960));
        assert_eq!(fit_within(500, 30, 960), (500, 30));
        assert_eq!(fit_within(100_000, 1, 960), (960, 1));
    }

    proptest! {
        #[test]
        fn fit_keeps_aspect(w in 1u32..100_000, h in 1u32..100_000) {
            let (fw, fh) = fit_within(w, h, LARGE);
            prop_assert!(fw <= w && fh <= h, "never enlarged");
            if w <= LARGE && h <= LARGE {
                prop_assert_eq!((fw, fh), (w, h));
            } else if w >= h {
                // The long side lands on the bound, the short one within a pixel of exact.
                prop_assert_eq!(fw, LARGE);
                let exact = f64::from(h) * f64::from(LARGE) / f64::from(w);
                prop_assert!((f64::from(fh) - exact.max(1.0)).abs() <= 1.0);
            } else {
                prop_assert_eq!(fh, LARGE);
                let exact = f64::from(w) * f64::from(LARGE) / f64::from(h);
                prop_assert!((f64::from(fw) - exact.max(1.0)).abs() <= 1.0);
            }
        }

        #[test]
        fn crop_is_inside_and_square(w in 1u32..100_000, h in 1u32..100_000) {
            let c = cover_crop(w, h, 1, 1);
            prop_assert_eq!(c.width, c.height);
            prop_assert!(c.x + c.width <= w && c.y + c.height <= h);
            prop_assert_eq!(c.width, w.min(h));
        }
    }
}
