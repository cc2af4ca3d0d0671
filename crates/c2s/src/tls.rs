//! Certificates per domain, chosen by SNI (or by the stream's `to` when the client sent no SNI),
//! and the channel-binding data that depends on them.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use rustls_pki_types::CertificateDer;
use sha2::Digest;
use tokio_rustls::TlsAcceptor;

use crate::config::Config;

/// One domain's certificate and its RFC 5929 `tls-server-end-point` value.
struct DomainCert {
    key: Arc<CertifiedKey>,
    end_point: Option<Vec<u8>>,
}

/// The certificate a handshake presents: the SNI name's when it is one of ours, else the
/// `fallback` domain's. One rule for the TLS handshake and for channel binding, so that
/// `tls-server-end-point` always hashes the certificate the client saw.
fn choose<'a, T>(
    certs: &'a HashMap<String, T>,
    sni: Option<&str>,
    fallback: &str,
) -> Option<&'a T> {
    sni.and_then(|name| certs.get(&name.to_ascii_lowercase()))
        .or_else(|| certs.get(fallback))
}

#[derive(Debug)]
struct Resolver {
    certs: Arc<HashMap<String, Arc<CertifiedKey>>>,
    fallback: String,
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        choose(&self.certs, hello.server_name(), &self.fallback).cloned()
    }
}

/// TLS acceptors for STARTTLS (one per domain, so a client without SNI gets the certificate
/// of the domain its stream header named) and for direct TLS (SNI, else the first domain).
pub struct TlsSetup {
    starttls: HashMap<String, TlsAcceptor>,
    direct: TlsAcceptor,
    certs: HashMap<String, DomainCert>,
    first: String,
}

impl TlsSetup {
    /// Loads every host's certificate, generating self-signed ones in `certs_dir` where none
    /// is configured.
    pub fn load(config: &Config, certs_dir: &Path) -> Result<TlsSetup, daemon::TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut certs = HashMap::new();
        for (domain, host) in &config.hosts {
            let (cert_file, key_file) = if host.certificate.as_os_str().is_empty() {
                std::fs::create_dir_all(certs_dir).map_err(|e| daemon::TlsError::File {
                    file: certs_dir.to_owned(),
                    problem: format!("cannot create: {e}"),
                })?;
                daemon::tls::ensure_self_signed(certs_dir, std::slice::from_ref(domain))?
            } else {
                (host.certificate.clone(), host.key.clone())
            };
            let chain = daemon::tls::load_certificates(&cert_file)?;
            let private = daemon::tls::load_private_key(&key_file)?;
            let signer = provider
                .key_provider
                .load_private_key(private)
                .map_err(|e| daemon::TlsError::File {
                    file: key_file.clone(),
                    problem: format!("unusable private key: {e}"),
                })?;
            let end_point = chain.first().and_then(end_point_hash);
            certs.insert(
                domain.clone(),
                DomainCert {
                    key: Arc::new(CertifiedKey::new(chain, signer)),
                    end_point,
                },
            );
        }
        let by_name: Arc<HashMap<String, Arc<CertifiedKey>>> = Arc::new(
            certs
                .iter()
                .map(|(d, c)| (d.clone(), c.key.clone()))
                .collect(),
        );
        let first = config.hosts.keys().next().cloned().unwrap_or_default();
        let make = |fallback: &str, alpn: bool| -> Result<TlsAcceptor, daemon::TlsError> {
            if !by_name.contains_key(fallback) {
                return Err(rustls::Error::General("no certificate".into()).into());
            }
            let mut config = ServerConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()?
                .with_no_client_auth()
                .with_cert_resolver(Arc::new(Resolver {
                    certs: by_name.clone(),
                    fallback: fallback.to_owned(),
                }));
            if alpn {
                // XEP-0368 §3: direct TLS announces the protocol with ALPN.
                config.alpn_protocols = vec![b"xmpp-client".to_vec()];
            }
            Ok(TlsAcceptor::from(Arc::new(config)))
        };
        let mut starttls = HashMap::new();
        for domain in config.hosts.keys() {
            starttls.insert(domain.clone(), make(domain, false)?);
        }
        let direct = make(&first, true)?;
        Ok(TlsSetup {
            starttls,
            direct,
            certs,
            first,
        })
    }

    pub fn starttls(&self, domain: &str) -> Option<&TlsAcceptor> {
        self.starttls.get(domain)
    }

    pub fn direct(&self) -> &TlsAcceptor {
        &self.direct
    }

    /// The `tls-server-end-point` data of the certificate a handshake presented: the SNI name's
    /// when it is one of ours, else `starttls_domain`'s (the domain whose STARTTLS acceptor ran),
    /// else the first domain's (direct TLS).
    pub fn end_point(&self, sni: Option<&str>, starttls_domain: Option<&str>) -> Option<Vec<u8>> {
        choose(&self.certs, sni, starttls_domain.unwrap_or(&self.first))
            .and_then(|c| c.end_point.clone())
    }
}

