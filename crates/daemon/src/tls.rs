//! TLS setup shared by the daemons: server configs from PEM files, a self-signed certificate made
//! on first start, and client configs that trust a given certificate.
//!
//! The ring provider is always passed explicitly: rustls' process-wide default provider panics
//! when more than one provider is compiled in, which a dependency can cause at any time.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Where Debian (and most Linux distributions) keep the system CA bundle; `SSL_CERT_FILE`
/// overrides it as in OpenSSL.
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// A TLS set-up problem, naming the file it concerns.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{}: {problem}", file.display())]
    File { file: PathBuf, problem: String },
    #[error("TLS setup: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("generating a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

impl TlsError {
    fn file(file: &Path, problem: impl std::fmt::Display) -> Self {
        TlsError::File {
            file: file.to_owned(),
            problem: problem.to_string(),
        }
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads every certificate in a PEM file, in order (leaf first for a chain).
pub fn load_certificates(file: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(file)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::file(file, pem_problem(e)))?;
    if certs.is_empty() {
        return Err(TlsError::file(file, "no PEM certificate found"));
    }
    Ok(certs)
}

/// Reads the first private key (PKCS#8, PKCS#1 RSA or SEC1 EC) in a PEM file.
pub fn load_private_key(file: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(file).map_err(|e| TlsError::file(file, pem_problem(e)))
}

fn pem_problem(e: rustls_pki_types::pem::Error) -> String {
    match e {
        rustls_pki_types::pem::Error::Io(e) => format!("cannot read: {e}"),
        rustls_pki_types::pem::Error::NoItemsFound => "no PEM private key found".to_string(),
        e => format!("invalid PEM: {e}"),
    }
}

/// A server config presenting the chain in `cert` with the key in `key`, no client certificates.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = load_certificates(cert)?;
    let private = load_private_key(key)?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| {
            TlsError::file(
                key,
                format_args!("cannot be used with {}: {e}", cert.display()),
            )
        })?;
    Ok(Arc::new(config))
}

/// A client config trusting the certificates in the PEM file `trust` (typically the router's
/// self-signed certificate, copied to the component's machine), or with `None` the system CA
/// bundle (`SSL_CERT_FILE`, else `/etc/ssl/certs/ca-certificates.crt`).
pub fn client_config(trust: Option<&Path>) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = RootCertStore::empty();
    match trust {
        Some(file) => {
            for cert in load_certificates(file)? {
                roots.add(cert).map_err(|e| {
                    TlsError::file(file, format_args!("unusable as a trust anchor: {e}"))
                })?;
            }
        }
        None => {
            let bundle = std::env::var_os("SSL_CERT_FILE")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(SYSTEM_CA_BUNDLE));
            // A bundle mixes in certificates webpki cannot use; skipping them is what every
            // TLS client does with the system store.
            roots.add_parsable_certificates(load_certificates(&bundle)?);
        }
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Returns `<dir>/<names[0]>.crt` and `.key`, generating a self-signed certificate for all of
/// `names` the first time (rcgen, ECDSA P-256) and reusing the files afterwards, so that peers that
/// pinned the certificate keep trusting it across restarts. The key is written with mode 0600.
pub fn ensure_self_signed(dir: &Path, names: &[String]) -> Result<(PathBuf, PathBuf), TlsError> {
    let Some(first) = names.first() else {
        return Err(TlsError::file(
            dir,
            "no name to put in a self-signed certificate",
        ));
    };
    if first.is_empty() || first.starts_with('.') || first.contains(['/', '\0']) {
        return Err(TlsError::file(
            dir,
            format_args!("{first:?} cannot name a certificate file"),
        ));
    }
    let cert_path = dir.join(format!("{first}.crt"));
    let key_path = dir.join(format!("{first}.key"));
    match (cert_path.exists(), key_path.exists()) {
        (true, true) => return Ok((cert_path, key_path)),
        (false, false) => {}
        // Never overwrite half of a pair: the other half may be a real, hand-installed file.
        (true, false) => {
            return Err(TlsError::file(
                &key_path,
                format_args!("missing, but {} exists", cert_path.display()),
            ))
        }
        (false, true) => {
            return Err(TlsError::file(
                &cert_path,
                format_args!("missing, but {} exists", key_path.display()),
            ))
        }
    }

    fs::create_dir_all(dir).map_err(|e| TlsError::file(dir, format_args!("cannot create: {e}")))?;
    let generated = rcgen::generate_simple_self_signed(names.to_vec())?;
    // Written under temporary names and renamed, so that a crash mid-write never leaves a
    // truncated file that the next start would "reuse"; the key goes first so that a cert on
    // disk always has its key.
    write_atomically(
        &key_path,
        generated.signing_key.serialize_pem().as_bytes(),
        0o600,
    )?;
    write_atomically(&cert_path, generated.cert.pem().as_bytes(), 0o644)?;
    tracing::info!(cert = %cert_path.display(), key = %key_path.display(), "generated a self-signed certificate for {}", names.join(", "));
    Ok((cert_path, key_path))
}

