//! Reading a jabberd2 SQLite database (`storage_sqlite` and `authreg_sqlite`), read-only.
//! jabberd2 binds booleans and integers as SQLite integers and everything else as text, but a
//! hand-edited or migrated file may hold other types: every value is read leniently.

use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, Row};

use super::source::{AuthregRow, OwnerRows, PrivacyRow, PrivateRow, RosterRow, Source, SM_TABLES};
use crate::error::CtlError;

pub struct SqliteSource {
    conn: Connection,
    /// The tables of [`SM_TABLES`] (and `authreg`) the file has.
    present: Vec<&'static str>,
}

const AUTHREG: &str = "authreg";

impl SqliteSource {
    pub fn open(path: &Path) -> Result<SqliteSource, CtlError> {
        let fail = |e: rusqlite::Error| CtlError::file(path, e);
        if !path.is_file() {
            return Err(CtlError::file(path, "no such file"));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(fail)?;
        let mut present = Vec::new();
        for table in std::iter::once(AUTHREG).chain(SM_TABLES) {
            let exists: bool = conn
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
                    [table],
                    |r| r.get(0),
                )
                .map_err(fail)?;
            if exists {
                present.push(table);
            }
        }
        if present.is_empty() {
            return Err(CtlError::file(
                path,
                "not a jabberd2 database: it has neither authreg nor any sm table",
            ));
        }
        Ok(SqliteSource { conn, present })
    }

    fn has(&self, table: &str) -> bool {
        self.present.contains(&table)
    }

    fn error(e: rusqlite::Error) -> CtlError {
        CtlError::new(format_args!("reading the jabberd2 database: {e}"))
    }

    /// `SELECT {columns} FROM "{table}"` of `owner`'s rows in sequence order, each mapped by
    /// `row`; empty when the table is missing.
    fn owner_query<T>(
        &self,
        table: &str,
        columns: &str,
        owner: &str,
        row: impl Fn(&Row) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, CtlError> {
        if !self.has(table) {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {columns} FROM \"{table}\" WHERE \"collection-owner\" = ?1 \
             ORDER BY \"object-sequence\""
        );
        let mut stmt = self.conn.prepare(&sql).map_err(Self::error)?;
        let rows = stmt
            .query_map([owner], |r| row(r))
            .map_err(Self::error)?
            .collect::<Result<Vec<T>, _>>()
            .map_err(Self::error)?;
        Ok(rows)
    }

    /// The non-empty columns of the owner's last vCard row.
    fn vcard(&self, owner: &str) -> Result<Vec<(String, String)>, CtlError> {
        let rows = self.owner_query("vcard", "*", owner, |r| {
            let mut fields = Vec::new();
            for (i, name) in r.as_ref().column_names().enumerate() {
                if matches!(name, "collection-owner" | "object-sequence") {
                    continue;
                }
                if let Some(value) = text(r.get_ref(i)?).filter(|v| !v.is_empty()) {
                    fields.push((name.to_owned(), value));
                }
            }
            Ok(fields)
        })?;
        Ok(rows.into_iter().last().unwrap_or_default())
    }
}

/// A value as text: numbers are written out, NULL is `None`.
fn text(value: ValueRef<'_>) -> Option<String> {
    match value {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
    }
}

/// A value as an integer (0 when NULL or not a number).
fn integer(value: ValueRef<'_>) -> i64 {
    match value {
        ValueRef::Integer(i) => i,
        ValueRef::Real(f) => f as i64,
        ValueRef::Text(t) => std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0),
        ValueRef::Null | ValueRef::Blob(_) => 0,
    }
}

/// A value as a boolean: non-zero numbers and `t`/`true`.
fn boolean(value: ValueRef<'_>) -> bool {
    match value {
        ValueRef::Text(b"t" | b"true" | b"TRUE") => true,
        other => integer(other) != 0,
    }
}

