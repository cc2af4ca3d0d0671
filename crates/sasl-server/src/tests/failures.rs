//! Everything that must fail, and with which condition.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::{both_bindings, fast_creds, run};
use crate::{
    ChannelBindings, ClientSession, Credentials, DigestMd5Params, Failure, Mechanism, ScramHash,
    ServerSession, Step,
};

fn server(mech: Mechanism, bindings: ChannelBindings) -> ServerSession {
    ServerSession::new(mech, bindings, DigestMd5Params::default())
}

fn client(mech: Mechanism, password: &str, bindings: ChannelBindings) -> ClientSession {
    ClientSession::new(mech, "juliet", password, None, bindings).expect("client")
}

fn creds_for(mech: Mechanism, password: &str) -> Credentials {
    match mech.scram_hash() {
        Some(hash) => fast_creds(hash, password),
        None => Credentials::Password(password.into()),
    }
}

#[test]
fn wrong_password_is_not_authorized() {
    for mech in Mechanism::ALL {
        let bindings = if mech.is_plus() {
            both_bindings()
        } else {
            ChannelBindings::none()
        };
        let mut c = client(mech, "wrong", bindings.clone());
        let mut s = server(mech, bindings);
        let result = run(&mut c, &mut s, |_| Some(creds_for(mech, "right")));
        assert_eq!(result, Err(Failure::NotAuthorized), "{mech}");
    }
}

#[test]
fn unknown_user_is_not_authorized() {
    for mech in Mechanism::ALL {
        let bindings = if mech.is_plus() {
            both_bindings()
        } else {
            ChannelBindings::none()
        };
        let mut c = client(mech, "whatever", bindings.clone());
        let mut s = server(mech, bindings);
        assert_eq!(
            run(&mut c, &mut s, |_| None),
            Err(Failure::NotAuthorized),
            "{mech}"
        );
    }
}

/// Runs the first half of a SCRAM exchange and returns the server-first-message.
fn server_first(mech: Mechanism, creds: Option<Credentials>) -> String {
    let mut c = client(mech, "pw", ChannelBindings::none());
    let mut s = server(mech, ChannelBindings::none());
    assert!(matches!(
        s.step(c.initial_response().as_deref()),
        Step::NeedCredentials { .. }
    ));
    match s.provide(creds) {
        Step::Challenge(data) => String::from_utf8(data).expect("utf-8"),
        other => panic!("expected challenge, got {other:?}"),
    }
}

/// The `s=` and `i=` part of a server-first-message.
fn salt_and_iterations(server_first: &str) -> &str {
    server_first
        .split_once(",s=")
        .map(|(_, rest)| rest)
        .expect("s=")
}

#[test]
fn unknown_user_gets_stable_fake_salt() {
    let first = server_first(Mechanism::ScramSha256, None);
    let second = server_first(Mechanism::ScramSha256, None);
    assert_eq!(salt_and_iterations(&first), salt_and_iterations(&second));
    // It looks like a real record: a 16-byte salt and the usual iteration count.
    let real = server_first(
        Mechanism::ScramSha256,
        Some(creds_for(Mechanism::ScramSha256, "pw")),
    );
    let (salt, iterations) = salt_and_iterations(&first).split_once(",i=").expect("i=");
    assert_eq!(STANDARD.decode(salt).expect("base64").len(), 16);
    assert_eq!(iterations, "4096");
    assert_eq!(real.split(',').count(), first.split(',').count());
}

#[test]
fn scram_record_of_another_hash_fails_like_unknown_user() {
    let mut c = client(Mechanism::ScramSha256, "pw", ChannelBindings::none());
    let mut s = server(Mechanism::ScramSha256, ChannelBindings::none());
    let result = run(&mut c, &mut s, |_| Some(fast_creds(ScramHash::Sha1, "pw")));
    assert_eq!(result, Err(Failure::NotAuthorized));
}

#[test]
fn digest_md5_cannot_use_scram_record() {
    let mut c = client(Mechanism::DigestMd5, "pw", ChannelBindings::none());
    let mut s = server(Mechanism::DigestMd5, ChannelBindings::none());
    let result = run(&mut c, &mut s, |_| {
        Some(fast_creds(ScramHash::Sha256, "pw"))
    });
    assert_eq!(result, Err(Failure::NotAuthorized));
}

