//! Working days in China: Monday to Friday, less public holidays, plus the
//! weekend days made working days (调休). The schedule is data
//! (`data/calendar/holidays.tsv`, with its source); years it does not cover
//! count weekends only, and [`covers`] says which years it knows.

use std::collections::HashMap;
use std::sync::LazyLock;

use jiff::ToSpan;
use jiff::civil::{Date, Weekday};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Holiday,
    Workday,
}

struct Calendar {
    days: HashMap<Date, (Kind, &'static str)>,
    first_year: i16,
    last_year: i16,
}

static CALENDAR: LazyLock<Calendar> = LazyLock::new(|| {
    let mut days = HashMap::new();
    for line in include_str!("../../data/calendar/holidays.tsv").lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut parts = line.split('\t');
        let (Some(d), Some(k), name) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let Ok(date) = d.parse::<Date>() else {
            continue;
        };
        let kind = if k == "holiday" {
            Kind::Holiday
        } else {
            Kind::Workday
        };
        days.insert(date, (kind, name.unwrap_or("")));
    }
    let first_year = days.keys().map(|d| d.year()).min().unwrap_or(0);
    let last_year = days.keys().map(|d| d.year()).max().unwrap_or(0);
    Calendar {
        days,
        first_year,
        last_year,
    }
});

/// Whether the schedule of `year` is in the calendar.
pub fn covers(year: i16) -> bool {
    (CALENDAR.first_year..=CALENDAR.last_year).contains(&year)
}

pub fn is_working_day(d: Date) -> bool {
    match CALENDAR.days.get(&d) {
        Some((Kind::Holiday, _)) => false,
        Some((Kind::Workday, _)) => true,
        None => !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday),
    }
}

/// The holiday `d` belongs to, if it is one.
pub fn holiday_name(d: Date) -> Option<&'static str> {
    match CALENDAR.days.get(&d) {
        Some((Kind::Holiday, n)) => Some(n),
        _ => None,
    }
}

/// The `n`th working day counting `start` itself when it is one: the last
/// day of a period of `n` working days that begins on `start`.
pub fn period_end(start: Date, n: u32) -> Date {
    let mut d = start;
    let mut counted = 0;
    loop {
        if is_working_day(d) {
            counted += 1;
            if counted >= n.max(1) {
                return d;
            }
        }
        d = d.saturating_add(1.day());
    }
}

/// The first working day on or after `d`.
pub fn next_working_day(d: Date) -> Date {
    let mut d = d;
    while !is_working_day(d) {
        d = d.saturating_add(1.day());
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn national_day_and_its_swapped_saturday_are_counted_as_the_state_council_set() {
        // 2021: 10-01..10-07 off; Saturday 10-09 is a working day (调休).
        assert!(!is_working_day(date(2021, 10, 4)));
        assert_eq!(holiday_name(date(2021, 10, 4)), Some("国庆节"));
        assert!(is_working_day(date(2021, 10, 9)));
        assert!(!is_working_day(date(2021, 10, 10)));
        // Five working days from Thursday 2021-09-30: 9-30, 10-08 (Fri), 10-09 (Sat, 调休), 10-11, 10-12.
        assert_eq!(period_end(date(2021, 9, 30), 5), date(2021, 10, 12));
    }

    #[test]
    fn an_ordinary_week_is_monday_to_friday() {
        // Monday 2026-11-30 + 5 working days ends Friday 2026-12-04.
        assert_eq!(period_end(date(2026, 11, 30), 5), date(2026, 12, 4));
        // From a Saturday the period starts on Monday.
        assert_eq!(period_end(date(2026, 12, 5), 5), date(2026, 12, 11));
        assert_eq!(next_working_day(date(2026, 12, 5)), date(2026, 12, 7));
    }

    #[test]
    fn spring_festival_2026_and_its_saturday_workdays() {
        // 2026: Saturday 02-14 and 02-28 are working days; 02-15..02-23 off.
        assert!(is_working_day(date(2026, 2, 14)));
        assert!(!is_working_day(date(2026, 2, 16)));
        assert!(is_working_day(date(2026, 2, 28)));
        assert!(covers(2026));
        assert!(!covers(2027));
    }
}
