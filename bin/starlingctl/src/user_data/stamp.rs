//! Reading the times moved data carries: XEP-0082 DateTimes (XEP-0203 delay stamps) and the
//! legacy XEP-0091 `CCYYMMDDThh:mm:ss` form old jabberd2 versions stamped offline messages with.
//! Writing them is `sm::time::stamp`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use minidom::Element;

pub use sm::modules::offline::DELAY;

/// The time of the `<delay xmlns='urn:xmpp:delay' stamp=…/>` child of `stanza`, if it has a
/// readable one.
pub fn delay(stanza: &Element) -> Option<SystemTime> {
    stanza
        .get_child("delay", DELAY)
        .and_then(|d| d.attr("stamp"))
        .and_then(parse)
}

/// An XEP-0082 DateTime, `CCYY-MM-DDThh:mm:ss[.sss](Z|±hh:mm)`; `None` when it is not one or
/// lies before 1970.
pub fn parse(text: &str) -> Option<SystemTime> {
    let (date, time) = text.split_once('T')?;
    let mut fields = date.split('-');
    let (y, m, d) = (fields.next()?, fields.next()?, fields.next()?);
    if fields.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (clock, offset) = zone(time)?;
    let clock = clock.split_once('.').map_or(clock, |(whole, fraction)| {
        if fraction.bytes().all(|b| b.is_ascii_digit()) {
            whole
        } else {
            ""
        }
    });
    instant((number(y)?, number(m)?, number(d)?), clock, offset)
}

/// A legacy XEP-0091 stamp, `CCYYMMDDThh:mm:ss` in UTC.
pub fn parse_legacy(text: &str) -> Option<SystemTime> {
    let (date, clock) = text.split_once('T')?;
    if date.len() != 8 || !date.is_ascii() {
        return None;
    }
    let (y, md) = date.split_at(4);
    let (m, d) = md.split_at(2);
    instant((number(y)?, number(m)?, number(d)?), clock, 0)
}

/// Splits `hh:mm:ss…Z` or `hh:mm:ss…±hh:mm` into the clock and the offset from UTC in seconds.
fn zone(time: &str) -> Option<(&str, i64)> {
    if let Some(clock) = time.strip_suffix('Z') {
        return Some((clock, 0));
    }
    let at = time.len().checked_sub(6)?;
    let (clock, tzd) = (time.get(..at)?, time.get(at..)?);
    let sign = match tzd.as_bytes().first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return None,
    };
    let (h, m) = tzd.get(1..)?.split_once(':')?;
    Some((clock, sign * (number(h)? * 3600 + number(m)? * 60)))
}

/// `(year, month, day)` at `hh:mm:ss` local time `offset` seconds east of UTC.
fn instant((y, m, d): (i64, i64, i64), clock: &str, offset: i64) -> Option<SystemTime> {
    let mut parts = clock.split(':');
    let (h, min, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || [h, min, s].iter().any(|p| p.len() != 2) {
        return None;
    }
    let (h, min, s) = (number(h)?, number(min)?, number(s)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || h > 23 || min > 59 || s > 60 {
        return None;
    }
    let secs = days_from_civil(y, m, d) * 86_400 + h * 3600 + min * 60 + s - offset;
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

fn number(digits: &str) -> Option<i64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm, the inverse
/// of the one `sm::time` formats with).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(t: SystemTime) -> u64 {
        t.duration_since(UNIX_EPOCH).unwrap().as_secs()
    }

    #[test]
    fn round_trips_with_the_sm_formatter() {
        for s in [0, 951_782_400, 1_700_000_000, 1_795_450_395] {
            assert_eq!(parse(&sm::time::stamp(s)).map(secs), Some(s));
        }
    }

    #[test]
    fn fractions_offsets_and_legacy() {
        assert_eq!(
            parse("2023-11-14T22:13:20.123Z").map(secs),
            Some(1_700_000_000)
        );
        assert_eq!(
            parse("2023-11-15T00:13:20+02:00").map(secs),
            Some(1_700_000_000)
        );
        assert_eq!(
            parse("2023-11-14T20:13:20-02:00").map(secs),
            Some(1_700_000_000)
        );
        assert_eq!(
            parse_legacy("20231114T22:13:20").map(secs),
            Some(1_700_000_000)
        );
        for bad in [
            "",
            "2023-11-14",
            "2023-13-14T22:13:20Z",
            "2023-11-14T22:13Z",
            "2023-11-14T22:13:20",
            "2023-11-14T22:13:20.x1Z",
            "1969-12-31T23:59:59Z",
            "２０２３-11-14T22:13:20Z",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        assert_eq!(parse_legacy("2023111T22:13:20"), None);
    }

    #[test]
    fn delay_child() {
        let msg: Element = "<message xmlns='jabber:client'><delay xmlns='urn:xmpp:delay' \
                            stamp='2023-11-14T22:13:20Z'/></message>"
            .parse()
            .unwrap();
        assert_eq!(delay(&msg).map(secs), Some(1_700_000_000));
        let bare: Element = "<message xmlns='jabber:client'/>".parse().unwrap();
        assert_eq!(delay(&bare), None);
    }
}
