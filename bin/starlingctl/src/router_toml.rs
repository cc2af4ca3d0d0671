//! Edits to router.toml that keep every comment and the layout of the rest of the file
//! (`toml_edit`), since the file is the administrator's documentation as much as config.

use std::net::SocketAddr;
use std::path::Path;

use toml_edit::{value, Array, DocumentMut, Item, Table};

use crate::error::CtlError;

/// Parses TOML for editing; a syntax error is reported as `{file}:{line}:{column}: {problem}`.
pub fn parse(file: &Path, text: &str) -> Result<DocumentMut, CtlError> {
    text.parse::<DocumentMut>().map_err(|e| {
        let (line, column) = e
            .span()
            .map(|span| daemon::config::line_column(text, span))
            .unwrap_or((1, 1));
        CtlError::new(format_args!(
            "{}:{line}:{column}: {}",
            file.display(),
            e.message().trim_end()
        ))
    })
}

/// Sets the component port's addresses, keeping the comment above `listen`.
pub fn set_listen(doc: &mut DocumentMut, addresses: &[SocketAddr]) {
    let list: Array = addresses.iter().map(|a| a.to_string()).collect();
    doc["listen"] = value(list);
}

/// What [`add_component`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    New,
    /// The component existed and `force` replaced its secret.
    Replaced,
}

/// Adds `[components."NAME"] secret = "…"` (XEP-0114). An existing entry is an error unless
/// `force`, which replaces only its secret and keeps anything else set there.
pub fn add_component(
    file: &Path,
    doc: &mut DocumentMut,
    name: &str,
    secret: &str,
    force: bool,
) -> Result<Added, CtlError> {
    let components = subtable(file, doc, "components")?;
    let added = match components.get_mut(name) {
        Some(existing) => {
            if !force {
                return Err(CtlError::file(
                    file,
                    format_args!(
                        "component {name:?} already exists (use --force to replace its secret)"
                    ),
                ));
            }
            let Some(entry) = existing.as_table_like_mut() else {
                return Err(CtlError::file(
                    file,
                    format_args!("components.{name:?} is not a table"),
                ));
            };
            entry.insert("secret", value(secret));
            Added::Replaced
        }
        None => {
            let mut entry = Table::new();
            entry.insert("secret", value(secret));
            append_table(file, doc, "components", name, entry)?;
            Added::New
        }
    };
    Ok(added)
}

/// Adds a native-protocol account `[users.NAME]` for a Starling daemon, as `init` will do for
/// c2s, sm, s2s and resolver once they exist. `bind` lists the names it may bind (empty: only its
/// own name); `default_route` is for the s2s.
pub fn add_user(
    file: &Path,
    doc: &mut DocumentMut,
    name: &str,
    password: &str,
    bind: &[&str],
    default_route: bool,
) -> Result<(), CtlError> {
    if subtable(file, doc, "users")?.contains_key(name) {
        return Err(CtlError::file(
            file,
            format_args!("account {name:?} already exists"),
        ));
    }
    let mut entry = Table::new();
    entry.insert("password", value(password));
    if !bind.is_empty() {
        entry.insert("bind", value(bind.iter().copied().collect::<Array>()));
    }
    if default_route {
        entry.insert("default_route", value(true));
    }
    append_table(file, doc, "users", name, entry)
}

/// Inserts `[parent."name"]` as the last table of the file.
///
/// Left to itself toml_edit would print a new table right after the last existing one, above the
/// comments that end the file; in the shipped router.toml those are the commented-out examples
/// for `[aliases]`, `[routes]` and `[filters]`, and an uncommented example would then land in the
/// wrong table. So the new table goes after everything, and those comments move up with it.
fn append_table(
    file: &Path,
    doc: &mut DocumentMut,
    parent: &str,
    name: &str,
    mut entry: Table,
) -> Result<(), CtlError> {
    entry.set_position(Some(last_position(doc.as_table()) + 1));
    let trailing = doc.trailing().as_str().unwrap_or_default().to_string();
    if !trailing.trim().is_empty() {
        let trailing = trailing.trim_end_matches('\n');
        entry.decor_mut().set_prefix(format!("{trailing}\n\n"));
        doc.set_trailing("");
    }
    subtable(file, doc, parent)?.insert(name, Item::Table(entry));
    Ok(())
}