impl Source for SqliteSource {
    fn accounts(&mut self) -> Result<Vec<AuthregRow>, CtlError> {
        if !self.has(AUTHREG) {
            return Ok(Vec::new());
        }
        let mut stmt = self
            .conn
            .prepare("SELECT username, realm, password FROM authreg ORDER BY realm, username")
            .map_err(Self::error)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(AuthregRow {
                    username: text(r.get_ref(0)?).unwrap_or_default(),
                    realm: text(r.get_ref(1)?).unwrap_or_default(),
                    password: text(r.get_ref(2)?),
                })
            })
            .map_err(Self::error)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(Self::error)?;
        Ok(rows)
    }

    fn owners(&mut self) -> Result<Vec<String>, CtlError> {
        let selects: Vec<String> = SM_TABLES
            .iter()
            .filter(|t| self.has(t))
            .map(|t| format!("SELECT \"collection-owner\" FROM \"{t}\""))
            .collect();
        if selects.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("{} ORDER BY 1", selects.join(" UNION "));
        let mut stmt = self.conn.prepare(&sql).map_err(Self::error)?;
        let owners = stmt
            .query_map([], |r| Ok(text(r.get_ref(0)?).unwrap_or_default()))
            .map_err(Self::error)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(Self::error)?;
        Ok(owners)
    }

    fn owner_rows(&mut self, owner: &str) -> Result<OwnerRows, CtlError> {
        Ok(OwnerRows {
            roster_items: self.owner_query(
                "roster-items",
                "\"jid\", \"name\", \"to\", \"from\", \"ask\"",
                owner,
                |r| {
                    Ok(RosterRow {
                        jid: text(r.get_ref(0)?).unwrap_or_default(),
                        name: text(r.get_ref(1)?),
                        to: boolean(r.get_ref(2)?),
                        from: boolean(r.get_ref(3)?),
                        ask: integer(r.get_ref(4)?),
                    })
                },
            )?,
            roster_groups: self.owner_query("roster-groups", "\"jid\", \"group\"", owner, |r| {
                Ok((
                    text(r.get_ref(0)?).unwrap_or_default(),
                    text(r.get_ref(1)?).unwrap_or_default(),
                ))
            })?,
            queue: self.owner_query("queue", "\"xml\"", owner, |r| {
                Ok(text(r.get_ref(0)?).unwrap_or_default())
            })?,
            private: self.owner_query("private", "\"ns\", \"xml\"", owner, |r| {
                Ok(PrivateRow {
                    ns: text(r.get_ref(0)?),
                    xml: text(r.get_ref(1)?),
                })
            })?,
            vcard: self.vcard(owner)?,
            logouts: self
                .owner_query("logout", "\"time\"", owner, |r| Ok(integer(r.get_ref(0)?)))?,
            privacy_items: self.owner_query(
                "privacy-items",
                "\"list\", \"type\", \"value\", \"deny\", \"order\", \"block\"",
                owner,
                |r| {
                    Ok(PrivacyRow {
                        list: text(r.get_ref(0)?).unwrap_or_default(),
                        typ: text(r.get_ref(1)?),
                        value: text(r.get_ref(2)?),
                        deny: boolean(r.get_ref(3)?),
                        order: integer(r.get_ref(4)?),
                        block: integer(r.get_ref(5)?),
                    })
                },
            )?,
            privacy_default: self
                .owner_query("privacy-default", "\"default\"", owner, |r| {
                    Ok(text(r.get_ref(0)?))
                })?
                .into_iter()
                .last()
                .flatten()
                .filter(|name| !name.is_empty()),
        })
    }

    fn missing_tables(&self) -> Vec<&'static str> {
        std::iter::once(AUTHREG)
            .chain(SM_TABLES)
            .filter(|t| !self.has(t))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// jabberd2's own schema for the tables read (tools/db-setup.sqlite), abridged vCard.
    const SCHEMA: &str = r#"
        CREATE TABLE "authreg" ("username" TEXT NOT NULL, "realm" TEXT NOT NULL, "password" TEXT);
        CREATE TABLE "logout" ("collection-owner" TEXT NOT NULL, "object-sequence" INTEGER PRIMARY KEY, "time" INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE "roster-items" ("collection-owner" TEXT NOT NULL, "object-sequence" INTEGER PRIMARY KEY, "jid" TEXT NOT NULL, "name" TEXT, "to" BOOLEAN NOT NULL, "from" BOOLEAN NOT NULL, "ask" INTEGER NOT NULL);
        CREATE TABLE "roster-groups" ("collection-owner" TEXT NOT NULL, "object-sequence" INTEGER PRIMARY KEY, "jid" TEXT NOT NULL, "group" TEXT NOT NULL);
        CREATE TABLE "vcard" ("collection-owner" TEXT NOT NULL, "object-sequence" INTEGER PRIMARY KEY, "fn" TEXT, "nickname" TEXT, "n-given" TEXT);
        CREATE TABLE "queue" ("collection-owner" TEXT NOT NULL, "object-sequence" INTEGER PRIMARY KEY, "xml" TEXT NOT NULL);
        CREATE TABLE "private" ("collection-owner" TEXT NOT NULL, "object-sequence" INTEGER PRIMARY KEY, "ns" TEXT, "xml" TEXT);
    "#;

    #[test]
    fn reads_rows_per_owner() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        conn.execute_batch(
            r#"
            INSERT INTO authreg VALUES ('alice', 'a.test', 'pw'), ('nopw', 'a.test', NULL);
            INSERT INTO "roster-items" VALUES ('alice@a.test', 1, 'bob@a.test', 'Bob', 1, 't', 1);
            INSERT INTO "roster-groups" VALUES ('alice@a.test', 1, 'bob@a.test', 'G');
            INSERT INTO "vcard" VALUES ('alice@a.test', 1, 'Old', NULL, ''), ('alice@a.test', 2, 'Alice', 'al', '');
            INSERT INTO "logout" VALUES ('carol@a.test', 1, 1700000000);
            "#,
        )
        .unwrap();
        drop(conn);

        let mut source = SqliteSource::open(&path).unwrap();
        assert_eq!(
            source.missing_tables(),
            ["privacy-items", "privacy-default"]
        );
        let accounts = source.accounts().unwrap();
        assert_eq!(accounts.len(), 2);
        assert_eq!(accounts[1].password, None);
        assert_eq!(source.owners().unwrap(), ["alice@a.test", "carol@a.test"]);
        let rows = source.owner_rows("alice@a.test").unwrap();
        assert_eq!(
            rows.roster_items,
            [RosterRow {
                jid: "bob@a.test".into(),
                name: Some("Bob".into()),
                to: true,
                from: true,
                ask: 1
            }]
        );
        assert_eq!(rows.roster_groups, [("bob@a.test".into(), "G".into())]);
        assert_eq!(
            rows.vcard,
            [
                ("fn".into(), "Alice".into()),
                ("nickname".into(), "al".into())
            ]
        );
        assert_eq!(
            source.owner_rows("carol@a.test").unwrap().logouts,
            [1_700_000_000]
        );
    }

    #[test]
    fn refuses_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE t (x)")
            .unwrap();
        let err = SqliteSource::open(&path).err().unwrap().to_string();
        assert!(err.contains("not a jabberd2 database"), "{err}");
        assert!(SqliteSource::open(&dir.path().join("missing.db")).is_err());
    }
}
