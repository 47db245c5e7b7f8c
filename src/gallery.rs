//! The History gallery's arithmetic (pure, no egui): which entries match a search, how they group
//! by day in the local time zone (newest first, headed "Today", "Yesterday", "Tuesday
//! 1 December 2026"), where each row sits, and which rows are in view — so a history of 10,000
//! entries draws, and asks thumbnails for, only the dozen on screen.

use std::ops::Range;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use crate::history::Entry;

/// One row of the gallery: a day's heading or an entry (its index in the history).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    Day(NaiveDate),
    Entry(usize),
}

/// When `secs` (since the Unix epoch) was, in `tz`.
pub fn local<Tz: TimeZone>(secs: u64, tz: &Tz) -> DateTime<Tz> {
    let utc = i64::try_from(secs)
        .ok()
        .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
        .unwrap_or_default();
    utc.with_timezone(tz)
}

/// The indices of the entries whose name or URL contains `query` (case-insensitive; blank
/// matches all), newest first (by upload time, then by position: later added first).
pub fn matching(entries: &[Entry], query: &str) -> Vec<usize> {
    let query = query.trim().to_lowercase();
    let mut found: Vec<usize> = (0..entries.len())
        .filter(|&i| entries[i].matches(&query))
        .collect();
    found.sort_by(|&a, &b| {
        entries[b]
            .uploaded_at
            .cmp(&entries[a].uploaded_at)
            .then(b.cmp(&a))
    });
    found
}

/// `newest_first` (indices into `entries`) with a heading before each day's first entry, days
/// taken in `tz`.
pub fn group_by_day<Tz: TimeZone>(entries: &[Entry], newest_first: &[usize], tz: &Tz) -> Vec<Row> {
    let mut rows = Vec::with_capacity(newest_first.len() + newest_first.len() / 4 + 1);
    let mut current = None;
    for &i in newest_first {
        let day = local(entries[i].uploaded_at, tz).date_naive();
        if current != Some(day) {
            rows.push(Row::Day(day));
            current = Some(day);
        }
        rows.push(Row::Entry(i));
    }
    rows
}

/// A day's heading: "Today", "Yesterday", else "Tuesday 1 December 2026".
pub fn day_label(day: NaiveDate, today: NaiveDate) -> String {
    if day == today {
        "Today".to_owned()
    } else if today.pred_opt() == Some(day) {
        "Yesterday".to_owned()
    } else {
        day.format("%A %-d %B %Y").to_string()
    }
}

/// The time of day an entry shows beside its name: "14:05".
pub fn time_label<Tz: TimeZone>(secs: u64, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    local(secs, tz).format("%H:%M").to_string()
}

/// The full date and time, with the offset from UTC: "Tuesday 1 December 2026, 14:05 (+01:00)".
pub fn full_label<Tz: TimeZone>(secs: u64, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    local(secs, tz)
        .format("%A %-d %B %Y, %H:%M (%:z)")
        .to_string()
}

/// Where the rows sit, top to bottom, for rows of known heights.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Placement {
    /// The top of each row, and at the end the bottom of the last.
    edges: Vec<f32>,
}

impl Placement {
    /// `heights[i]` is row `i`'s height, spacing included.
    pub fn new(heights: impl IntoIterator<Item = f32>) -> Placement {
        let mut edges = vec![0.0];
        let mut y = 0.0;
        for h in heights {
            y += h.max(0.0);
            edges.push(y);
        }
        Placement { edges }
    }

    /// The height of all rows.
    pub fn total(&self) -> f32 {
        self.edges.last().copied().unwrap_or(0.0)
    }

    /// The top of row `i`.
    pub fn top(&self, i: usize) -> f32 {
        self.edges.get(i).copied().unwrap_or_else(|| self.total())
    }

