//! Where each queue card's picture sits in the window's shared card textures (pure, no egui):
//! square slots of [`SLOT`] pixels on pages of [`PAGE`]x[`PAGE`], a freed slot used again first.
//! A texture per card cost a software renderer (Mesa's llvmpipe, `heaptrack`) some 69 KB for a
//! 76-pixel picture of 23 KB, 106 MB for 1,528 cards' pictures; a page holds [`PER_PAGE`]
//! pictures in 1 MB.

/// A slot's side: a card's picture fits it ([`crate::preview::CARD_SIDE`]).
pub const SLOT: u32 = crate::preview::CARD_SIDE;

/// A page's side.
pub const PAGE: u32 = 512;

/// Slots on one page.
pub const PER_PAGE: u32 = (PAGE / SLOT) * (PAGE / SLOT);

/// One slot, numbered across pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Slot(pub u32);

impl Slot {
    /// The page it is on.
    pub fn page(self) -> usize {
        (self.0 / PER_PAGE) as usize
    }

    /// Its top-left pixel on its page.
    pub fn origin(self) -> [u32; 2] {
        let i = self.0 % PER_PAGE;
        let per_row = PAGE / SLOT;
        [(i % per_row) * SLOT, (i / per_row) * SLOT]
    }
}

/// The slots handed out and given back.
#[derive(Debug, Default)]
pub struct Slots {
    /// Slots never handed out start here.
    next: u32,
    /// Given back, handed out again before any new one.
    free: Vec<Slot>,
}

impl Slots {
    /// A slot no one holds.
    pub fn take(&mut self) -> Slot {
        self.free.pop().unwrap_or_else(|| {
            self.next += 1;
            Slot(self.next - 1)
        })
    }

    /// `slot` is no longer used.
    pub fn give(&mut self, slot: Slot) {
        self.free.push(slot);
    }

    /// Pages needed for every slot handed out so far.
    pub fn pages(&self) -> usize {
        self.next.div_ceil(PER_PAGE) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_tile_pages_without_overlap() {
        let mut slots = Slots::default();
        let taken: Vec<Slot> = (0..PER_PAGE + 1).map(|_| slots.take()).collect();
        assert_eq!(slots.pages(), 2);
        let on_first: std::collections::HashSet<[u32; 2]> = taken[..PER_PAGE as usize]
            .iter()
            .map(|s| s.origin())
            .collect();
        assert_eq!(
            on_first.len(),
            PER_PAGE as usize,
            "no two slots share a place"
        );
        for s in &taken[..PER_PAGE as usize] {
            assert_eq!(s.page(), 0);
            let [x, y] = s.origin();
            assert!(
                x + SLOT <= PAGE && y + SLOT <= PAGE,
                "{s:?} inside its page"
            );
        }
        let last = taken[PER_PAGE as usize];
        assert_eq!((last.page(), last.origin()), (1, [0, 0]));
    }

    #[test]
    fn a_given_back_slot_is_used_again_first() {
        let mut slots = Slots::default();
        let a = slots.take();
        let b = slots.take();
        slots.give(a);
        assert_eq!(slots.take(), a);
        assert_eq!(slots.take(), Slot(b.0 + 1));
        assert_eq!(slots.pages(), 1);
    }
}
