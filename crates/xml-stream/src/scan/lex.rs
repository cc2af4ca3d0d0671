//! The lexical pieces the scanner checks: names, white space, character data, attribute values
//! and references. Each reads `buf` from `i` and returns where its piece ends.
//!
//! Only a plain subset of XML is accepted here (ASCII names, the five predefined entities,
//! character references); anything else is left to the full parser. Non-ASCII bytes in text and
//! attribute values are taken as they are: the caller checks the whole element's UTF-8 at the end.

use crate::raw::parts::Span;

/// Why scanning stopped before the element's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The input ends first. Everything before the position has been checked, when the piece
    /// being read is character data; a tag is read again from its start.
    NeedMore(usize),
    /// Something the scanner does not vouch for: the full parser decides.
    Bail,
}

pub(super) type Step = Result<usize, Stop>;

/// Longest name or attribute value taken; rxml refuses tokens over 8192 bytes.
const MAX_TOKEN: usize = 8192;

/// Longest reference body taken (`#x10FFFF` with two leading zeros).
const MAX_REFERENCE: usize = 10;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Taken as it is, and not a quote.
    Ordinary,
    /// `'` or `"`: taken as it is, except where it closes an attribute value.
    Quote,
    Lt,
    Amp,
    /// `]`: the start of a forbidden `]]>` in character data.
    Bracket,
    /// Tab, line feed, carriage return: attribute values normalise them.
    Space,
    /// A control character XML does not allow.
    Invalid,
}

const CLASSES: [Class; 256] = {
    let mut table = [Class::Ordinary; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = Class::Invalid;
        b += 1;
    }
    table[b'\t' as usize] = Class::Space;
    table[b'\n' as usize] = Class::Space;
    table[b'\r' as usize] = Class::Space;
    table[b'<' as usize] = Class::Lt;
    table[b'&' as usize] = Class::Amp;
    table[b']' as usize] = Class::Bracket;
    table[b'\'' as usize] = Class::Quote;
    table[b'"' as usize] = Class::Quote;
    table
};

const ORDINARY: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = matches!(CLASSES[b], Class::Ordinary);
        b += 1;
    }
    table
};

fn class(b: u8) -> Class {
    CLASSES[usize::from(b)]
}

/// Where the run of ordinary bytes from `i` ends (the loop most bytes go through).
fn ordinary(buf: &[u8], mut i: usize) -> usize {
    while i < buf.len() && ORDINARY[usize::from(buf[i])] {
        i += 1;
    }
    i
}

pub(super) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Skips white space; the position returned holds a byte.
pub(super) fn space(buf: &[u8], mut i: usize) -> Step {
    while let Some(&b) = buf.get(i) {
        if !is_space(b) {
            return Ok(i);
        }
        i += 1;
    }
    Err(Stop::NeedMore(i))
}

/// A name as written: `local` or `prefix:local`.
#[derive(Debug, Clone, Copy)]
pub(super) struct QName {
    pub whole: Span,
    pub prefix: Option<Span>,
    pub local: Span,
}

/// ASCII characters that may start a name part (`NameStartChar` without `:`).
const NAME_START: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 128 {
        table[b] = (b as u8).is_ascii_alphabetic() || b == b'_' as usize;
        b += 1;
    }
    table
};

/// ASCII characters that may continue a name part (`NameChar` without `:`).
const NAME_CHAR: [bool; 256] = {
    let mut table = NAME_START;
    let mut b = 0;
    while b < 128 {
        table[b] |= (b as u8).is_ascii_digit() || b == b'-' as usize || b == b'.' as usize;
        b += 1;
    }
    table
};

/// One part of a name (before or after its colon): where it ends.
fn name_part(buf: &[u8], start: usize) -> Step {
    match buf.get(start) {
        None => return Err(Stop::NeedMore(start)),
        Some(&b) if NAME_START[usize::from(b)] => {}
        Some(_) => return Err(Stop::Bail),
    }
    let mut i = start + 1;
    while i < buf.len() && NAME_CHAR[usize::from(buf[i])] {
        i += 1;
    }
    if i == buf.len() {
        // The name may go on.
        return Err(Stop::NeedMore(i));
    }
    Ok(i)
}