fn write_atomically(path: &Path, contents: &[u8], mode: u32) -> Result<(), TlsError> {
    crate::files::write_atomically(path, contents, mode)
        .map_err(|e| TlsError::file(path, format_args!("cannot write: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn names() -> Vec<String> {
        vec!["router.example.test".to_string(), "127.0.0.1".to_string()]
    }

    #[test]
    fn self_signed_is_generated_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let tls_dir = dir.path().join("tls");
        let (cert, key) = ensure_self_signed(&tls_dir, &names()).unwrap();
        assert_eq!(cert, tls_dir.join("router.example.test.crt"));
        assert_eq!(key, tls_dir.join("router.example.test.key"));
        let mode = fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let first = (fs::read(&cert).unwrap(), fs::read(&key).unwrap());

        let again = ensure_self_signed(&tls_dir, &names()).unwrap();
        assert_eq!(again, (cert.clone(), key.clone()));
        assert_eq!((fs::read(&cert).unwrap(), fs::read(&key).unwrap()), first);
        // No temporary files left behind.
        assert_eq!(fs::read_dir(&tls_dir).unwrap().count(), 2);
        server_config(&cert, &key).unwrap();
    }

    #[test]
    fn half_a_pair_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("x.test.crt"), "mine").unwrap();
        let e = ensure_self_signed(dir.path(), &["x.test".into()]).unwrap_err();
        assert!(e.to_string().contains("x.test.key: missing"), "{e}");
        assert_eq!(fs::read(dir.path().join("x.test.crt")).unwrap(), b"mine");
    }

    #[test]
    fn bad_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(ensure_self_signed(dir.path(), &[]).is_err());
        assert!(ensure_self_signed(dir.path(), &["../evil".into()]).is_err());
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.crt");
        let e = server_config(&missing, &missing).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{}: cannot read", missing.display())),
            "{e}"
        );

        let garbage = dir.path().join("garbage.pem");
        fs::write(&garbage, "not pem at all\n").unwrap();
        let e = client_config(Some(&garbage)).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{}: no PEM certificate", garbage.display())),
            "{e}"
        );

        let (cert, _) = ensure_self_signed(dir.path(), &["a.test".into()]).unwrap();
        let e = server_config(&cert, &garbage).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{}: no PEM private key", garbage.display())),
            "{e}"
        );

        // The key of another certificate.
        let (_, other_key) = ensure_self_signed(dir.path(), &["b.test".into()]).unwrap();
        let e = server_config(&cert, &other_key).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{}: cannot be used with", other_key.display())),
            "{e}"
        );
    }

    /// A client trusting the generated certificate completes a handshake with a server using it,
    /// for a name in the certificate; a name that is not in it is refused.
    #[tokio::test]
    async fn client_trusting_self_signed_certificate_connects() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = ensure_self_signed(dir.path(), &names()).unwrap();
        let server = tokio_rustls::TlsAcceptor::from(server_config(&cert, &key).unwrap());
        let client = tokio_rustls::TlsConnector::from(client_config(Some(&cert)).unwrap());

        let (a, b) = tokio::io::duplex(16 * 1024);
        let serve = tokio::spawn(async move {
            let mut tls = server.accept(b).await.unwrap();
            let mut buf = [0u8; 5];
            tls.read_exact(&mut buf).await.unwrap();
            tls.write_all(&buf).await.unwrap();
            tls.flush().await.unwrap();
        });
        let name = rustls_pki_types::ServerName::try_from("router.example.test").unwrap();
        let mut tls = client.connect(name, a).await.unwrap();
        tls.write_all(b"hello").await.unwrap();
        let mut buf = [0u8; 5];
        tls.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello");
        serve.await.unwrap();

        let (a, b) = tokio::io::duplex(16 * 1024);
        let server = tokio_rustls::TlsAcceptor::from(server_config(&cert, &key).unwrap());
        tokio::spawn(async move {
            let _ = server.accept(b).await;
        });
        let client = tokio_rustls::TlsConnector::from(client_config(Some(&cert)).unwrap());
        let wrong = rustls_pki_types::ServerName::try_from("other.example.test").unwrap();
        assert!(client.connect(wrong, a).await.is_err());
    }
}
