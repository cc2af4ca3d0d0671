//! `starlingctl import`: the users of an XEP-0227 document into the configured store, through
//! the same idempotent [`save`] as `import-jabberd2`.

use std::path::Path;
use std::time::SystemTime;

use super::xinclude::{self, Node};
use super::{from_xml, is_pie};
use crate::error::CtlError;
use crate::store;
use crate::user_data::report::Report;
use crate::user_data::save;

fn describe(node: &Node) -> String {
    format!("<{} xmlns='{}'/>", node.element.name(), node.element.ns())
}

/// Imports `file` into the store configured in `etc`.
pub async fn import(etc: &Path, file: &Path) -> Result<Report, CtlError> {
    let root = xinclude::open(file)?;
    if root.element.name() != "server-data" || !is_pie(&root.element.ns()) {
        return Err(CtlError::file(
            file,
            "not an XEP-0227 document: its root is not <server-data xmlns='urn:xmpp:pie:0'/>",
        ));
    }
    let store = store::open(etc).await?;
    let mut report = Report::default();
    let now = SystemTime::now();
    for host in xinclude::children(&root)? {
        if host.element.name() != "host" || !is_pie(&host.element.ns()) {
            report.note(format_args!(
                "{} in <server-data/>: ignored",
                describe(&host)
            ));
            continue;
        }
        let given = host.element.attr("jid").unwrap_or_default();
        let domain = match crate::domain::validate("host jid", given) {
            Ok(domain) => domain,
            Err(e) => {
                report.note(format_args!("{e}: its users were not imported"));
                continue;
            }
        };
        for user in xinclude::children(&host)? {
            if user.element.name() != "user" || !is_pie(&user.element.ns()) {
                report.note(format_args!(
                    "{} in host {domain}: ignored",
                    describe(&user)
                ));
                continue;
            }
            let children: Vec<_> = xinclude::children(&user)?
                .into_iter()
                .map(|c| c.element)
                .collect();
            if let Some(data) =
                from_xml::user_data(&user.element, &children, &domain, now, &mut report)
            {
                save(&store, data, &mut report).await?;
            }
        }
    }
    Ok(report)
}