    /// The rows that overlap `top..bottom` (the viewport, in the same coordinates).
    pub fn visible(&self, top: f32, bottom: f32) -> Range<usize> {
        let rows = self.edges.len() - 1;
        // The first row whose bottom is below `top`, the first row whose top is at or below
        // `bottom`.
        let first = self.edges[1..].partition_point(|&b| b <= top);
        let end = self.edges[..rows].partition_point(|&t| t < bottom);
        first.min(end)..end
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    fn entry(name: &str, uploaded_at: u64) -> Entry {
        Entry {
            name: name.into(),
            url: format!("http://127.0.0.1:1/10x10.png.{name}"),
            endpoint: "http://127.0.0.1:1".into(),
            hash: None,
            width: None,
            height: None,
            format: None,
            size: None,
            uploaded_at,
            account: String::new(),
        }
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    /// 2026-12-01 00:00:00 UTC.
    const DEC_1: u64 = 1_796_083_200;

    #[test]
    fn labels_today_yesterday_and_a_full_date() {
        let today = date(2026, 12, 3);
        assert_eq!(day_label(today, today), "Today");
        assert_eq!(day_label(date(2026, 12, 2), today), "Yesterday");
        assert_eq!(
            day_label(date(2026, 12, 1), today),
            "Tuesday 1 December 2026"
        );
        // Across a month and a year.
        assert_eq!(day_label(date(2026, 12, 31), date(2027, 1, 1)), "Yesterday");
        assert_eq!(
            day_label(date(2026, 11, 30), date(2026, 12, 2)),
            "Monday 30 November 2026"
        );
        // A clock set back: a day after today is a date, not "Today".
        assert_eq!(
            day_label(date(2026, 12, 4), today),
            "Friday 4 December 2026"
        );
    }

    #[test]
    fn days_break_at_local_midnight() {
        assert_eq!(
            local(DEC_1, &Utc).date_naive(),
            date(2026, 12, 1),
            "the constant is what it says"
        );
        let entries = [
            entry("late-30-nov", DEC_1 - 1),
            entry("midnight", DEC_1),
            entry("noon", DEC_1 + 12 * 3600),
            entry("last-second", DEC_1 + 86_399),
            entry("next-day", DEC_1 + 86_400),
        ];
        let order = matching(&entries, "");
        assert_eq!(order, [4, 3, 2, 1, 0]);
        assert_eq!(
            group_by_day(&entries, &order, &Utc),
            [
                Row::Day(date(2026, 12, 2)),
                Row::Entry(4),
                Row::Day(date(2026, 12, 1)),
                Row::Entry(3),
                Row::Entry(2),
                Row::Entry(1),
                Row::Day(date(2026, 11, 30)),
                Row::Entry(0),
            ]
        );
        // Two hours east of UTC, midnight UTC is 02:00 and 22:00 UTC is already the next day.
        let east = FixedOffset::east_opt(2 * 3600).expect("offset");
        assert_eq!(
            group_by_day(&entries, &order, &east),
            [
                Row::Day(date(2026, 12, 2)),
                Row::Entry(4),
                Row::Entry(3),
                Row::Day(date(2026, 12, 1)),
                Row::Entry(2),
                Row::Entry(1),
                Row::Entry(0),
            ]
        );
        assert_eq!(time_label(DEC_1, &east), "02:00");
        assert_eq!(
            full_label(DEC_1, &east),
            "Tuesday 1 December 2026, 02:00 (+02:00)"
        );
    }

    #[test]
    fn newest_first_by_time_then_by_position() {
        // Out of order in the file (a clock changed): the time decides; equal times, the later
        // added comes first.
        let entries = [entry("a", 300), entry("b", 100), entry("c", 300)];
        assert_eq!(matching(&entries, ""), [2, 0, 1]);
    }

    #[test]
    fn search_is_case_insensitive_on_name_and_url_and_exact_in_what_it_keeps() {
        let mut entries = vec![
            entry("Beach.PNG", 1),
            entry("mountain.png", 2),
            entry("beach-2.jpg", 3),
        ];
        entries[1].url = "http://127.0.0.1:1/21x10.png.0123abcd".into();
        assert_eq!(matching(&entries, "  BEACH "), [2, 0]);
        assert_eq!(matching(&entries, "21X10"), [1]);
        assert_eq!(matching(&entries, ".jpg"), [2]);
        assert!(matching(&entries, "zzz").is_empty());
        assert_eq!(matching(&entries, ""), [2, 1, 0]);
        // Headings only for days that kept an entry.
        assert_eq!(group_by_day(&entries, &matching(&entries, "zzz"), &Utc), []);
    }

    #[test]
    fn visible_rows_are_those_overlapping_the_viewport() {
        // Heading 20, entries 100 each: edges 0, 20, 120, 220, 240, 340.
        let p = Placement::new([20.0, 100.0, 100.0, 20.0, 100.0]);
        assert_eq!(p.total(), 340.0);
        assert_eq!(p.top(3), 220.0);
        assert_eq!(p.visible(0.0, 50.0), 0..2);
        assert_eq!(p.visible(20.0, 120.0), 1..2, "edges touching do not count");
        assert_eq!(p.visible(119.0, 221.0), 1..4);
        assert_eq!(p.visible(300.0, 1000.0), 4..5);
        assert_eq!(p.visible(400.0, 500.0), 5..5);
        assert_eq!(Placement::new([]).visible(0.0, 100.0), 0..0);
    }

    #[test]
    fn ten_thousand_rows_place_and_find_quickly() {
        let heights = (0..10_000).map(|i| if i % 50 == 0 { 24.0 } else { 96.0 });
        let p = Placement::new(heights);
        let top = p.top(5_000);
        let range = p.visible(top, top + 600.0);
        assert_eq!(range.start, 5_000);
        assert!(range.len() <= 8, "{range:?}");
    }
}