#[test]
fn channel_binding_mismatch() {
    // Same type, different data (a TLS man in the middle sees another channel).
    let client_side = ChannelBindings {
        tls_exporter: Some(vec![1; 32]),
        tls_server_end_point: None,
    };
    let server_side = ChannelBindings {
        tls_exporter: Some(vec![2; 32]),
        tls_server_end_point: None,
    };
    let mut c = client(Mechanism::ScramSha256Plus, "pw", client_side);
    let mut s = server(Mechanism::ScramSha256Plus, server_side);
    let result = run(&mut c, &mut s, |_| {
        Some(creds_for(Mechanism::ScramSha256, "pw"))
    });
    assert_eq!(result, Err(Failure::NotAuthorized));
}

#[test]
fn plus_with_unsupported_binding_type() {
    let client_side = ChannelBindings {
        tls_exporter: Some(vec![1; 32]),
        tls_server_end_point: None,
    };
    let server_side = ChannelBindings {
        tls_exporter: None,
        tls_server_end_point: Some(vec![1; 32]),
    };
    let mut c = client(Mechanism::ScramSha256Plus, "pw", client_side);
    let mut s = server(Mechanism::ScramSha256Plus, server_side);
    assert_eq!(
        s.step(c.initial_response().as_deref()),
        Step::Failure(Failure::NotAuthorized)
    );
    let mut s = server(Mechanism::ScramSha256Plus, both_bindings());
    assert_eq!(
        s.step(Some(b"p=tls-unique,,n=u,r=abc")),
        Step::Failure(Failure::NotAuthorized)
    );
}

#[test]
fn downgrade_y_flag_when_plus_advertised() {
    // The client could bind, but someone stripped -PLUS from the list it saw.
    let mut c = client(Mechanism::ScramSha256, "pw", both_bindings());
    let first = c.initial_response().expect("initial response");
    assert!(first.starts_with(b"y,,"));
    let mut s = server(Mechanism::ScramSha256, both_bindings());
    assert_eq!(s.step(Some(&first)), Step::Failure(Failure::NotAuthorized));
    // Without -PLUS advertised, "y" is fine.
    let mut c = client(Mechanism::ScramSha256, "pw", both_bindings());
    let mut s = server(Mechanism::ScramSha256, ChannelBindings::none());
    let result = run(&mut c, &mut s, |_| {
        Some(creds_for(Mechanism::ScramSha256, "pw"))
    });
    assert_eq!(result, Ok(("juliet".into(), None)));
}

#[test]
fn binding_flag_must_match_mechanism() {
    // p= with a non-PLUS mechanism.
    let mut s = server(Mechanism::ScramSha256, both_bindings());
    assert_eq!(
        s.step(Some(b"p=tls-exporter,,n=u,r=abc")),
        Step::Failure(Failure::MalformedRequest)
    );
    // n or y with a PLUS mechanism.
    for first in [&b"n,,n=u,r=abc"[..], b"y,,n=u,r=abc"] {
        let mut s = server(Mechanism::ScramSha256Plus, both_bindings());
        assert_eq!(
            s.step(Some(first)),
            Step::Failure(Failure::MalformedRequest)
        );
    }
}

#[test]
fn binding_data_not_echoed_in_c() {
    // A client that claims p=tls-exporter but sends c= for a plain "n,," header.
    let mut s = server(Mechanism::ScramSha256Plus, both_bindings());
    assert!(matches!(
        s.step(Some(b"p=tls-exporter,,n=u,r=abc")),
        Step::NeedCredentials { .. }
    ));
    let Step::Challenge(sf) = s.provide(Some(creds_for(Mechanism::ScramSha256, "pw"))) else {
        panic!("expected challenge");
    };
    let nonce = String::from_utf8(sf).expect("utf-8");
    let nonce = nonce
        .split(',')
        .next()
        .and_then(|r| r.strip_prefix("r="))
        .expect("r=");
    let proof = STANDARD.encode([0u8; 32]);
    let final_msg = format!("c=biws,r={nonce},p={proof}");
    assert_eq!(
        s.step(Some(final_msg.as_bytes())),
        Step::Failure(Failure::NotAuthorized)
    );
}

