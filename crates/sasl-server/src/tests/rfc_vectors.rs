//! Known-answer tests from the RFCs: RFC 5802 §5 (SCRAM-SHA-1), RFC 7677 §3 (SCRAM-SHA-256),
//! RFC 2831 §4 (DIGEST-MD5, the IMAP example).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::{
    ChannelBindings, ClientSession, Credentials, DigestMd5Params, Mechanism, ScramCredentials,
    ScramHash, ServerSession, Step,
};

struct ScramVector {
    mech: Mechanism,
    hash: ScramHash,
    client_nonce: &'static str,
    server_nonce: &'static str,
    salt_b64: &'static str,
    client_first: &'static str,
    server_first: &'static str,
    client_final: &'static str,
    server_final: &'static str,
}

const RFC5802: ScramVector = ScramVector {
    mech: Mechanism::ScramSha1,
    hash: ScramHash::Sha1,
    client_nonce: "fyko+d2lbbFgONRv9qkxdawL",
    server_nonce: "3rfcNHYJY1ZVvWVs7j",
    salt_b64: "QSXCR+Q6sek8bf92",
    client_first: "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
    server_first: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
    client_final:
        "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    server_final: "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
};

const RFC7677: ScramVector = ScramVector {
    mech: Mechanism::ScramSha256,
    hash: ScramHash::Sha256,
    client_nonce: "rOprNGfwEbeRWgbNEkqO",
    server_nonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
    salt_b64: "W22ZaJ0SNY7soEsUEjb6gQ==",
    client_first: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
    server_first:
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    client_final: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                   p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    server_final: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
};

fn scram_server_side(v: &ScramVector) {
    let salt = STANDARD.decode(v.salt_b64).expect("test salt");
    let creds = ScramCredentials::derive(v.hash, "pencil", &salt, 4096).expect("derive");
    let mut server =
        ServerSession::new(v.mech, ChannelBindings::none(), DigestMd5Params::default());
    server.fix_nonce(v.server_nonce);

    assert_eq!(
        server.step(Some(v.client_first.as_bytes())),
        Step::NeedCredentials {
            username: "user".into()
        }
    );
    assert_eq!(
        server.provide(Some(Credentials::Scram(creds))),
        Step::Challenge(v.server_first.as_bytes().to_vec())
    );
    assert_eq!(
        server.step(Some(v.client_final.as_bytes())),
        Step::Success {
            username: "user".into(),
            authzid: None,
            additional_data: Some(v.server_final.as_bytes().to_vec()),
        }
    );
}

fn scram_client_side(v: &ScramVector) {
    let mut client = ClientSession::new(v.mech, "user", "pencil", None, ChannelBindings::none())
        .expect("client");
    client.fix_nonce(v.client_nonce);
    assert_eq!(
        client.initial_response(),
        Some(v.client_first.as_bytes().to_vec())
    );
    assert_eq!(
        client.step(v.server_first.as_bytes()),
        Ok(Some(v.client_final.as_bytes().to_vec()))
    );
    assert_eq!(
        client.verify_success(Some(v.server_final.as_bytes())),
        Ok(())
    );
}

#[test]
fn rfc5802_scram_sha1_server() {
    scram_server_side(&RFC5802);
}

#[test]
fn rfc5802_scram_sha1_client() {
    scram_client_side(&RFC5802);
}

#[test]
fn rfc7677_scram_sha256_server() {
    scram_server_side(&RFC7677);
}

#[test]
fn rfc7677_scram_sha256_client() {
    scram_client_side(&RFC7677);
}

#[test]
fn rfc5802_stored_and_server_keys() {
    // StoredKey/ServerKey of the RFC 5802 example, as a storage layer would persist them.
    let salt = STANDARD.decode(RFC5802.salt_b64).expect("test salt");
    let creds = ScramCredentials::derive(ScramHash::Sha1, "pencil", &salt, 4096).expect("derive");
    assert_eq!(
        hex::encode(&creds.stored_key),
        "e9d94660c39d65c38fbad91c358f14da0eef2bd6"
    );
    assert_eq!(
        hex::encode(&creds.server_key),
        "0fe09258b3ac852ba502cc62ba903eaacdbf7d31"
    );
}

const RFC2831_CHALLENGE: &str = r#"realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",algorithm=md5-sess,charset=utf-8"#;
const RFC2831_RESPONSE: &str = r#"charset=utf-8,username="chris",realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",nc=00000001,cnonce="OA6MHXh6VqTrRk",digest-uri="imap/elwood.innosoft.com",response=d388dad90d4bbd760a152321f2143af7,qop=auth"#;
const RFC2831_RSPAUTH: &str = "rspauth=ea40f60335c427b5527b84dbabcdfffd";

#[test]
fn rfc2831_digest_md5_server() {
    let params = DigestMd5Params::new("elwood.innosoft.com", "imap");
    let mut server = ServerSession::new(Mechanism::DigestMd5, ChannelBindings::none(), params);
    server.fix_nonce("OA6MG9tEQGm2hh");
    assert_eq!(
        server.step(None),
        Step::Challenge(
            br#"realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",charset=utf-8,algorithm=md5-sess"#
                .to_vec()
        )
    );
    assert_eq!(
        server.step(Some(RFC2831_RESPONSE.as_bytes())),
        Step::NeedCredentials {
            username: "chris".into()
        }
    );
    assert_eq!(
        server.provide(Some(Credentials::Password("secret".into()))),
        Step::Challenge(RFC2831_RSPAUTH.as_bytes().to_vec())
    );
    assert_eq!(
        server.step(Some(b"")),
        Step::Success {
            username: "chris".into(),
            authzid: None,
            additional_data: None
        }
    );
}

#[test]
fn rfc2831_digest_md5_client() {
    let mut client = ClientSession::new(
        Mechanism::DigestMd5,
        "chris",
        "secret",
        None,
        ChannelBindings::none(),
    )
    .expect("client")
    .with_digest_uri("imap", "elwood.innosoft.com");
    client.fix_nonce("OA6MHXh6VqTrRk");
    assert_eq!(client.initial_response(), None);
    assert_eq!(
        client.step(RFC2831_CHALLENGE.as_bytes()),
        Ok(Some(RFC2831_RESPONSE.as_bytes().to_vec()))
    );
    assert_eq!(
        client.step(RFC2831_RSPAUTH.as_bytes()),
        Ok(Some(Vec::new()))
    );
    assert_eq!(client.verify_success(None), Ok(()));
}

#[test]
fn rfc2831_rspauth_in_success_data() {
    // RFC 6120 §6.4.6 lets the server put rspauth into <success/> instead of a challenge.
    let mut client = ClientSession::new(
        Mechanism::DigestMd5,
        "chris",
        "secret",
        None,
        ChannelBindings::none(),
    )
    .expect("client")
    .with_digest_uri("imap", "elwood.innosoft.com");
    client.fix_nonce("OA6MHXh6VqTrRk");
    assert!(client.step(RFC2831_CHALLENGE.as_bytes()).is_ok());
    assert_eq!(
        client.verify_success(Some(RFC2831_RSPAUTH.as_bytes())),
        Ok(())
    );
}
