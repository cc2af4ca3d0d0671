//! SCRAM's attribute-value syntax: `ALPHA "=" value` items separated by commas, `saslname`
//! escaping, and nonce character rules (RFC 5802 §5.1, §7).

use crate::Failure;

/// Splits a message into `(attribute, value)` pairs. Every item must be a single ASCII letter
/// followed by `=`; anything else (empty items, missing `=`) is `malformed-request`.
pub(crate) fn split(msg: &str) -> Result<Vec<(u8, &str)>, Failure> {
    msg.split(',')
        .map(|item| match item.as_bytes() {
            [name, b'=', ..] if name.is_ascii_alphabetic() => Ok((*name, &item[2..])),
            _ => Err(Failure::MalformedRequest),
        })
        .collect()
}

/// Takes the next pair from `items`, which must carry attribute `name`.
pub(crate) fn expect<'a>(
    items: &mut impl Iterator<Item = (u8, &'a str)>,
    name: u8,
) -> Result<&'a str, Failure> {
    match items.next() {
        Some((n, value)) if n == name => Ok(value),
        _ => Err(Failure::MalformedRequest),
    }
}

/// Decodes a `saslname`: `=2C` is `,`, `=3D` is `=`, any other `=` is an error, and the
/// result must be non-empty.
pub(crate) fn decode_saslname(value: &str) -> Result<String, Failure> {
    if value.is_empty() {
        return Err(Failure::MalformedRequest);
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(pos) = rest.find('=') {
        out.push_str(&rest[..pos]);
        let escape = rest.get(pos..pos + 3).ok_or(Failure::MalformedRequest)?;
        out.push(match escape {
            "=2C" => ',',
            "=3D" => '=',
            _ => return Err(Failure::MalformedRequest),
        });
        rest = &rest[pos + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Encodes a `saslname` (the inverse of [`decode_saslname`]).
pub(crate) fn encode_saslname(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

/// A nonce is one or more printable ASCII characters other than `,`.
pub(crate) fn valid_nonce(nonce: &str) -> bool {
    !nonce.is_empty()
        && nonce
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b',')
}
