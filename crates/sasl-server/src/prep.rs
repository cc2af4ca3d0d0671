//! SASLprep (RFC 4013) as the mechanisms use it: usernames and passwords are prepared before
//! they are compared or hashed, so that equivalent Unicode spellings authenticate alike.

use crate::Failure;

/// Applies SASLprep and rejects strings that are (or become) empty, since neither a username
/// nor a password may be empty in any mechanism here.
pub(crate) fn saslprep(s: &str) -> Result<String, Failure> {
    let prepared = stringprep::saslprep(s).map_err(|_| Failure::MalformedRequest)?;
    if prepared.is_empty() {
        return Err(Failure::MalformedRequest);
    }
    Ok(prepared.into_owned())
}
