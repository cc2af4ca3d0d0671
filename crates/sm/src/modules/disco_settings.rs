//! The `[disco]` table of sm.toml: the name in the server's XEP-0030 identity and the XEP-0157
//! contact addresses its disco#info carries.

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscoSettings {
    /// The `name` of the server's `server/im` identity; empty for none.
    pub name: String,
    pub contacts: Contacts,
}

impl Default for DiscoSettings {
    fn default() -> Self {
        DiscoSettings {
            name: "Starling".into(),
            contacts: Contacts::default(),
        }
    }
}

/// XEP-0157 contact addresses (URIs: `mailto:`, `xmpp:`, `https:` …), one list per role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Contacts {
    pub abuse: Vec<String>,
    pub admin: Vec<String>,
    pub feedback: Vec<String>,
    pub sales: Vec<String>,
    pub security: Vec<String>,
    pub status: Vec<String>,
    pub support: Vec<String>,
}

impl Contacts {
    /// (role, addresses) for every role; the form field of a role is `<role>-addresses`.
    pub fn roles(&self) -> [(&'static str, &[String]); 7] {
        [
            ("abuse", &self.abuse),
            ("admin", &self.admin),
            ("feedback", &self.feedback),
            ("sales", &self.sales),
            ("security", &self.security),
            ("status", &self.status),
            ("support", &self.support),
        ]
    }

    /// The first address that is not a URI, as (config key, problem).
    pub fn problem(&self) -> Option<(String, String)> {
        self.roles().into_iter().find_map(|(role, addresses)| {
            let i = addresses.iter().position(|a| !is_uri(a))?;
            Some((
                format!("disco.contacts.{role}[{i}]"),
                "not a URI (e.g. \"mailto:abuse@example.com\" or \"xmpp:admin@example.com\")"
                    .to_owned(),
            ))
        })
    }
}

/// RFC 3986 §3.1: a scheme (a letter, then letters, digits, `+`, `-`, `.`), a colon and
/// something after it; no whitespace anywhere.
fn is_uri(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_must_be_uris() {
        for good in [
            "mailto:a@b.c",
            "xmpp:admin@example.com",
            "https://x.example/y",
        ] {
            assert!(is_uri(good), "{good}");
        }
        for bad in [
            "admin@example.com",
            ":x",
            "1x:y",
            "mailto:",
            "mailto:a b",
            "ma il:x",
        ] {
            assert!(!is_uri(bad), "{bad}");
        }
        let contacts = Contacts {
            support: vec!["xmpp:a@b".into(), "b@c".into()],
            ..Contacts::default()
        };
        let (key, _) = contacts.problem().expect("a problem");
        assert_eq!(key, "disco.contacts.support[1]");
    }
}
