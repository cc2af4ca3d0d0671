//! The `name=value, name="quoted value"` lists DIGEST-MD5 messages consist of (RFC 2831 §7.1:
//! the `#rule` with optional whitespace and empty elements, tokens or quoted strings with
//! backslash escapes). Values are kept as bytes because their charset is only known after
//! parsing (UTF-8 with `charset=utf-8`, ISO 8859-1 otherwise).

use crate::Failure;

/// Upper bound on directives per message; real messages have about ten.
const MAX_DIRECTIVES: usize = 64;

/// A parsed directive: lower-cased name, unescaped value.
pub(crate) type Directive = (String, Vec<u8>);

/// Parses a directive list; any syntax error is `malformed-request`.
pub(crate) fn parse(input: &[u8]) -> Result<Vec<Directive>, Failure> {
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        while pos < input.len() && (is_lws(input[pos]) || input[pos] == b',') {
            pos += 1;
        }
        if pos >= input.len() {
            return Ok(out);
        }
        let start = pos;
        while pos < input.len() && is_token_char(input[pos]) {
            pos += 1;
        }
        if pos == start {
            return Err(Failure::MalformedRequest);
        }
        let name = String::from_utf8_lossy(&input[start..pos]).to_ascii_lowercase();
        pos = skip_lws(input, pos);
        if input.get(pos) != Some(&b'=') {
            return Err(Failure::MalformedRequest);
        }
        pos = skip_lws(input, pos + 1);
        let value = if input.get(pos) == Some(&b'"') {
            let (value, next) = quoted(input, pos + 1)?;
            pos = next;
            value
        } else {
            let start = pos;
            while pos < input.len() && is_token_char(input[pos]) {
                pos += 1;
            }
            if pos == start {
                return Err(Failure::MalformedRequest);
            }
            input[start..pos].to_vec()
        };
        pos = skip_lws(input, pos);
        if pos < input.len() && input[pos] != b',' {
            return Err(Failure::MalformedRequest);
        }
        out.push((name, value));
        if out.len() > MAX_DIRECTIVES {
            return Err(Failure::MalformedRequest);
        }
    }
}

/// Reads a quoted string whose opening quote is just before `pos`; returns the unescaped
/// value and the position after the closing quote.
fn quoted(input: &[u8], mut pos: usize) -> Result<(Vec<u8>, usize), Failure> {
    let mut value = Vec::new();
    loop {
        match input.get(pos) {
            None => return Err(Failure::MalformedRequest),
            Some(b'"') => return Ok((value, pos + 1)),
            Some(b'\\') => {
                let escaped = input.get(pos + 1).ok_or(Failure::MalformedRequest)?;
                value.push(*escaped);
                pos += 2;
            }
            Some(b) => {
                value.push(*b);
                pos += 1;
            }
        }
    }
}

fn skip_lws(input: &[u8], mut pos: usize) -> usize {
    while pos < input.len() && is_lws(input[pos]) {
        pos += 1;
    }
    pos
}

fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// RFC 2616 token characters: visible ASCII except separators.
fn is_token_char(b: u8) -> bool {
    (0x21..0x7f).contains(&b) && !b"()<>@,;:\\\"/[]?={}".contains(&b)
}

/// Looks up a directive that may occur at most once; a repeat is `malformed-request`.
pub(crate) fn single<'a>(
    directives: &'a [Directive],
    name: &str,
) -> Result<Option<&'a [u8]>, Failure> {
    let mut found = directives.iter().filter(|(n, _)| n == name);
    let first = found.next().map(|(_, v)| v.as_slice());
    if found.next().is_some() {
        return Err(Failure::MalformedRequest);
    }
    Ok(first)
}

/// Like [`single`], but the directive must be present.
pub(crate) fn required<'a>(directives: &'a [Directive], name: &str) -> Result<&'a [u8], Failure> {
    single(directives, name)?.ok_or(Failure::MalformedRequest)
}

/// Decodes a value as text: UTF-8 when `charset=utf-8` was given, ISO 8859-1 otherwise.
pub(crate) fn text(value: &[u8], utf8: bool) -> Result<String, Failure> {
    if utf8 {
        String::from_utf8(value.to_vec()).map_err(|_| Failure::IncorrectEncoding)
    } else {
        Ok(value.iter().map(|&b| char::from(b)).collect())
    }
}

/// Appends `name="value"` (escaping `"` and `\`), with a separating comma if needed.
pub(crate) fn push_quoted(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    push_name(out, name);
    out.push(b'"');
    for &b in value {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Appends `name=token`, with a separating comma if needed.
pub(crate) fn push_token(out: &mut Vec<u8>, name: &str, value: &str) {
    push_name(out, name);
    out.extend_from_slice(value.as_bytes());
}

fn push_name(out: &mut Vec<u8>, name: &str) {
    if !out.is_empty() {
        out.push(b',');
    }
    out.extend_from_slice(name.as_bytes());
    out.push(b'=');
}
