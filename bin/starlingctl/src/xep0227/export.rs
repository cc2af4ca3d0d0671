//! `starlingctl export`: the store's accounts as an XEP-0227 document, one `<host/>` per domain
//! and one `<user/>` per account, both sorted. The file is written owner-only (XEP-0227 §7: it
//! holds credentials) and atomically.

use std::path::Path;

use bytes::BytesMut;
use xml_stream::writer::{write_attr, write_stanza};

use super::to_xml::user_element;
use super::NS;
use crate::error::CtlError;
use crate::files::CONFIG_MODE;
use crate::user_data::load;
use crate::users::db_error;
use crate::{domain, store};

/// What `export` wrote.
#[derive(Debug, Default)]
pub struct Exported {
    pub users: usize,
    /// Stored data left out because it could not be read.
    pub problems: Vec<String>,
}

/// Writes the accounts of `only` (every domain with accounts when `None`) to `to`, replacing it.
pub async fn export(etc: &Path, only: Option<&str>, to: &Path) -> Result<Exported, CtlError> {
    let store = store::open(etc).await?;
    let domains = match only {
        Some(name) => vec![domain::validate("--domain", name)?],
        None => store.account_domains().await.map_err(db_error)?,
    };
    let mut exported = Exported::default();
    let mut out = BytesMut::new();
    out.extend_from_slice(b"<?xml version='1.0' encoding='UTF-8'?>\n<server-data");
    write_attr(&mut out, "xmlns", NS);
    out.extend_from_slice(b">\n");
    for domain in domains {
        out.extend_from_slice(b"  <host");
        write_attr(&mut out, "jid", &domain);
        out.extend_from_slice(b">\n");
        for user in store.list_accounts(&domain).await.map_err(db_error)? {
            let data = load(&store, user).await.map_err(db_error)?;
            out.extend_from_slice(b"    ");
            write_stanza(
                &user_element(&data, &mut exported.problems),
                Some(NS),
                &mut out,
            );
            out.extend_from_slice(b"\n");
            exported.users += 1;
        }
        out.extend_from_slice(b"  </host>\n");
    }
    out.extend_from_slice(b"</server-data>\n");
    daemon::files::write_atomically(to, &out, CONFIG_MODE)
        .map_err(|e| CtlError::file(to, format_args!("cannot write: {e}")))?;
    Ok(exported)
}