#[test]
fn scram_nonce_mismatch() {
    let mut c = client(Mechanism::ScramSha1, "pw", ChannelBindings::none());
    let mut s = server(Mechanism::ScramSha1, ChannelBindings::none());
    assert!(matches!(
        s.step(c.initial_response().as_deref()),
        Step::NeedCredentials { .. }
    ));
    let Step::Challenge(sf) = s.provide(Some(creds_for(Mechanism::ScramSha1, "pw"))) else {
        panic!("expected challenge");
    };
    let cf = c.step(&sf).expect("client final").expect("data");
    let tampered = String::from_utf8(cf)
        .expect("utf-8")
        .replacen(",r=", ",r=X", 1);
    assert_eq!(
        s.step(Some(tampered.as_bytes())),
        Step::Failure(Failure::NotAuthorized)
    );
}

#[test]
fn scram_malformed_messages() {
    let cases: &[(&[u8], Failure)] = &[
        (b"", Failure::MalformedRequest),
        (b"n,,", Failure::MalformedRequest),
        (b"n,,r=abc", Failure::MalformedRequest),
        (b"n,,n=u", Failure::MalformedRequest),
        (b"n,,m=x,n=u,r=abc", Failure::MalformedRequest),
        (b"n,,n=,r=abc", Failure::MalformedRequest),
        (b"n,,n=a=2Xb,r=abc", Failure::MalformedRequest),
        (b"n,,n=a=2,r=abc", Failure::MalformedRequest),
        (b"n,,n=u,r=", Failure::MalformedRequest),
        (b"x,,n=u,r=abc", Failure::MalformedRequest),
        (b"n,b=x,n=u,r=abc", Failure::MalformedRequest),
        (b"n,a=,n=u,r=abc", Failure::MalformedRequest),
        (b"p=,,n=u,r=abc", Failure::MalformedRequest),
        (b"n,,n=\xff,r=abc", Failure::IncorrectEncoding),
    ];
    for (input, expected) in cases {
        let mut s = server(Mechanism::ScramSha256, ChannelBindings::none());
        assert_eq!(
            s.step(Some(input)),
            Step::Failure(*expected),
            "{}",
            String::from_utf8_lossy(input)
        );
    }
    // Extensions after the nonce are allowed and ignored.
    let mut s = server(Mechanism::ScramSha256, ChannelBindings::none());
    assert!(matches!(
        s.step(Some(b"n,,n=u,r=abc,x=ext")),
        Step::NeedCredentials { .. }
    ));
}

#[test]
fn scram_malformed_client_final() {
    for (final_msg, expected) in [
        ("", Failure::MalformedRequest),
        ("c=biws", Failure::MalformedRequest),
        ("c=biws,r=abc", Failure::MalformedRequest),
        ("r=abc,c=biws,p=AAAA", Failure::MalformedRequest),
        ("c=!!!,r=abc,p=AAAA", Failure::IncorrectEncoding),
        ("c=biws,r=abc,p=!!!", Failure::IncorrectEncoding),
        ("c=biws,r=abc,p=AAAA,x=1", Failure::MalformedRequest),
    ] {
        let mut s = server(Mechanism::ScramSha256, ChannelBindings::none());
        assert!(matches!(
            s.step(Some(b"n,,n=u,r=abc")),
            Step::NeedCredentials { .. }
        ));
        assert!(matches!(s.provide(None), Step::Challenge(_)));
        assert_eq!(
            s.step(Some(final_msg.as_bytes())),
            Step::Failure(expected),
            "{final_msg}"
        );
    }
}

#[test]
fn client_detects_wrong_server_signature() {
    let mut c = client(Mechanism::ScramSha256, "pw", ChannelBindings::none());
    let mut s = server(Mechanism::ScramSha256, ChannelBindings::none());
    assert!(matches!(
        s.step(c.initial_response().as_deref()),
        Step::NeedCredentials { .. }
    ));
    let Step::Challenge(sf) = s.provide(Some(creds_for(Mechanism::ScramSha256, "pw"))) else {
        panic!("expected challenge");
    };
    c.step(&sf).expect("client final");
    let bogus = format!("v={}", STANDARD.encode([7u8; 32]));
    assert_eq!(
        c.verify_success(Some(bogus.as_bytes())),
        Err(Failure::NotAuthorized)
    );

    // A success without any signature is not accepted either.
    let mut c = client(Mechanism::ScramSha256, "pw", ChannelBindings::none());
    let mut s = server(Mechanism::ScramSha256, ChannelBindings::none());
    assert!(matches!(
        s.step(c.initial_response().as_deref()),
        Step::NeedCredentials { .. }
    ));
    let Step::Challenge(sf) = s.provide(Some(creds_for(Mechanism::ScramSha256, "pw"))) else {
        panic!("expected challenge");
    };
    c.step(&sf).expect("client final");
    assert_eq!(c.verify_success(None), Err(Failure::NotAuthorized));
}

