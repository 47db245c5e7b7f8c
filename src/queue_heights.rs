//! The queue list's row heights, without egui: compact rows share one height, an opened card's
//! height is remembered from when it was last drawn, so the list draws only the rows in view and
//! places them (with `crate::gallery::Placement`) where drawing them all would have.

use std::collections::HashMap;

use crate::gallery::Placement;
use crate::jobs::JobId;

/// What an opened card not drawn yet is guessed to add to its compact row.
pub const CARD_GUESS: f32 = 200.0;

/// The heights of the queue's rows, spacing included.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowHeights {
    /// The tallest compact row drawn (0 until one is).
    compact: f32,
    /// Opened cards, as last drawn.
    cards: HashMap<JobId, f32>,
}

impl RowHeights {
    /// The height of a row: `guess` (the compact height from the style) or the tallest compact
    /// row drawn; an open card as last drawn, else the compact row plus `CARD_GUESS`.
    pub fn height(&self, guess: f32, job: JobId, expanded: bool) -> f32 {
        let compact = guess.max(self.compact);
        if expanded {
            self.cards
                .get(&job)
                .copied()
                .unwrap_or(compact + CARD_GUESS)
        } else {
            compact
        }
    }

    /// Where the rows (`(job, expanded)`, top to bottom) sit.
    pub fn placement(
        &self,
        guess: f32,
        rows: impl IntoIterator<Item = (JobId, bool)>,
    ) -> Placement {
        Placement::new(rows.into_iter().map(|(j, e)| self.height(guess, j, e)))
    }

    /// Records what a drawn row took; true when that is not what it was placed with (the rows
    /// below moved: draw again).
    pub fn drawn(&mut self, guess: f32, job: JobId, expanded: bool, height: f32) -> bool {
        let placed = self.height(guess, job, expanded);
        if expanded {
            self.cards.insert(job, height);
        } else {
            self.compact = self.compact.max(height);
        }
        (self.height(guess, job, expanded) - placed).abs() > 0.5
    }

    /// Forgets the cards of jobs no longer open (closed or removed).
    pub fn retain_open(&mut self, mut open: impl FnMut(JobId) -> bool) {
        self.cards.retain(|j, _| open(*j));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROW: f32 = 52.0;

    #[test]
    fn compact_rows_take_the_guess_or_the_tallest_drawn() {
        let mut h = RowHeights::default();
        assert_eq!(h.height(ROW, JobId(1), false), ROW);
        assert!(
            !h.drawn(ROW, JobId(1), false, 50.0),
            "shorter: the guess holds"
        );
        assert_eq!(h.height(ROW, JobId(2), false), ROW);
        assert!(
            h.drawn(ROW, JobId(1), false, 60.0),
            "taller: the rows below move"
        );
        assert_eq!(h.height(ROW, JobId(2), false), 60.0, "every compact row");
        assert!(!h.drawn(ROW, JobId(3), false, 60.0));
    }

    #[test]
    fn an_open_card_is_guessed_then_remembered_until_closed() {
        let mut h = RowHeights::default();
        assert_eq!(h.height(ROW, JobId(7), true), ROW + CARD_GUESS);
        assert!(h.drawn(ROW, JobId(7), true, 300.0));
        assert_eq!(h.height(ROW, JobId(7), true), 300.0);
        assert!(
            !h.drawn(ROW, JobId(7), true, 300.2),
            "the same, give or take"
        );
        // Closed, it is a compact row; its card is forgotten once no longer open.
        assert_eq!(h.height(ROW, JobId(7), false), ROW);
        h.retain_open(|_| false);
        assert_eq!(h.height(ROW, JobId(7), true), ROW + CARD_GUESS);
    }

    #[test]
    fn only_the_rows_in_view_are_placed_there() {
        let mut h = RowHeights::default();
        h.drawn(ROW, JobId(2), true, 300.0);
        // 500 rows, the third open: 2 compact, the card, 497 compact.
        let rows = (0..500).map(|i| (JobId(i), i == 2));
        let p = h.placement(ROW, rows);
        assert_eq!(p.top(2), 2.0 * ROW);
        assert_eq!(p.top(3), 2.0 * ROW + 300.0);
        assert_eq!(p.total(), 499.0 * ROW + 300.0);
        // A 600 px window at the top: rows 0..=2 and the compact rows the card leaves room for.
        assert_eq!(p.visible(0.0, 600.0), 0..7);
        // Scrolled to the bottom: the last rows only.
        let bottom = p.total();
        assert_eq!(p.visible(bottom - 600.0, bottom), 488..500);
        // Past the end (the list shrank under the scroll offset): nothing.
        assert_eq!(p.visible(bottom + 10.0, bottom + 610.0), 500..500);
    }
}
