//! Reading an XEP-0227 file that may be split with XInclude (§5): an `<xi:include href=…/>`
//! among the children of `<server-data/>`, `<host/>` or `<user/>` stands for the root element of
//! the file it names, relative to the including file. Includes deeper inside a user's data are
//! user data and left alone. Only plain includes are supported: no `parse`, no `xpointer`, no
//! URL scheme.

use std::path::{Path, PathBuf};

use minidom::Element;

use crate::error::CtlError;
use crate::files;

const XINCLUDE: &str = "http://www.w3.org/2001/XInclude";

/// How many includes may lead to one another (a loop ends here).
const MAX_DEPTH: usize = 16;

/// An element and the directory its relative `href`s resolve against.
#[derive(Debug, Clone)]
pub struct Node {
    pub element: Element,
    dir: PathBuf,
    depth: usize,
}

/// The root element of the file at `path`.
pub fn open(path: &Path) -> Result<Node, CtlError> {
    let text = files::read(path)?;
    let element: Element = text
        .parse()
        .map_err(|e| CtlError::file(path, format_args!("not well-formed XML: {e}")))?;
    Ok(Node {
        element,
        dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
        depth: 0,
    })
}

/// The file an include names, resolved against `from`'s directory, loaded.
fn include(from: &Node, el: &Element) -> Result<Node, CtlError> {
    let href = el.attr("href").unwrap_or_default();
    if href.is_empty() || el.attr("parse").is_some() || el.attr("xpointer").is_some() {
        return Err(CtlError::new(format_args!(
            "an XInclude in {}: only href with a file path is supported",
            from.dir.display()
        )));
    }
    if href.contains("://") {
        return Err(CtlError::new(format_args!(
            "XInclude of {href:?}: only files are supported, not URLs"
        )));
    }
    if from.depth >= MAX_DEPTH {
        return Err(CtlError::new(format_args!(
            "XInclude of {href:?}: more than {MAX_DEPTH} nested includes (a loop?)"
        )));
    }
    let mut node = open(&from.dir.join(href))?;
    node.depth = from.depth + 1;
    Ok(node)
}

/// The element children of `node`, each include replaced by what it includes.
pub fn children(node: &Node) -> Result<Vec<Node>, CtlError> {
    let mut out = Vec::new();
    for el in node.element.children() {
        let mut child = Node {
            element: el.clone(),
            dir: node.dir.clone(),
            depth: node.depth,
        };
        while child.element.is("include", XINCLUDE) {
            child = include(&child, &child.element)?;
        }
        out.push(child);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_relative_includes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("h")).unwrap();
        std::fs::write(
            dir.path().join("main.xml"),
            "<server-data xmlns='urn:xmpp:pie:0' xmlns:xi='http://www.w3.org/2001/XInclude'>\
             <xi:include href='h.xml'/></server-data>",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("h.xml"),
            "<host xmlns='urn:xmpp:pie:0' xmlns:xi='http://www.w3.org/2001/XInclude' jid='a.test'>\
             <xi:include href='h/u.xml'/></host>",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("h/u.xml"),
            "<user xmlns='urn:xmpp:pie:0' name='u'/>",
        )
        .unwrap();
        let root = open(&dir.path().join("main.xml")).unwrap();
        let hosts = children(&root).unwrap();
        assert_eq!(hosts[0].element.attr("jid"), Some("a.test"));
        let users = children(&hosts[0]).unwrap();
        assert_eq!(users[0].element.attr("name"), Some("u"));

        std::fs::write(
            dir.path().join("loop.xml"),
            "<xi:include xmlns:xi='http://www.w3.org/2001/XInclude' href='loop.xml'/>",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("looped.xml"),
            "<x xmlns='urn:xmpp:pie:0' xmlns:xi='http://www.w3.org/2001/XInclude'>\
             <xi:include href='loop.xml'/></x>",
        )
        .unwrap();
        let looped = open(&dir.path().join("looped.xml")).unwrap();
        assert!(children(&looped).is_err());
        std::fs::write(
            dir.path().join("url.xml"),
            "<x xmlns='urn:xmpp:pie:0' xmlns:xi='http://www.w3.org/2001/XInclude'>\
             <xi:include href='http://example.org/a.xml'/></x>",
        )
        .unwrap();
        assert!(children(&open(&dir.path().join("url.xml")).unwrap()).is_err());
    }
}
