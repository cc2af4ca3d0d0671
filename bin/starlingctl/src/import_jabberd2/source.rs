//! Where a jabberd2 database is read from: the `--from` argument, and what every backend hands
//! the converter. jabberd2 keeps the same schema in each of its SQL drivers
//! (`tools/db-setup.*`): `authreg` for c2s, and per-user sm tables keyed by `collection-owner`.

use std::path::PathBuf;

use crate::error::CtlError;

/// A row of `authreg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthregRow {
    pub username: String,
    pub realm: String,
    /// As c2s stored it: plaintext, or a hash with `<password_type>` crypt or a1hash.
    pub password: Option<String>,
}

/// A row of `roster-items`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterRow {
    pub jid: String,
    pub name: Option<String>,
    pub to: bool,
    pub from: bool,
    /// 1: subscribe sent, unanswered; 2: unsubscribe sent, unanswered; 0: neither.
    pub ask: i64,
}

/// A row of `private`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateRow {
    pub ns: Option<String>,
    pub xml: Option<String>,
}

/// A row of `privacy-items` (mod_privacy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivacyRow {
    pub list: String,
    /// `jid`, `group`, `subscription`, or none for the fall-through item.
    pub typ: Option<String>,
    pub value: Option<String>,
    pub deny: bool,
    pub order: i64,
    /// The stanzas the item governs, a bit each: message 1, presence-in 2, presence-out 4, iq 8;
    /// 0 for all.
    pub block: i64,
}

/// Everything the sm tables hold for one `collection-owner`, each table in `object-sequence`
/// order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnerRows {
    pub roster_items: Vec<RosterRow>,
    /// `(jid, group)` of `roster-groups`.
    pub roster_groups: Vec<(String, String)>,
    /// The `xml` of each `queue` row: a stored NAD.
    pub queue: Vec<String>,
    pub private: Vec<PrivateRow>,
    /// The non-empty columns of the owner's last `vcard` row, `(column, value)`.
    pub vcard: Vec<(String, String)>,
    /// The `time` of each `logout` row (Unix seconds).
    pub logouts: Vec<i64>,
    pub privacy_items: Vec<PrivacyRow>,
    /// The `default` of the owner's last `privacy-default` row.
    pub privacy_default: Option<String>,
}

/// A jabberd2 database, read-only.
pub trait Source {
    fn accounts(&mut self) -> Result<Vec<AuthregRow>, CtlError>;
    /// Every `collection-owner` of the sm tables read, sorted.
    fn owners(&mut self) -> Result<Vec<String>, CtlError>;
    fn owner_rows(&mut self, owner: &str) -> Result<OwnerRows, CtlError>;
    /// The tables this database lacks (an older schema, or sm storage kept elsewhere): nothing is
    /// imported from them.
    fn missing_tables(&self) -> Vec<&'static str>;
}

/// The sm tables read, besides `authreg`.
pub const SM_TABLES: [&str; 8] = [
    "roster-items",
    "roster-groups",
    "queue",
    "private",
    "vcard",
    "logout",
    "privacy-items",
    "privacy-default",
];

/// The `--from` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `sqlite:/path/to/jabberd2.db`
    Sqlite(PathBuf),
    /// `postgres://user:password@host/database` (or `postgresql://`)
    Postgres(String),
}

impl Location {
    pub fn parse(text: &str) -> Result<Location, CtlError> {
        if let Some(path) = text.strip_prefix("sqlite:") {
            if path.is_empty() {
                return Err(CtlError::new(
                    "--from sqlite: needs a path, e.g. sqlite:/var/lib/jabberd2/sqlite.db",
                ));
            }
            return Ok(Location::Sqlite(PathBuf::from(path)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(Location::Postgres(text.to_owned()));
        }
        Err(CtlError::new(format_args!(
            "--from {text:?}: expected sqlite:/path/to/jabberd2.db or postgres://user@host/database"
        )))
    }

    /// Opens the database for reading.
    pub fn open(&self) -> Result<Box<dyn Source>, CtlError> {
        match self {
            Location::Sqlite(path) => Ok(Box::new(super::sqlite::SqliteSource::open(path)?)),
            Location::Postgres(_) => Err(CtlError::new(
                "importing from PostgreSQL is not yet supported: copy the jabberd2 tables into \
                 SQLite (jabberd2's db-setup.sqlite schema) and import with --from sqlite:FILE",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        assert_eq!(
            Location::parse("sqlite:/var/db/j.db").unwrap(),
            Location::Sqlite(PathBuf::from("/var/db/j.db"))
        );
        assert_eq!(
            Location::parse("postgres://u@h/d").unwrap(),
            Location::Postgres("postgres://u@h/d".into())
        );
        for bad in ["sqlite:", "/var/db/j.db", "mysql://h/d"] {
            assert!(Location::parse(bad).is_err(), "{bad}");
        }
        let err = Location::parse("postgresql://h/d")
            .unwrap()
            .open()
            .err()
            .unwrap();
        assert!(err.to_string().contains("not yet supported"), "{err}");
    }
}
