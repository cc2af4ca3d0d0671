//! `starlingctl init`: a complete, commented etc/ for a new domain.
//!
//! Each daemon's file starts from its shipped, commented template and is edited with `toml_edit`,
//! so the result documents every key. Today only the router exists. As each daemon arrives, it
//! gets a template in [`crate::daemons::DAEMONS`], a `render_*` step here that fills in the
//! domain, and a router account with a random password ([`router_account`]) that its own file is
//! given too.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use toml_edit::DocumentMut;

use crate::daemons::{Daemon, DAEMONS, ROUTER};
use crate::error::CtlError;
use crate::{domain, files, router_toml, secret};

/// The router's component port, the one jabberd2 components expect.
pub const ROUTER_PORT: u16 = 5347;

/// What the administrator asked for.
#[derive(Debug, Clone)]
pub struct InitOptions {
    pub domain: String,
    /// The address the daemons listen on; 127.0.0.1 keeps a fresh install off the network.
    pub listen: IpAddr,
    pub dir: PathBuf,
    /// Lets clients register accounts in-band (XEP-0077). Written into c2s.toml once starling-c2s
    /// exists; until then there is nothing to record it in.
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
    let template_path = Path::new("etc").join(ROUTER.config_file());
    let mut router = router_toml::parse(&template_path, template(&ROUTER))?;
    router_toml::set_listen(&mut router, &[SocketAddr::new(options.listen, ROUTER_PORT)]);

    let mut out = Vec::new();
    // The other daemons, once they have templates: each one's own file, and its account in the
    // router's. (None has a template yet, so this adds nothing today.)
    for daemon in DAEMONS.iter().filter(|d| d.name != ROUTER.name) {
        let Some(template) = daemon.template else {
            continue;
        };
        let password = router_account(&mut router, daemon)?;
        let path = Path::new("etc").join(daemon.config_file());
        let mut doc = router_toml::parse(&path, template)?;
        set_router_login(&mut doc, daemon.name, &password);
        out.push(rendered(daemon, options, doc));
    }
    out.insert(0, rendered(&ROUTER, options, router));
    Ok(out)
}

/// Adds `daemon`'s account to the router config and returns its new random password.
pub fn router_account(router: &mut DocumentMut, daemon: &Daemon) -> Result<String, CtlError> {
    let password = secret::generate()
        .map_err(|e| CtlError::new(format_args!("cannot generate a password: {e}")))?;
    // The s2s takes every domain nothing else has bound.
    let default_route = daemon.name == "s2s";
    router_toml::add_user(
        Path::new("router.toml"),
        router,
        daemon.name,
        &password,
        &[],
        default_route,
    )?;
    Ok(password)
}

fn template(daemon: &Daemon) -> &'static str {
    daemon.template.unwrap_or_default()
}

/// A Starling component daemon's credentials for the router: `[router] user`, `password`.
/// (The key names are to be confirmed by the first component daemon's config.)
pub fn set_router_login(doc: &mut DocumentMut, user: &str, password: &str) {
    doc["router"]["user"] = toml_edit::value(user);
    doc["router"]["password"] = toml_edit::value(password);
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
        assert_eq!(written, vec![etc.join("router.toml")]);
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
    fn router_account_gets_random_password() {
        let mut router =
            router_toml::parse(Path::new("r"), crate::daemons::ROUTER_TEMPLATE).unwrap();
        let s2s = DAEMONS.iter().find(|d| d.name == "s2s").unwrap();
        let password = router_account(&mut router, s2s).unwrap();
        assert_eq!(
            router["users"]["s2s"]["password"].as_str(),
            Some(password.as_str())
        );
        assert_eq!(
            router["users"]["s2s"]["default_route"].as_bool(),
            Some(true)
        );
    }

    #[test]
    fn router_login_is_set() {
        let mut doc: DocumentMut = "# c2s\nid = \"c2s\"\n".parse().unwrap();
        set_router_login(&mut doc, "c2s", "pw");
        let reparsed: DocumentMut = doc.to_string().parse().unwrap();
        assert_eq!(reparsed["router"]["user"].as_str(), Some("c2s"));
        assert_eq!(reparsed["router"]["password"].as_str(), Some("pw"));
    }
}
