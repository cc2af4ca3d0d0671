//! XEP-0092 software version of the server: name, version and, unless the `[version]` table of
//! sm.toml turns it off (§5 asks that an administrator can), the operating system.

use minidom::Element;
use serde::Deserialize;

use crate::chain::{done, pass, Module, Step};
use crate::core::Core;
use crate::modules::service::{get_payload, reply};

pub const NS: &str = "jabber:iq:version";

/// The `[version]` table of sm.toml.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VersionSettings {
    /// Include the operating system (`<os/>`) in answers.
    pub os: bool,
}

impl Default for VersionSettings {
    fn default() -> Self {
        VersionSettings { os: true }
    }
}

pub struct Version {
    os: Option<&'static str>,
}

impl Version {
    pub fn new(settings: &VersionSettings) -> Version {
        Version {
            os: settings.os.then_some(std::env::consts::OS),
        }
    }

    fn query(&self) -> Element {
        let mut query = Element::bare("query", NS);
        let fields = [
            ("name", Some("Starling")),
            ("version", Some(env!("CARGO_PKG_VERSION"))),
            ("os", self.os),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                let mut el = Element::bare(name, NS);
                el.append_text_node(value);
                query.append_child(el);
            }
        }
        query
    }
}

impl Module for Version {
    fn name(&self) -> &'static str {
        "version"
    }

    fn server_features(&self) -> &'static [&'static str] {
        &[NS]
    }

    fn pkt_sm<'a>(&'a self, core: &'a mut Core, st: Element) -> Step<'a> {
        if get_payload(&st, "query", NS).is_none() {
            return pass(st);
        }
        reply(core, &st, Some(self.query()));
        done()
    }
}
