//! What an import did, per domain: for each kind of data how many items were imported, how many
//! were there already, and each one that was not imported with the reason.

use std::collections::BTreeMap;
use std::fmt;

/// The kinds of data an import counts, in the order the report lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Account,
    Credentials,
    RosterItem,
    SubscriptionRequest,
    OfflineMessage,
    Vcard,
    PrivateXml,
    LastLogout,
    PrivacyList,
    PrivacyDefault,
    /// Anything else the source holds that Starling does not keep.
    Other,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Account => "accounts",
            Kind::Credentials => "credentials",
            Kind::RosterItem => "roster items",
            Kind::SubscriptionRequest => "subscription requests",
            Kind::OfflineMessage => "offline messages",
            Kind::Vcard => "vCards",
            Kind::PrivateXml => "private XML namespaces",
            Kind::LastLogout => "last logout times",
            Kind::PrivacyList => "privacy lists",
            Kind::PrivacyDefault => "default privacy lists",
            Kind::Other => "other data",
        }
    }
}

/// The counts of one kind in one domain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub imported: usize,
    pub present: usize,
    pub not_imported: usize,
}

#[derive(Debug, Default)]
struct DomainReport {
    counts: BTreeMap<Kind, Counts>,
    /// One line per item not imported: what it is and why.
    problems: Vec<String>,
}

/// The report of one import run.
#[derive(Debug, Default)]
pub struct Report {
    /// About the source as a whole, printed first.
    notes: Vec<String>,
    domains: BTreeMap<String, DomainReport>,
}

impl Report {
    fn counts_mut(&mut self, domain: &str, kind: Kind) -> &mut Counts {
        self.domains
            .entry(domain.to_owned())
            .or_default()
            .counts
            .entry(kind)
            .or_default()
    }

    pub fn imported(&mut self, domain: &str, kind: Kind) {
        self.counts_mut(domain, kind).imported += 1;
    }

    pub fn present(&mut self, domain: &str, kind: Kind) {
        self.counts_mut(domain, kind).present += 1;
    }

    /// One item of `kind` was not imported; `why` names it and gives the reason.
    pub fn not_imported(&mut self, domain: &str, kind: Kind, why: impl fmt::Display) {
        self.counts_mut(domain, kind).not_imported += 1;
        self.domains
            .entry(domain.to_owned())
            .or_default()
            .problems
            .push(why.to_string());
    }

    /// A remark about the source as a whole.
    pub fn note(&mut self, note: impl fmt::Display) {
        self.notes.push(note.to_string());
    }

    /// The counts of `kind` in `domain` (all zero when nothing was seen).
    pub fn counts(&self, domain: &str, kind: Kind) -> Counts {
        self.domains
            .get(domain)
            .and_then(|d| d.counts.get(&kind))
            .copied()
            .unwrap_or_default()
    }

    /// The domains data was seen for, sorted.
    pub fn domains(&self) -> impl Iterator<Item = &str> {
        self.domains.keys().map(String::as_str)
    }

    /// Whether no data at all was seen.
    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        for (domain, report) in &self.domains {
            writeln!(f, "{domain}:")?;
            for (kind, counts) in &report.counts {
                let mut parts = Vec::new();
                if counts.imported > 0 {
                    parts.push(format!("{} imported", counts.imported));
                }
                if counts.present > 0 {
                    parts.push(format!("{} already present", counts.present));
                }
                if counts.not_imported > 0 {
                    parts.push(format!("{} not imported", counts.not_imported));
                }
                writeln!(f, "  {}: {}", kind.label(), parts.join(", "))?;
            }
            if !report.problems.is_empty() {
                writeln!(f, "  not imported:")?;
                for problem in &report.problems {
                    writeln!(f, "    {problem}")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_lines_per_domain() {
        let mut report = Report::default();
        assert!(report.is_empty());
        report.imported("b.test", Kind::Account);
        report.imported("a.test", Kind::RosterItem);
        report.present("a.test", Kind::RosterItem);
        report.imported("a.test", Kind::Account);
        report.not_imported("a.test", Kind::PrivacyList, "x@a.test: list \"l\": no");
        report.note("n");
        assert_eq!(
            report.counts("a.test", Kind::RosterItem),
            Counts {
                imported: 1,
                present: 1,
                not_imported: 0
            }
        );
        assert_eq!(report.counts("c.test", Kind::Vcard), Counts::default());
        assert_eq!(
            report.to_string(),
            "note: n\na.test:\n  accounts: 1 imported\n  roster items: 1 imported, 1 already present\n  \
             privacy lists: 1 not imported\n  not imported:\n    x@a.test: list \"l\": no\n\
             b.test:\n  accounts: 1 imported\n"
        );
    }
}
