//! `starlingctl init`: a complete, commented etc/ for a new domain.
//!
//! Each daemon's file starts from its shipped, commented template and is edited with `toml_edit`,
//! so the result documents every key. Each daemon with a template in [`crate::daemons::DAEMONS`]
//! gets its file, with the domain filled in ([`fill_in`]), and a router account with a random
//! password ([`accounts::provision`]).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use toml_edit::{value, Array, DocumentMut, Item};

use crate::daemons::{Daemon, DAEMONS, ROUTER};
use crate::error::CtlError;
use crate::{accounts, domain, files, router_toml};

/// The router's component port, the one jabberd2 components expect.
pub const ROUTER_PORT: u16 = 5347;
/// The client ports: STARTTLS (RFC 6120) and direct TLS (XEP-0368).
pub const C2S_PORT: u16 = 5222;
pub const C2S_DIRECT_TLS_PORT: u16 = 5223;
/// The domain the shipped templates are written for.
const TEMPLATE_DOMAIN: &str = "localhost";

/// What the administrator asked for.
#[derive(Debug, Clone)]
pub struct InitOptions {
    pub domain: String,
    /// The address the daemons listen on; 127.0.0.1 keeps a fresh install off the network.
    pub listen: IpAddr,
    pub dir: PathBuf,
    /// Lets clients register accounts in-band (XEP-0077): `registration` in c2s.toml.
    pub allow_registration: bool,
}

/// A file to write: its name inside the etc/ directory, and its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub name: String,
    pub contents: String,
}

/// Writes the files, or nothing at all if any of them already exists.
pub fn run(options: &InitOptions) -> Result<Vec<PathBuf>, CtlError> {
    let domain = domain::validate("--domain", &options.domain)?;
    let rendered = render(&InitOptions {
        domain,
        ..options.clone()
    })?;
    let paths: Vec<PathBuf> = rendered.iter().map(|f| options.dir.join(&f.name)).collect();
    if let Some(existing) = paths.iter().find(|p| p.exists()) {
        return Err(CtlError::file(
            existing,
            "already exists; init does not overwrite (remove it or choose another --dir)",
        ));
    }
    std::fs::create_dir_all(&options.dir)
        .map_err(|e| CtlError::file(&options.dir, format_args!("cannot create: {e}")))?;
    for (file, path) in rendered.iter().zip(&paths) {
        files::write_new(path, &file.contents)?;
    }
    Ok(paths)
}

/// Renders every file `init` writes, for an already validated domain.
pub fn render(options: &InitOptions) -> Result<Vec<Rendered>, CtlError> {
    let router_file = Path::new("router.toml");
    let mut router = router_toml::parse(router_file, template(&ROUTER))?;
    router_toml::set_listen(&mut router, &[SocketAddr::new(options.listen, ROUTER_PORT)]);

    let mut out = Vec::new();
    // Every other daemon with a template: its own file, and its account in the router's.
    for daemon in DAEMONS.iter().filter(|d| d.name != ROUTER.name) {
        let Some(template) = daemon.template else {
            continue;
        };
        let path = Path::new("etc").join(daemon.config_file());
        let mut doc = router_toml::parse(&path, template)?;
        fill_in(daemon, &mut doc, options);
        accounts::provision(router_file, &mut router, daemon, &mut doc)?;
        out.push(rendered(daemon, options, doc));
    }
    out.insert(0, rendered(&ROUTER, options, router));
    Ok(out)
}

/// Puts the domain, the listen address and the registration choice into a daemon's template.
fn fill_in(daemon: &Daemon, doc: &mut DocumentMut, options: &InitOptions) {
    match daemon.name {
        "c2s" => {
            let at = |port| Array::from_iter([SocketAddr::new(options.listen, port).to_string()]);
            doc["listen"] = value(at(C2S_PORT));
            doc["direct_tls_listen"] = value(at(C2S_DIRECT_TLS_PORT));
            if let Some(hosts) = doc.get_mut("hosts").and_then(Item::as_table_mut) {
                let mut host = hosts.remove(TEMPLATE_DOMAIN).unwrap_or_default();
                host["registration"] = value(options.allow_registration);
                hosts.insert(&options.domain, host);
            }
        }
        "sm" => doc["domains"] = value(Array::from_iter([options.domain.as_str()])),
        _ => {}
    }
}