/// A qualified name of ASCII name characters, with at most one colon between two parts.
pub(super) fn qname(buf: &[u8], start: usize) -> Result<QName, Stop> {
    let first = name_part(buf, start)?;
    let name = if buf[first] == b':' {
        let end = name_part(buf, first + 1)?;
        QName {
            whole: Span::new(start, end),
            prefix: Some(Span::new(start, first)),
            local: Span::new(first + 1, end),
        }
    } else {
        let whole = Span::new(start, first);
        QName {
            whole,
            prefix: None,
            local: whole,
        }
    };
    if name.whole.end - start > MAX_TOKEN {
        return Err(Stop::Bail);
    }
    Ok(name)
}

/// Character data up to the next `<`, which is where it returns.
pub(super) fn text(buf: &[u8], mut i: usize) -> Step {
    loop {
        i = ordinary(buf, i);
        let Some(&b) = buf.get(i) else {
            return Err(Stop::NeedMore(i));
        };
        match class(b) {
            Class::Ordinary | Class::Quote | Class::Space => i += 1,
            Class::Lt => return Ok(i),
            Class::Amp => i = reference(buf, i)?,
            Class::Bracket => {
                let rest = &buf[i..];
                if rest.starts_with(b"]]>") {
                    return Err(Stop::Bail);
                }
                if rest.len() < 3 && b"]]>".starts_with(rest) {
                    return Err(Stop::NeedMore(i));
                }
                i += 1;
            }
            Class::Invalid => return Err(Stop::Bail),
        }
    }
}

/// An attribute value from after its opening quote: where the closing quote is, and whether
/// the value reads as written (no references, no white space to normalise).
pub(super) fn attribute_value(buf: &[u8], start: usize, quote: u8) -> Result<(usize, bool), Stop> {
    let mut i = start;
    let mut plain = true;
    loop {
        i = ordinary(buf, i);
        if i - start > MAX_TOKEN {
            return Err(Stop::Bail);
        }
        let Some(&b) = buf.get(i) else {
            return Err(Stop::NeedMore(start));
        };
        match class(b) {
            Class::Quote if b == quote => return Ok((i, plain)),
            Class::Ordinary | Class::Quote | Class::Bracket => i += 1,
            // rxml 0.14 refuses a carriage return followed by most characters in an attribute
            // value: leave those to it, so that it answers them as it always has.
            Class::Space if b == b'\r' => return Err(Stop::Bail),
            Class::Space => {
                plain = false;
                i += 1;
            }
            Class::Amp => {
                plain = false;
                i = reference(buf, i)?;
            }
            Class::Lt | Class::Invalid => return Err(Stop::Bail),
        }
    }
}

/// `&name;` for a predefined entity, or a character reference to a character XML allows.
fn reference(buf: &[u8], amp: usize) -> Step {
    let body_start = amp + 1;
    let window = &buf[body_start.min(buf.len())..buf.len().min(body_start + MAX_REFERENCE + 1)];
    let end = window
        .iter()
        .position(|&b| !b.is_ascii_alphanumeric() && b != b'#');
    let length = match end {
        Some(length) if window[length] == b';' => length,
        None if window.len() <= MAX_REFERENCE => return Err(Stop::NeedMore(amp)),
        _ => return Err(Stop::Bail),
    };
    let known = match &window[..length] {
        b"amp" | b"lt" | b"gt" | b"apos" | b"quot" => true,
        [b'#', b'x', hex @ ..] => character(hex, 16),
        [b'#', decimal @ ..] => character(decimal, 10),
        _ => false,
    };
    if known {
        Ok(body_start + length + 1)
    } else {
        Err(Stop::Bail)
    }
}

fn character(digits: &[u8], radix: u32) -> bool {
    let value = std::str::from_utf8(digits)
        .ok()
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_hexdigit()))
        .and_then(|d| u32::from_str_radix(d, radix).ok());
    matches!(
        value,
        Some(0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
    )
}

/// Whether `bytes` are UTF-8 without the two non-characters XML forbids (U+FFFE, U+FFFF).
pub(super) fn valid_characters(bytes: &[u8]) -> bool {
    bytes.is_ascii()
        || (std::str::from_utf8(bytes).is_ok()
            && !bytes
                .windows(3)
                .any(|w| matches!(w, [0xEF, 0xBF, 0xBE | 0xBF])))
}