#[test]
fn client_rejects_bad_server_first() {
    for sf in [
        "e=unknown-user",
        "r=other,s=QSXCR+Q6sek8bf92,i=4096",
        "s=QSXCR+Q6sek8bf92,i=4096",
        "m=x,r=NONCE,s=QSXCR+Q6sek8bf92,i=4096",
        "r=NONCE,s=,i=4096",
        "r=NONCE,s=QSXCR+Q6sek8bf92,i=0",
        "r=NONCE,s=QSXCR+Q6sek8bf92,i=-1",
        "r=NONCE,s=QSXCR+Q6sek8bf92,i=4294967295",
        "r=NONCE,s=QSXCR+Q6sek8bf92",
    ] {
        let mut c = client(Mechanism::ScramSha1, "pw", ChannelBindings::none());
        c.fix_nonce("NONCE");
        c.initial_response();
        let sf = sf.replace("r=NONCE", "r=NONCEsrv");
        assert!(c.step(sf.as_bytes()).is_err(), "{sf}");
    }
}

#[test]
fn client_rejects_wrong_rspauth() {
    let mut c = client(Mechanism::DigestMd5, "pw", ChannelBindings::none());
    let challenge =
        br#"realm="jabberd-router",nonce="n",qop="auth",charset=utf-8,algorithm=md5-sess"#;
    assert!(c.step(challenge).is_ok());
    assert_eq!(
        c.step(b"rspauth=00000000000000000000000000000000"),
        Err(Failure::NotAuthorized)
    );
    let mut c = client(Mechanism::DigestMd5, "pw", ChannelBindings::none());
    assert!(c.step(challenge).is_ok());
    assert_eq!(c.verify_success(None), Err(Failure::NotAuthorized));
}

#[test]
fn client_rejects_unsupported_digest_challenges() {
    for challenge in [
        &br#"realm="r",nonce="n",qop="auth-conf",charset=utf-8,algorithm=md5-sess"#[..],
        br#"realm="r",nonce="n",qop="auth",charset=utf-8"#,
        br#"realm="r",qop="auth",charset=utf-8,algorithm=md5-sess"#,
        br#"realm="r",nonce="n",nonce="m",charset=utf-8,algorithm=md5-sess"#,
        br#"realm="r",nonce="n,charset=utf-8,algorithm=md5-sess"#,
    ] {
        let mut c = client(Mechanism::DigestMd5, "pw", ChannelBindings::none());
        assert_eq!(
            c.step(challenge),
            Err(Failure::MalformedRequest),
            "{}",
            String::from_utf8_lossy(challenge)
        );
    }
}

/// A DIGEST-MD5 server that has sent its challenge (nonce "abc", realm/service jabberd-router).
fn digest_server() -> ServerSession {
    let mut s = server(Mechanism::DigestMd5, ChannelBindings::none());
    s.fix_nonce("abc");
    assert!(matches!(s.step(None), Step::Challenge(_)));
    s
}

