//! `starlingctl import-jabberd2`: moves a jabberd2 installation's users into the configured
//! store. It reads jabberd2's SQL schema (`authreg` and the sm tables, see
//! ../shared/reference/jabberd2.md §3.8) and imports accounts (plaintext passwords become
//! SCRAM-SHA-1/256/512 credentials), rosters with groups, subscription requests and messages from
//! the offline queue, vCards, private XML, privacy lists and last logout times. Nothing already
//! in the store is changed, so running it again imports only what is new.

mod convert;
mod nad;
mod privacy;
mod private;
mod queue;
mod roster;
mod source;
mod sqlite;
mod vcard;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use crate::error::CtlError;
use crate::store;
use crate::user_data::report::Report;
use crate::user_data::save;
use convert::Authreg;
use source::Location;

/// How jabberd2's c2s kept passwords in `authreg` (its `<authreg><sqlite><password_type>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PasswordType {
    /// The password itself: SCRAM credentials are derived from it.
    Plaintext,
    /// crypt(3) hashes: the accounts are imported without credentials.
    Crypt,
    /// DIGEST-MD5 A1 hashes: the accounts are imported without credentials.
    A1hash,
}

impl PasswordType {
    /// The name jabberd2's config gives it.
    fn name(self) -> &'static str {
        match self {
            PasswordType::Plaintext => "plaintext",
            PasswordType::Crypt => "crypt",
            PasswordType::A1hash => "a1hash",
        }
    }
}

/// Imports the jabberd2 database at `from` (`sqlite:/path` or `postgres://…`) into the store
/// configured in `etc`.
pub async fn run(etc: &Path, from: &str, passwords: PasswordType) -> Result<Report, CtlError> {
    let mut source = Location::parse(from)?.open()?;
    let store = store::open(etc).await?;
    let mut report = Report::default();
    for table in source.missing_tables() {
        report.note(format_args!(
            "the database has no {table:?} table: nothing was imported from it"
        ));
    }
    let mut users: BTreeMap<String, Authreg> = source
        .owners()?
        .into_iter()
        .map(|owner| (owner, Authreg::Absent))
        .collect();
    for row in source.accounts()? {
        users.insert(
            format!("{}@{}", row.username, row.realm),
            Authreg::Row(row.password),
        );
    }
    let now = SystemTime::now();
    for (owner, authreg) in users {
        let rows = source.owner_rows(&owner)?;
        if let Some(data) = convert::user_data(&owner, authreg, rows, passwords, now, &mut report) {
            save(&store, data, &mut report).await?;
        }
    }
    Ok(report)
}
