//! Names, negotiation and failure conditions.

use super::both_bindings;
use crate::{choose_mechanism, ChannelBindings, Failure, Mechanism};

#[test]
fn names_round_trip() {
    for mech in Mechanism::ALL {
        assert_eq!(Mechanism::from_name(mech.name()), Some(mech));
    }
    assert_eq!(
        Mechanism::from_name("SCRAM-SHA-256-PLUS"),
        Some(Mechanism::ScramSha256Plus)
    );
    assert_eq!(Mechanism::from_name("CRAM-MD5"), None);
    assert_eq!(Mechanism::from_name(""), None);
    assert_eq!(crate::ScramHash::Sha512.name(), "SCRAM-SHA-512");
}

#[test]
fn choose_prefers_strongest() {
    let all = [
        "PLAIN",
        "DIGEST-MD5",
        "SCRAM-SHA-1",
        "SCRAM-SHA-1-PLUS",
        "SCRAM-SHA-256",
        "SCRAM-SHA-256-PLUS",
    ];
    let none = ChannelBindings::none();
    assert_eq!(
        choose_mechanism(&all, &both_bindings(), true, true),
        Some(Mechanism::ScramSha256Plus)
    );
    assert_eq!(
        choose_mechanism(&all, &none, true, true),
        Some(Mechanism::ScramSha256)
    );
    let with_512 = ["SCRAM-SHA-512", "SCRAM-SHA-1-PLUS"];
    assert_eq!(
        choose_mechanism(&with_512, &both_bindings(), false, false),
        Some(Mechanism::ScramSha1Plus)
    );
    assert_eq!(
        choose_mechanism(&with_512, &none, false, false),
        Some(Mechanism::ScramSha512)
    );
}

#[test]
fn choose_respects_policy() {
    let none = ChannelBindings::none();
    assert_eq!(
        choose_mechanism(&["PLAIN", "DIGEST-MD5"], &none, false, false),
        None
    );
    assert_eq!(
        choose_mechanism(&["PLAIN", "DIGEST-MD5"], &none, true, true),
        Some(Mechanism::Plain)
    );
    assert_eq!(
        choose_mechanism(&["PLAIN", "DIGEST-MD5"], &none, false, true),
        Some(Mechanism::DigestMd5)
    );
    assert_eq!(
        choose_mechanism(&["SCRAM-SHA-1-PLUS"], &none, true, true),
        None
    );
    assert_eq!(choose_mechanism(&[], &both_bindings(), true, true), None);
}

#[test]
fn offerable_matches_bindings() {
    let offered = Mechanism::offerable(&ChannelBindings::none(), true, false);
    assert!(offered.iter().all(|m| !m.is_plus()));
    assert!(offered.contains(&Mechanism::Plain) && !offered.contains(&Mechanism::DigestMd5));
    let offered = Mechanism::offerable(&both_bindings(), false, false);
    assert_eq!(offered.first(), Some(&Mechanism::ScramSha512Plus));
    assert!(!offered.contains(&Mechanism::Plain));
}

#[test]
fn binding_types() {
    assert_eq!(
        both_bindings().types(),
        vec!["tls-exporter", "tls-server-end-point"]
    );
    assert!(ChannelBindings::none().types().is_empty());
    assert_eq!(both_bindings().get("tls-unique"), None);
}

#[test]
fn failure_names() {
    let all = [
        Failure::Aborted,
        Failure::AccountDisabled,
        Failure::CredentialsExpired,
        Failure::EncryptionRequired,
        Failure::IncorrectEncoding,
        Failure::InvalidAuthzid,
        Failure::InvalidMechanism,
        Failure::MalformedRequest,
        Failure::MechanismTooWeak,
        Failure::NotAuthorized,
        Failure::TemporaryAuthFailure,
    ];
    for f in all {
        assert_eq!(Failure::from_name(f.as_str()), Some(f));
        assert_eq!(f.to_string(), f.as_str());
    }
    assert_eq!(Failure::NotAuthorized.as_str(), "not-authorized");
}

#[test]
fn debug_redacts_secrets() {
    let creds = crate::ScramCredentials::derive(crate::ScramHash::Sha1, "pencil", b"salt", 1)
        .expect("derive");
    let shown = format!("{:?}", crate::Credentials::Scram(creds.clone()));
    assert!(!shown.contains(&hex::encode(&creds.stored_key)));
    assert!(!format!("{:?}", crate::Credentials::Password("hunter2".into())).contains("hunter2"));
}