/// The highest document position of any table (headers are printed in position order).
fn last_position(table: &Table) -> isize {
    let mut last = table.position().unwrap_or(0);
    for (_, item) in table.iter() {
        match item {
            Item::Table(child) => last = last.max(last_position(child)),
            Item::ArrayOfTables(array) => {
                for child in array.iter() {
                    last = last.max(last_position(child));
                }
            }
            _ => {}
        }
    }
    last
}

/// The top-level table `key`, created as an implicit table (no bare `[components]` header,
/// only `[components."name"]`) when the template has it only in comments.
fn subtable<'d>(
    file: &Path,
    doc: &'d mut DocumentMut,
    key: &str,
) -> Result<&'d mut Table, CtlError> {
    let item = doc.entry(key).or_insert_with(|| {
        let mut table = Table::new();
        table.set_implicit(true);
        Item::Table(table)
    });
    item.as_table_mut()
        .ok_or_else(|| CtlError::file(file, format_args!("{key} must be a table")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemons::ROUTER_TEMPLATE;

    fn file() -> &'static Path {
        Path::new("etc/router.toml")
    }

    fn comment_lines(text: &str) -> Vec<&str> {
        text.lines()
            .filter(|l| l.trim_start().starts_with('#'))
            .collect()
    }

    #[test]
    fn listen_is_replaced_and_comments_kept() {
        let mut doc = parse(file(), ROUTER_TEMPLATE).unwrap();
        set_listen(&mut doc, &["[::1]:5347".parse().unwrap()]);
        let out = doc.to_string();
        assert!(out.contains("listen = [\"[::1]:5347\"]\n"), "{out}");
        assert_eq!(comment_lines(&out), comment_lines(ROUTER_TEMPLATE));
    }

    #[test]
    fn component_added_then_duplicate_refused_then_forced() {
        let mut doc = parse(file(), ROUTER_TEMPLATE).unwrap();
        let added = add_component(file(), &mut doc, "muc.example.test", "s1", false).unwrap();
        assert_eq!(added, Added::New);
        let out = doc.to_string();
        assert!(
            out.contains("[components.\"muc.example.test\"]\nsecret = \"s1\"\n"),
            "{out}"
        );
        assert!(!out.contains("[components]\n"), "{out}");
        assert_eq!(comment_lines(&out), comment_lines(ROUTER_TEMPLATE));
        // Below the commented examples that end the file, which stay with their own tables.
        let example = out.find("# \"conference.localhost\"").unwrap();
        assert!(out.find("[aliases]").unwrap() < example);
        assert!(example < out.find("\n[components.").unwrap(), "{out}");
        assert!(out.ends_with("secret = \"s1\"\n"), "{out}");

        let e = add_component(file(), &mut doc, "muc.example.test", "s2", false).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("etc/router.toml: component \"muc.example.test\" already exists"),
            "{e}"
        );

        let again = add_component(file(), &mut doc, "muc.example.test", "s2", true).unwrap();
        assert_eq!(again, Added::Replaced);
        let reparsed: toml_edit::DocumentMut = doc.to_string().parse().unwrap();
        assert_eq!(
            reparsed["components"]["muc.example.test"]["secret"].as_str(),
            Some("s2")
        );

        add_component(file(), &mut doc, "pubsub.example.test", "s3", false).unwrap();
        let reparsed: toml_edit::DocumentMut = doc.to_string().parse().unwrap();
        assert_eq!(reparsed["components"].as_table().unwrap().len(), 2);
    }

    #[test]
    fn user_account_added() {
        let mut doc = parse(file(), ROUTER_TEMPLATE).unwrap();
        add_user(file(), &mut doc, "s2s", "pw", &[], true).unwrap();
        add_user(
            file(),
            &mut doc,
            "sm",
            "pw2",
            &["sm", "example.test"],
            false,
        )
        .unwrap();
        assert!(add_user(file(), &mut doc, "sm", "x", &[], false).is_err());
        let reparsed: toml_edit::DocumentMut = doc.to_string().parse().unwrap();
        assert_eq!(
            reparsed["users"]["s2s"]["default_route"].as_bool(),
            Some(true)
        );
        assert_eq!(reparsed["users"]["sm"]["bind"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn syntax_error_has_position() {
        let e = parse(file(), "id = \"x\"\n[components\n").unwrap_err();
        assert!(e.to_string().starts_with("etc/router.toml:2:"), "{e}");
    }

    #[test]
    fn non_table_components_is_an_error() {
        let mut doc = parse(file(), "components = 5\n").unwrap();
        let e = add_component(file(), &mut doc, "a.test", "s", false).unwrap_err();
        assert_eq!(e.to_string(), "etc/router.toml: components must be a table");
    }
}
