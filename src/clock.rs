//! The server clock. Deadlines, lock-outs and session expiry read it; tests
//! inject a manual clock instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::store::Millis;

#[derive(Clone, Default)]
pub struct Clock(Option<Arc<AtomicI64>>);

impl Clock {
    pub fn system() -> Clock {
        Clock(None)
    }

    /// A clock that stands still at `start` until moved.
    pub fn manual(start: Millis) -> Clock {
        Clock(Some(Arc::new(AtomicI64::new(start))))
    }

    pub fn now(&self) -> Millis {
        match &self.0 {
            Some(t) => t.load(Ordering::SeqCst),
            None => Timestamp::now().as_millisecond(),
        }
    }

    pub fn advance(&self, ms: Millis) {
        if let Some(t) = &self.0 {
            t.fetch_add(ms, Ordering::SeqCst);
        }
    }
}

/// Asia/Shanghai, the zone of every time shown or parsed.
pub fn shanghai() -> TimeZone {
    TimeZone::get("Asia/Shanghai").unwrap_or_else(|_| TimeZone::fixed(jiff::tz::offset(8)))
}

/// `2021-09-20 17:30:05` in Asia/Shanghai.
pub fn format_datetime(ms: Millis) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(t) => t
            .to_zoned(shanghai())
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string(),
        Err(_) => String::new(),
    }
}

/// The calendar date in Asia/Shanghai of an instant.
pub fn date_of(ms: Millis) -> jiff::civil::Date {
    Timestamp::from_millisecond(ms)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(shanghai())
        .date()
}

/// `YYYY年M月D日 HH:MM` in Asia/Shanghai, for deadlines in messages.
pub fn format_deadline(ms: Millis) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(t) => t
            .to_zoned(shanghai())
            .strftime("%Y年%-m月%-d日 %H:%M")
            .to_string(),
        Err(_) => String::new(),
    }
}

/// RFC 3339 with the +08:00 offset (`2021-09-15T17:00:00+08:00`), as
/// definition files write times.
pub fn rfc3339(ms: Millis) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(t) => t
            .to_zoned(shanghai())
            .strftime("%Y-%m-%dT%H:%M:%S%:z")
            .to_string(),
        Err(_) => String::new(),
    }
}

/// `HH:MM` in Asia/Shanghai.
pub fn format_time(ms: Millis) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(t) => t.to_zoned(shanghai()).strftime("%H:%M").to_string(),
        Err(_) => String::new(),
    }
}

/// Start of the day `yyyy-mm-dd` in Asia/Shanghai, as millis.
pub fn parse_date_start(s: &str) -> Option<Millis> {
    let d: jiff::civil::Date = s.trim().parse().ok()?;
    let z = d.to_zoned(shanghai()).ok()?;
    Some(z.timestamp().as_millisecond())
}

/// `2021-09-15T17:00` (an HTML datetime-local value) in Asia/Shanghai, as millis.
pub fn parse_local_datetime(s: &str) -> Option<Millis> {
    let dt: jiff::civil::DateTime = s.trim().parse().ok()?;
    Some(dt.to_zoned(shanghai()).ok()?.timestamp().as_millisecond())
}

/// The HTML datetime-local value of an instant, in Asia/Shanghai.
pub fn to_local_input(ms: Millis) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(t) => t
            .to_zoned(shanghai())
            .strftime("%Y-%m-%dT%H:%M")
            .to_string(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shanghai_formatting() {
        // 2021-09-20T00:00:00+08:00
        let ms = parse_date_start("2021-09-20").unwrap();
        assert_eq!(ms, 1_632_067_200_000);
        assert_eq!(format_datetime(ms), "2021-09-20 00:00:00");
        let c = Clock::manual(ms);
        c.advance(90_000);
        assert_eq!(format_time(c.now()), "00:01");
        let d = parse_local_datetime("2021-09-15T17:00").unwrap();
        assert_eq!(to_local_input(d), "2021-09-15T17:00");
        assert_eq!(format_deadline(d), "2021年9月15日 17:00");
    }
}