fn template(daemon: &Daemon) -> &'static str {
    daemon.template.unwrap_or_default()
}

/// Prefixes the file with a line saying where it came from.
fn rendered(daemon: &Daemon, options: &InitOptions, doc: DocumentMut) -> Rendered {
    Rendered {
        name: daemon.config_file(),
        contents: format!(
            "# Written by `starlingctl init --domain {}`; edit freely.\n\n{doc}",
            options.domain
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(dir: &Path) -> InitOptions {
        InitOptions {
            domain: "example.test".into(),
            listen: "127.0.0.1".parse().unwrap(),
            dir: dir.to_owned(),
            allow_registration: false,
        }
    }

    #[test]
    fn writes_commented_router_toml() {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("etc");
        let written = run(&options(&etc)).unwrap();
        let names = ["router.toml", "c2s.toml", "sm.toml"];
        assert_eq!(written, names.map(|n| etc.join(n)));
        let text = std::fs::read_to_string(&written[0]).unwrap();
        assert!(text.starts_with("# Written by `starlingctl init --domain example.test`"));
        assert!(text.contains("listen = [\"127.0.0.1:5347\"]\n"), "{text}");
        // Every comment of the template is still there.
        for line in crate::daemons::ROUTER_TEMPLATE
            .lines()
            .filter(|l| l.starts_with('#'))
        {
            assert!(text.contains(line), "lost {line:?}");
        }
        let parsed: toml_edit::DocumentMut = text.parse().unwrap();
        assert_eq!(parsed["id"].as_str(), Some("router"));
    }

    #[test]
    fn ipv6_listen_address() {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = options(dir.path());
        opts.listen = "::1".parse().unwrap();
        let files = render(&opts).unwrap();
        assert!(files[0].contents.contains("listen = [\"[::1]:5347\"]\n"));
    }

    #[test]
    fn refuses_to_overwrite_and_bad_domain() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("router.toml"), "mine\n").unwrap();
        let e = run(&options(dir.path())).unwrap_err().to_string();
        assert!(e.contains("router.toml: already exists"), "{e}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("router.toml")).unwrap(),
            "mine\n"
        );

        let mut opts = options(&dir.path().join("other"));
        opts.domain = "not a domain".into();
        assert!(run(&opts).is_err());
        assert!(!dir.path().join("other").exists());
    }

    #[test]
    fn c2s_and_sm_serve_the_domain_with_router_accounts() {
        let mut opts = options(Path::new("unused"));
        opts.allow_registration = true;
        let files = render(&opts).unwrap();
        let doc = |name: &str| -> DocumentMut {
            let file = files.iter().find(|f| f.name == name).unwrap();
            file.contents.parse().unwrap()
        };
        let (router, c2s, sm) = (doc("router.toml"), doc("c2s.toml"), doc("sm.toml"));

        assert_eq!(c2s["listen"][0].as_str(), Some("127.0.0.1:5222"));
        assert_eq!(c2s["direct_tls_listen"][0].as_str(), Some("127.0.0.1:5223"));
        let hosts = c2s["hosts"].as_table().unwrap();
        assert_eq!(
            hosts.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            ["example.test"]
        );
        assert_eq!(hosts["example.test"]["registration"].as_bool(), Some(true));
        assert_eq!(sm["domains"][0].as_str(), Some("example.test"));
        assert_eq!(sm["domains"].as_array().unwrap().len(), 1);

        for (name, config) in [("c2s", &c2s), ("sm", &sm)] {
            let password = config["router"]["password"].as_str().unwrap();
            assert_eq!(router["users"][name]["password"].as_str(), Some(password));
        }
        assert_ne!(
            c2s["router"]["password"].as_str(),
            sm["router"]["password"].as_str()
        );
        assert_eq!(
            router["users"]["sm"]["bind"][1].as_str(),
            Some("example.test")
        );
    }
}