#[test]
fn digest_md5_server_rejections() {
    let ok = r#"username="u",realm="jabberd-router",nonce="abc",cnonce="x",nc=00000001,qop=auth,digest-uri="jabberd-router/h",response=0123456789abcdef0123456789abcdef"#;
    let mut s = digest_server();
    assert!(matches!(
        s.step(Some(ok.as_bytes())),
        Step::NeedCredentials { .. }
    ));
    for (from, to, expected) in [
        (r#"nonce="abc""#, r#"nonce="abd""#, Failure::NotAuthorized),
        ("nc=00000001", "nc=00000002", Failure::NotAuthorized),
        (
            r#"realm="jabberd-router""#,
            r#"realm="other""#,
            Failure::NotAuthorized,
        ),
        (
            r#""jabberd-router/h""#,
            r#""xmpp/h""#,
            Failure::NotAuthorized,
        ),
        (
            r#""jabberd-router/h""#,
            r#""jabberd-router""#,
            Failure::NotAuthorized,
        ),
        ("qop=auth", "qop=auth-int", Failure::MalformedRequest),
        ("nc=00000001", "nc=1", Failure::MalformedRequest),
        (
            "response=0123456789abcdef0123456789abcdef",
            "response=xyz",
            Failure::MalformedRequest,
        ),
        (r#"username="u","#, "", Failure::MalformedRequest),
        (
            r#"username="u","#,
            r#"username="u",username="v","#,
            Failure::MalformedRequest,
        ),
        (
            r#"username="u","#,
            r#"username="u","#.repeat(100).as_str(),
            Failure::MalformedRequest,
        ),
        (r#"cnonce="x""#, r#"cnonce="x"#, Failure::MalformedRequest),
        (
            r#"username="u""#,
            "username=\"\u{fffe}\u{0}\"",
            Failure::MalformedRequest,
        ),
    ] {
        let mut s = digest_server();
        let input = ok.replace(from, to);
        assert_eq!(
            s.step(Some(input.as_bytes())),
            Step::Failure(expected),
            "{input}"
        );
    }
    // An initial response is not allowed.
    let mut s = server(Mechanism::DigestMd5, ChannelBindings::none());
    assert_eq!(
        s.step(Some(b"username=\"u\"")),
        Step::Failure(Failure::MalformedRequest)
    );
}

#[test]
fn plain_malformed() {
    let cases: &[(&[u8], Failure)] = &[
        (b"", Failure::MalformedRequest),
        (b"\0user", Failure::MalformedRequest),
        (b"\0\0pw", Failure::MalformedRequest),
        (b"\0user\0", Failure::MalformedRequest),
        (b"a\0user\0pw\0", Failure::MalformedRequest),
        (b"\0us\xffer\0pw", Failure::IncorrectEncoding),
        (b"\0\x07bell\0pw", Failure::MalformedRequest),
    ];
    for (input, expected) in cases {
        let mut s = server(Mechanism::Plain, ChannelBindings::none());
        assert_eq!(s.step(Some(input)), Step::Failure(*expected), "{:?}", input);
    }
}

#[test]
fn calls_out_of_order() {
    for mech in Mechanism::ALL {
        let mut s = server(mech, both_bindings());
        assert_eq!(
            s.provide(None),
            Step::Failure(Failure::TemporaryAuthFailure),
            "{mech}"
        );
        assert_eq!(
            s.step(Some(b"x")),
            Step::Failure(Failure::MalformedRequest),
            "{mech}"
        );
    }
    // Once finished, a session stays finished.
    let mut s = server(Mechanism::Plain, ChannelBindings::none());
    assert!(matches!(
        s.step(Some(b"\0u\0p")),
        Step::NeedCredentials { .. }
    ));
    assert!(matches!(
        s.provide(Some(Credentials::Password("p".into()))),
        Step::Success { .. }
    ));
    assert_eq!(
        s.step(Some(b"\0u\0p")),
        Step::Failure(Failure::MalformedRequest)
    );
    assert_eq!(
        s.provide(None),
        Step::Failure(Failure::TemporaryAuthFailure)
    );
}

#[test]
fn client_constructor_errors() {
    assert!(ClientSession::new(
        Mechanism::ScramSha256Plus,
        "u",
        "p",
        None,
        ChannelBindings::none()
    )
    .is_err());
    assert!(
        ClientSession::new(Mechanism::Plain, "u\0x", "p", None, ChannelBindings::none()).is_err()
    );
    assert!(ClientSession::new(Mechanism::Plain, "", "p", None, ChannelBindings::none()).is_err());
    assert!(ClientSession::new(
        Mechanism::ScramSha1,
        "u",
        "\u{7}",
        None,
        ChannelBindings::none()
    )
    .is_err());
    assert!(
        ClientSession::new(Mechanism::DigestMd5, "u", "", None, ChannelBindings::none()).is_err()
    );
}
