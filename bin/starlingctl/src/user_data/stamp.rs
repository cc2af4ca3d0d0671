//! Reading the times moved data carries: XEP-0082 DateTimes (XEP-0203 delay stamps) and the
//! legacy XEP-0091 `CCYYMMDDThh:mm:ss` form old jabberd2 versions stamped offline messages with.
//! Writing them is `sm::time::stamp`.

use std::time::{SystemTime, UNIX_EPOCH};

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
    sm::time::parse(text).filter(|t| *t >= UNIX_EPOCH)
}

/// A legacy XEP-0091 stamp, `CCYYMMDDThh:mm:ss` in UTC.
pub fn parse_legacy(text: &str) -> Option<SystemTime> {
    let (date, clock) = text.split_once('T')?;
    if date.len() != 8 || !date.is_ascii() {
        return None;
    }
    let (y, md) = date.split_at(4);
    let (m, d) = md.split_at(2);
    parse(&format!("{y}-{m}-{d}T{clock}Z"))
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