/// RFC 5929 §4.1: the certificate hashed with its signature's hash, SHA-256 for MD5 and SHA-1.
/// `None` for algorithms the RFC does not cover (Ed25519) or a certificate we cannot read.
fn end_point_hash(cert: &CertificateDer<'_>) -> Option<Vec<u8>> {
    let oid = signature_oid(cert.as_ref())?;
    const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
    const ECDSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04];
    let bits = match oid {
        o if o.starts_with(RSA) && o.len() == 9 => match o[8] {
            0x04 | 0x05 | 0x0b => 256,
            0x0c => 384,
            0x0d => 512,
            _ => return None,
        },
        [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01] => 256,
        o if o.starts_with(ECDSA) && o.len() == 8 && o[6] == 0x03 => match o[7] {
            0x01 | 0x02 => 256,
            0x03 => 384,
            0x04 => 512,
            _ => return None,
        },
        _ => return None,
    };
    let der = cert.as_ref();
    Some(match bits {
        256 => sha2::Sha256::digest(der).to_vec(),
        384 => sha2::Sha384::digest(der).to_vec(),
        _ => sha2::Sha512::digest(der).to_vec(),
    })
}

/// The OID of `Certificate.signatureAlgorithm` (RFC 5280 §4.1), by walking the DER.
fn signature_oid(der: &[u8]) -> Option<&[u8]> {
    let (tag, outer, _) = tlv(der)?;
    if tag != 0x30 {
        return None;
    }
    let (_, _, after_tbs) = tlv(outer)?;
    let (tag, alg, _) = tlv(after_tbs)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, oid, _) = tlv(alg)?;
    (tag == 0x06).then_some(oid)
}

/// One DER TLV: (tag, contents, rest).
fn tlv(data: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *data.first()?;
    let first = *data.get(1)?;
    let (len, header) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *data.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    let contents = data.get(header..end)?;
    Some((tag, contents, &data[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_point_of_a_self_signed_ecdsa_p256_certificate_is_its_sha256() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cert, _) =
            daemon::tls::ensure_self_signed(dir.path(), &["example.org".to_owned()]).expect("cert");
        let chain = daemon::tls::load_certificates(&cert).expect("loads");
        assert_eq!(
            end_point_hash(&chain[0]),
            Some(sha2::Sha256::digest(chain[0].as_ref()).to_vec())
        );
    }

    #[test]
    fn sni_names_the_certificate_when_it_is_ours_else_the_fallback_does() {
        let certs: HashMap<String, &str> = [("a.example", "A"), ("b.example", "B")]
            .map(|(d, c)| (d.to_owned(), c))
            .into();
        assert_eq!(choose(&certs, Some("B.Example"), "a.example"), Some(&"B"));
        assert_eq!(choose(&certs, Some("c.example"), "b.example"), Some(&"B"));
        assert_eq!(choose(&certs, None, "a.example"), Some(&"A"));
    }

    #[test]
    fn direct_tls_binds_to_the_first_domain_without_sni_whatever_the_stream_domain() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::default();
        for domain in ["a.example", "b.example"] {
            config.hosts.insert(domain.into(), Default::default());
        }
        let setup = TlsSetup::load(&config, dir.path()).expect("loads");
        let hash = |domain: &str| setup.certs[domain].end_point.clone();
        assert_ne!(hash("a.example"), hash("b.example"));
        assert_eq!(setup.end_point(None, None), hash("a.example"));
        assert_eq!(setup.end_point(Some("x.example"), None), hash("a.example"));
        assert_eq!(setup.end_point(None, Some("b.example")), hash("b.example"));
        assert_eq!(
            setup.end_point(Some("a.example"), Some("b.example")),
            hash("a.example")
        );
    }

    #[test]
    fn garbage_has_no_end_point() {
        for der in [
            &b""[..],
            &[0x30],
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
            &[0x04, 0x00],
        ] {
            assert_eq!(end_point_hash(&CertificateDer::from(der.to_vec())), None);
        }
    }
}
