//! Checking domain names given on the command line (`--domain`, component names).

use crate::error::CtlError;

/// Validates `name` as an RFC 7622 domainpart and returns its normalised form (lowercased,
/// nameprep), which is how the router will compare it.
pub fn validate(what: &str, name: &str) -> Result<String, CtlError> {
    // The jid crate accepts a bare name, but not an address with a local part or resource; say
    // so plainly rather than passing on a stringprep error.
    if name.contains(['@', '/']) {
        return Err(CtlError::new(format_args!(
            "{what} {name:?}: a domain name cannot contain '@' or '/'"
        )));
    }
    match jid::DomainPart::new(name) {
        Ok(domain) if !domain.to_string().is_empty() => Ok(domain.to_string()),
        Ok(_) => Err(CtlError::new(format_args!("{what}: empty domain name"))),
        Err(e) => Err(CtlError::new(format_args!(
            "{what} {name:?} is not a valid domain name: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::validate;

    #[test]
    fn accepts_and_normalises_domains() {
        assert_eq!(validate("domain", "example.test").unwrap(), "example.test");
        assert_eq!(validate("domain", "Example.TEST").unwrap(), "example.test");
        assert_eq!(validate("domain", "localhost").unwrap(), "localhost");
    }

    #[test]
    fn rejects_non_domains() {
        for bad in ["", "user@example.test", "example.test/res", "exa mple.test"] {
            assert!(validate("domain", bad).is_err(), "{bad:?} accepted");
        }
    }
}
